// lumamba/eval/arrays.h — lumamba on arrays in memory: the core of the Python module (python/).
// A recording given as an array is preprocessed by the same code as a file (through
// io::ArrayRecordingReader), and a loaded checkpoint embeds, classifies or runs the network on
// arrays with the functions behind `lumamba embed`, `predict` and `forward`, so the numbers are the
// command line's. Torch-free header: arrays are flat vectors with their shapes, row-major.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lumamba/io/array_recording.h"
#include "lumamba/io/window_h5.h"

namespace lumamba::eval {

struct LoadedModel;

/// Windows of a recording by a preset (name or YAML file) with key=value overrides, as `lumamba
/// preprocess` cuts a file (io::RecordingWindows: (N, C, T) µV, start times, channels). Labels come
/// only from the recording's own events (event-locked presets); otherwise they are -1.
io::RecordingWindows preprocess_array(const io::ArrayRecordingData& recording, const std::string& preset,
                              const std::vector<std::string>& overrides, int n_threads = 1);

/// A named output of the network: shape and float32 values, row-major.
struct NamedArray {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

/// A checkpoint loaded for inference (eval mode, float32). Copies share the network.
class ArrayModel {
 public:
  /// Checkpoint file(s) (later ones override earlier ones) or a shipped model's name; `config_path`
  /// for weights without `lumamba.config`; model option overrides key=value.
  static ArrayModel load(const std::vector<std::string>& weights, const std::string& config_path = "",
                         const std::vector<std::string>& overrides = {});

  const std::string& source() const { return source_; }
  bool is_classifier() const;  ///< false for a pretraining checkpoint (no head)
  int64_t n_classes() const;
  std::vector<std::string> class_names() const;
  std::string task_json() const;        ///< `lumamba.task`
  std::string config_json() const;      ///< model options
  std::string preprocess_json() const;  ///< `lumamba.preprocess` ("{}" when none)
  int64_t embedding_dim() const;        ///< Q·E
  int64_t patch_size() const;

  /// The recording cut as this checkpoint's preprocessing says (or by `preset` when it stores none,
  /// or to replace it), with preset overrides key=value (e.g. window_hop_s=0.5).
  io::RecordingWindows windows(const io::ArrayRecordingData& recording, const std::string& preset = "",
                       const std::vector<std::string>& preset_overrides = {}, int n_threads = 1) const;
  /// (N, Q·E) mean-over-patches embeddings of the windows (z-scored per channel first).
  std::vector<float> embed(const io::RecordingWindows& windows, int64_t batch_size = 64) const;
  /// (N, K) class probabilities of the windows; InputError for a pretraining checkpoint.
  std::vector<double> predict_proba(const io::RecordingWindows& windows, int64_t batch_size = 64) const;
  /// The network on raw inputs, as `lumamba forward`: `signal` (B, C, T); `locations` (B, C, 3) or
  /// (C, 3) metres, or empty to look `channel_names` up in the 10-05 table; `mask` (B, C, T) 0/1 or
  /// empty; a pretraining model also needs `channel_names` (its channel embedding). Outputs
  /// embedding, embedding_mean, attention_weights, logits | reconstruction.
  std::vector<NamedArray> forward(const std::vector<float>& signal, int64_t batch, int64_t n_channels,
                                  int64_t n_samples, const std::vector<float>& locations,
                                  const std::vector<std::string>& channel_names, const std::vector<uint8_t>& mask,
                                  bool zscore) const;

 private:
  std::shared_ptr<LoadedModel> model_;
  std::string source_;
};

}  // namespace lumamba::eval
