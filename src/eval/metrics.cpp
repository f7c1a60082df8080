// Classification metrics, scikit-learn 1.2 definitions (see lumamba/eval/metrics.h). Hand-written:
// no C++ library in Debian implements sklearn's exact conventions (tie handling of the ROC and PR
// curves, label sets of balanced accuracy and F1).
#include "lumamba/eval/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <nlohmann/json.hpp>
#include <set>

#include "lumamba/core/error.h"

namespace lumamba::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Distinct-threshold cumulative counts, scores descending: (true positives, false positives) after
// each block of equal scores — sklearn's _binary_clf_curve.
struct Curve {
  std::vector<double> tps, fps;
};
Curve binary_curve(const std::vector<int64_t>& y, const std::vector<double>& s) {
  std::vector<size_t> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s[a] > s[b]; });
  Curve c;
  double tp = 0, fp = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    (y[order[i]] == 1 ? tp : fp) += 1;
    if (i + 1 == order.size() || s[order[i + 1]] != s[order[i]]) {
      c.tps.push_back(tp);
      c.fps.push_back(fp);
    }
  }
  return c;
}

double safe_div(double a, double b) { return b == 0 ? 0.0 : a / b; }

}  // namespace

double roc_auc(const std::vector<int64_t>& y, const std::vector<double>& s) {
  const auto c = binary_curve(y, s);
  if (c.tps.empty()) return kNaN;
  const double p = c.tps.back(), n = c.fps.back();
  if (p == 0 || n == 0) return kNaN;
  double area = 0, prev_tpr = 0, prev_fpr = 0;  // trapezoids from (0, 0)
  for (size_t i = 0; i < c.tps.size(); ++i) {
    const double tpr = c.tps[i] / p, fpr = c.fps[i] / n;
    area += (fpr - prev_fpr) * (tpr + prev_tpr) / 2;
    prev_tpr = tpr;
    prev_fpr = fpr;
  }
  return area;
}

double average_precision(const std::vector<int64_t>& y, const std::vector<double>& s) {
  const auto c = binary_curve(y, s);
  if (c.tps.empty() || c.tps.back() == 0) return kNaN;
  const double p = c.tps.back();
  double ap = 0, prev_recall = 0;
  for (size_t i = 0; i < c.tps.size(); ++i) {
    const double precision = c.tps[i] / (c.tps[i] + c.fps[i]);
    const double recall = c.tps[i] / p;
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
  }
  return ap;
}

