#include "lumamba/eval/embedding_probe.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/core/svg_plot.h"
#include "lumamba/eval/baseline.h"
#include "lumamba/eval/metrics.h"
#include "lumamba/model/fmt_shape.h"

namespace lumamba::eval {

torch::Tensor knn_vote_shares(const torch::Tensor& train, const torch::Tensor& train_labels, const torch::Tensor& test,
                              int64_t k, int64_t n_classes) {
  LUMAMBA_CHECK_INPUT(train.dim() == 2 && test.dim() == 2 && train.size(1) == test.size(1),
                      "k-NN: features {} (train) and {} (test) must be (N, F) with the same F", train.sizes(),
                      test.sizes());
  LUMAMBA_CHECK_INPUT(train.size(0) == train_labels.size(0) && train.size(0) > 0 && k > 0,
                      "k-NN: {} training rows, {} labels, k = {}", train.size(0), train_labels.size(0), k);
  const auto x = train.to(torch::kFloat64), q = test.to(torch::kFloat64);
  const auto mean = x.mean(0), scale = x.std(0, /*unbiased=*/false).clamp_min(1e-12);
  const auto normalise = [&](const torch::Tensor& t) {
    const auto z = (t - mean) / scale;
    return z / z.norm(2, 1, true).clamp_min(1e-12);
  };
  const auto similarity = torch::mm(normalise(q), normalise(x).t());  // (N_test, N_train)
  const int64_t kk = std::min(k, x.size(0));
  // Stable descending sort: equal similarities keep the lower training index.
  const auto order = std::get<1>(similarity.sort(/*stable=*/true, /*dim=*/1, /*descending=*/true));
  const auto neighbours = order.narrow(1, 0, kk);
  const auto labels = train_labels.to(torch::kInt64).index({neighbours});  // (N_test, k)
  auto votes = torch::zeros({q.size(0), n_classes}, torch::kFloat64);
  votes.scatter_add_(1, labels, torch::ones_like(labels, torch::kFloat64));
  return votes / static_cast<double>(kk);
}

double effective_rank(const torch::Tensor& features) {
  LUMAMBA_CHECK_INPUT(features.dim() == 2 && features.size(0) >= 2, "effective rank: need (N >= 2, F) features, got {}",
                      features.sizes());
  const auto x = features.to(torch::kFloat64);
  const auto s = torch::linalg::svdvals(x - x.mean(0), c10::nullopt);
  const double s_max = s.max().item<double>();
  if (!(s_max > 0)) return 1.0;  // all rows equal: no direction at all
  const auto kept = s.index({s > 1e-12 * s_max});
  const auto p = kept / kept.sum();
  return std::exp(-(p * p.log()).sum().item<double>());
}

Pca2 pca_2d(const torch::Tensor& features) {
  LUMAMBA_CHECK_INPUT(features.dim() == 2 && features.size(0) >= 2 && features.size(1) >= 2,
                      "PCA: need (N >= 2, F >= 2) features, got {}", features.sizes());
  const auto x = features.to(torch::kFloat64);
  const auto centred = x - x.mean(0);
  const auto [u, s, vh] = torch::linalg::svd(centred, /*full_matrices=*/false, c10::nullopt);
  auto components = vh.narrow(0, 0, 2).clone();  // (2, F)
  for (int64_t i = 0; i < 2; ++i) {
    const auto row = components[i];
    const auto largest = row.abs().argmax().item<int64_t>();
    if (row[largest].item<double>() < 0) components[i] = -row;
  }
  Pca2 pca;
  pca.scores = torch::mm(centred, components.t());
  const auto var = s.pow(2);
  const double total = var.sum().item<double>();
  for (int64_t i = 0; i < 2; ++i) pca.explained[static_cast<size_t>(i)] = total > 0 ? var[i].item<double>() / total : 0;
  return pca;
}

SubjectIdSplit subject_id_split(const data::WindowDataset& dataset, const std::vector<int64_t>& windows) {
  // Recordings of each subject among `windows`; the last by name is held out.
  std::map<std::string, std::vector<std::string>> recordings;
  for (const int64_t w : windows) {
    const auto& rec = dataset.recording_of(w);
    auto& names = recordings[rec.subject];
    if (std::find(names.begin(), names.end(), rec.name) == names.end()) names.push_back(rec.name);
  }
  SubjectIdSplit split;
  std::map<std::string, int64_t> code;
  for (auto& [subject, names] : recordings) {
    if (names.size() < 2 || subject.empty()) continue;
    code[subject] = static_cast<int64_t>(split.subjects.size());
    split.subjects.push_back(subject);
  }
  for (size_t i = 0; i < windows.size(); ++i) {
    const auto& rec = dataset.recording_of(windows[i]);
    const auto it = code.find(rec.subject);
    split.subject_codes.push_back(it == code.end() ? -1 : it->second);
    if (it == code.end()) continue;
    const auto& names = recordings.at(rec.subject);
    const bool held_out = rec.name == *std::max_element(names.begin(), names.end());
    (held_out ? split.test_rows : split.train_rows).push_back(i);
  }
  return split;
}

namespace {

torch::Tensor rows_of(const torch::Tensor& x, const std::vector<size_t>& rows) {
  std::vector<int64_t> index(rows.begin(), rows.end());
  return x.index_select(0, torch::tensor(index, torch::kInt64));
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

FeatureProbe probe_feature_set(const std::string& name, const torch::Tensor& x_train, const torch::Tensor& y_train,
                               const torch::Tensor& x_test, const data::WindowDataset& dataset,
                               const std::vector<int64_t>& test_windows, const SubjectIdSplit& subjects,
                               int64_t n_classes, const EmbeddingProbeOptions& options) {
  FeatureProbe probe;
  probe.features = name;
  probe.dim = x_train.size(1);
  std::vector<double> weights;
  if (options.class_weights == "balanced") {
    weights = balanced_class_weights(
        std::vector<int64_t>(y_train.data_ptr<int64_t>(), y_train.data_ptr<int64_t>() + y_train.numel()), n_classes);
  }
  const auto lr = fit_logistic_regression(x_train, y_train, n_classes, options.C, weights);
  probe.task = evaluate_predictions(dataset, test_windows, to_vector(lr.predict_proba(x_test)), n_classes);

  std::vector<int64_t> y_test;
  for (const int64_t w : test_windows) y_test.push_back(dataset.class_labels()[static_cast<size_t>(w)]);
  const auto knn = knn_vote_shares(x_train, y_train, x_test, options.knn_k, n_classes);
  probe.knn_balanced_accuracy = classification_metrics(y_test, to_vector(knn), n_classes).balanced_accuracy;

  probe.subject_id_accuracy = std::numeric_limits<double>::quiet_NaN();
  if (subjects.subjects.size() >= 2 && !subjects.train_rows.empty() && !subjects.test_rows.empty()) {
    const auto codes = torch::tensor(subjects.subject_codes, torch::kInt64);
    const auto n_subjects = static_cast<int64_t>(subjects.subjects.size());
    const auto id = fit_logistic_regression(rows_of(x_test, subjects.train_rows), rows_of(codes, subjects.train_rows),
                                            n_subjects, options.C);
    const auto predicted = id.predict_proba(rows_of(x_test, subjects.test_rows)).argmax(1);
    probe.subject_id_accuracy =
        predicted.eq(rows_of(codes, subjects.test_rows)).to(torch::kFloat64).mean().item<double>();
  }
  probe.effective_rank = effective_rank(x_test);
  return probe;
}

nlohmann::json probe_json(const FeatureProbe& p) {
  const auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"features", p.features},
          {"dim", p.dim},
          {"task", nlohmann::json::parse(p.task.to_json())},
          {"knn_balanced_accuracy", number(p.knn_balanced_accuracy)},
          {"subject_id_accuracy", number(p.subject_id_accuracy)},
          {"effective_rank", number(p.effective_rank)}};
}

}  // namespace

