// `lumamba forward` as a library function (see lumamba/eval/forward_file.h).
#include "lumamba/eval/forward_file.h"

#include "lumamba/eval/inference.h"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/data/normalize.h"
#include "lumamba/io/channels.h"
#include "lumamba/io/safetensors.h"
#include "lumamba/io/shipped_models.h"
#include "lumamba/model/fmt_shape.h"
#include "lumamba/model/lumamba.h"
#include "lumamba/model/weights.h"

namespace lumamba::eval {
namespace {

std::vector<std::string> metadata_channels(const io::SafetensorsFile& file) {
  auto it = file.metadata().find("channels");
  if (it == file.metadata().end()) return {};
  return io::split_channel_list(it->second);
}

}  // namespace

ForwardFileSummary run_forward_file(const ForwardFileRequest& req) {
  LUMAMBA_CHECK_INPUT(!req.weights_paths.empty(), "forward: --weights is required");
  std::vector<io::SafetensorsFile> weight_files;
  for (const auto& path : req.weights_paths) weight_files.push_back(io::SafetensorsFile::open(io::resolve_checkpoint(path)));
  model::LuMambaOptions options = req.config_path.empty() ? model::config_from_checkpoint(weight_files.front())
                                                          : model::options_from_file(req.config_path);
  model::apply_overrides(options, req.overrides);

  model::LuMamba network(options);
  std::vector<const io::SafetensorsFile*> files;
  for (const auto& f : weight_files) files.push_back(&f);
  model::load_state_dict(*network, files);
  network->eval();
  const auto dtype = req.float64 ? torch::kFloat64 : torch::kFloat32;
  network->to(dtype);

  const auto input_file = io::SafetensorsFile::open(req.input_path);
  const auto& src = input_file.source();
  LUMAMBA_CHECK_INPUT(input_file.contains("input"), "{}: no tensor 'input' (B, C, T)", src);
  const auto& input_view = input_file.at("input");
  LUMAMBA_CHECK_INPUT(input_view.dtype == io::DType::kF32 || input_view.dtype == io::DType::kF64,
                      "{}: tensor 'input' must be F32 or F64, got {}", src, io::dtype_name(input_view.dtype));
  auto signal = model::to_torch(input_view);
  LUMAMBA_CHECK_INPUT(signal.dim() == 3, "{}: tensor 'input' must be (B, C, T), got {}", src, signal.sizes());
  const int64_t b = signal.size(0), c = signal.size(1);
  LUMAMBA_CHECK_INPUT(torch::isfinite(signal).all().item<bool>(), "{}: tensor 'input' has NaN or Inf values", src);
  signal = signal.to(dtype);
  if (req.zscore) signal = data::zscore_channels(signal);

  const auto names = metadata_channels(input_file);
  LUMAMBA_CHECK_INPUT(names.empty() || static_cast<int64_t>(names.size()) == c,
                      "{}: metadata 'channels' lists {} names but 'input' has C = {} channels", src, names.size(), c);
  torch::Tensor locations;
  if (input_file.contains("channel_locations")) {
    locations = model::to_torch(input_file.at("channel_locations"));
  } else {
    LUMAMBA_CHECK_INPUT(!names.empty(), "{}: needs 'channel_locations' (B, C, 3) or a 'channels' metadata entry", src);
    locations = locations_from_names(names, b);
  }
  locations = locations.to(torch::kFloat32).to(dtype);

  compat::optional<torch::Tensor> mask;
  if (input_file.contains("mask")) {
    const auto& mv = input_file.at("mask");
    LUMAMBA_CHECK_INPUT(mv.dtype == io::DType::kU8 || mv.dtype == io::DType::kBool,
                        "{}: tensor 'mask' must be U8 or BOOL, got {}", src, io::dtype_name(mv.dtype));
    mask = model::to_torch(mv).to(torch::kBool);
  }
  compat::optional<torch::Tensor> channel_names;
  if (options.is_pretraining()) {
    if (input_file.contains("channel_names_idx")) {
      channel_names = model::to_torch(input_file.at("channel_names_idx")).to(torch::kLong);
    } else {
      LUMAMBA_CHECK_INPUT(!names.empty(),
                          "{}: a pretraining config needs 'channel_names_idx' (B, C) or a 'channels' metadata entry",
                          src);
      channel_names = vocabulary_indices_tensor(names, b);
    }
  }

  const auto outputs = forward_named(network, signal, locations, mask, channel_names);
  model::save_tensors(req.output_path, outputs,
               {{"lumamba.config", model::options_to_json(options)}, {"source_input", src}});

  ForwardFileSummary summary;
  summary.options = options;
  summary.batch = b;
  summary.n_channels = c;
  summary.n_samples = signal.size(2);
  for (const auto& o : outputs) summary.output_names.push_back(o.first);
  return summary;
}

}  // namespace lumamba::eval
