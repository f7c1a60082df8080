#include "lumamba/eval/baseline.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>

#include "lumamba/core/error.h"
#include "lumamba/core/log.h"

namespace lumamba::eval {

torch::Tensor band_power_features(const torch::Tensor& signal_uv, double sfreq_hz,
                                  const std::vector<std::array<double, 2>>& bands) {
  LUMAMBA_CHECK_INPUT(signal_uv.dim() == 3, "band powers need (N, C, T) windows, got {} dims", signal_uv.dim());
  const int64_t t = signal_uv.size(2);
  const auto x = signal_uv.to(torch::kFloat64);
  const auto window = torch::hann_window(t, /*periodic=*/false, torch::kFloat64);
  const auto power = torch::fft_rfft(x * window).abs().pow(2);  // (N, C, T/2+1)
  const auto freqs = torch::fft_rfftfreq(t, 1.0 / sfreq_hz, torch::kFloat64);
  std::vector<torch::Tensor> per_band;
  for (const auto& [lo, hi] : bands) {
    const auto in_band = (freqs >= lo).logical_and(freqs < hi);
    LUMAMBA_CHECK_INPUT(in_band.any().item<bool>(), "band [{}, {}) Hz has no frequency bin at {} Hz and {} samples",
                        lo, hi, sfreq_hz, t);
    per_band.push_back(torch::log(power.index({"...", in_band}).mean(-1) + 1e-12));  // (N, C)
  }
  return torch::stack(per_band, -1).flatten(1);  // (N, C·bands), channel-major
}

namespace {
// Binary problems have one weight vector (sklearn: class 1 vs 0, logit of class 0 fixed at 0);
// multi-class ones a row per class (multinomial). The penalty differs, so the two are not the same.
torch::Tensor class_logits(const torch::Tensor& z, const torch::Tensor& weight, const torch::Tensor& bias) {
  const auto logits = torch::addmm(bias, z, weight.t());
  if (weight.size(0) > 1) return logits;
  return torch::cat({torch::zeros_like(logits), logits}, 1);
}
}  // namespace

torch::Tensor LogisticRegressionModel::predict_proba(const torch::Tensor& features) const {
  const auto z = (features.to(torch::kFloat64) - mean) / scale;
  return torch::softmax(class_logits(z, weight, bias), 1);
}

LogisticRegressionModel fit_logistic_regression(const torch::Tensor& features, const torch::Tensor& labels,
                                                int64_t n_classes, double C,
                                                const std::vector<double>& class_weights) {
  LUMAMBA_CHECK_INPUT(features.size(0) == labels.size(0) && features.size(0) > 0,
                      "logistic regression: {} feature rows vs {} labels", features.size(0), labels.size(0));
  LUMAMBA_CHECK_INPUT(C > 0, "logistic regression: C must be positive, got {}", C);
  LUMAMBA_CHECK_INPUT(class_weights.empty() || static_cast<int64_t>(class_weights.size()) == n_classes,
                      "logistic regression: {} class weights for {} classes", class_weights.size(), n_classes);
  LogisticRegressionModel m;
  m.n_classes = n_classes;
  const auto x = features.to(torch::kFloat64);
  m.mean = x.mean(0);
  m.scale = x.std(0, /*unbiased=*/false).clamp_min(1e-12);  // sklearn StandardScaler: population std
  const auto z = (x - m.mean) / m.scale;
  const int64_t f = z.size(1);
  const int64_t rows = n_classes == 2 ? 1 : n_classes;
  auto w = torch::zeros({rows, f}, torch::kFloat64).requires_grad_(true);
  auto b = torch::zeros({rows}, torch::kFloat64).requires_grad_(true);
  torch::optim::LBFGS lbfgs({w, b}, torch::optim::LBFGSOptions(1.0)
                                        .max_iter(1000)
                                        .tolerance_grad(1e-10)
                                        .tolerance_change(1e-14)
                                        .history_size(20)
                                        .line_search_fn("strong_wolfe"));
  auto ce_options = torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum);
  if (!class_weights.empty()) ce_options.weight(torch::tensor(class_weights, torch::kFloat64));
  auto closure = [&] {
    lbfgs.zero_grad();
    // Multinomial objective of sklearn (lbfgs solver): ½‖W‖² + C · Σ_i w_{y_i} · −log p(y_i).
    const auto logits = class_logits(z, w, b);
    const auto loss = 0.5 * w.pow(2).sum() + C * torch::nn::functional::cross_entropy(logits, labels, ce_options);
    loss.backward();
    return loss;
  };
  for (int i = 0; i < 5; ++i) lbfgs.step(closure);
  m.weight = w.detach();
  m.bias = b.detach();
  return m;
}

