// `lumamba predict`: recordings (EDF/BDF/BrainVision, folder, manifest) → per-window probabilities and
// per-recording decisions of a fine-tuned checkpoint (library: lumamba/eval/predict.h).
#include <fmt/format.h>

#include "common.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/eval/predict.h"

namespace lumamba::cli {

void add_predict(CLI::App& app, RunFn& run) {
  struct Args {
    CommonArgs common;
    eval::PredictRequest request;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("predict", "classify the windows of EEG recordings with a fine-tuned checkpoint");
  add_recording_model_flags(*sub, args->request, "EDF/BDF/BrainVision .vhdr file, folder (recursive) or manifest CSV",
                            "fine-tuned checkpoint(s) or a shipped model's name");
  add_output_flag(*sub, args->request.output_dir, "output folder (predictions.csv, recordings.csv, predictions.json)")
      ->required();
  sub->add_flag("--whole-recording", args->request.whole_recording,
                "each recording as ONE sequence (not 5 s windows): one prediction per recording");
  auto& ev = args->request.event_options;
  sub->add_flag("--events", args->request.events,
                "events from the window predictions: OUT/events/<rec>_events.tsv (BIDS) and .edf (EDF+ "
                "annotations), OUT/events.csv");
  sub->add_option("--event-threshold", ev.threshold, "probability a window needs to count (default 0.5)");
  sub->add_option("--event-smoothing", ev.smoothing_windows,
                  "centred moving average over this many windows, odd (default 1 = none)");
  sub->add_option("--event-min-duration", ev.min_duration_s, "drop events shorter than this, s (default 0)");
  sub->add_option("--event-merge-gap", ev.merge_gap_s, "join events of a class this close, s (default 0)");
  sub->add_option("--event-classes", ev.classes,
                  "classes that give events (default: all but class 0; every label for multilabel)")
      ->delimiter(',');
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] {
    run = [args] {
      apply_common(args->common);
      args->request.n_threads = args->common.n_threads > 0 ? args->common.n_threads : 1;
      const auto s = eval::run_predict(args->request);
      for (const auto& r : s.recordings) {
        fmt::print("{}\t{} windows\tdecision {}\tmean p = [{:.3f}]\n", r.recording, r.n_windows, r.decision,
                   fmt::join(r.mean_probabilities, ", "));
      }
      log::info("{:.0f} s of EEG in {:.1f} s ({:.0f} s of EEG per second); {} failed", s.eeg_seconds, s.wall_s,
                s.eeg_seconds / std::max(s.wall_s, 1e-9), s.failures.size());
      return s.failures.empty() ? 0 : 1;
    };
  });
}

}  // namespace lumamba::cli
