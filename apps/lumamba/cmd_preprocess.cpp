// `lumamba preprocess`: EDF/BDF/BrainVision folder or manifest → HDF5 window dataset with a preset.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <sstream>
#include <tuple>

#include "common.h"
#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/preprocess/dataset_builder.h"

namespace lumamba::cli {
namespace {

struct PreprocessArgs {
  CommonArgs common;
  std::string preset = "generic";
  std::string config_path;
  std::string input, output;
  int n_jobs = 1;
  uint64_t seed = 42;
  bool list_presets = false;
  bool allow_failures = false;
  std::string shard;    ///< "I/N" or "slurm"
  bool merge = false;
  std::string layout = "linked";
  std::vector<std::string> overrides;
};

int run_preprocess(const PreprocessArgs& args) {
  if (args.list_presets) {
    for (const auto& name : preprocess::preset_names()) {
      fmt::print("{:<8} {}\n", name, preprocess::builtin_preset(name).description);
    }
    return 0;
  }
  apply_common(args.common);
  LUMAMBA_CHECK_INPUT(!args.input.empty() && !args.output.empty(), "preprocess: --input and --output are required");
  auto preset = preprocess::builtin_preset(args.preset);
  if (!args.config_path.empty()) {
    preset = preprocess::preset_from_text(read_text_file(args.config_path, "preset file"), args.config_path);
  }
  preprocess::apply_preset_overrides(preset, args.overrides);
  preset = preprocess::with_label_source_for(args.input, preset);
  log::info("preset: {}", preprocess::preset_to_json(preset));
  const auto jobs = preprocess::discover_recordings(args.input, preset, args.seed);
  log::info("{} recording(s) found under {}", jobs.size(), args.input);
  preprocess::BuildOptions options;
  options.output_path = args.output;
  options.n_jobs = args.n_jobs;
  options.layout = args.layout == "single" ? io::DatasetLayout::kSingle : io::DatasetLayout::kLinked;
  options.merge_only = args.merge;
  if (!args.shard.empty()) std::tie(options.shard_index, options.shard_count) = preprocess::parse_shard(args.shard);
  const auto summary = preprocess::build_window_dataset(jobs, preset, options);
  const auto json = preprocess::summary_to_json(summary);
  fmt::print("{}\n", json);
  for (const auto& [file, reason] : summary.failures) log::warn("failed: {}", reason);
  const bool shard = summary.shard_count > 1;
  log::info("{} windows from {} recording(s) ({} reused from {}.parts), {} failed -> {}", summary.n_windows,
            summary.n_processed + summary.n_reused, summary.n_reused, args.output, summary.failures.size(),
            shard ? fmt::format("{}.parts (shard {}/{}; `preprocess --merge` assembles {})", args.output,
                                summary.shard_index, summary.shard_count, args.output)
                  : summary.n_windows > 0 ? args.output : "(nothing written)");
  if (summary.n_windows == 0 && !shard) return 1;
  if (!summary.failures.empty()) {
    // A dataset silently missing recordings skews every later number: fail loudly unless asked not to.
    log::error("{} of {} recording(s) FAILED (reasons above); {} holds the other {} recording(s). Exit code 2; "
               "--allow-failures accepts the partial dataset with exit code 0", summary.failures.size(),
               summary.n_recordings, args.output, summary.n_processed + summary.n_reused);
    return args.allow_failures ? 0 : 2;
  }
  return 0;
}

}  // namespace

void add_preprocess(CLI::App& app, RunFn& run) {
  auto args = std::make_shared<PreprocessArgs>();
  auto* sub = app.add_subcommand("preprocess", "EDF/BDF/BrainVision recordings -> HDF5 windows (MNE-identical filters)");
  sub->add_option("--preset", args->preset, "tuab|tuar|tusl|tueg|generic|events (see --list-presets)");
  sub->add_option("--config", args->config_path, "preset YAML file instead of a shipped preset");
  add_data_flag(*sub, args->input, "folder of .edf/.bdf (searched recursively), one file, or a manifest CSV", "--input");
  add_output_flag(*sub, args->output, "OUT.h5 (recordings are in OUT.h5.parts/, which OUT.h5 links to)");
  sub->add_option("--jobs", args->n_jobs, "recordings processed in parallel (default 1)")->check(CLI::PositiveNumber);
  sub->add_option("--seed", args->seed, "seed of the random train/val/test splits (default 42)");
  sub->add_flag("--list-presets", args->list_presets, "list the shipped presets and exit");
  sub->add_flag("--allow-failures", args->allow_failures,
                "exit 0 when some recordings fail but others gave windows (default: exit 2)");
  sub->add_option("--shard", args->shard,
                  "I/N: process recordings I, I+N, I+2N, ... into OUT.h5.parts/ only (several machines build one "
                  "dataset); slurm: I and N from SLURM_ARRAY_TASK_ID/_COUNT");
  sub->add_flag("--merge", args->merge, "assemble OUT.h5 from the shards' parts, processing nothing");
  sub->add_option("--layout", args->layout,
                  "linked: OUT.h5 links to the parts, nothing stored twice (default); single: one self-contained "
                  "file (the reference's layout, about twice the disk while the parts stay)")
      ->check(CLI::IsMember({"linked", "single"}));
  sub->add_option("overrides", args->overrides, "preset overrides key=value (dotted: event_labels.T1=1)");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] { run = [args] { return run_preprocess(*args); }; });
}

}  // namespace lumamba::cli
