// `lumamba embed`: recordings (EDF/BDF/BrainVision, folder, manifest) or HDF5 windows → encoder embeddings,
// one row per window or per patch of a whole recording (library: lumamba/eval/predict.h).
#include <fmt/format.h>

#include <algorithm>

#include "common.h"
#include "lumamba/core/log.h"
#include "lumamba/eval/predict.h"

namespace lumamba::cli {

void add_embed(CLI::App& app, RunFn& run) {
  struct Args {
    CommonArgs common;
    eval::EmbedRequest request;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("embed", "encoder embeddings: mean over the patches of each window, or per patch of whole recordings");
  add_recording_model_flags(*sub, args->request, "EDF/BDF/BrainVision .vhdr file, folder, manifest CSV, or HDF5 windows",
                            "checkpoint(s) (pretraining or fine-tuned) or a shipped model's name");
  add_output_flag(*sub, args->request.output, "OUT.safetensors (or .csv with --format csv)")->required();
  sub->add_option("--format", args->request.format, "safetensors | csv (default safetensors)");
  sub->add_option("--layout", args->request.layout, "channel order of name-less reference HDF5: tuh | tueg");
  sub->add_flag("--whole-recording", args->request.whole_recording,
                "each recording as ONE sequence: embedding (1, S, Q*E), one row per patch");
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
