#include "lumamba/eval/arrays.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "lumamba/core/error.h"
#include "lumamba/data/normalize.h"
#include "lumamba/eval/inference.h"
#include "lumamba/eval/predict.h"
#include "lumamba/io/shipped_models.h"
#include "lumamba/model/weights.h"
#include "lumamba/preprocess/dataset_builder.h"
#include "lumamba/preprocess/preset.h"

namespace lumamba::eval {
namespace {

io::RecordingWindows cut_windows(const io::ArrayRecordingData& recording, const preprocess::PreprocessPreset& preset,
                                 int n_threads) {
  io::ArrayRecordingReader reader(recording);
  return preprocess::process_recording(reader, preprocess::RecordingJob(recording.name, recording.name), preset,
                                       n_threads);
}

void check_windows(const io::RecordingWindows& w) {
  LUMAMBA_CHECK_INPUT(w.n_windows > 0, "{}: no windows: the recording is shorter than one window", w.source_file);
}

std::vector<float> to_floats(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat32).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

}  // namespace

io::RecordingWindows preprocess_array(const io::ArrayRecordingData& recording, const std::string& preset,
                                      const std::vector<std::string>& overrides, int n_threads) {
  return cut_windows(recording, preset_for_new_recordings(preprocess::preset_from_name_or_file(preset), overrides),
                     n_threads);
}

ArrayModel ArrayModel::load(const std::vector<std::string>& weights, const std::string& config_path,
                            const std::vector<std::string>& overrides) {
  LUMAMBA_CHECK_INPUT(!weights.empty(), "load: no checkpoint given");
  ArrayModel m;
  m.model_ = std::make_shared<LoadedModel>(load_model(weights, config_path, overrides));
  m.source_ = io::resolve_checkpoint(weights.front());
  return m;
}

bool ArrayModel::is_classifier() const { return !model_->options.is_pretraining(); }
int64_t ArrayModel::n_classes() const { return model_->task.n_classes; }
std::vector<std::string> ArrayModel::class_names() const { return model_->task.class_names; }
std::string ArrayModel::task_json() const { return model_->task.to_json(); }
std::string ArrayModel::config_json() const { return model::options_to_json(model_->options); }
std::string ArrayModel::preprocess_json() const { return model_->preprocess_json; }
int64_t ArrayModel::embedding_dim() const { return model_->options.d_model(); }
int64_t ArrayModel::patch_size() const { return model_->options.patch_size(); }

io::RecordingWindows ArrayModel::windows(const io::ArrayRecordingData& recording, const std::string& preset,
                                 const std::vector<std::string>& preset_overrides, int n_threads) const {
  return cut_windows(recording, checkpoint_preset(*model_, preset, preset_overrides, source_), n_threads);
}

std::vector<float> ArrayModel::embed(const io::RecordingWindows& windows, int64_t batch_size) const {
  check_windows(windows);
  return window_embeddings(*model_, windows, batch_size);
}

std::vector<double> ArrayModel::predict_proba(const io::RecordingWindows& windows, int64_t batch_size) const {
  LUMAMBA_CHECK_INPUT(is_classifier(), "{}: a pretraining checkpoint has no classifier; fine-tune it first "
                      "(lumamba finetune) or use embed", source_);
  check_windows(windows);
  return window_probabilities(*model_, windows, batch_size);
}

std::vector<NamedArray> ArrayModel::forward(const std::vector<float>& signal, int64_t batch, int64_t n_channels,
                                            int64_t n_samples, const std::vector<float>& locations,
                                            const std::vector<std::string>& channel_names,
                                            const std::vector<uint8_t>& mask, bool zscore) const {
  const int64_t b = batch, c = n_channels, t = n_samples;
  LUMAMBA_CHECK_INPUT(b > 0 && c > 0 && t > 0 && static_cast<int64_t>(signal.size()) == b * c * t,
                      "forward: signal must be (B, C, T) with B, C, T > 0");
  LUMAMBA_CHECK_INPUT(t % patch_size() == 0, "forward: T = {} samples is not a multiple of the patch size {}", t,
                      patch_size());
  auto x = torch::from_blob(const_cast<float*>(signal.data()), {b, c, t}, torch::kFloat32).clone();
  LUMAMBA_CHECK_INPUT(torch::isfinite(x).all().item<bool>(), "forward: signal has NaN or Inf values");
  if (zscore) x = data::zscore_channels(x);
  LUMAMBA_CHECK_INPUT(channel_names.empty() || static_cast<int64_t>(channel_names.size()) == c,
                      "forward: {} channel names for C = {} channels", channel_names.size(), c);
  torch::Tensor loc;
  if (!locations.empty()) {
    const auto n = static_cast<int64_t>(locations.size());
    LUMAMBA_CHECK_INPUT(n == c * 3 || n == b * c * 3, "forward: locations must be (C, 3) or (B, C, 3), C = {}", c);
    loc = torch::from_blob(const_cast<float*>(locations.data()), {n / (c * 3), c, 3}, torch::kFloat32).clone();
    if (loc.size(0) != b) loc = loc.expand({b, c, 3}).contiguous();
  } else {
    LUMAMBA_CHECK_INPUT(!channel_names.empty(), "forward: needs locations (C, 3) or channel names");
    loc = locations_from_names(channel_names, b);
  }
  compat::optional<torch::Tensor> m;
  if (!mask.empty()) {
    LUMAMBA_CHECK_INPUT(static_cast<int64_t>(mask.size()) == b * c * t, "forward: mask must be (B, C, T) like signal");
    m = torch::from_blob(const_cast<uint8_t*>(mask.data()), {b, c, t}, torch::kUInt8).to(torch::kBool);
  }
  compat::optional<torch::Tensor> idx;
  if (model_->options.is_pretraining()) {
    LUMAMBA_CHECK_INPUT(!channel_names.empty(), "forward: a pretraining model needs the channel names (its channel "
                        "embedding)");
    idx = vocabulary_indices_tensor(channel_names, b);
  }
  std::vector<NamedArray> out;
  for (const auto& [name, tensor] : forward_named(model_->net, x, loc, m, idx)) {
    out.push_back({name, tensor.sizes().vec(), to_floats(tensor)});
  }
  return out;
}

}  // namespace lumamba::eval