std::string EmbeddingProbeReport::to_json() const {
  nlohmann::json j{{"n_train", n_train},
                   {"n_test", n_test},
                   {"n_classes", n_classes},
                   {"knn_k", knn_k},
                   {"subject_id", {{"subjects", subject_id_subjects},
                                   {"train_windows", subject_id_train},
                                   {"test_windows", subject_id_test},
                                   {"chance", subject_id_subjects > 0 ? 1.0 / static_cast<double>(subject_id_subjects)
                                                                      : 0.0}}},
                   {"pca_explained_variance", {pca.explained[0], pca.explained[1]}},
                   {"embedding", probe_json(embedding)},
                   {"band_power", probe_json(band_power)}};
  return j.dump(2);
}

EmbeddingProbeReport probe_embeddings(model::LuMamba& net, const data::WindowDataset& dataset,
                                      const EmbeddingProbeOptions& options) {
  LUMAMBA_CHECK_INPUT(dataset.label_kind() == data::LabelKind::kClass,
                      "probe: the windows need class labels (preprocess with labels)");
  check_option("class_weights", options.class_weights, {"none", "balanced"});
  std::vector<int64_t> train_windows, test_windows;
  for (int64_t w = 0; w < dataset.size(); ++w) {
    const auto& split = dataset.recording_of(w).split;
    if (split == "test") test_windows.push_back(w);
    else if (split == "train" || split == "val") train_windows.push_back(w);
  }
  LUMAMBA_CHECK_INPUT(!train_windows.empty() && !test_windows.empty(),
                      "probe: needs windows of splits train/val ({}) and test ({})", train_windows.size(),
                      test_windows.size());
  EmbeddingProbeReport report;
  report.n_train = static_cast<int64_t>(train_windows.size());
  report.n_test = static_cast<int64_t>(test_windows.size());
  report.n_classes = std::max<int64_t>(2, dataset.n_classes());
  report.knn_k = options.knn_k;
  report.test_windows = test_windows;
  for (const int64_t w : test_windows) report.subjects.push_back(dataset.recording_of(w).subject);

  log::info("probe: embedding {} train and {} test windows", train_windows.size(), test_windows.size());
  const auto embed = [&](const std::vector<int64_t>& windows) {
    auto flat = embed_windows(net, dataset, windows, options.batch_size, true);
    const auto n = static_cast<int64_t>(windows.size());
    return torch::from_blob(flat.data(), {n, static_cast<int64_t>(flat.size()) / n}, torch::kFloat32)
        .to(torch::kFloat64);  // copies: `flat` dies here
  };
  const auto e_train = embed(train_windows), e_test = embed(test_windows);
  LUMAMBA_CHECK_INPUT(torch::isfinite(e_train).all().item<bool>() && torch::isfinite(e_test).all().item<bool>(),
                      "probe: the encoder gives non-finite embeddings (check the weights)");
  const double sfreq = dataset.recordings().front().sfreq_hz;
  const auto [b_train, y_train] = band_power_features_of(dataset, train_windows, sfreq);
  const auto [b_test, y_test] = band_power_features_of(dataset, test_windows, sfreq);

  const auto subjects = subject_id_split(dataset, test_windows);
  report.subject_id_subjects = static_cast<int64_t>(subjects.subjects.size());
  report.subject_id_train = static_cast<int64_t>(subjects.train_rows.size());
  report.subject_id_test = static_cast<int64_t>(subjects.test_rows.size());
  report.embedding = probe_feature_set("embedding", e_train, y_train, e_test, dataset, test_windows, subjects,
                                       report.n_classes, options);
  report.band_power = probe_feature_set("band_power", b_train, y_train, b_test, dataset, test_windows, subjects,
                                        report.n_classes, options);
  report.pca = pca_2d(e_test);
  return report;
}

