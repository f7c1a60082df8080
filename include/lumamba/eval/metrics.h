// lumamba/eval/metrics.h — classification metrics with scikit-learn 1.2's definitions
// (docs/reference-model.md §16): balanced accuracy, AUROC, AUPR (average precision), Cohen's kappa, weighted
// and macro F1, confusion matrix. Checked against sklearn in tests/eval/test_metrics.cpp.
//
// Undefined values are NaN with a warning in `warnings` (sklearn raises or warns instead): AUROC
// and AUPR when a class has no positive (or, for AUROC, no negative) sample; kappa when the
// expected agreement is 1. Predictions are the argmax of the probabilities (first maximum on ties).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lumamba::eval {

struct ClassificationMetrics {
  int64_t n_samples = 0, n_classes = 0;
  double accuracy = 0;
  double balanced_accuracy = 0;  ///< mean recall over the classes present in y_true
  double auroc = 0;              ///< binary: positive-class score; multi-class: one-vs-rest, macro
  double aupr = 0;               ///< average precision; binary: positive class; multi-class: macro
  double cohen_kappa = 0;
  double f1_weighted = 0;        ///< over the labels in y_true ∪ y_pred, weighted by support
  double f1_macro = 0;
  std::vector<std::vector<int64_t>> confusion;  ///< [true][predicted], K × K
  std::vector<std::string> warnings;
};

/// y_true (N) in [0, K); probabilities (N × K, row-major, K >= 2). InputError on bad shapes/labels.
ClassificationMetrics classification_metrics(const std::vector<int64_t>& y_true,
                                             const std::vector<double>& probabilities, int64_t n_classes);

/// Binary AUROC of scores for labels in {0, 1} (ties count one half); NaN if a class is absent.
double roc_auc(const std::vector<int64_t>& y_binary, const std::vector<double>& scores);
/// Binary average precision Σ (R_n − R_{n−1}) P_n over distinct thresholds; NaN without positives.
double average_precision(const std::vector<int64_t>& y_binary, const std::vector<double>& scores);

/// JSON object with every field (NaN as null).
std::string to_json(const ClassificationMetrics& metrics);

/// One line: "n 60: balanced accuracy 0.683, AUROC 0.754, AUPR 0.70, kappa 0.37, weighted F1 0.68".
std::string summary_line(const ClassificationMetrics& metrics);

/// Class weights n / (K · n_k) of training labels (sklearn's "balanced"); zero-count classes get 0.
std::vector<double> balanced_class_weights(const std::vector<int64_t>& labels, int64_t n_classes);

}  // namespace lumamba::eval
