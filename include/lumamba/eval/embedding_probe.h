// lumamba/eval/embedding_probe.h — what an encoder's embeddings carry, measured beside the same
// measures on band powers (`lumamba probe`; docs/results.md "Embeddings"):
//
//   * task probe: L2 logistic regression (eval/baseline.h) fit on the windows of splits train + val,
//     metrics on split test — a linear read-out of the frozen encoder;
//   * k-NN: the k nearest training windows by cosine similarity of standardised features vote;
//     balanced accuracy on the test windows (no fitting at all);
//   * subject identification among the test subjects: logistic regression fit on every recording of
//     each test subject but its last, accuracy on the last ones (chance 1 / subjects). A high value
//     means the features encode the person, a known failure of EEG encoders that transfer poorly;
//   * effective rank (RankMe, Garrido et al. 2023: exp of the entropy of the normalised singular
//     values of the centred test features): a collapsed encoder has an effective rank near 1;
//   * a 2-D PCA of the test embeddings, for plots coloured by label and by subject.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "lumamba/data/window_dataset.h"
#include "lumamba/eval/inference.h"
#include "lumamba/model/lumamba.h"

namespace lumamba::eval {

/// (N, K) float64 vote shares of the k nearest rows of `train` (cosine similarity after standardising
/// with the training mean and population std; ties in distance keep the lower index). `k` is capped
/// at the number of training rows.
torch::Tensor knn_vote_shares(const torch::Tensor& train, const torch::Tensor& train_labels, const torch::Tensor& test,
                              int64_t k, int64_t n_classes);

/// RankMe of (N, F) features: exp(−Σ p_i log p_i), p = σ / Σσ of the singular values of the centred
/// features (small σ below 1e-12 · max σ dropped). 1 for rank-one data, F for isotropic data.
double effective_rank(const torch::Tensor& features);

/// First two principal components of (N, F) features: (N, 2) float64 scores of the centred data and
/// the fraction of the total variance each explains. Signs are fixed so that each component's
/// largest-magnitude loading is positive (reproducible plots).
struct Pca2 {
  torch::Tensor scores;
  std::array<double, 2> explained{};
};
Pca2 pca_2d(const torch::Tensor& features);

/// Subject identification split of `windows`: per subject with at least two recordings, the windows
/// of its last recording (by name) are test, the others train; `subject_codes` (per window of
/// `windows`, -1 for subjects left out) index `subjects`.
struct SubjectIdSplit {
  std::vector<std::string> subjects;
  std::vector<int64_t> subject_codes;
  std::vector<size_t> train_rows, test_rows;  ///< positions in `windows`
};
SubjectIdSplit subject_id_split(const data::WindowDataset& dataset, const std::vector<int64_t>& windows);

struct EmbeddingProbeOptions {
  double C = 1.0;                         ///< inverse L2 strength of the logistic regressions
  std::string class_weights = "balanced"; ///< none | balanced (task probe)
  int64_t knn_k = 10;
  int64_t batch_size = 64;                ///< windows per encoder forward
};

/// The measures of one feature set.
struct FeatureProbe {
  std::string features;  ///< "embedding" | "band_power"
  int64_t dim = 0;
  EvaluationReport task;                 ///< logistic regression, test windows
  double knn_balanced_accuracy = 0;
  double subject_id_accuracy = 0;        ///< NaN when fewer than two test subjects have two recordings
  double effective_rank = 0;             ///< of the test windows' features
};

struct EmbeddingProbeReport {
  FeatureProbe embedding, band_power;
  int64_t n_train = 0, n_test = 0, n_classes = 0, knn_k = 0;
  int64_t subject_id_subjects = 0, subject_id_train = 0, subject_id_test = 0;
  std::vector<int64_t> test_windows;
  std::vector<std::string> subjects;      ///< of the test windows, for plots
  Pca2 pca;                               ///< of the test embeddings
  std::string to_json() const;
};

/// Embeds the windows of splits train, val and test of `dataset` with `net`'s encoder (mean over
/// patches, eval/inference.h) and measures both feature sets. InputError without train or test windows.
EmbeddingProbeReport probe_embeddings(model::LuMamba& net, const data::WindowDataset& dataset,
                                      const EmbeddingProbeOptions& options);

/// Two SVG scatter plots of the PCA scores: coloured by class label and by subject.
void write_embedding_plots(const EmbeddingProbeReport& report, const data::WindowDataset& dataset,
                           const std::string& by_label_svg, const std::string& by_subject_svg,
                           const std::string& title);

}  // namespace lumamba::eval