void write_embedding_plots(const EmbeddingProbeReport& report, const data::WindowDataset& dataset,
                           const std::string& by_label_svg, const std::string& by_subject_svg,
                           const std::string& title) {
  const auto scores = report.pca.scores.contiguous();
  const auto grouped = [&](const std::vector<std::string>& group_of_row) {
    std::map<std::string, PlotSeries> groups;
    for (size_t i = 0; i < group_of_row.size(); ++i) {
      auto& s = groups[group_of_row[i]];
      s.name = group_of_row[i];
      s.x.push_back(scores[static_cast<int64_t>(i)][0].item<double>());
      s.y.push_back(scores[static_cast<int64_t>(i)][1].item<double>());
    }
    std::vector<PlotSeries> out;
    for (auto& [name, s] : groups) out.push_back(std::move(s));
    return out;
  };
  std::vector<std::string> labels;
  for (const int64_t w : report.test_windows) {
    labels.push_back(fmt::format("class {}", dataset.class_labels()[static_cast<size_t>(w)]));
  }
  PlotOptions options;
  options.x_label = fmt::format("PC 1 ({:.1f} % of variance)", 100 * report.pca.explained[0]);
  options.y_label = fmt::format("PC 2 ({:.1f} % of variance)", 100 * report.pca.explained[1]);
  options.title = title + ": test embeddings by label";
  options.note = fmt::format("logistic probe bal. acc. {:.3f} (band powers {:.3f}); k-NN {:.3f} ({:.3f})",
                             report.embedding.task.windows.balanced_accuracy,
                             report.band_power.task.windows.balanced_accuracy, report.embedding.knn_balanced_accuracy,
                             report.band_power.knn_balanced_accuracy);
  write_text_file_atomic(by_label_svg, svg_scatter_plot(grouped(labels), options));
  options.title = title + ": test embeddings by subject";
  options.note = fmt::format("subject identification {:.3f} (band powers {:.3f}; chance {:.3f})",
                             report.embedding.subject_id_accuracy, report.band_power.subject_id_accuracy,
                             report.subject_id_subjects > 0 ? 1.0 / static_cast<double>(report.subject_id_subjects) : 0.0);
  write_text_file_atomic(by_subject_svg, svg_scatter_plot(grouped(report.subjects), options));
}

}  // namespace lumamba::eval
