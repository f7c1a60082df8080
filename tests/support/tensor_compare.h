// One tolerance-aware comparison (docs/style.md §16): shapes, NaN/Inf masks, then
// max|a − ref| ≤ k·RMS(ref) + atol, reporting the worst element and the first pairs on failure.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>
#include <string>

namespace lumamba::test {

inline ::testing::AssertionResult close_rms(const torch::Tensor& actual_in, const torch::Tensor& expected_in,
                                            double rms_tol, double atol = 0.0) {
  auto actual = actual_in.detach().to(torch::kFloat64).contiguous();
  auto expected = expected_in.detach().to(torch::kFloat64).contiguous();
  if (actual.sizes() != expected.sizes()) {
    std::ostringstream ss;
    ss << "shape " << actual.sizes() << " != expected " << expected.sizes();
    return ::testing::AssertionFailure() << ss.str();
  }
  if (!torch::equal(torch::isfinite(actual), torch::isfinite(expected))) {
    return ::testing::AssertionFailure() << "NaN/Inf positions differ";
  }
  if (expected.numel() == 0) return ::testing::AssertionSuccess();
  const double rms = expected.pow(2).mean().sqrt().item<double>();
  auto diff = (actual - expected).abs().nan_to_num(0.0);
  const double max_abs = diff.max().item<double>();
  const double bound = rms_tol * rms + atol;
  if (max_abs <= bound) return ::testing::AssertionSuccess() << "max_abs " << max_abs << " <= " << bound;
  const int64_t worst = diff.flatten().argmax().item<int64_t>();
  std::ostringstream ss;
  ss << "max|a-ref| = " << max_abs << " > " << rms_tol << "·RMS(" << rms << ") + " << atol << " = " << bound
     << " (ratio to RMS " << max_abs / rms << "); worst flat index " << worst << ": " << actual.flatten()[worst].item<double>()
     << " vs " << expected.flatten()[worst].item<double>() << "; first pairs:";
  for (int64_t i = 0; i < std::min<int64_t>(5, actual.numel()); ++i) {
    ss << " (" << actual.flatten()[i].item<double>() << ", " << expected.flatten()[i].item<double>() << ")";
  }
  return ::testing::AssertionFailure() << ss.str();
}

}  // namespace lumamba::test
