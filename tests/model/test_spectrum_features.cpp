// Frequency features of the LUNA front end: the fused magnitude/phase kernel
// (kernels/spectrum_features_cpu) against std::atan2 / std::sqrt and against the LibTorch-ops path
// fft_features_ops (abs, atan2 of rfft), including the real DC/Nyquist bins, zero and constant
// patches and the differentiable fallback. Legend: B batch, C channels, S patches, P patch size.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "lumamba/model/kernels/spectrum_features_cpu.h"
#include "lumamba/model/luna.h"

namespace lumamba::test {
namespace {

namespace fn = model::functional;

/// float atan2 of the kernel vs std::atan2 (correctly rounded to ~0.5 ulp in glibc): Cephes atanf is
/// ≤ 2 ulp on its range, plus one rounding of the reduction and one of π − r.
constexpr float kAtan2Ulps = 4.0f;

float ulp_distance(float a, float b) {
  const float scale = std::max(std::fabs(b), std::numeric_limits<float>::min());
  return std::fabs(a - b) / (std::nextafter(scale, INFINITY) - scale);
}

TEST(SpectrumKernel, PhaseEqualsStdAtan2EverywhereFloat) {
  // One row per radius: bins 1 … n are points on a circle of every quadrant and octant boundary
  // (exact axes, ±0, |y| = |x|), bin 0 is the real DC bin (last_bin_is_real = false).
  std::vector<std::pair<float, float>> points;  // (re, im)
  for (int i = 0; i < 3600; ++i) {
    const double a = -M_PI + (2 * M_PI) * i / 3600.0;
    points.emplace_back(static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a)));
  }
  for (float re : {0.0f, -0.0f, 1.0f, -1.0f, 3.5f, -3.5f}) {
    for (float im : {0.0f, -0.0f, 1.0f, -1.0f, 3.5f, -3.5f, 1e-30f, -1e-30f}) points.emplace_back(re, im);
  }
  const int64_t bins = static_cast<int64_t>(points.size()) + 1;
  for (float radius : {1e-20f, 1.0f, 7.3e3f}) {
    std::vector<float> spectrum(static_cast<size_t>(2 * bins)), out(static_cast<size_t>(2 * bins));
    for (size_t k = 0; k < points.size(); ++k) {
      spectrum[2 * (k + 1)] = points[k].first * radius;
      spectrum[2 * (k + 1) + 1] = points[k].second * radius;
    }
    model::kernels::spectrum_magnitude_phase<float>(spectrum.data(), 1, bins, false, out.data());
    for (int64_t k = 1; k < bins; ++k) {
      const float re = spectrum[2 * k], im = spectrum[2 * k + 1];
      const float want = std::atan2(im, re);
      const float got = out[bins + k];
      EXPECT_EQ(std::signbit(got), std::signbit(want)) << "atan2(" << im << ", " << re << ")";
      EXPECT_LE(ulp_distance(got, want), kAtan2Ulps) << "atan2(" << im << ", " << re << ") = " << want << ", got " << got;
      // sqrt(re² + im²) without hypot's scaling, like LibTorch's complex abs: squares below ~1e-38
      // underflow, so tiny magnitudes are not checked (z-scored EEG is O(1)).
      if (std::hypot(re, im) > 1e-18f) {
        EXPECT_NEAR(out[k], std::hypot(re, im), 2e-7 * std::hypot(re, im)) << "|" << re << " + " << im << "i|";
      }
    }
  }
}

/// Patches with the cases that matter besides random data: all zeros (a flat channel after the
/// z-score), constant positive/negative (DC phase 0/π), alternating ±1 (Nyquist phase π).
torch::Tensor test_patches(int64_t p, torch::ScalarType dtype) {
  torch::manual_seed(5);
  auto x = torch::randn({2, 3, 5, p}, torch::kFloat64) * 2.0;
  x[0][0][0].zero_();
  x[0][0][1].fill_(1.5);
  x[0][0][2].fill_(-0.25);
  x[0][0][3] = torch::arange(p, torch::kFloat64).remainder(2) * 2 - 1;
  return x.to(dtype);
}

/// Kernel path vs ops path: magnitudes to rounding; phases where the bin is not rounding noise.
void expect_kernel_matches_ops(int64_t p, torch::ScalarType dtype, double mag_tol, double phase_tol) {
  const auto x = test_patches(p, dtype);
  const auto got = fn::fft_features(x);
  const auto want = fn::fft_features_ops(x);
  ASSERT_EQ(got.sizes(), want.sizes());
  ASSERT_EQ(got.size(-1), 2 * (p / 2 + 1));
  const int64_t bins = p / 2 + 1;
  auto mag = got.narrow(-1, 0, bins).to(torch::kFloat64), mag_ref = want.narrow(-1, 0, bins).to(torch::kFloat64);
  auto ph = got.narrow(-1, bins, bins).to(torch::kFloat64), ph_ref = want.narrow(-1, bins, bins).to(torch::kFloat64);
  const double scale = mag_ref.abs().max().item<double>();
  EXPECT_LE((mag - mag_ref).abs().max().item<double>(), mag_tol * scale);
  // Bins below 1e-4 of the largest are FFT rounding noise (e.g. the AC bins of a constant patch):
  // their angle is arbitrary in either path.
  auto meaningful = mag_ref > 1e-4 * scale;
  auto diff = (ph - ph_ref).abs();
  diff = torch::minimum(diff, 2 * M_PI - diff);  // −π and π are the same angle
  EXPECT_LE(diff.masked_select(meaningful).max().item<double>(), phase_tol);
  // The special patches, exactly: zero patch -> all zero; constant -> DC phase 0 / π; ±1 -> Nyquist π.
  const auto row = [&](int s) { return got[0][0][s].to(torch::kFloat64); };
  EXPECT_TRUE(torch::equal(row(0), torch::zeros({2 * bins}, torch::kFloat64)));
  EXPECT_EQ(row(1)[bins].item<double>(), 0.0);
  EXPECT_NEAR(row(2)[bins].item<double>(), M_PI, 1e-6);
  if (p % 2 == 0) {
    EXPECT_NEAR(row(3)[2 * bins - 1].item<double>(), M_PI, 1e-6);
  }
  EXPECT_TRUE(torch::equal(got.select(-1, bins), want.select(-1, bins))) << "DC phases";
}

TEST(SpectrumFeatures, KernelEqualsOpsFloat64) { expect_kernel_matches_ops(40, torch::kFloat64, 1e-15, 1e-12); }
TEST(SpectrumFeatures, KernelEqualsOpsFloat32) { expect_kernel_matches_ops(40, torch::kFloat32, 1e-6, 2e-6); }
TEST(SpectrumFeatures, OddPatchHasNoNyquistBin) { expect_kernel_matches_ops(7, torch::kFloat32, 1e-6, 2e-6); }

TEST(SpectrumFeatures, InputNeedingGradientTakesTheDifferentiablePath) {
  auto x = test_patches(40, torch::kFloat64).narrow(0, 1, 1).clone().requires_grad_(true);  // no zero patch
  auto f = fn::fft_features(x);
  ASSERT_TRUE(f.requires_grad());
  f.sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TRUE(torch::allclose(f.detach(), fn::fft_features(x.detach()), 1e-12, 1e-12));
}

}  // namespace
}  // namespace lumamba::test
