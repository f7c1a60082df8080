// Helpers for the preprocess parity tests: read the MNE 1.3 reference tensors written by
// tools/mne_reference/filter_reference.py (tests/fixtures/preprocess/*.safetensors, float64, µV) and
// compare buffers by max |a − ref| and relative RMS, printing the measured errors.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "lumamba/io/safetensors.h"

namespace lumamba::test {

inline std::string preprocess_data(const std::string& file) {
  return std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/preprocess/" + file;
}

/// A 1-D or 2-D F64 tensor as rows (a 1-D tensor is one row). Copies with memcpy (unaligned).
inline std::vector<std::vector<double>> f64_rows(const io::SafetensorsFile& file, const std::string& name) {
  const io::TensorView& t = file.at(name);
  EXPECT_EQ(t.dtype, io::DType::kF64) << name;
  std::size_t rows = 1, cols = 0;
  if (t.shape.size() == 1) {
    cols = static_cast<std::size_t>(t.shape[0]);
  } else {
    EXPECT_EQ(t.shape.size(), 2u) << name;
    rows = static_cast<std::size_t>(t.shape[0]);
    cols = static_cast<std::size_t>(t.shape[1]);
  }
  std::vector<std::vector<double>> out(rows, std::vector<double>(cols));
  for (std::size_t r = 0; r < rows; ++r) {
    std::memcpy(out[r].data(), t.data + r * cols * sizeof(double), cols * sizeof(double));
  }
  return out;
}

inline std::vector<double> f64_vector(const io::SafetensorsFile& file, const std::string& name) {
  return f64_rows(file, name).at(0);
}

struct ErrorStats {
  double max_abs = 0;   // max |a − ref|
  double rel_rms = 0;   // RMS(a − ref) / RMS(ref)
  double ref_rms = 0;
};

inline ErrorStats error_stats(const std::vector<double>& actual, const std::vector<double>& expected) {
  ErrorStats s;
  double sum_d2 = 0, sum_r2 = 0;
  for (std::size_t i = 0; i < expected.size() && i < actual.size(); ++i) {
    const double d = actual[i] - expected[i];
    s.max_abs = std::max(s.max_abs, std::abs(d));
    sum_d2 += d * d;
    sum_r2 += expected[i] * expected[i];
  }
  const auto n = static_cast<double>(std::max<std::size_t>(expected.size(), 1));
  s.ref_rms = std::sqrt(sum_r2 / n);
  s.rel_rms = sum_r2 > 0 ? std::sqrt(sum_d2 / sum_r2) : std::sqrt(sum_d2 / n);
  return s;
}

/// Passes when sizes agree, max |a − ref| <= max_abs and relative RMS <= rel_rms; always prints
/// the measured numbers.
inline ::testing::AssertionResult close_uv(const std::vector<double>& actual,
                                           const std::vector<double>& expected, double max_abs,
                                           double rel_rms, const std::string& what) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure() << what << ": " << actual.size() << " samples, expected "
                                         << expected.size();
  }
  const ErrorStats s = error_stats(actual, expected);
  std::ostringstream msg;
  msg << what << ": max|diff| " << s.max_abs << " (bound " << max_abs << "), relative RMS "
      << s.rel_rms << " (bound " << rel_rms << "), RMS(ref) " << s.ref_rms;
  std::printf("[ parity   ] %s\n", msg.str().c_str());  // the numbers docs/preprocessing.md quotes
  if (!std::isfinite(s.max_abs) || s.max_abs > max_abs || s.rel_rms > rel_rms) {
    return ::testing::AssertionFailure() << msg.str();
  }
  return ::testing::AssertionSuccess() << msg.str();
}

}  // namespace lumamba::test
