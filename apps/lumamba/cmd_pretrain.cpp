// `lumamba pretrain`: a pretraining preset + key=value overrides → checkpoints and metrics
// (library: lumamba/train/pretrain.h).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common.h"
#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/train/distributed.h"
#include "lumamba/train/pretrain.h"

namespace lumamba::cli {
namespace {

struct PretrainArgs {
  CommonArgs common;
  std::string config_path;
  std::vector<std::string> overrides;
  std::string data, output;  ///< --data / --output: the data= / out= keys
  bool resume = false;
  bool force = false;
  DistributedArgs distributed;
};

int run_pretrain_cmd(const PretrainArgs& args) {
  apply_common(args.common);
  LUMAMBA_CHECK_INPUT(!args.config_path.empty(), "pretrain: --config PRESET.yaml is required (configs/pretrain/)");
  auto flat = train::FlatConfig::from_yaml(read_text_file(args.config_path), args.config_path);
  auto overrides = args.overrides;
  append_data_output_keys(args.data, args.output, overrides);
  for (const auto& kv : overrides) flat.apply_override(kv, /*allow_new=*/true);
  const std::string out = flat.get_string("out", "");
  LUMAMBA_CHECK_INPUT(!out.empty(), "pretrain: give the output folder as --output DIR (or out=DIR)");
  const auto group = join_training_group(args.distributed);
  const auto config = train::pretrain_config(flat);
  refresh_report_after_checkpoints();
  const auto result = train::run_pretrain(config, flat, out, args.resume, args.force, group);
  if (group->is_main()) report_after_run(out);
  nlohmann::json j{{"steps", result.steps}, {"epochs_completed", result.epochs_completed},
                   {"last_checkpoint", result.last_checkpoint}};
  if (result.has_best) {
    j["best_val_loss"] = result.best_val_loss;
    j["best_checkpoint"] = result.best_checkpoint;
  }
  if (group->is_main()) fmt::print("{}\n", j.dump(2));
  return 0;
}

}  // namespace

void add_pretrain(CLI::App& app, RunFn& run) {
  auto args = std::make_shared<PretrainArgs>();
  auto* sub = app.add_subcommand("pretrain", "self-supervised pretraining (reconstruction | lejepa | mixed) on HDF5 windows");
  sub->add_option("--config", args->config_path, "pretraining preset (configs/pretrain/*.yaml)");
  add_data_flag(*sub, args->data, "HDF5 windows, comma-separated (the data= key)");
  add_output_flag(*sub, args->output, "run folder (the out= key)");
  sub->add_option("overrides", args->overrides,
                  "key=value: data=FILE.h5[,..] out=DIR [val_data=..] and any preset key (train.epochs=3, "
                  "objective.mask_ratio=0.6, model.num_blocks=1, ...)");
  sub->add_flag("--resume", args->resume, "continue the run in OUT (checkpoints/training_state.pt)");
  sub->add_flag("--force", args->force, "start over a run in OUT, or resume it under a changed config");
  add_common_flags(*sub, args->common);
  add_distributed_flags(*sub, args->distributed);
  sub->callback([args, &run] { run = [args] { return run_pretrain_cmd(*args); }; });
}

}  // namespace lumamba::cli
