// lumamba/eval/inference.h — a trained model and what it says about windows: loading a checkpoint
// with its task, class probabilities and embeddings of dataset windows, metrics per window and per
// recording, prediction tables. Used by `finetune` (validation, test), `evaluate`, `predict` and
// `embed`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lumamba/core/compat.h"
#include "lumamba/data/window_dataset.h"
#include "lumamba/eval/metrics.h"
#include "lumamba/model/lumamba.h"

namespace lumamba::eval {

inline constexpr const char* kMetaTask = "lumamba.task";

/// What a classifier predicts: "multiclass" (softmax over num_classes, binary = 2 classes) or
/// "multilabel" (a sigmoid per label column, TUAR per-channel labels).
struct TaskInfo {
  std::string name = "generic";
  std::string target = "multiclass";
  int64_t n_classes = 2;
  std::vector<std::string> class_names;  ///< optional, index = class code
  std::string to_json() const;
  static TaskInfo from_json(const std::string& text, const std::string& source);
};

/// A model with its configuration, preprocessing and task, from safetensors files.
struct LoadedModel {
  model::LuMamba net{nullptr};
  model::LuMambaOptions options;
  std::string preprocess_json = "{}";  ///< `lumamba.preprocess` of the checkpoint
  TaskInfo task;
  bool has_task = false;
};

/// Loads our checkpoint (config in metadata) or reference weights with `config_path`; later files
/// override earlier ones; `overrides` are model options key=value. Eval mode, float32.
LoadedModel load_model(const std::vector<std::string>& weights_paths, const std::string& config_path = "",
                       const std::vector<std::string>& overrides = {});

/// Electrode positions (B, C, 3) float32 of 10-05 names (io::channel_positions), the same for each of
/// `batch` rows.
torch::Tensor locations_from_names(const std::vector<std::string>& names, int64_t batch);

/// Channel-vocabulary indices (B, C) int64 of names, for a pretraining model's channel embedding.
torch::Tensor vocabulary_indices_tensor(const std::vector<std::string>& names, int64_t batch);

/// The network's outputs by the names `lumamba forward` writes: `embedding` (B, S, Q·E),
/// `embedding_mean` (B, Q·E), `attention_weights` (B·S, Q, C), then `logits` (B, K) or
/// `reconstruction` (B, C, T). No grad. `channel_idx` (B, C) is needed by a pretraining model only.
std::vector<std::pair<std::string, torch::Tensor>> forward_named(model::LuMamba& net, const torch::Tensor& signal,
                                                                 const torch::Tensor& locations,
                                                                 const compat::optional<torch::Tensor>& mask,
                                                                 const compat::optional<torch::Tensor>& channel_idx);

/// Class probabilities (B, K): softmax of the logits (multiclass) or sigmoid (multilabel).
torch::Tensor probabilities_from_logits(const torch::Tensor& logits, const std::string& target);

/// Runs the classifier over windows in batches (no grad). Returns (N, K) probabilities row-major in
/// the order of `windows`; progress on stderr when show_progress.
std::vector<double> predict_windows(model::LuMamba& net, const data::WindowDataset& dataset,
                                    const std::vector<int64_t>& windows, const TaskInfo& task, int64_t batch_size,
                                    bool show_progress);

/// Mean-over-patches encoder embeddings (N, Q·E) row-major (float32), in the order of `windows`.
std::vector<float> embed_windows(model::LuMamba& net, const data::WindowDataset& dataset,
                                 const std::vector<int64_t>& windows, int64_t batch_size, bool show_progress);

/// Multi-label (TUAR per-channel) metrics: one binary problem per label column; AUROC and AUPR
/// (average precision) per column and their macro mean over the columns where both classes occur.
struct MultilabelMetrics {
  int64_t n_samples = 0, n_labels = 0;
  std::vector<double> auroc, aupr;  ///< per column (NaN when a column has one class only)
  double auroc_macro = 0, aupr_macro = 0;
  std::vector<std::string> warnings;
};
MultilabelMetrics multilabel_metrics(const std::vector<std::uint8_t>& y, const std::vector<double>& probabilities,
                                     int64_t n_labels);

/// Window-level and recording-level (mean probability over a recording's windows, label = the
/// majority window label) metrics of multiclass predictions; window-level per-column metrics of
/// multi-label ones.
struct EvaluationReport {
  bool multilabel = false;
  ClassificationMetrics windows;
  ClassificationMetrics recordings;
  MultilabelMetrics multilabel_windows;
  int64_t n_recordings = 0;
  std::string to_json() const;
  std::string summary_line() const;
};
EvaluationReport evaluate_predictions(const data::WindowDataset& dataset, const std::vector<int64_t>& windows,
                                      const std::vector<double>& probabilities, int64_t n_classes);

/// CSV: recording,window_start_s,label,predicted,p_0..p_{K-1}. Atomic.
void write_predictions_csv(const std::string& path, const data::WindowDataset& dataset,
                           const std::vector<int64_t>& windows, const std::vector<double>& probabilities,
                           int64_t n_classes);

/// All window indices 0..N-1.
std::vector<int64_t> all_windows(const data::WindowDataset& dataset);

}  // namespace lumamba::eval