ClassificationMetrics classification_metrics(const std::vector<int64_t>& y_true, const std::vector<double>& probs,
                                             int64_t k) {
  const auto n = static_cast<int64_t>(y_true.size());
  LUMAMBA_CHECK_INPUT(k >= 2, "metrics need at least 2 classes, got {}", k);
  LUMAMBA_CHECK_INPUT(n > 0, "metrics need at least one sample");
  LUMAMBA_CHECK_INPUT(static_cast<int64_t>(probs.size()) == n * k, "probabilities have {} values, expected N·K = {}",
                      probs.size(), n * k);
  ClassificationMetrics m;
  m.n_samples = n;
  m.n_classes = k;
  std::vector<int64_t> pred(static_cast<size_t>(n));
  m.confusion.assign(static_cast<size_t>(k), std::vector<int64_t>(static_cast<size_t>(k), 0));
  for (int64_t i = 0; i < n; ++i) {
    LUMAMBA_CHECK_INPUT(y_true[i] >= 0 && y_true[i] < k, "label {} of sample {} is outside [0, {})", y_true[i], i, k);
    const double* row = probs.data() + i * k;
    pred[i] = std::max_element(row, row + k) - row;  // first maximum, like numpy.argmax
    ++m.confusion[y_true[i]][pred[i]];
  }
  std::vector<double> support(k, 0), predicted(k, 0), correct(k, 0);
  for (int64_t i = 0; i < n; ++i) {
    support[y_true[i]] += 1;
    predicted[pred[i]] += 1;
    if (pred[i] == y_true[i]) correct[pred[i]] += 1;
  }
  m.accuracy = std::accumulate(correct.begin(), correct.end(), 0.0) / static_cast<double>(n);
  // Balanced accuracy: classes present in y_true (sklearn warns about predicted-only classes).
  double recall_sum = 0;
  int64_t present = 0;
  for (int64_t c = 0; c < k; ++c) {
    if (support[c] > 0) recall_sum += correct[c] / support[c], ++present;
  }
  m.balanced_accuracy = recall_sum / static_cast<double>(present);
  // F1 over labels in y_true ∪ y_pred; zero_division = 0.
  double f1_weighted = 0, f1_sum = 0;
  int64_t n_labels = 0;
  for (int64_t c = 0; c < k; ++c) {
    if (support[c] == 0 && predicted[c] == 0) continue;
    const double precision = safe_div(correct[c], predicted[c]), recall = safe_div(correct[c], support[c]);
    const double f1 = safe_div(2 * precision * recall, precision + recall);
    f1_weighted += f1 * support[c];
    f1_sum += f1;
    ++n_labels;
  }
  m.f1_weighted = f1_weighted / static_cast<double>(n);
  m.f1_macro = f1_sum / static_cast<double>(n_labels);
  // Cohen's kappa from the confusion matrix.
  double expected = 0;
  for (int64_t c = 0; c < k; ++c) expected += support[c] * predicted[c];
  expected /= static_cast<double>(n) * static_cast<double>(n);
  if (expected == 1) {
    m.cohen_kappa = kNaN;
    m.warnings.push_back("Cohen's kappa undefined: expected agreement is 1 (one class only)");
  } else {
    m.cohen_kappa = (m.accuracy - expected) / (1 - expected);
  }
  // AUROC / AUPR.
  auto column = [&](int64_t c) {
    std::vector<double> s(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) s[i] = probs[i * k + c];
    return s;
  };
  auto one_vs_rest = [&](int64_t c) {
    std::vector<int64_t> y(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) y[i] = y_true[i] == c ? 1 : 0;
    return y;
  };
  if (k == 2) {
    m.auroc = roc_auc(y_true, column(1));
    m.aupr = average_precision(y_true, column(1));
  } else {
    double auc = 0, ap = 0;
    for (int64_t c = 0; c < k; ++c) {
      auc += roc_auc(one_vs_rest(c), column(c));
      ap += average_precision(one_vs_rest(c), column(c));
    }
    m.auroc = auc / static_cast<double>(k);
    m.aupr = ap / static_cast<double>(k);
  }
  if (std::isnan(m.auroc)) m.warnings.push_back("AUROC undefined: a class has no positive or no negative sample");
  if (std::isnan(m.aupr)) m.warnings.push_back("AUPR undefined: a class has no positive sample");
  return m;
}

std::string to_json(const ClassificationMetrics& m) {
  auto num = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  nlohmann::json j = {{"n_samples", m.n_samples},   {"n_classes", m.n_classes},
                      {"accuracy", num(m.accuracy)}, {"balanced_accuracy", num(m.balanced_accuracy)},
                      {"auroc", num(m.auroc)},       {"aupr", num(m.aupr)},
                      {"cohen_kappa", num(m.cohen_kappa)}, {"f1_weighted", num(m.f1_weighted)},
                      {"f1_macro", num(m.f1_macro)}, {"confusion", m.confusion},
                      {"warnings", m.warnings}};
  return j.dump(2);
}

std::string summary_line(const ClassificationMetrics& m) {
  return fmt::format("{} windows: balanced accuracy {:.3f}, AUROC {:.3f}, AUPR {:.3f}, Cohen's kappa {:.3f}, "
                     "weighted F1 {:.3f}", m.n_samples, m.balanced_accuracy, m.auroc, m.aupr, m.cohen_kappa,
                     m.f1_weighted);
}

std::vector<double> balanced_class_weights(const std::vector<int64_t>& labels, int64_t n_classes) {
  std::vector<double> counts(static_cast<size_t>(n_classes), 0.0);
  for (const int64_t y : labels) {
    LUMAMBA_CHECK_INPUT(y >= 0 && y < n_classes, "label {} outside 0..{}", y, n_classes - 1);
    counts[static_cast<size_t>(y)] += 1;
  }
  std::vector<double> w(static_cast<size_t>(n_classes), 0.0);
  for (size_t k = 0; k < w.size(); ++k) {
    if (counts[k] > 0) w[k] = static_cast<double>(labels.size()) / (static_cast<double>(n_classes) * counts[k]);
  }
  return w;
}

}  // namespace lumamba::eval
