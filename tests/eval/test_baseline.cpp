// Band-power baseline against NumPy and scikit-learn 1.2.1 (tests/fixtures/metrics/baseline_reference.json,
// made by tools/sklearn_reference/baseline_reference.py).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>

#include "lumamba/core/error.h"
#include "lumamba/eval/baseline.h"

namespace {

using lumamba::eval::band_power_features;
using lumamba::eval::fit_logistic_regression;

nlohmann::json reference() {
  std::ifstream in(std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/metrics/baseline_reference.json");
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in);
}

torch::Tensor to_tensor(const nlohmann::json& nested, std::vector<int64_t> shape) {
  std::vector<double> flat;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& j) {
    if (j.is_array()) {
      for (const auto& e : j) walk(e);
    } else {
      flat.push_back(j.get<double>());
    }
  };
  walk(nested);
  return torch::tensor(flat, torch::kFloat64).reshape(shape);
}

TEST(Baseline, BandPowersEqualNumpy) {
  const auto doc = reference()["band_power"];
  const auto x = to_tensor(doc["signal"], {3, 2, 256});
  const auto expected = to_tensor(doc["features"], {3, 10});
  const auto actual = band_power_features(x, doc["sfreq_hz"].get<double>());
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_LT((actual - expected).abs().max().item<double>(), 1e-9);
}

TEST(Baseline, LogisticRegressionEqualsScikitLearn) {
  const auto doc = reference();  // a range-for over reference()[...] would outlive its temporary
  for (const auto& c : doc["logistic_regression"]) {
    const auto k = c["n_classes"].get<int64_t>();
    const int64_t n_train = static_cast<int64_t>(c["y_train"].size());
    const int64_t n_test = static_cast<int64_t>(c["proba"].size());
    const auto x_train = to_tensor(c["x_train"], {n_train, -1});
    const auto x_test = to_tensor(c["x_test"], {n_test, -1});
    const auto y = torch::tensor(c["y_train"].get<std::vector<int64_t>>(), torch::kInt64);
    const auto expected = to_tensor(c["proba"], {n_test, k});
    std::vector<double> weights;
    if (c["class_weight"] == "balanced") {
      weights = lumamba::eval::balanced_class_weights(c["y_train"].get<std::vector<int64_t>>(), k);
    }
    const auto model = fit_logistic_regression(x_train, y, k, c["C"].get<double>(), weights);
    const auto p = model.predict_proba(x_test);
    EXPECT_LT((p - expected).abs().max().item<double>(), 1e-5) << c["name"];
  }
}

TEST(Baseline, ClassWeightsChangeTheFit) {
  // The balanced case must differ from an unweighted fit, else the test above could not tell.
  const auto cases = reference()["logistic_regression"];
  ASSERT_EQ(cases.size(), 3u);
  const auto& c = cases[2];
  ASSERT_EQ(c["class_weight"], "balanced");
  const int64_t n_train = static_cast<int64_t>(c["y_train"].size());
  const auto x_train = to_tensor(c["x_train"], {n_train, -1});
  const auto x_test = to_tensor(c["x_test"], {static_cast<int64_t>(c["proba"].size()), -1});
  const auto y = torch::tensor(c["y_train"].get<std::vector<int64_t>>(), torch::kInt64);
  const auto unweighted = fit_logistic_regression(x_train, y, 2, c["C"].get<double>()).predict_proba(x_test);
  const auto expected = to_tensor(c["proba"], {x_test.size(0), 2});
  EXPECT_GT((unweighted - expected).abs().max().item<double>(), 0.05);
}

TEST(Baseline, RejectsBadInput) {
  EXPECT_THROW(band_power_features(torch::zeros({2, 256}), 128), lumamba::InputError);
  // A band without any frequency bin at this resolution.
  EXPECT_THROW(band_power_features(torch::zeros({1, 1, 8}), 128, {{1.0, 2.0}}), lumamba::InputError);
}

}  // namespace
