// data::zscore_channels against values worked out by hand (the reference's input normalisation,
// docs/reference-model.md §2: unbiased std, + 1e-8 in the denominator).
#include "lumamba/data/normalize.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace lumamba::test {
namespace {

TEST(ZscoreChannels, EachChannelOfEachSampleOverTimeWithUnbiasedStd) {
  // (B=2, C=2, T=4); channel [1, 2, 3, 4]: mean 2.5, unbiased std sqrt(5/3).
  auto x = torch::tensor({1.0, 2.0, 3.0, 4.0, 10.0, 10.0, 10.0, 10.0,  //
                          -2.0, 0.0, 2.0, 4.0, 0.0, 0.0, 0.0, 8.0},
                         torch::kFloat64)
               .view({2, 2, 4});
  const auto z = data::zscore_channels(x);
  ASSERT_EQ(z.sizes(), x.sizes());
  const double s1 = std::sqrt(5.0 / 3.0) + 1e-8;
  for (int t = 0; t < 4; ++t) EXPECT_NEAR(z[0][0][t].item<double>(), (t + 1 - 2.5) / s1, 1e-12);
  // A constant channel is all zeros (the 1e-8 keeps it finite), not NaN.
  for (int t = 0; t < 4; ++t) EXPECT_EQ(z[0][1][t].item<double>(), 0.0);
  // [-2, 0, 2, 4]: mean 1, unbiased std sqrt(20/3); [0, 0, 0, 8]: mean 2, unbiased std 4.
  const double s2 = std::sqrt(20.0 / 3.0) + 1e-8;
  EXPECT_NEAR(z[1][0][0].item<double>(), -3.0 / s2, 1e-12);
  EXPECT_NEAR(z[1][0][3].item<double>(), 3.0 / s2, 1e-12);
  EXPECT_NEAR(z[1][1][0].item<double>(), -2.0 / (4.0 + 1e-8), 1e-12);
  EXPECT_NEAR(z[1][1][3].item<double>(), 6.0 / (4.0 + 1e-8), 1e-12);
}

}  // namespace
}  // namespace lumamba::test
