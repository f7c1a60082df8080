// Metrics against scikit-learn 1.2.1 (tests/fixtures/metrics/sklearn_reference.json, made by
// tools/sklearn_reference/metrics_reference.py): ties, imbalance, multi-class, single-class edges.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lumamba/core/error.h"
#include "lumamba/eval/metrics.h"

namespace lumamba::eval {
namespace {

constexpr double kTol = 1e-12;  // same formulas in double; only summation order differs

void expect_metric(const nlohmann::json& ref, double actual, const std::string& case_name) {
  if (ref.is_null()) {
    EXPECT_TRUE(std::isnan(actual)) << case_name << ": sklearn leaves it undefined, got " << actual;
  } else {
    EXPECT_NEAR(actual, ref.get<double>(), kTol) << case_name;
  }
}

TEST(Metrics, EqualScikitLearn) {
  std::ifstream in(std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/metrics/sklearn_reference.json");
  ASSERT_TRUE(in.good());
  const auto doc = nlohmann::json::parse(in);
  ASSERT_GE(doc["cases"].size(), 7u);
  for (const auto& c : doc["cases"]) {
    const std::string name = c["name"];
    const auto y = c["y_true"].get<std::vector<int64_t>>();
    std::vector<double> p;
    for (const auto& row : c["probabilities"])
      for (const auto& v : row) p.push_back(v.get<double>());
    const auto m = classification_metrics(y, p, c["n_classes"].get<int64_t>());
    expect_metric(c["accuracy"], m.accuracy, name + " accuracy");
    expect_metric(c["balanced_accuracy"], m.balanced_accuracy, name + " balanced_accuracy");
    expect_metric(c["auroc"], m.auroc, name + " auroc");
    expect_metric(c["aupr"], m.aupr, name + " aupr");
    expect_metric(c["cohen_kappa"], m.cohen_kappa, name + " kappa");
    expect_metric(c["f1_weighted"], m.f1_weighted, name + " f1_weighted");
    expect_metric(c["f1_macro"], m.f1_macro, name + " f1_macro");
    EXPECT_EQ(m.confusion, c["confusion"].get<std::vector<std::vector<int64_t>>>()) << name;
    EXPECT_EQ(m.warnings.empty(), !c["auroc"].is_null() && !c["aupr"].is_null()) << name;
  }
}

TEST(Metrics, AnalyticAucWithTies) {
  // Positives {0.8, 0.5}, negatives {0.5, 0.2}: pairs won 3, tied 1 of 4 -> (3 + 0.5) / 4.
  EXPECT_DOUBLE_EQ(roc_auc({1, 1, 0, 0}, {0.8, 0.5, 0.5, 0.2}), 0.875);
  EXPECT_TRUE(std::isnan(roc_auc({1, 1}, {0.3, 0.4})));
  EXPECT_THROW(classification_metrics({0, 2}, {0.5, 0.5, 0.5, 0.5}, 2), InputError);
  EXPECT_THROW(classification_metrics({0, 1}, {0.5, 0.5}, 2), InputError);
}

}  // namespace
}  // namespace lumamba::eval
