// `lumamba forward`: run the model on the tensors of a safetensors file (scripting/parity interface).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common.h"
#include "lumamba/core/log.h"
#include "lumamba/eval/forward_file.h"

namespace lumamba::cli {
namespace {

struct ForwardArgs {
  CommonArgs common;
  eval::ForwardFileRequest request;
  std::string dtype = "float32";
};

int run_forward(ForwardArgs& args) {
  apply_common(args.common);
  args.request.float64 = args.dtype == "float64";
  const auto summary = eval::run_forward_file(args.request);
  log::info("forward: B={} C={} T={} -> {} [{}]", summary.batch, summary.n_channels, summary.n_samples,
            args.request.output_path, fmt::join(summary.output_names, ", "));
  return 0;
}

}  // namespace

void add_forward(CLI::App& app, RunFn& run) {
  auto args = std::make_shared<ForwardArgs>();
  auto* sub = app.add_subcommand("forward", "run the model on tensors from a safetensors file");
  sub->add_option("--weights", args->request.weights_paths,
                  "safetensors weights; repeat to add a head from a second file (later files override)")
      ->required();
  sub->add_option("--config", args->request.config_path, "model config YAML/JSON (default: the weights' lumamba.config)");
  add_data_flag(*sub, args->request.input_path, "input safetensors (input, channel_locations|channels, mask, channel_names_idx)", "--input")
      ->required();
  add_output_flag(*sub, args->request.output_path, "output safetensors (embedding, embedding_mean, logits|reconstruction)")
      ->required();
  sub->add_option("--dtype", args->dtype, "float32 or float64 (weights and inputs end to end)")
      ->check(CLI::IsMember({"float32", "float64"}));
  sub->add_flag("--zscore", args->request.zscore, "per-channel z-score of 'input' before the network");
  sub->add_option("overrides", args->request.overrides, "config overrides key=value");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] { run = [args] { return run_forward(*args); }; });
}

}  // namespace lumamba::cli
