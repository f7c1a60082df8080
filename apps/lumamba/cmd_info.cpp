// `lumamba info`: hyper-parameters, parameters per module, MACs per window, BLAS and threads.
#include <fmt/format.h>

#include <map>
#include <string>
#include <utility>
#include <vector>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common.h"
#include "lumamba/io/safetensors.h"
#include "lumamba/io/shipped_models.h"
#include "lumamba/model/flops.h"
#include "lumamba/model/lumamba.h"
#include "lumamba/model/runtime.h"
#include "lumamba/model/weights.h"

namespace lumamba::cli {
namespace {

struct InfoArgs {
  CommonArgs common;
  std::string weights_path, config_path;
  std::vector<std::string> overrides;
  int64_t n_channels = 22;
  double window_s = 5.0;
  double sfreq_hz = 256.0;
  bool json = false;
};

int run_info(const InfoArgs& args) {
  apply_common(args.common);
  model::LuMambaOptions options;
  compat::optional<io::SafetensorsFile> weights;
  if (!args.weights_path.empty()) weights = io::SafetensorsFile::open(io::resolve_checkpoint(args.weights_path));
  if (!args.config_path.empty()) options = model::options_from_file(args.config_path);
  else if (weights && model::has_config(*weights)) options = model::config_from_checkpoint(*weights);
  model::apply_overrides(options, args.overrides);
  model::LuMamba net(options);
  if (weights) model::load_state_dict(*net, {&*weights});

  // Parameters per top-level module, in registration order.
  std::vector<std::pair<std::string, int64_t>> per_module;
  for (const auto& child : net->named_children()) per_module.emplace_back(child.key(), model::count_parameters(*child.value()));
  int64_t direct = 0;
  for (const auto& p : net->named_parameters(/*recurse=*/false)) direct += p.value().numel();
  per_module.emplace_back("(direct: mask_token)", direct);
  const int64_t total = model::count_parameters(*net);
  int64_t encoder = total;
  for (const auto& [name, n] : per_module) {
    if (name == "decoder_head" || name == "channel_emb" || name == "classifier") encoder -= n;
  }
  const int64_t n_samples = static_cast<int64_t>(args.window_s * args.sfreq_hz + 0.5);
  const auto macs = model::count_macs(options, args.n_channels, n_samples);
  const auto runtime = model::runtime_report();

  nlohmann::json j;
  j["config"] = nlohmann::json::parse(model::options_to_json(options));
  for (const auto& [name, n] : per_module) j["parameters"][name] = n;
  j["parameters"]["encoder"] = encoder;
  j["parameters"]["total"] = total;
  j["macs"]["n_channels"] = args.n_channels;
  j["macs"]["n_samples"] = n_samples;
  for (const auto& [name, n] : macs.parts) j["macs"]["per_module"][name] = n;
  j["macs"]["total"] = macs.total();
  j["runtime"]["blas"] = describe_blas(runtime.blas);
  j["runtime"]["intra_op_threads"] = runtime.intra_op_threads;
  j["runtime"]["torch_version"] = runtime.torch_version;
  j["runtime"]["tcmalloc"] = runtime.tcmalloc_loaded;
  j["runtime"]["openblas_core"] = runtime.blas.core;
  j["runtime"]["openblas_coretype"] = runtime.openblas_coretype;
  j["runtime"]["openblas_core_switch"] = runtime.openblas_core_switch;
  j["runtime"]["scan_kernel_isa"] = runtime.scan_kernel_isa;
  // What a checkpoint says about itself besides its config: how it was trained and on what.
  std::vector<std::pair<std::string, std::string>> about;
  if (weights) {
    for (const char* key : {"lumamba.provenance", "lumamba.pretrain", "lumamba.task", "lumamba.preprocess"}) {
      const auto it = weights->metadata().find(key);
      if (it != weights->metadata().end()) about.emplace_back(key, it->second);
    }
  }
  for (const auto& [key, value] : about) {
    const auto parsed = nlohmann::json::parse(value, nullptr, false);
    j["checkpoint"][key] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
  }
  if (args.json) {
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  // One field per line: a shipped model's provenance (data, licence, attribution) is read by people.
  for (const auto& [key, value] : about) {
    const auto parsed = nlohmann::json::parse(value, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      fmt::print("{}: {}\n", key, value);
      continue;
    }
    fmt::print("{}:\n", key);
    for (const auto& [field, v] : parsed.items()) {
      fmt::print("  {}: {}\n", field, v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  fmt::print("LuMamba config: {}\n", model::options_to_json(options));
  fmt::print("\nparameters per module:\n");
  for (const auto& [name, n] : per_module) fmt::print("  {:<28} {:>12}\n", name, n);
  fmt::print("  {:<28} {:>12}\n  {:<28} {:>12}\n", "encoder", encoder, "total", total);
  fmt::print("\nmultiply-accumulates per window (C = {}, T = {} samples = {} s at {} Hz):\n", args.n_channels,
             n_samples, args.window_s, args.sfreq_hz);
  for (const auto& [name, n] : macs.parts) fmt::print("  {:<28} {:>14}\n", name, n);
  fmt::print("  {:<28} {:>14}  ({:.3f} GMAC)\n", "total", macs.total(), macs.total() / 1e9);
  fmt::print("\nruntime:\n");
  for (const auto& line : model::describe(runtime)) fmt::print("  {}\n", line);
  return 0;
}

}  // namespace

void add_info(CLI::App& app, RunFn& run) {
  auto args = std::make_shared<InfoArgs>();
  auto* sub = app.add_subcommand("info", "hyper-parameters, parameter counts, MACs per window, BLAS and threads");
  sub->add_option("--weights", args->weights_path, "safetensors weights (checked against the config)");
  sub->add_option("--config", args->config_path, "model config (YAML/JSON); default: the weights' lumamba.config or LuMamba-Tiny");
  sub->add_option("--channels", args->n_channels, "channel count for the MAC count (default 22)");
  sub->add_option("--window-s", args->window_s, "window length in seconds for the MAC count (default 5)");
  sub->add_option("--sfreq-hz", args->sfreq_hz, "sampling rate of the model input (default 256)");
  sub->add_flag("--json", args->json, "print one JSON object on stdout");
  sub->add_option("overrides", args->overrides, "config overrides key=value");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] { run = [args] { return run_info(*args); }; });
}

}  // namespace lumamba::cli
