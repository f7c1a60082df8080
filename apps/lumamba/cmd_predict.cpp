// `lumamba predict` and `lumamba embed`: recordings (EDF/BDF, folder, manifest; embed also HDF5)
// → per-window probabilities and per-recording decisions, or embeddings (library:
// lumamba/eval/predict.h).
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
  sub->add_option("input", args->request.input, "EDF/BDF file, folder (recursive) or manifest CSV")->required();
  sub->add_option("--weights", args->request.weights, "fine-tuned checkpoint(s)")->required()->delimiter(',');
  sub->add_option("--output", args->request.output_dir, "output folder (predictions.csv, recordings.csv, "
                  "predictions.json)")->required();
  sub->add_option("--config", args->request.config_path, "model config for weights without lumamba.config");
  sub->add_option("--preset", args->request.preset, "preprocessing preset/YAML when the checkpoint stores none");
  sub->add_option("--batch", args->request.batch_size, "windows per forward (default 64)")->check(CLI::PositiveNumber);
  sub->add_flag("--whole-recording", args->request.whole_recording,
                "each recording as ONE sequence (not 5 s windows): one prediction per recording");
  sub->add_option("--chunk-patches", args->request.chunk_patches,
                  "whole-recording chunk in patches (memory vs speed; default 1024)")->check(CLI::PositiveNumber);
  sub->add_option("overrides", args->request.preset_overrides, "preprocessing overrides key=value");
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

void add_embed(CLI::App& app, RunFn& run) {
  struct Args {
    CommonArgs common;
    eval::EmbedRequest request;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("embed", "encoder embeddings: mean over the patches of each window, or per patch of whole recordings");
  sub->add_option("input", args->request.input, "EDF/BDF file, folder, manifest CSV, or HDF5 windows")->required();
  sub->add_option("--weights", args->request.weights, "checkpoint(s) (pretraining or fine-tuned)")->required()
      ->delimiter(',');
  sub->add_option("--output", args->request.output, "OUT.safetensors (or .csv with --format csv)")->required();
  sub->add_option("--format", args->request.format, "safetensors | csv (default safetensors)");
  sub->add_option("--config", args->request.config_path, "model config for weights without lumamba.config");
  sub->add_option("--preset", args->request.preset, "preprocessing preset/YAML when the checkpoint stores none");
  sub->add_option("--layout", args->request.layout, "channel order of name-less reference HDF5: tuh | tueg");
  sub->add_option("--batch", args->request.batch_size, "windows per forward (default 64)")->check(CLI::PositiveNumber);
  sub->add_flag("--whole-recording", args->request.whole_recording,
                "each recording as ONE sequence: embedding (1, S, Q*E), one row per patch");
  sub->add_option("--chunk-patches", args->request.chunk_patches,
                  "whole-recording chunk in patches (memory vs speed; default 1024)")->check(CLI::PositiveNumber);
  sub->add_option("overrides", args->request.preset_overrides, "preprocessing overrides key=value");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] {
    run = [args] {
      apply_common(args->common);
      args->request.n_threads = args->common.n_threads > 0 ? args->common.n_threads : 1;
      const auto s = eval::run_embed(args->request);
      if (args->request.whole_recording) {
        log::info("{} recording(s), {} patches ({:.0f} s of EEG) -> {} ({} dims) in {:.1f} s ({:.0f} s of EEG per "
                  "second)", s.n_recordings, s.n_patches, s.eeg_seconds, args->request.output, s.dim, s.wall_s,
                  s.eeg_seconds / std::max(s.wall_s, 1e-9));
        return 0;
      }
      log::info("{} windows of {} recording(s) -> {} ({} dims) in {:.1f} s", s.n_windows, s.n_recordings,
                args->request.output, s.dim, s.wall_s);
      return 0;
    };
  });
}

}  // namespace lumamba::cli
