// What the training loops share (lumamba/train/run.h): the summary over seeds against values
// computed by hand, best tracking, and the common train.* keys with their ranges.
#include <gtest/gtest.h>

#include <cmath>

#include "lumamba/core/error.h"
#include "lumamba/train/run.h"

namespace lumamba::train {
namespace {

TEST(SummariseOverRuns, MeanAndSampleStd) {
  // {0.70, 0.74, 0.78}: mean 0.74, sample variance (0.04² + 0 + 0.04²) / 2 = 0.0016, std 0.04.
  const auto s = summarise_over_runs({{"auroc", {0.70, 0.74, 0.78}}, {"one", {0.5}}});
  EXPECT_NEAR(s.at("auroc").mean, 0.74, 1e-15);
  EXPECT_NEAR(s.at("auroc").std, 0.04, 1e-15);
  EXPECT_EQ(s.at("auroc").n, 3);
  EXPECT_EQ(s.at("one").mean, 0.5);  // one run: std 0, not NaN
  EXPECT_EQ(s.at("one").std, 0.0);
}

TEST(CheckpointKeeper, RecordKeepsTheLowestMetricAndItsStep) {
  TrainingProgress p;
  p.step = 10;
  EXPECT_TRUE(CheckpointKeeper::record(p, 0.9));  // the first validation is always the best so far
  p.step = 20;
  EXPECT_FALSE(CheckpointKeeper::record(p, 0.95));
  p.step = 30;
  EXPECT_TRUE(CheckpointKeeper::record(p, 0.5));
  p.step = 40;
  EXPECT_FALSE(CheckpointKeeper::record(p, 0.5));  // equal is not an improvement
  EXPECT_EQ(p.best_metric, 0.5);
  EXPECT_EQ(p.best_step, 30);
}

TEST(CommonTrainSettings, ReadsOverDefaultsAndNamesAKeyOutOfRange) {
  auto flat = FlatConfig::from_yaml("train:\n  epochs: 3\n  batch_size: 8\nschedule:\n  lr_min: 1.0e-5\n", "t.yaml");
  CommonTrainSettings defaults;
  defaults.warmup_epochs = 1;
  const auto s = read_common_train_settings(flat, defaults);
  EXPECT_EQ(s.epochs, 3);
  EXPECT_EQ(s.batch_size, 8);
  EXPECT_EQ(s.warmup_epochs, 1);
  EXPECT_EQ(s.schedule.lr_min, 1e-5);
  auto bad = FlatConfig::from_yaml("train:\n  epochs: 2\n  warmup_epochs: 3\n", "bad.yaml");
  try {
    read_common_train_settings(bad, defaults);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("train.warmup_epochs"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lumamba::train
