// State-dict loading/saving through safetensors (see lumamba/model/weights.h).
#include "lumamba/model/weights.h"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include <cstring>
#include <set>

#include "lumamba/core/error.h"
#include "lumamba/core/log.h"

namespace lumamba::model {
namespace {

torch::ScalarType to_scalar_type(io::DType t) {
  switch (t) {
    case io::DType::kF32: return torch::kFloat32;
    case io::DType::kF64: return torch::kFloat64;
    case io::DType::kF16: return torch::kFloat16;
    case io::DType::kBF16: return torch::kBFloat16;
    case io::DType::kI64: return torch::kInt64;
    case io::DType::kI32: return torch::kInt32;
    case io::DType::kU8: return torch::kUInt8;
    case io::DType::kBool: return torch::kBool;
  }
  throw InternalError("unhandled dtype");
}

// Heads that a config may legitimately not build; head_norm (the classification head's input
// BatchNorm, `model.head_norm: batch`) belongs to the head: a pretraining model has none.
bool is_head_tensor(const std::string& name) {
  for (const char* prefix : {"classifier.", "decoder_head.", "channel_emb.", "head_norm."}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

std::string strip_model_prefix(const std::string& name) {
  static const std::string kPrefix = "model.";
  return name.rfind(kPrefix, 0) == 0 ? name.substr(kPrefix.size()) : name;
}

}  // namespace

torch::Tensor to_torch(const io::TensorView& view) {
  auto options = torch::TensorOptions().dtype(to_scalar_type(view.dtype));
  if (view.numel() == 0) return torch::empty(view.shape, options);
  // memcpy, not from_blob: data inside a safetensors file need not be aligned for its dtype.
  auto tensor = torch::empty(view.shape, options);
  std::memcpy(tensor.data_ptr(), view.data, view.n_bytes);
  return tensor;
}

io::DType to_io_dtype(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return io::DType::kF32;
    case torch::kFloat64: return io::DType::kF64;
    case torch::kFloat16: return io::DType::kF16;
    case torch::kBFloat16: return io::DType::kBF16;
    case torch::kInt64: return io::DType::kI64;
    case torch::kInt32: return io::DType::kI32;
    case torch::kUInt8: return io::DType::kU8;
    case torch::kBool: return io::DType::kBool;
    default: throw InputError(fmt::format("cannot store tensors of dtype {} in safetensors", c10::toString(type)));
  }
}

LoadReport load_state_dict(torch::nn::Module& module, const std::vector<const io::SafetensorsFile*>& files,
                           LoadMode mode) {
  const bool encoder_only = mode == LoadMode::kEncoderOnly;
  std::map<std::string, const io::TensorView*> available;  // later files override earlier ones
  std::map<std::string, std::string> source_of;
  for (const auto* file : files) {
    for (const auto& view : file->tensors()) {
      const auto name = strip_model_prefix(view.name);
      available[name] = &view;
      source_of[name] = file->source();
    }
  }
  auto targets = module.named_parameters(/*recurse=*/true);
  auto buffers = module.named_buffers(/*recurse=*/true);
  std::map<std::string, torch::Tensor> wanted;
  for (const auto& kv : targets) wanted[kv.key()] = kv.value();
  for (const auto& kv : buffers) wanted[kv.key()] = kv.value();

  LoadReport report;
  if (encoder_only) {
    // Fine-tuning from pretrained weights (docs/reference-model.md §17): every head starts fresh; the file's
    // heads (decoder, channel embedding, an earlier classifier) are ignored.
    for (auto it = wanted.begin(); it != wanted.end();) {
      if (is_head_tensor(it->first)) {
        report.fresh.push_back(it->first);
        it = wanted.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = available.begin(); it != available.end();) {
      if (is_head_tensor(it->first)) {
        report.ignored_head.push_back(it->first);
        it = available.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::vector<std::string> missing, mis_shaped, unexpected;
  for (const auto& [name, tensor] : wanted) {
    auto it = available.find(name);
    if (it == available.end()) {
      missing.push_back(name);
      continue;
    }
    const auto& shape = it->second->shape;
    if (tensor.sizes() != c10::IntArrayRef(shape)) {
      mis_shaped.push_back(fmt::format("{} (file {}: {}, model: {})", name, source_of[name],
                                       fmt::join(shape, "x"), fmt::join(tensor.sizes(), "x")));
    }
  }
  for (const auto& [name, view] : available) {
    if (wanted.count(name)) continue;
    if (is_head_tensor(name)) report.ignored_head.push_back(name);
    else unexpected.push_back(name);
  }
  std::string problems;
  if (!missing.empty()) problems += fmt::format("\n  missing ({}): {}", missing.size(), fmt::join(missing, ", "));
  if (!mis_shaped.empty()) problems += fmt::format("\n  mis-shaped ({}): {}", mis_shaped.size(), fmt::join(mis_shaped, "; "));
  if (!unexpected.empty()) problems += fmt::format("\n  unexpected ({}): {}", unexpected.size(), fmt::join(unexpected, ", "));
  if (!problems.empty()) {
    std::vector<std::string> sources;
    for (const auto* f : files) sources.push_back(f->source());
    throw InputError(fmt::format("weights {} do not fit the model config:{}", fmt::join(sources, " + "), problems));
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : wanted) {
    auto src = to_torch(*available.at(name));
    // NaN/Inf weights (a diverged run) would give NaN probabilities and embeddings downstream.
    const auto n_bad = src.numel() - torch::isfinite(src).sum().item<int64_t>();
    LUMAMBA_CHECK_INPUT(n_bad == 0, "{}: tensor {} holds {} non-finite value(s) (NaN/Inf): the weights are unusable",
                        source_of[name], name, n_bad);
    tensor.copy_(src.to(tensor.dtype()));
    report.loaded.push_back(name);
  }
  if (!report.ignored_head.empty()) {
    std::map<std::string, int> per_module;  // "decoder_head" -> 24
    for (const auto& name : report.ignored_head) ++per_module[name.substr(0, name.find('.'))];
    std::vector<std::string> parts;
    for (const auto& [module_name, n] : per_module) parts.push_back(fmt::format("{} ({})", module_name, n));
    log::info("ignored {} tensor(s) of heads this config does not use: {}", report.ignored_head.size(),
              fmt::join(parts, ", "));
    log::debug("ignored tensors: {}", fmt::join(report.ignored_head, ", "));
  }
  return report;
}

bool has_config(const io::SafetensorsFile& file) { return file.metadata().count(kMetaConfig) > 0; }

LuMambaOptions config_from_checkpoint(const io::SafetensorsFile& file) {
  const auto& meta = file.metadata();
  auto it = meta.find(kMetaConfig);
  LUMAMBA_CHECK_INPUT(it != meta.end(), "{}: no '{}' in the metadata; pass --config", file.source(), kMetaConfig);
  auto version = meta.find(kMetaFormatVersion);
  LUMAMBA_CHECK_INPUT(version == meta.end() || version->second == kCheckpointFormatVersion,
                      "{}: checkpoint format version {} is not supported (expected {})", file.source(),
                      version->second, kCheckpointFormatVersion);
  return options_from_text(it->second, file.source() + " [" + kMetaConfig + "]");
}

void save_tensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                  const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep_alive;
  std::vector<io::TensorToWrite> items;
  keep_alive.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    auto cpu = tensor.detach().to(torch::kCPU).contiguous();
    keep_alive.push_back(cpu);
    items.push_back({name, to_io_dtype(cpu.scalar_type()),
                     std::vector<int64_t>(cpu.sizes().begin(), cpu.sizes().end()), cpu.data_ptr(),
                     static_cast<std::size_t>(cpu.numel()) * cpu.element_size()});
  }
  io::write_safetensors(path, items, metadata);
}

void save_checkpoint(const std::string& path, const torch::nn::Module& module, const LuMambaOptions& options,
                     const std::string& preprocess_json, const std::map<std::string, std::string>& extra_metadata) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& kv : module.named_parameters(true)) tensors.emplace_back(kv.key(), kv.value());
  for (const auto& kv : module.named_buffers(true)) tensors.emplace_back(kv.key(), kv.value());
  auto metadata = extra_metadata;
  metadata[kMetaConfig] = options_to_json(options);
  metadata[kMetaPreprocess] = preprocess_json;
  metadata[kMetaFormatVersion] = kCheckpointFormatVersion;
  save_tensors(path, tensors, metadata);
}

}  // namespace lumamba::model
