// FIR design and overlap-add application vs MNE 1.3.0 (reference data from
// tools/mne_reference/filter_reference.py) plus analytic checks (pass-band gain, notch depth) and
// the length/FFT-size rules MNE applies automatically.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/io/safetensors.h"
#include "lumamba/preprocess/fir_filter.h"
#include "mne_reference.h"

namespace lumamba::preprocess {
namespace {

using test::close_uv;
using test::f64_rows;
using test::f64_vector;
using test::preprocess_data;

constexpr double kPi = 3.141592653589793;
// Taps: MNE designs in float64 with the same operation order, so only libm ulps could differ.
constexpr double kTapTol = 1e-12;
// A single filter stage on real EEG (tens of µV): the FFT is SciPy's own, so rounding is shared.
constexpr double kStageMaxAbsUv = 1e-9;
constexpr double kStageRelRms = 1e-12;

struct Recording {
  std::string file;
  double notch_hz;
};
const std::vector<Recording> kRecordings = {{"eegmmidb_S001R01.safetensors", 60.0},
                                            {"eegmmidb_S001R03.safetensors", 60.0},
                                            {"eeglab_test.safetensors", 50.0},
                                            {"tuh_aaaaaaac_s001_t000.safetensors", 60.0}};

double sfreq_of(const io::SafetensorsFile& f) { return std::stod(f.metadata().at("sfreq_hz")); }

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

TEST(FirDesign, BandPassRulesAt160Hz) {
  const FirFilterDesign d = design_band_pass(160.0, 0.1, 75.0);
  EXPECT_EQ(d.kind, "bandpass");
  EXPECT_DOUBLE_EQ(d.l_trans_bandwidth_hz, 0.1);  // min(max(0.1/4, 2), 0.1)
  EXPECT_DOUBLE_EQ(d.h_trans_bandwidth_hz, 5.0);  // min(max(75/4, 2), 80 − 75)
  EXPECT_EQ(d.filter_length, 5281);               // ceil(3.3/0.1 · 160) = 5280, made odd
  EXPECT_EQ(d.taps.size(), 5281u);
  EXPECT_EQ(d.freq_hz, (std::vector<double>{0.0, 0.1, 75.0, 80.0}));
  EXPECT_EQ(d.gain, (std::vector<double>{0, 1, 1, 0}));
  const std::string text = d.describe();
  EXPECT_NE(text.find("5281 samples"), std::string::npos) << text;
  EXPECT_NE(text.find("upper 5 Hz"), std::string::npos) << text;

  const FirFilterDesign d256 = design_band_pass(256.0, 0.1, 75.0);
  EXPECT_DOUBLE_EQ(d256.h_trans_bandwidth_hz, 18.75);
  EXPECT_EQ(d256.filter_length, 8449);
}

TEST(FirDesign, NotchRules) {
  const FirFilterDesign d = design_notch(160.0, 60.0);
  EXPECT_EQ(d.kind, "bandstop");
  EXPECT_EQ(d.filter_length, 1057);  // ceil(6.6 · 160) made odd
  ASSERT_EQ(d.freq_hz.size(), 6u);   // 0, 59.35, 59.85, 60.15, 60.65, 80
  EXPECT_NEAR(d.freq_hz[1], 59.35, 1e-12);
  EXPECT_NEAR(d.freq_hz[2], 59.85, 1e-12);
  EXPECT_NEAR(d.freq_hz[3], 60.15, 1e-12);
  EXPECT_NEAR(d.freq_hz[4], 60.65, 1e-12);
  EXPECT_EQ(d.gain, (std::vector<double>{1, 1, 0, 0, 1, 1}));
}

TEST(FirDesign, TapsEqualMneOnRecordings) {
  for (const auto& rec : kRecordings) {
    SCOPED_TRACE(rec.file);
    const auto file = io::SafetensorsFile::open(preprocess_data(rec.file));
    const double sfreq = sfreq_of(file);
    const auto bp = design_band_pass(sfreq, 0.1, 75.0);
    const auto ref_bp = f64_vector(file, "taps_band_pass");
    ASSERT_EQ(bp.taps.size(), ref_bp.size());
    const double err_bp = max_abs_diff(bp.taps, ref_bp);
    EXPECT_LE(err_bp, kTapTol);
    const auto notch = design_notch(sfreq, rec.notch_hz);
    const auto ref_notch = f64_vector(file, "taps_notch");
    ASSERT_EQ(notch.taps.size(), ref_notch.size());
    const double err_notch = max_abs_diff(notch.taps, ref_notch);
    EXPECT_LE(err_notch, kTapTol);
    std::printf("[ parity   ] %s taps: band-pass %zu max|diff| %.3g, notch %zu max|diff| %.3g\n",
                rec.file.c_str(), bp.taps.size(), err_bp, notch.taps.size(), err_notch);
  }
}

TEST(FirDesign, TapsEqualMneForOtherRatesAndBands) {
  const auto file = io::SafetensorsFile::open(preprocess_data("synthetic.safetensors"));
  // The same list as run_synthetic() in tools/mne_reference/filter_reference.py.
  struct Case {
    double sfreq;
    std::optional<double> l, h;
  };
  const std::vector<Case> designs = {{200.0, 0.1, 75.0},          {400.0, 0.1, 75.0},
                                     {250.0, 0.5, 40.0},          {250.0, 4.0, 30.0},
                                     {250.0, std::nullopt, 40.0}, {250.0, 1.0, std::nullopt},
                                     {160.0, 0.1, 79.0}};
  double worst = 0;
  for (std::size_t i = 0; i < designs.size(); ++i) {
    SCOPED_TRACE("design" + std::to_string(i));
    const auto d = design_filter(designs[i].sfreq, designs[i].l, designs[i].h);
    const auto ref = f64_vector(file, "design" + std::to_string(i) + "_taps");
    ASSERT_EQ(d.taps.size(), ref.size());
    const double err = max_abs_diff(d.taps, ref);
    EXPECT_LE(err, kTapTol);
    worst = std::max(worst, err);
  }
  const std::vector<std::pair<double, std::vector<double>>> notches = {
      {200.0, {50.0}}, {400.0, {50.0}}, {512.0, {60.0}}, {1000.0, {60.0, 120.0}},
      {250.0, {50.0, 100.0}}, {160.0, {50.0}}};
  for (std::size_t i = 0; i < notches.size(); ++i) {
    SCOPED_TRACE("notch" + std::to_string(i));
    const auto d = design_notch(notches[i].first, notches[i].second);
    const auto ref = f64_vector(file, "notch" + std::to_string(i) + "_taps");
    ASSERT_EQ(d.taps.size(), ref.size());
    const double err = max_abs_diff(d.taps, ref);
    EXPECT_LE(err, kTapTol);
    worst = std::max(worst, err);
  }
  std::printf("[ parity   ] synthetic designs: worst taps max|diff| %.3g\n", worst);
}

TEST(FirDesign, RejectsWhatMneRejects) {
  EXPECT_THROW(design_band_pass(128.0, 0.1, 75.0), InputError);  // above Nyquist
  EXPECT_THROW(design_band_pass(150.0, 0.1, 75.0), InputError);  // at Nyquist
  EXPECT_THROW(design_band_pass(256.0, 40.0, 30.0), InputError);  // band-stop form
  EXPECT_THROW(design_band_pass(256.0, -1.0, 30.0), InputError);
  EXPECT_THROW(design_filter(256.0, std::nullopt, std::nullopt), InputError);
  EXPECT_THROW(design_filter(256.0, 130.0, std::nullopt), InputError);  // high-pass above Nyquist
  EXPECT_THROW(design_notch(100.0, 50.0), InputError);  // 50.625 Hz edge > Nyquist
  EXPECT_THROW(design_notch(256.0, std::vector<double>{}), InputError);
  EXPECT_THROW(design_notch(0.0, 50.0), InputError);
  try {
    design_band_pass(128.0, 0.1, 75.0);
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("h_freq_hz"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("75"), std::string::npos) << e.what();
  }
  std::vector<double> signal(10, 1.0);
  EXPECT_THROW(apply_fir_zero_phase({0.25, 0.25, 0.25, 0.25}, signal), InputError);  // even length
}

TEST(FirApply, FftLengthFollowsMneCostModel) {
  // {n_taps, n_times, MNE's "FFT block length"} from MNE 1.3's debug log.
  const std::vector<std::array<std::size_t, 3>> cases = {
      {5281, 20000, 16384}, {1057, 20000, 4096}, {5281, 9760, 16384}, {1057, 9760, 4096},
      {8449, 5120, 17280},  {1691, 5120, 4096},  {8251, 500, 16875},  {1651, 500, 3375},
      {5281, 1, 10800},     {1057, 200000, 8192}};
  for (const auto& c : cases) {
    EXPECT_EQ(overlap_add_fft_length(c[0], c[1]), c[2]) << c[0] << " taps, " << c[1] << " samples";
  }
}

TEST(FirApply, BandPassAndNotchEqualMneOnRecordings) {
  for (const auto& rec : kRecordings) {
    SCOPED_TRACE(rec.file);
    const auto file = io::SafetensorsFile::open(preprocess_data(rec.file));
    const double sfreq = sfreq_of(file);
    auto x = f64_rows(file, "raw_uv");
    const auto ref_bp = f64_rows(file, "band_pass_uv");
    const auto ref_notch = f64_rows(file, "notch_uv");
    apply_fir_zero_phase(design_band_pass(sfreq, 0.1, 75.0).taps, x, /*n_threads=*/2);
    // The notch is checked on MNE's own band-pass output, so each stage is measured alone.
    auto y = ref_bp;
    apply_fir_zero_phase(design_notch(sfreq, rec.notch_hz).taps, y, 2);
    for (std::size_t c = 0; c < x.size(); ++c) {
      EXPECT_TRUE(close_uv(x[c], ref_bp[c], kStageMaxAbsUv, kStageRelRms,
                           rec.file + " band-pass ch" + std::to_string(c)));
      EXPECT_TRUE(close_uv(y[c], ref_notch[c], kStageMaxAbsUv, kStageRelRms,
                           rec.file + " notch ch" + std::to_string(c)));
    }
  }
}

TEST(FirApply, ShortSignalsEqualMne) {
  // filter_data on 1, 2, 7, 100, 1200, 6000 samples: reflect padding limited to n − 1 samples and
  // the single-block next_fast_len FFT size.
  const auto file = io::SafetensorsFile::open(preprocess_data("synthetic.safetensors"));
  for (int i = 0; i < 6; ++i) {
    const std::string p = "ola" + std::to_string(i);
    SCOPED_TRACE(p);
    auto x = f64_vector(file, p + "_x");
    const double sfreq = f64_vector(file, p + "_sfreq").at(0);
    apply_fir_zero_phase(design_band_pass(sfreq, 0.1, 75.0).taps, x);
    EXPECT_TRUE(close_uv(x, f64_vector(file, p + "_y"), kStageMaxAbsUv, kStageRelRms, p));
  }
}

TEST(FirApply, ThreadsGiveIdenticalResults) {
  const auto file = io::SafetensorsFile::open(preprocess_data("eegmmidb_S001R01.safetensors"));
  auto one = f64_rows(file, "raw_uv");
  auto many = one;
  const auto taps = design_band_pass(160.0, 0.1, 75.0).taps;
  apply_fir_zero_phase(taps, one, 1);
  apply_fir_zero_phase(taps, many, 3);
  EXPECT_EQ(one, many);
}

TEST(FirApply, TenHertzSinePassesWithUnitGain) {
  // The 0.1 Hz high-pass makes the filter 33 s long (5281 taps at 160 Hz), so samples closer than
  // half of it to an edge see the reflect_limited padding; check the part beyond that.
  const double sfreq = 160.0;
  const std::size_t n = 160 * 120;
  const std::vector<double> taps = design_band_pass(sfreq, 0.1, 75.0).taps;
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = 50.0 * std::sin(2 * kPi * 10.0 * static_cast<double>(i) / sfreq + 1.0);
  auto y = x;
  apply_fir_zero_phase(taps, y);
  double worst = 0;
  for (std::size_t i = taps.size() / 2; i < n - taps.size() / 2; ++i) worst = std::max(worst, std::abs(y[i] - x[i]));
  std::printf("[ analytic ] 10 Hz sine (50 µV) through 0.1-75 Hz at 160 Hz: max|error| %.3g µV\n", worst);
  EXPECT_LT(worst / 50.0, 1e-3) << "pass-band deviation " << worst << " µV";
}

TEST(FirApply, NotchAttenuatesLineNoiseBy40Db) {
  for (const double line_hz : {50.0, 60.0}) {
    const double sfreq = 256.0;
    const std::size_t n = 256 * 60;
    std::vector<double> x(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = 100.0 * std::sin(2 * kPi * line_hz * static_cast<double>(i) / sfreq);
    apply_fir_zero_phase(design_notch(sfreq, line_hz).taps, x);
    double peak = 0;
    for (std::size_t i = n / 4; i < 3 * n / 4; ++i) peak = std::max(peak, std::abs(x[i]));
    const double attenuation_db = -20 * std::log10(peak / 100.0);
    std::printf("[ analytic ] notch at %.0f Hz (256 Hz): %.1f dB\n", line_hz, attenuation_db);
    EXPECT_GT(attenuation_db, 40.0) << line_hz << " Hz";
    // Away from the notch the same filter passes signal unchanged.
    std::vector<double> s(n);
    for (std::size_t i = 0; i < n; ++i) s[i] = std::sin(2 * kPi * 10.0 * static_cast<double>(i) / sfreq);
    auto t = s;
    apply_fir_zero_phase(design_notch(sfreq, line_hz).taps, t);
    double dev = 0;
    for (std::size_t i = n / 4; i < 3 * n / 4; ++i) dev = std::max(dev, std::abs(t[i] - s[i]));
    EXPECT_LT(dev, 1e-3);
  }
}

TEST(FirApply, OverlapAddFilterChecksLength) {
  const OverlapAddFilter f(design_notch(160.0, 60.0).taps, 1000);
  EXPECT_EQ(f.n_times(), 1000u);
  EXPECT_EQ(f.n_edge(), 999u);
  std::vector<double> wrong(999, 0.0);
  EXPECT_THROW(f.apply(wrong), InputError);
}

}  // namespace
}  // namespace lumamba::preprocess
