// FFT resampling and the full filter chain vs MNE 1.3.0 (reference data from
// tools/mne_reference/filter_reference.py), the npad='auto' length rules, and an analytic check
// (a band-limited sine resampled 160 -> 256 Hz equals the sine at the new sample times).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <string>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/io/safetensors.h"
#include "lumamba/preprocess/chain.h"
#include "lumamba/preprocess/resample.h"
#include "mne_reference.h"

namespace lumamba::preprocess {
namespace {

using test::close_uv;
using test::f64_rows;
using test::f64_vector;
using test::preprocess_data;

constexpr double kPi = 3.141592653589793;
// One resampling stage: SciPy's FFT (pocketfft) and MNE's arithmetic, so only rounding remains.
constexpr double kStageMaxAbsUv = 1e-9;
constexpr double kStageRelRms = 1e-12;
// The full chain band-pass -> notch -> resample from the raw recording. Issue 5's bound is
// 1e-3 µV / 1e-5 relative; we hold the chain to the stage bounds, which it meets.
constexpr double kChainMaxAbsUv = 1e-9;
constexpr double kChainRelRms = 1e-12;

double sfreq_of(const io::SafetensorsFile& f) { return std::stod(f.metadata().at("sfreq_hz")); }

TEST(Resample, AutoPaddingRules) {
  // n = 20000 (S001R03): min_add = 2·min(2500, 100) = 200; next power of two 32768 -> 12768 pad.
  const Resampler r(20000, 160.0, 256.0);
  EXPECT_EQ(r.out_times(), 32000u);
  EXPECT_EQ(r.pad_left(), 6384u);
  EXPECT_EQ(r.pad_right(), 6384u);
  EXPECT_EQ(r.padded_length(), 32768u);
  EXPECT_EQ(r.resampled_padded_length(), 52429u);  // round(1.6 · 32768 = 52428.8)
  // n = 500 (TUH stub, 250 Hz): min_add = 124, 1024 -> pads 262 + 262, 500·1.024 = 512 out.
  const Resampler t(500, 250.0, 256.0);
  EXPECT_EQ(t.pad_left() + t.pad_right(), 524u);
  EXPECT_EQ(t.out_times(), 512u);
  // Odd padding: the extra sample goes to the right.
  const Resampler o(9, 160.0, 256.0);  // min_add 2, 16 − 9 = 7 -> 3 + 4
  EXPECT_EQ(o.pad_left(), 3u);
  EXPECT_EQ(o.pad_right(), 4u);
  EXPECT_EQ(resampled_length(9760, 160.0, 256.0), 15616u);
  EXPECT_EQ(resampled_length(1, 1000.0, 256.0), 1u);  // at least one sample
}

TEST(Resample, RejectsBadRates) {
  EXPECT_THROW(Resampler(100, 0.0, 256.0), InputError);
  EXPECT_THROW(Resampler(100, 160.0, -1.0), InputError);
  EXPECT_THROW(Resampler(100, 160.0, std::nan("")), InputError);
  EXPECT_THROW(Resampler(0, 160.0, 256.0), InputError);
  try {
    resample(std::vector<double>(10, 0.0), 160.0, 0.0);
    FAIL() << "no exception";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("to_hz"), std::string::npos) << e.what();
  }
  const Resampler r(100, 160.0, 256.0);
  EXPECT_THROW(r.apply(std::vector<double>(99, 0.0)), InputError);
}

TEST(Resample, EqualsMneOnRecordings) {
  for (const std::string name : {"eegmmidb_S001R01.safetensors", "eegmmidb_S001R03.safetensors",
                                 "tuh_aaaaaaac_s001_t000.safetensors"}) {
    SCOPED_TRACE(name);
    const auto file = io::SafetensorsFile::open(preprocess_data(name));
    const double sfreq = sfreq_of(file);
    // Measured alone: MNE's own notch output in, MNE's resample output as reference.
    const auto y = resample(f64_rows(file, "notch_uv"), sfreq, 256.0, /*n_threads=*/2);
    const auto ref = f64_rows(file, "resampled_uv");
    ASSERT_EQ(y.size(), ref.size());
    for (std::size_t c = 0; c < y.size(); ++c) {
      EXPECT_TRUE(close_uv(y[c], ref[c], kStageMaxAbsUv, kStageRelRms,
                           name + " resample ch" + std::to_string(c)));
    }
  }
}

TEST(Resample, EdgeCasesEqualMne) {
  // Up/down/same rate and tiny signals (zero padding beyond the reflection), see the generator.
  const auto file = io::SafetensorsFile::open(preprocess_data("synthetic.safetensors"));
  for (int i = 0; i < 11; ++i) {
    const std::string p = "res" + std::to_string(i);
    SCOPED_TRACE(p);
    const auto rates = f64_vector(file, p + "_rates");
    const auto y = resample(f64_vector(file, p + "_x"), rates.at(0), rates.at(1));
    EXPECT_TRUE(close_uv(y, f64_vector(file, p + "_y"), kStageMaxAbsUv, kStageRelRms, p));
  }
}

TEST(Resample, BandLimitedSineMatchesAnalyticSine) {
  // MNE's FFT resampling maps output sample j to input time
  //   t_j = ((j + remove_left) · orig_len / new_len − pad_left) / from_hz,
  // where new_len = round(ratio · orig_len) is not exactly ratio · orig_len: here 6554 instead of
  // 6553.6, so MNE's output grid runs at 256.016 Hz and drifts by up to ~0.8 ms over 20 s (a
  // 0.4 µV error on this sine against the nominal 1/256 s grid). We reproduce MNE, so compare
  // with the sine at MNE's own sample times; the remainder is the FFT method's own (tiny) error.
  const double from_hz = 160.0, to_hz = 256.0, f_hz = 7.3, amp = 30.0;
  const std::size_t n = 160 * 20;
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = amp * std::sin(2 * kPi * f_hz * static_cast<double>(i) / from_hz + 0.4);
  const Resampler r(n, from_hz, to_hz);
  ASSERT_EQ(r.padded_length(), 4096u);
  ASSERT_EQ(r.resampled_padded_length(), 6554u);
  const auto y = r.apply(x);
  ASSERT_EQ(y.size(), 256u * 20);
  const double remove_left = std::nearbyint(to_hz / from_hz * static_cast<double>(r.pad_left()));
  const double step = static_cast<double>(r.padded_length()) / static_cast<double>(r.resampled_padded_length());
  double worst = 0, worst_nominal = 0;
  for (std::size_t j = y.size() / 4; j < 3 * y.size() / 4; ++j) {
    const double t_in = (static_cast<double>(j) + remove_left) * step - static_cast<double>(r.pad_left());
    const double expected = amp * std::sin(2 * kPi * f_hz * t_in / from_hz + 0.4);
    const double nominal = amp * std::sin(2 * kPi * f_hz * static_cast<double>(j) / to_hz + 0.4);
    worst = std::max(worst, std::abs(y[j] - expected));
    worst_nominal = std::max(worst_nominal, std::abs(y[j] - nominal));
  }
  std::printf("[ analytic ] 7.3 Hz sine (30 µV) 160 -> 256 Hz, middle half: max|error| %.3g µV at "
              "MNE's sample times, %.3g µV on the nominal 1/256 s grid\n", worst, worst_nominal);
  EXPECT_LT(worst, amp * 1e-3);
}

TEST(FilterChain, EqualsMneOnRecordings) {
  struct Rec {
    std::string file;
    double notch_hz;
  };
  for (const Rec& rec : {Rec{"eegmmidb_S001R01.safetensors", 60.0}, Rec{"eegmmidb_S001R03.safetensors", 60.0},
                         Rec{"eeglab_test.safetensors", 50.0}, Rec{"tuh_aaaaaaac_s001_t000.safetensors", 60.0}}) {
    SCOPED_TRACE(rec.file);
    const auto file = io::SafetensorsFile::open(preprocess_data(rec.file));
    const double sfreq = sfreq_of(file);
    auto x = f64_rows(file, "raw_uv");
    FilterChainOptions options;
    options.notch_hz = {rec.notch_hz};
    options.n_threads = 2;
    const FilterChainReport report = run_filter_chain(x, sfreq, options);
    const bool resampled = sfreq != 256.0;
    EXPECT_EQ(report.resampled, resampled);
    EXPECT_EQ(report.sfreq_hz, 256.0);
    EXPECT_EQ(report.steps.size(), resampled ? 3u : 2u);
    const auto ref = f64_rows(file, resampled ? "resampled_uv" : "notch_uv");
    ASSERT_EQ(x.size(), ref.size());
    for (std::size_t c = 0; c < x.size(); ++c) {
      EXPECT_TRUE(close_uv(x[c], ref[c], kChainMaxAbsUv, kChainRelRms,
                           rec.file + " chain ch" + std::to_string(c)));
    }
  }
}

// Timing on a full recording (all 64 channels of S001R03, written by
// `filter_reference.py --timing-out PATH`); skipped unless LUMAMBA_PREPROCESS_TIMING_FILE=PATH.
}  // namespace
}  // namespace lumamba::preprocess
