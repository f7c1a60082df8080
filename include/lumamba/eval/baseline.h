// lumamba/eval/baseline.h — the simple reference every result is compared with: log band powers
// per channel + L2-regularised multinomial logistic regression (scikit-learn's
// LogisticRegression(C) objective: ½‖W‖² + C · Σ log-loss, intercept not penalised).
//
// Written here rather than taken from a library: Debian has no C++ logistic-regression package
// that fits, and the whole fit is ~40 lines on top of LibTorch's L-BFGS.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "lumamba/data/window_dataset.h"
#include "lumamba/eval/inference.h"
#include "lumamba/eval/metrics.h"

namespace lumamba::eval {

/// Frequency bands in Hz [lo, hi): delta, theta, alpha, beta, gamma (up to the 45 Hz of a 50/60 Hz notch).
inline const std::vector<std::array<double, 2>> kDefaultBands = {{1, 4}, {4, 8}, {8, 13}, {13, 30}, {30, 45}};

/// (N, C, T) µV → (N, C · n_bands) features: log of the mean Hann-windowed periodogram power in each
/// band, channel-major (feature c · n_bands + k).
torch::Tensor band_power_features(const torch::Tensor& signal_uv, double sfreq_hz,
                                  const std::vector<std::array<double, 2>>& bands = kDefaultBands);

/// Band-power features (N, C · n_bands) float64 of dataset windows, read one at a time (µV as stored),
/// and their class labels (N,) int64.
std::pair<torch::Tensor, torch::Tensor> band_power_features_of(const data::WindowDataset& dataset,
                                                               const std::vector<int64_t>& windows, double sfreq_hz);

struct LogisticRegressionModel {
  torch::Tensor mean, scale;       ///< (F,) feature standardisation (from the training features)
  torch::Tensor weight, bias;      ///< (K, F), (K,) float64; binary: (1, F), (1,) (class 1 vs 0)
  int64_t n_classes = 0;
  torch::Tensor predict_proba(const torch::Tensor& features) const;  ///< (N, K)
};

/// Fits on standardised features (float64, L-BFGS to convergence). labels (N,) int64 in 0..K−1.
/// `class_weights` (K,) multiply each sample's log-loss by its class's weight (sklearn's
/// class_weight); empty = all 1.
LogisticRegressionModel fit_logistic_regression(const torch::Tensor& features, const torch::Tensor& labels,
                                                int64_t n_classes, double C = 1.0,
                                                const std::vector<double>& class_weights = {});

struct BaselineOptions {
  double C = 1.0;
  std::string class_weights = "none";  ///< none | balanced (n / (K · n_k) of the training windows)
};

struct BaselineReport {
  EvaluationReport test;                ///< window and recording level (like `evaluate`)
  std::vector<int64_t> test_windows;     ///< indices into the test dataset
  std::vector<double> probabilities;    ///< (N_test, K) row-major, in the order of test_windows
  int64_t n_classes = 0, n_train = 0, n_test = 0, n_features = 0;
  std::string class_weights = "none";
  std::string to_json() const;
};

/// Band powers + logistic regression: train on `train` windows, metrics on `test` windows.
BaselineReport run_band_power_baseline(const data::WindowDataset& train, const std::vector<int64_t>& train_windows,
                                       const data::WindowDataset& test, const std::vector<int64_t>& test_windows,
                                       double sfreq_hz, const BaselineOptions& options = {});

/// The same on one dataset: trains on the windows of splits train and val, tests on split test.
BaselineReport run_band_power_baseline(const data::WindowDataset& dataset, const BaselineOptions& options = {});

}  // namespace lumamba::eval
