#include "lumamba/eval/inference.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/core/progress.h"
#include "lumamba/io/channels.h"
#include "lumamba/io/safetensors.h"
#include "lumamba/io/shipped_models.h"
#include "lumamba/model/weights.h"

namespace lumamba::eval {

std::string TaskInfo::to_json() const {
  nlohmann::json j{{"name", name}, {"target", target}, {"n_classes", n_classes}, {"class_names", class_names}};
  return j.dump();
}

TaskInfo TaskInfo::from_json(const std::string& text, const std::string& source) {
  TaskInfo t;
  try {
    const auto j = nlohmann::json::parse(text);
    t.name = j.value("name", t.name);
    t.target = j.value("target", t.target);
    t.n_classes = j.value("n_classes", t.n_classes);
    t.class_names = j.value("class_names", std::vector<std::string>{});
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: metadata '{}' is not valid: {}", source, kMetaTask, e.what()));
  }
  check_option("task.target", t.target, {"multiclass", "multilabel"});
  return t;
}

LoadedModel load_model(const std::vector<std::string>& weights_paths, const std::string& config_path,
                       const std::vector<std::string>& overrides) {
  LUMAMBA_CHECK_INPUT(!weights_paths.empty(), "no weights given");
  std::vector<io::SafetensorsFile> files;
  for (const auto& p : weights_paths) files.push_back(io::SafetensorsFile::open(io::resolve_checkpoint(p)));
  LoadedModel loaded;
  LUMAMBA_CHECK_INPUT(!config_path.empty() || model::has_config(files.front()),
                      "{}: no '{}' metadata (reference weights): pass the model config (e.g. --config "
                      "configs/model/lumamba_tiny.yaml num_classes=2)",
                      weights_paths.front(), model::kMetaConfig);
  loaded.options = config_path.empty() ? model::config_from_checkpoint(files.front())
                                       : model::options_from_file(config_path);
  model::apply_overrides(loaded.options, overrides);
  const auto& meta = files.front().metadata();
  if (auto it = meta.find(model::kMetaPreprocess); it != meta.end()) loaded.preprocess_json = it->second;
  if (auto it = meta.find(kMetaTask); it != meta.end()) {
    loaded.task = TaskInfo::from_json(it->second, weights_paths.front());
    loaded.has_task = true;
  } else {
    loaded.task.n_classes = loaded.options.num_classes();
  }
  loaded.net = model::LuMamba(loaded.options);
  std::vector<const io::SafetensorsFile*> ptrs;
  for (const auto& f : files) ptrs.push_back(&f);
  model::load_state_dict(*loaded.net, ptrs);
  loaded.net->eval();
  return loaded;
}

torch::Tensor locations_from_names(const std::vector<std::string>& names, int64_t batch) {
  const auto positions = io::channel_positions(names);
  // float32 like the reference (its locations are float32 tensors built from MNE's float64).
  auto loc = torch::empty({static_cast<int64_t>(names.size()), 3}, torch::kFloat32);
  for (size_t i = 0; i < positions.size(); ++i) {
    loc[static_cast<int64_t>(i)][0] = positions[i].x_m;
    loc[static_cast<int64_t>(i)][1] = positions[i].y_m;
    loc[static_cast<int64_t>(i)][2] = positions[i].z_m;
  }
  return loc.unsqueeze(0).expand({batch, -1, -1}).contiguous();
}

torch::Tensor vocabulary_indices_tensor(const std::vector<std::string>& names, int64_t batch) {
  return torch::tensor(io::vocabulary_indices(names), torch::kLong).unsqueeze(0).expand({batch, -1}).contiguous();
}

std::vector<std::pair<std::string, torch::Tensor>> forward_named(model::LuMamba& net, const torch::Tensor& signal,
                                                                 const torch::Tensor& locations,
                                                                 const compat::optional<torch::Tensor>& mask,
                                                                 const compat::optional<torch::Tensor>& channel_idx) {
  model::LuMambaOutput out;
  {
    torch::NoGradGuard no_grad;
    out = net->forward(signal, locations, mask, channel_idx);
  }
  std::vector<std::pair<std::string, torch::Tensor>> outputs = {{"embedding", out.encoder_out},
                                                                {"embedding_mean", out.encoder_out.mean(1)},
                                                                {"attention_weights", out.attention_weights}};
  if (out.logits.defined()) outputs.emplace_back("logits", out.logits);
  if (out.reconstruction.defined()) outputs.emplace_back("reconstruction", out.reconstruction);
  return outputs;
}

torch::Tensor probabilities_from_logits(const torch::Tensor& logits, const std::string& target) {
  return target == "multilabel" ? torch::sigmoid(logits) : torch::softmax(logits, -1);
}

namespace {

// Runs fn on every batch of windows (grouped by channel count, order restored by the caller).
template <typename Fn>
void for_each_batch(const data::WindowDataset& dataset, const std::vector<int64_t>& windows, int64_t batch_size,
                    bool show_progress, const char* what, Fn&& fn) {
  std::vector<int64_t> order(windows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  // Batches of one channel count: plan over positions, then map back to windows.
  std::map<int64_t, std::vector<int64_t>> by_channels;
  for (size_t i = 0; i < windows.size(); ++i) by_channels[dataset.recording_of(windows[i]).n_channels].push_back(static_cast<int64_t>(i));
  std::vector<std::vector<int64_t>> plan_positions, plan_windows;
  for (auto& [c, positions] : by_channels) {
    for (size_t s = 0; s < positions.size(); s += static_cast<size_t>(batch_size)) {
      const size_t e = std::min(positions.size(), s + static_cast<size_t>(batch_size));
      plan_positions.emplace_back(positions.begin() + static_cast<std::ptrdiff_t>(s),
                                  positions.begin() + static_cast<std::ptrdiff_t>(e));
      std::vector<int64_t> ws;
      for (size_t k = s; k < e; ++k) ws.push_back(windows[static_cast<size_t>(positions[k])]);
      plan_windows.push_back(std::move(ws));
    }
  }
  Progress progress(what, static_cast<int64_t>(windows.size()));
  data::BackgroundLoader loader(dataset, plan_windows);
  data::Batch batch;
  torch::NoGradGuard no_grad;
  for (size_t b = 0; loader.next(batch); ++b) {
    fn(batch, plan_positions[b]);
    if (show_progress) progress.advance(static_cast<int64_t>(batch.windows.size()));
  }
  if (show_progress) progress.finish();
}

}  // namespace

std::vector<double> predict_windows(model::LuMamba& net, const data::WindowDataset& dataset,
                                    const std::vector<int64_t>& windows, const TaskInfo& task, int64_t batch_size,
                                    bool show_progress) {
  const int64_t k = task.n_classes;
  std::vector<double> out(windows.size() * static_cast<size_t>(k));
  for_each_batch(dataset, windows, batch_size, show_progress, "windows", [&](const data::Batch& batch,
                                                                            const std::vector<int64_t>& positions) {
    const auto logits = net->forward(batch.signal, batch.locations).logits;
    LUMAMBA_CHECK_INPUT(logits.defined() && logits.size(1) == k,
                        "the model gives {} outputs per window, the task has {} classes",
                        logits.defined() ? logits.size(1) : 0, k);
    const auto p = probabilities_from_logits(logits, task.target).to(torch::kFloat64).contiguous();
    const double* pp = p.data_ptr<double>();
    for (size_t i = 0; i < positions.size(); ++i) {
      std::copy(pp + static_cast<int64_t>(i) * k, pp + static_cast<int64_t>(i + 1) * k,
                out.begin() + positions[i] * k);
    }
  });
  return out;
}

std::vector<float> embed_windows(model::LuMamba& net, const data::WindowDataset& dataset,
                                 const std::vector<int64_t>& windows, int64_t batch_size, bool show_progress) {
  const int64_t d = net->options.d_model();
  std::vector<float> out(windows.size() * static_cast<size_t>(d));
  for_each_batch(dataset, windows, batch_size, show_progress, "windows", [&](const data::Batch& batch,
                                                                            const std::vector<int64_t>& positions) {
    const auto emb = net->encode(batch.signal, batch.locations).mean(1).to(torch::kFloat32).contiguous();  // (B, D)
    const float* ep = emb.data_ptr<float>();
    for (size_t i = 0; i < positions.size(); ++i) {
      std::copy(ep + static_cast<int64_t>(i) * d, ep + static_cast<int64_t>(i + 1) * d, out.begin() + positions[i] * d);
    }
  });
  return out;
}

MultilabelMetrics multilabel_metrics(const std::vector<std::uint8_t>& y, const std::vector<double>& probabilities,
                                     int64_t n_labels) {
  MultilabelMetrics m;
  m.n_labels = n_labels;
  m.n_samples = n_labels > 0 ? static_cast<int64_t>(y.size()) / n_labels : 0;
  LUMAMBA_CHECK_INPUT(probabilities.size() == y.size(), "multi-label metrics: {} probabilities for {} labels",
                      probabilities.size(), y.size());
  double sum_auroc = 0, sum_aupr = 0;
  int64_t n_defined = 0;
  for (int64_t k = 0; k < n_labels; ++k) {
    std::vector<int64_t> yk;
    std::vector<double> pk;
    int64_t positives = 0;
    for (int64_t i = 0; i < m.n_samples; ++i) {
      yk.push_back(y[static_cast<size_t>(i * n_labels + k)] ? 1 : 0);
      pk.push_back(probabilities[static_cast<size_t>(i * n_labels + k)]);
      positives += yk.back();
    }
    if (positives == 0 || positives == m.n_samples) {
      m.auroc.push_back(std::nan(""));
      m.aupr.push_back(std::nan(""));
      m.warnings.push_back(fmt::format("label column {} has one class only: left out of the macro mean", k));
      continue;
    }
    m.auroc.push_back(roc_auc(yk, pk));
    m.aupr.push_back(average_precision(yk, pk));
    sum_auroc += m.auroc.back();
    sum_aupr += m.aupr.back();
    ++n_defined;
  }
  m.auroc_macro = n_defined ? sum_auroc / static_cast<double>(n_defined) : std::nan("");
  m.aupr_macro = n_defined ? sum_aupr / static_cast<double>(n_defined) : std::nan("");
  return m;
}

std::string EvaluationReport::summary_line() const {
  if (!multilabel) return eval::summary_line(windows);
  return fmt::format("{} windows x {} labels: macro AUROC {:.3f}, macro AUPR {:.3f}", multilabel_windows.n_samples,
                     multilabel_windows.n_labels, multilabel_windows.auroc_macro, multilabel_windows.aupr_macro);
}

std::string EvaluationReport::to_json() const {
  nlohmann::json j;
  if (multilabel) {
    const auto nan_to_null = [](const std::vector<double>& v) {
      nlohmann::json a = nlohmann::json::array();
      for (const double x : v) a.push_back(std::isnan(x) ? nlohmann::json() : nlohmann::json(x));
      return a;
    };
    const auto& m = multilabel_windows;
    j["windows"] = {{"n_samples", m.n_samples}, {"n_labels", m.n_labels},
                    {"auroc_macro", std::isnan(m.auroc_macro) ? nlohmann::json() : nlohmann::json(m.auroc_macro)},
                    {"aupr_macro", std::isnan(m.aupr_macro) ? nlohmann::json() : nlohmann::json(m.aupr_macro)},
                    {"auroc", nan_to_null(m.auroc)}, {"aupr", nan_to_null(m.aupr)}, {"warnings", m.warnings}};
    return j.dump(2);
  }
  j["windows"] = nlohmann::json::parse(eval::to_json(windows));
  j["recordings"] = nlohmann::json::parse(eval::to_json(recordings));
  j["n_recordings"] = n_recordings;
  return j.dump(2);
}

EvaluationReport evaluate_predictions(const data::WindowDataset& dataset, const std::vector<int64_t>& windows,
                                      const std::vector<double>& probabilities, int64_t n_classes) {
  if (dataset.label_kind() == data::LabelKind::kMultiChannel) {
    LUMAMBA_CHECK_INPUT(dataset.n_label_columns() == n_classes, "the windows have {} label columns, the model {} outputs",
                        dataset.n_label_columns(), n_classes);
    std::vector<std::uint8_t> y;
    const auto& all = dataset.multi_labels();
    for (const int64_t w : windows) {
      y.insert(y.end(), all.begin() + w * n_classes, all.begin() + (w + 1) * n_classes);
    }
    EvaluationReport report;
    report.multilabel = true;
    report.multilabel_windows = multilabel_metrics(y, probabilities, n_classes);
    return report;
  }
  LUMAMBA_CHECK_INPUT(dataset.label_kind() == data::LabelKind::kClass,
                      "evaluation needs labels (y) in the HDF5 windows");
  const auto& labels = dataset.class_labels();
  EvaluationReport report;
  std::vector<int64_t> y;
  for (const int64_t w : windows) y.push_back(labels[static_cast<size_t>(w)]);
  report.windows = classification_metrics(y, probabilities, n_classes);

  // Recording level: mean probability over the recording's windows; its label is the most frequent
  // window label (recording-level tasks such as TUAB have one label per recording).
  std::map<int64_t, std::vector<size_t>> by_recording;
  for (size_t i = 0; i < windows.size(); ++i) by_recording[dataset.recording_index(windows[i])].push_back(i);
  std::vector<int64_t> rec_y;
  std::vector<double> rec_p;
  for (const auto& [rec, rows] : by_recording) {
    std::vector<double> mean(static_cast<size_t>(n_classes), 0.0);
    std::map<int64_t, int64_t> votes;
    for (const size_t i : rows) {
      for (int64_t c = 0; c < n_classes; ++c) mean[static_cast<size_t>(c)] += probabilities[i * static_cast<size_t>(n_classes) + static_cast<size_t>(c)];
      ++votes[y[i]];
    }
    for (auto& m : mean) m /= static_cast<double>(rows.size());
    int64_t label = votes.begin()->first, best = 0;
    for (const auto& [code, n] : votes) {
      if (n > best) best = n, label = code;
    }
    rec_y.push_back(label);
    rec_p.insert(rec_p.end(), mean.begin(), mean.end());
  }
  report.n_recordings = static_cast<int64_t>(rec_y.size());
  report.recordings = classification_metrics(rec_y, rec_p, n_classes);
  return report;
}

void write_predictions_csv(const std::string& path, const data::WindowDataset& dataset,
                           const std::vector<int64_t>& windows, const std::vector<double>& probabilities,
                           int64_t n_classes) {
  std::ostringstream out;
  out << "recording,window_start_s,label,predicted";
  for (int64_t c = 0; c < n_classes; ++c) out << ",p_" << c;
  out << "\n";
  const auto starts = dataset.window_start_s();
  const bool has_labels = dataset.label_kind() == data::LabelKind::kClass;
  const bool multi = dataset.label_kind() == data::LabelKind::kMultiChannel;
  const int64_t columns = dataset.n_label_columns();
  for (size_t i = 0; i < windows.size(); ++i) {
    const int64_t w = windows[i];
    const double* p = probabilities.data() + i * static_cast<size_t>(n_classes);
    const int64_t predicted = std::max_element(p, p + n_classes) - p;
    out << dataset.recording_of(w).name << ',' << fmt::format("{:.4f}", starts[static_cast<size_t>(w)]) << ','
        << (has_labels ? std::to_string(dataset.class_labels()[static_cast<size_t>(w)]) : std::string());
    if (multi) {  // labels as "0;1;0;..." (one per column)
      for (int64_t c = 0; c < columns; ++c) {
        out << (c ? ";" : "") << static_cast<int>(dataset.multi_labels()[static_cast<size_t>(w * columns + c)]);
      }
    }
    out << ',';
    if (multi) {  // predicted: p > 0.5 per column
      for (int64_t c = 0; c < n_classes; ++c) out << (c ? ";" : "") << (p[c] > 0.5 ? 1 : 0);
    } else {
      out << predicted;
    }
    for (int64_t c = 0; c < n_classes; ++c) out << ',' << fmt::format("{:.6g}", p[c]);
    out << "\n";
  }
  write_text_file_atomic(path, out.str());
}

std::vector<int64_t> all_windows(const data::WindowDataset& dataset) {
  std::vector<int64_t> w(static_cast<size_t>(dataset.size()));
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int64_t>(i);
  return w;
}

}  // namespace lumamba::eval
