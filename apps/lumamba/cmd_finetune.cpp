// `lumamba finetune`: a fine-tuning preset + key=value overrides → checkpoints, metrics, test
// results (library: lumamba/train/finetune.h). `--seeds 1,2,3` repeats the run per seed and
// reports mean ± std of the test metrics.
#include <fmt/format.h>
#include <nlohmann/json.hpp>


#include "common.h"
#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/train/distributed.h"
#include "lumamba/train/finetune.h"

namespace lumamba::cli {
namespace {

struct FinetuneArgs {
  CommonArgs common;
  std::string config_path;
  std::vector<std::string> overrides;
  std::string data, output;  ///< --data / --output: the data= / out= keys
  std::vector<int64_t> seeds;
  bool resume = false;
  bool force = false;
  DistributedArgs distributed;
};

int run_finetune_cmd(const FinetuneArgs& args) {
  apply_common(args.common);
  LUMAMBA_CHECK_INPUT(!args.config_path.empty(), "finetune: --config PRESET.yaml is required (configs/finetune/)");
  auto flat = train::FlatConfig::from_yaml(read_text_file(args.config_path), args.config_path);
  auto overrides = args.overrides;
  append_data_output_keys(args.data, args.output, overrides);
  for (const auto& kv : overrides) flat.apply_override(kv, /*allow_new=*/true);
  const std::string out = flat.get_string("out", "");
  LUMAMBA_CHECK_INPUT(!out.empty(), "finetune: give the output folder as --output DIR (or out=DIR)");
  const auto group = join_training_group(args.distributed);
  refresh_report_after_checkpoints();

  if (args.seeds.empty()) {
    const auto config = train::finetune_config(flat);
    const auto result = train::run_finetune(config, flat, out, args.resume, args.force, group);
    if (group->is_main()) report_after_run(out);
    nlohmann::json j{{"best_epoch", result.best_epoch}, {"best_val_loss", result.best_val_loss},
                     {"epochs_run", result.epochs_run}, {"steps", result.steps},
                     {"best_checkpoint", result.best_checkpoint}};
    if (result.has_test) j["test"] = nlohmann::json::parse(result.test.to_json());
    if (group->is_main()) fmt::print("{}\n", j.dump(2));
    return 0;
  }
  const auto seeds_result = train::run_finetune_seeds(flat, out, args.seeds, args.resume, args.force, group);
  if (group->is_main()) fmt::print("{}\n", nlohmann::json::parse(seeds_result.summary_json)["test_windows"].dump(2));
  return 0;
}

}  // namespace

void add_finetune(CLI::App& app, RunFn& run) {
  auto args = std::make_shared<FinetuneArgs>();
  auto* sub = app.add_subcommand("finetune", "fine-tune a classifier on labelled HDF5 windows");
  sub->add_option("--config", args->config_path, "fine-tuning preset (configs/finetune/*.yaml)");
  add_data_flag(*sub, args->data, "HDF5 windows, comma-separated (the data= key)");
  add_output_flag(*sub, args->output, "run folder (the out= key)");
  sub->add_option("overrides", args->overrides,
                  "key=value: data=FILE.h5[,..] out=DIR [init=PRETRAINED.safetensors] [val_data=..] [test_data=..] "
                  "and any preset key (train.epochs=3, model.classifier_option=mamba, ...)");
  sub->add_option("--seeds", args->seeds, "run once per seed (comma-separated) and report mean ± std")
      ->delimiter(',');
  sub->add_flag("--resume", args->resume, "continue the run in OUT (checkpoints/training_state.pt)");
  sub->add_flag("--force", args->force, "start over a run in OUT, or resume it under a changed config");
  add_common_flags(*sub, args->common);
  add_distributed_flags(*sub, args->distributed);
  sub->callback([args, &run] { run = [args] { return run_finetune_cmd(*args); }; });
}

}  // namespace lumamba::cli