std::string BaselineReport::to_json() const {
  nlohmann::json j{{"model", "log band powers per channel (1-4, 4-8, 8-13, 13-30, 30-45 Hz) + logistic regression"},
                   {"n_train", n_train},
                   {"n_test", n_test},
                   {"n_features", n_features},
                   {"class_weights", class_weights},
                   {"test", nlohmann::json::parse(test.to_json())}};
  return j.dump(2);
}

std::pair<torch::Tensor, torch::Tensor> band_power_features_of(const data::WindowDataset& ds,
                                                               const std::vector<int64_t>& windows, double sfreq_hz) {
  std::vector<torch::Tensor> feats;
  std::vector<int64_t> y;
  for (const int64_t w : windows) {
    const auto batch = ds.read_batch({w}, /*keep_microvolts=*/true);
    feats.push_back(band_power_features(batch.signal_uv, sfreq_hz));
    y.push_back(ds.class_labels()[static_cast<size_t>(w)]);
  }
  return {torch::cat(feats), torch::tensor(y, torch::kInt64)};
}

BaselineReport run_band_power_baseline(const data::WindowDataset& train, const std::vector<int64_t>& train_windows,
                                       const data::WindowDataset& test, const std::vector<int64_t>& test_windows,
                                       double sfreq_hz, const BaselineOptions& options) {
  LUMAMBA_CHECK_INPUT(!train_windows.empty() && !test_windows.empty(), "baseline: needs train and test windows");
  const auto [x_train, y_train] = band_power_features_of(train, train_windows, sfreq_hz);
  const auto [x_test, y_test] = band_power_features_of(test, test_windows, sfreq_hz);
  const int64_t k = std::max<int64_t>(2, std::max(train.n_classes(), test.n_classes()));
  check_option("class_weights", options.class_weights, {"none", "balanced"});
  std::vector<double> weights;
  if (options.class_weights == "balanced") {
    weights = balanced_class_weights(
        std::vector<int64_t>(y_train.data_ptr<int64_t>(), y_train.data_ptr<int64_t>() + y_train.numel()), k);
  }
  const auto model = fit_logistic_regression(x_train, y_train, k, options.C, weights);
  const auto p = model.predict_proba(x_test).contiguous();
  BaselineReport r;
  r.n_classes = k;
  r.n_train = x_train.size(0);
  r.n_test = x_test.size(0);
  r.n_features = x_train.size(1);
  r.class_weights = options.class_weights;
  r.test_windows = test_windows;
  r.probabilities.assign(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
  r.test = evaluate_predictions(test, test_windows, r.probabilities, k);
  return r;
}

BaselineReport run_band_power_baseline(const data::WindowDataset& dataset, const BaselineOptions& options) {
  std::vector<int64_t> train_windows, test_windows;
  for (int64_t w = 0; w < dataset.size(); ++w) {
    (dataset.recording_of(w).split == "test" ? test_windows : train_windows).push_back(w);
  }
  LUMAMBA_CHECK_INPUT(!test_windows.empty(), "baseline: no windows of split 'test' (give --test-data)");
  return run_band_power_baseline(dataset, train_windows, dataset, test_windows,
                                 dataset.recordings().front().sfreq_hz, options);
}

}  // namespace lumamba::eval
