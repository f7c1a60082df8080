// Tests for the EDF/EDF+/BDF reader (lumamba/io/edf_reader.h).
//
// References: (1) MNE 1.3.0's reads of the bundled real files and of written.bdf
// (tests/fixtures/edf/mne_reference.json, from tools/mne_reference/read_edf_reference.py);
// (2) files written here with known digital values — by EDFlib's writer (EDF+/BDF+) and by a
// small independent byte-level writer (plain EDF/BDF) — whose physical values are recomputed with
// MNE's formula (dig * cal + pmin - dmin * cal); (3) a catalogue of corrupted files, each of which
// must fail with one InputError naming the file and the field, or open with a listed repair.
// written.bdf is regenerated with: test_io_edf --gtest_also_run_disabled_tests
//   --gtest_filter='EdfWrittenFixture.DISABLED_Regenerate'
#include <edflib.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/io/edf_reader.h"
#include "support/edf_writer.h"

namespace lumamba::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// MNE computes dig*cal + (pmin - dmin*cal), EDFlib cal*(offset + dig) with offset = pmax/cal - dmax:
// the same value in a different rounding order. offset + dig is rounded at the size of dmax
// (2^23 for BDF), so they differ by up to ~eps * 2^23 * cal ~ 2e-9 digital steps, i.e. ~1e-16 of
// the channel's full scale. Compared as |ours - ref| <= kSampleRelTol * max(|ref|, full scale),
// full scale = max(|physical_min|, |physical_max|) in µV.
constexpr double kSampleRelTol = 1e-9;
// EDF+ onsets are decimal text; EDFlib keeps 100 ns steps, MNE parses floats.
constexpr double kOnsetTolS = 1e-9;

std::string data_path(const std::string& name) { return std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/edf/" + name; }

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// A per-test scratch directory, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "lumamba-test-edf-XXXXXX").string();
    path_ = ::mkdtemp(templ.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

// Expects `fn` to throw lumamba::InputError whose message contains `path` and every `parts`.
void expect_input_error(const std::function<void()>& fn, const std::string& path,
                        const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no InputError for " << path;
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const auto& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
  }
}

// MNE's scaling of one digital value.
double mne_physical(int64_t dig, double pmin, double pmax, int64_t dmin, int64_t dmax) {
  const double cal = (pmax - pmin) / static_cast<double>(dmax - dmin);
  return static_cast<double>(dig) * cal + (pmin - static_cast<double>(dmin) * cal);
}

::testing::AssertionResult close_sample(double actual, double expected, double full_scale) {
  if (std::abs(actual - expected) <= kSampleRelTol * std::max(std::abs(expected), full_scale)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << actual << " vs " << expected << " (full scale " << full_scale << ")";
}

// Full scale of a signal in the unit read_signal_uv returns.
double full_scale_of(const SignalInfo& s) {
  return std::max(std::abs(s.physical_min), std::abs(s.physical_max)) * s.uv_per_unit;
}

// ---- files written with EDFlib's writer (tests/support/edf_writer.h) ----

using test::AnnotationSpec;
using test::FileSpec;
using test::SignalSpec;
using test::write_with_edflib;

// Known sine values in digital units (deterministic: written.bdf is compared with them).
int sine_digital(int signal, int64_t sample, int samples_per_record, double amplitude) {
  const double freq_hz[] = {10.0, 3.0, 1.0};
  const double phase[] = {0.0, 0.5, 1.0};
  const double t_s = static_cast<double>(sample) / samples_per_record;
  return static_cast<int>(std::lround(amplitude * std::sin(2 * M_PI * freq_hz[signal % 3] * t_s + phase[signal % 3])));
}

// The committed written.bdf: BDF+, 24-bit, 3 records of 1 s; Fp1 in uV,
// C3 in mV (checks the unit conversion), ECG at half the rate; three annotations (one without a
// duration, one with UTF-8 text).
FileSpec written_bdf_spec() {
  FileSpec spec;
  spec.bdf = true;
  spec.n_records = 3;
  spec.signals = {{"EEG Fp1-REF", "uV", -3000, 3000, -8388608, 8388607, 256},
                  {"EEG C3-REF", "mV", -10, 10, -8388608, 8388607, 256},
                  {"ECG", "mV", -5, 5, -8388608, 8388607, 128}};
  spec.annotations = {{5000, 10000, "stimulus A"}, {12500, -1, "marker"}, {20000, 2500, "\xc3\xa9lectrode"}};
  spec.digital = [spec](int s, int64_t i) {
    return sine_digital(s, i, spec.signals[static_cast<std::size_t>(s)].samples_per_record, 3.0e6);
  };
  return spec;
}

// A 2-signal EDF+ base file for the corruption catalogue: "EKG" (10 Hz) and "EEG Fp1-REF" (20 Hz),
// 3 records of 1 s, one annotation.
FileSpec small_edfplus_spec() {
  FileSpec spec;
  spec.n_records = 3;
  spec.signals = {{"EKG", "uV", -500, 500, -32768, 32767, 10}, {"EEG Fp1-REF", "uV", -500, 500, -32768, 32767, 20}};
  spec.annotations = {{5000, 10000, "hello"}};
  spec.digital = [](int s, int64_t i) { return static_cast<int>((i * 37 + s * 1000) % 60000) - 30000; };
  return spec;
}

// ---- plain EDF/BDF written byte by byte (independent of EDFlib) ----

std::string field(const std::string& s, std::size_t width) {
  std::string out = s.substr(0, width);
  out.resize(width, ' ');
  return out;
}

struct PlainSignal {
  std::string label, dimension;
  double pmin, pmax;
  int64_t dmin, dmax;
  int samples_per_record;
};

std::string make_plain_file(bool bdf, const std::vector<PlainSignal>& sigs, int n_records,
                            const std::function<int64_t(int, int64_t)>& digital) {
  const std::size_t ns = sigs.size();
  std::string h = bdf ? std::string("\xff") + "BIOSEMI" : field("0", 8);
  h += field("patient x", 80) + field("recording y", 80) + "02.01.20" + "03.04.05";
  h += field(std::to_string(256 * (ns + 1)), 8) + field(bdf ? "24BIT" : "", 44);
  h += field(std::to_string(n_records), 8) + field("1", 8) + field(std::to_string(ns), 4);
  auto each = [&](const std::function<std::string(const PlainSignal&)>& f, std::size_t w) {
    for (const auto& s : sigs) h += field(f(s), w);
  };
  auto num = [](double v) {
    std::string s = fmt::format("{}", v);
    return s;
  };
  each([](const PlainSignal& s) { return s.label; }, 16);
  each([](const PlainSignal&) { return std::string("AgAgCl electrode"); }, 80);
  each([](const PlainSignal& s) { return s.dimension; }, 8);
  each([&](const PlainSignal& s) { return num(s.pmin); }, 8);
  each([&](const PlainSignal& s) { return num(s.pmax); }, 8);
  each([](const PlainSignal& s) { return std::to_string(s.dmin); }, 8);
  each([](const PlainSignal& s) { return std::to_string(s.dmax); }, 8);
  each([](const PlainSignal&) { return std::string("HP:0.1Hz LP:75Hz"); }, 80);
  each([](const PlainSignal& s) { return std::to_string(s.samples_per_record); }, 8);
  each([](const PlainSignal&) { return std::string(); }, 32);
  const int bytes_per_sample = bdf ? 3 : 2;
  for (int r = 0; r < n_records; ++r) {
    for (std::size_t s = 0; s < ns; ++s) {
      for (int i = 0; i < sigs[s].samples_per_record; ++i) {
        const int64_t v = digital(static_cast<int>(s), int64_t{r} * sigs[s].samples_per_record + i);
        for (int b = 0; b < bytes_per_sample; ++b) {
          h += static_cast<char>((static_cast<uint64_t>(v) >> (8 * b)) & 0xff);
        }
      }
    }
  }
  return h;
}

// Offsets of header fields, for the corruption catalogue.
std::size_t signal_field(std::size_t ns, std::size_t field_before_width_sum, std::size_t width, std::size_t signal) {
  return 256 + ns * field_before_width_sum + signal * width;
}
// Sums of the widths before each per-signal field (label 16, transducer 80, dimension 8, ...).
constexpr std::size_t kOffLabel = 0, kOffDim = 96, kOffPmin = 104, kOffPmax = 112, kOffDmin = 120, kOffDmax = 128,
                      kOffPrefilter = 136, kOffSpr = 216;

void put(std::string& bytes, std::size_t offset, const std::string& value, std::size_t width) {
  bytes.replace(offset, width, field(value, width));
}

// ============================================================================ tests

TEST(EdfLabels, TuhElectrodeName) {
  EXPECT_EQ(tuh_electrode_name("EEG FP1-REF"), "FP1");
  EXPECT_EQ(tuh_electrode_name("EEG FP1-LE"), "FP1");
  EXPECT_EQ(tuh_electrode_name("EEG T3-REF"), "T3");
  EXPECT_EQ(tuh_electrode_name("EEG A1-REF"), "A1");
  EXPECT_EQ(tuh_electrode_name("eeg fp1-ref"), "FP1");
  EXPECT_EQ(tuh_electrode_name("  EEG  Cz-LE "), "CZ");
  EXPECT_EQ(tuh_electrode_name("Fc5."), "FC5");
  EXPECT_EQ(tuh_electrode_name("Iz.."), "IZ");
  EXPECT_EQ(tuh_electrode_name("EEG Fp1"), "FP1");
  EXPECT_EQ(tuh_electrode_name("FP1-F7"), "FP1-F7");
  EXPECT_EQ(tuh_electrode_name("EEG EKG1-REF"), "EKG1");
  EXPECT_EQ(tuh_electrode_name("PHOTIC-REF"), "PHOTIC");
  EXPECT_EQ(tuh_electrode_name("EDF Annotations"), "EDF ANNOTATIONS");
  EXPECT_EQ(tuh_electrode_name("EEG"), "EEG");
  EXPECT_EQ(tuh_electrode_name("-REF"), "-REF");
  EXPECT_EQ(tuh_electrode_name(""), "");
}

TEST(EdfLabels, IsEegElectrodeName) {
  for (const char* eeg : {"FP1", "T3", "T7", "A1", "CZ", "FC5", "FP1-F7", "T8-P8", "CB1"}) {
    EXPECT_TRUE(is_eeg_electrode_name(eeg)) << eeg;
  }
  for (const char* other : {"EKG", "EKG1", "EMG", "PHOTIC", "IBI", "BURSTS", "SUPPR", "DC1-DC", "26", "T1", "ROC",
                            "EDF ANNOTATIONS", "", "FP1-", "-F7", "FP1-F7-C3"}) {
    EXPECT_FALSE(is_eeg_electrode_name(other)) << other;
  }
}

// ---- real files against MNE ----

json load_reference() {
  const std::string path = data_path("mne_reference.json");
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path << " missing; run tools/mne_reference/read_edf_reference.py";
  return json::parse(in);
}

void compare_annotations(const RecordingHeader& h, const json& ref) {
  ASSERT_EQ(h.annotations.size(), ref.size()) << h.path;
  for (std::size_t k = 0; k < ref.size(); ++k) {
    const Annotation& a = h.annotations[k];
    EXPECT_NEAR(a.onset_s, ref[k]["onset_s"].get<double>(), kOnsetTolS) << h.path << " #" << k;
    // MNE writes 0 where the TAL has no duration.
    const double duration = a.duration_s == kNoDuration ? 0.0 : a.duration_s;
    EXPECT_NEAR(duration, ref[k]["duration_s"].get<double>(), kOnsetTolS) << h.path << " #" << k;
    EXPECT_EQ(a.text, ref[k]["description"].get<std::string>()) << h.path << " #" << k;
  }
}

TEST(EdfReaderMne, AllReferenceFilesMatch) {
  const json ref = load_reference();
  ASSERT_EQ(ref["format_version"].get<int>(), 1) << "re-run tools/mne_reference/read_edf_reference.py";
  int n_files = 0, n_compared_channels = 0;
  for (const auto& [name, r] : ref["files"].items()) {
    SCOPED_TRACE(name);
    ++n_files;
    EdfReader reader = EdfReader::open(data_path(name));
    const RecordingHeader& h = reader.header();
    if (r["reader"] == "read_annotations") {  // annotation-only file (MNE cannot read it as Raw)
      EXPECT_EQ(reader.n_signals(), 0);
      compare_annotations(h, r["annotations"]);
      continue;
    }
    EXPECT_EQ(h.start_datetime, r["meas_date"].get<std::string>());
    const auto& channels = r["channels"];
    ASSERT_EQ(static_cast<std::size_t>(reader.n_signals()), channels.size());
    const double sfreq = r["sfreq_hz"].get<double>();
    for (std::size_t c = 0; c < channels.size(); ++c) {
      const json& rc = channels[c];
      const SignalInfo& s = h.signals[c];
      SCOPED_TRACE(s.label);
      // MNE renames duplicate labels "X" to "X-0", "X-1".
      const std::string mne_name = rc["name"].get<std::string>();
      EXPECT_TRUE(mne_name == s.label || mne_name.rfind(s.label + "-", 0) == 0) << mne_name;
      EXPECT_EQ(s.n_samples_per_record, rc["n_samples_per_record"].get<int>());
      EXPECT_EQ(s.n_samples, s.n_samples_per_record * h.n_records);
      EXPECT_DOUBLE_EQ(s.sfreq_hz, s.n_samples_per_record / r["record_duration_s"].get<double>());
      if (s.unit_is_voltage) {
        EXPECT_DOUBLE_EQ(s.uv_per_unit * 1e-6, rc["mne_unit_to_si"].get<double>());
      } else {
        EXPECT_EQ(rc["mne_unit_to_si"].get<double>(), 1.0);
      }
      if (!rc.contains("first")) {  // MNE resampled this lower-rate channel; nothing to compare
        EXPECT_LT(s.sfreq_hz, sfreq);
        continue;
      }
      EXPECT_EQ(s.sfreq_hz, sfreq);
      ASSERT_EQ(s.n_samples, r["n_times"].get<int64_t>());
      const std::vector<double> x = reader.read_signal_uv(static_cast<int64_t>(c));
      const double full_scale = full_scale_of(s);
      const auto first = rc["first"].get<std::vector<double>>();
      const auto last = rc["last"].get<std::vector<double>>();
      for (std::size_t i = 0; i < first.size(); ++i) EXPECT_TRUE(close_sample(x[i], first[i], full_scale));
      for (std::size_t i = 0; i < last.size(); ++i) {
        EXPECT_TRUE(close_sample(x[x.size() - last.size() + i], last[i], full_scale));
      }
      for (const auto& [idx, value] : rc["at"].items()) {
        EXPECT_TRUE(close_sample(x[std::stoul(idx)], value.get<double>(), full_scale)) << idx;
      }
      double sum = 0;
      for (double v : x) sum += v;
      EXPECT_NEAR(sum, rc["sum"].get<double>(), kSampleRelTol * (rc["sum_abs"].get<double>() + full_scale));
      ++n_compared_channels;
    }
    compare_annotations(h, r["annotations"]);
  }
  EXPECT_GE(n_files, 9);
  EXPECT_GE(n_compared_channels, 200);
}

TEST(EdfReaderReal, HypnogramIsAnnotationOnly) {
  const EdfReader reader = EdfReader::open(data_path("SC4001EC-Hypnogram.edf"));
  const RecordingHeader& h = reader.header();
  EXPECT_EQ(h.format, RecordingFormat::kEdfPlus);
  EXPECT_EQ(h.n_records, 1);
  EXPECT_EQ(h.record_duration_s, 0.0);
  EXPECT_EQ(h.n_annotation_signals, 1);
  ASSERT_EQ(h.annotations.size(), 154u);
  EXPECT_EQ(h.annotations[0].text, "Sleep stage W");
  EXPECT_EQ(h.annotations[0].onset_s, 0.0);
  EXPECT_EQ(h.annotations[0].duration_s, 30630.0);
  EXPECT_EQ(h.start_datetime, "1989-04-24T16:13:00");
}

TEST(EdfReaderReal, TuhLabelsAndMixedRates) {
  const EdfReader reader = EdfReader::open(data_path("aaaaaool_s001_t000.edf"));
  const RecordingHeader& h = reader.header();
  EXPECT_EQ(h.format, RecordingFormat::kEdfPlus);
  ASSERT_EQ(reader.n_signals(), 36);
  const auto& s = h.signals;
  EXPECT_EQ(s[0].label, "EEG FP1-REF");
  EXPECT_EQ(s[0].electrode, "FP1");
  EXPECT_TRUE(s[0].is_eeg);
  EXPECT_EQ(s[12].electrode, "T3");
  EXPECT_TRUE(s[12].is_eeg);
  EXPECT_EQ(s[16].electrode, "A1");
  EXPECT_TRUE(s[16].is_eeg);
  for (const auto& [idx, name] : std::vector<std::pair<int, std::string>>{
           {23, "EKG1"}, {24, "EMG"}, {32, "PHOTIC"}, {33, "IBI"}, {34, "BURSTS"}, {35, "SUPPR"}}) {
    EXPECT_EQ(s[static_cast<std::size_t>(idx)].electrode, name);
    EXPECT_FALSE(s[static_cast<std::size_t>(idx)].is_eeg) << name;
  }
  EXPECT_EQ(s[0].sfreq_hz, 250.0);
  EXPECT_EQ(s[33].sfreq_hz, 1.0);
  EXPECT_EQ(s[33].n_samples, 2);
  EXPECT_EQ(s[0].physical_dimension, "uV");
  EXPECT_EQ(s[0].prefilter, "HP:0.000 Hz LP:0.0 Hz N:0.0");
  EXPECT_EQ(h.start_datetime, "2013-01-01T00:00:00");
  EXPECT_EQ(h.record_duration_s, 1.0);
  EXPECT_EQ(h.n_records, 2);
  EXPECT_EQ(h.duration_s, 2.0);
  EXPECT_TRUE(h.repairs.empty());

  const EdfReader le = EdfReader::open(data_path("aaaaahln_s001_t000.edf"));
  EXPECT_EQ(le.header().signals[0].label, "EEG FP1-LE");
  EXPECT_EQ(le.header().signals[0].electrode, "FP1");
  EXPECT_EQ(le.find_signal("Fp1"), 0);
  EXPECT_EQ(le.find_signal("T7"), le.find_signal("EEG T3-LE"));
  EXPECT_GE(le.find_signal("T7"), 0);
  EXPECT_EQ(le.find_signal("DC1-DC"), 33);
  EXPECT_FALSE(le.header().signals[33].is_eeg);
}

TEST(EdfReaderReal, PhysioNetFileIsRepaired) {
  // eegmmidb fills the annotation signal's prefilter ("HP:0Hz LP:0Hz N:0Hz"); EDFlib 1.23 refuses.
  const std::string path = data_path("S001R03.edf");
  const EdfReader reader = EdfReader::open(path);
  const RecordingHeader& h = reader.header();
  std::string repairs;
  for (const auto& r : h.repairs) repairs += r + "\n";
  EXPECT_NE(repairs.find("prefiltering of signal 64 'EDF Annotations' = 'HP:0Hz LP:0Hz N:0Hz'"), std::string::npos)
      << repairs;
  EXPECT_EQ(reader.n_signals(), 64);
  EXPECT_EQ(h.signals[0].label, "Fc5.");
  EXPECT_EQ(h.signals[0].electrode, "FC5");
  EXPECT_TRUE(h.signals[0].is_eeg);
  EXPECT_EQ(h.signals[0].prefilter, "HP:0Hz LP:0Hz N:0Hz");
  EXPECT_EQ(h.patient, "X X X X");
  EXPECT_EQ(h.recording, "Startdate 12-AUG-2009 X X BCI2000");
  ASSERT_EQ(h.annotations.size(), 30u);
  int n_t0 = 0, n_task = 0;
  for (const auto& a : h.annotations) {
    n_t0 += a.text == "T0";
    n_task += a.text == "T1" || a.text == "T2";
  }
  EXPECT_EQ(n_t0, 15);
  EXPECT_EQ(n_task, 15);

  EdfOpenOptions strict;
  strict.repair_header = false;
  expect_input_error([&] { EdfReader::open(path, strict); }, path,
                     {"repair_header", "prefiltering of signal 64 'EDF Annotations'"});
}

TEST(EdfReaderReal, PartialReadsAndBounds) {
  const std::string path = data_path("eeglab_test.edf");
  EdfReader reader = EdfReader::open(path);
  EXPECT_EQ(reader.header().format, RecordingFormat::kEdf);
  EXPECT_EQ(reader.header().patient, "J. B. (1066 28)");
  const std::vector<double> all = reader.read_signal_uv(3);
  ASSERT_EQ(all.size(), 15360u);
  for (const auto& [start, n] :
       std::vector<std::pair<int64_t, int64_t>>{{0, 10}, {255, 3}, {256, 256}, {1000, 5000}, {15350, 10}, {15360, 0}}) {
    const std::vector<double> part = reader.read_signal_uv(3, start, n);
    ASSERT_EQ(part.size(), static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      EXPECT_EQ(part[static_cast<std::size_t>(i)], all[static_cast<std::size_t>(start + i)]);
  }
  // Another signal in between must not disturb the per-signal position.
  (void)reader.read_signal_uv(4, 7, 11);
  EXPECT_EQ(reader.read_signal_uv(3, 20, 1)[0], all[20]);
  expect_input_error([&] { reader.read_signal_uv(16); }, path, {"signal index 16"});
  expect_input_error([&] { reader.read_signal_uv(-1, 0, 1); }, path, {"signal index -1"});
  expect_input_error([&] { reader.read_signal_uv(3, 15000, 361); }, path, {"EEG T4", "15360"});
  expect_input_error([&] { reader.read_signal_uv(3, -1, 2); }, path, {"EEG T4"});
}

TEST(EdfReaderReal, ReadEdfSelection) {
  const std::string path = data_path("aaaaaool_s001_t000.edf");
  const EdfRecording all = read_edf(path);
  EXPECT_EQ(all.data_uv.size(), 36u);
  EXPECT_EQ(all.data_uv[33].size(), 2u);  // IBI at 1 Hz

  // TUH names, 10-20 aliases (T7 = T3), case; the order asked for is kept.
  const EdfRecording sel = read_edf(path, {"T7", "fp1", "EEG CZ-REF", "A1"});
  ASSERT_EQ(sel.signal_indices, (std::vector<int64_t>{12, 0, 19, 16}));
  const EdfRecording again = read_edf(path);
  EXPECT_EQ(sel.data_uv[1], again.data_uv[0]);
  EXPECT_EQ(sel.data_uv[0], again.data_uv[12]);

  expect_input_error([&] { read_edf(path, {"FP1", "XYZ", "O9"}); }, path, {"XYZ, O9", "EEG FP1-REF"});

  // CHB-MIT has "T8-P8" twice: the first is used (with a warning).
  const EdfRecording chb = read_edf(data_path("chb01_01_sample.edf"), {"T8-P8"});
  EXPECT_EQ(chb.signal_indices, (std::vector<int64_t>{14}));
  EXPECT_TRUE(chb.header.signals[14].is_eeg);
}

// ---- written files ----

TEST(EdfWritten, EdfPlusRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("small.edf");
  const FileSpec spec = small_edfplus_spec();
  write_with_edflib(path, spec);
  EdfReader reader = EdfReader::open(path);
  EXPECT_EQ(reader.header().format, RecordingFormat::kEdfPlus);
  for (int s = 0; s < 2; ++s) {
    const SignalSpec& want = spec.signals[static_cast<std::size_t>(s)];
    const std::vector<double> x = reader.read_signal_uv(s);
    ASSERT_EQ(x.size(), static_cast<std::size_t>(want.samples_per_record * 3));
    for (std::size_t i = 0; i < x.size(); ++i) {
      EXPECT_TRUE(close_sample(
          x[i], mne_physical(spec.digital(s, static_cast<int64_t>(i)), want.pmin, want.pmax, want.dmin, want.dmax),
          full_scale_of(reader.header().signals[static_cast<std::size_t>(s)])));
    }
  }
}

// Reads a file written from written_bdf_spec() and checks it against the spec's known values.
void expect_written_bdf(const std::string& path) {
  const FileSpec spec = written_bdf_spec();
  EdfReader reader = EdfReader::open(path);
  const RecordingHeader& h = reader.header();
  EXPECT_EQ(h.format, RecordingFormat::kBdfPlus);
  EXPECT_EQ(recording_format_name(h.format), "BDF+C");
  EXPECT_EQ(h.start_datetime, "2020-01-02T03:04:05");
  EXPECT_EQ(h.n_records, 3);
  EXPECT_EQ(h.record_duration_s, 1.0);
  EXPECT_EQ(h.n_annotation_signals, 1);
  EXPECT_NE(h.patient.find("lumamba_test"), std::string::npos) << h.patient;
  ASSERT_EQ(reader.n_signals(), 3);
  for (int s = 0; s < 3; ++s) {
    const SignalSpec& want = spec.signals[static_cast<std::size_t>(s)];
    const SignalInfo& got = h.signals[static_cast<std::size_t>(s)];
    EXPECT_EQ(got.label, want.label);
    EXPECT_EQ(got.physical_dimension, want.dimension);
    EXPECT_EQ(got.physical_min, want.pmin);
    EXPECT_EQ(got.physical_max, want.pmax);
    EXPECT_EQ(got.digital_min, want.dmin);
    EXPECT_EQ(got.digital_max, want.dmax);
    EXPECT_EQ(got.sfreq_hz, want.samples_per_record);
    EXPECT_EQ(got.n_samples, int64_t{want.samples_per_record} * 3);
    EXPECT_TRUE(got.unit_is_voltage);
    EXPECT_EQ(got.uv_per_unit, want.dimension == "mV" ? 1e3 : 1.0);
    const std::vector<double> x = reader.read_signal_uv(s);
    const double full_scale = full_scale_of(got);
    for (int64_t i = 0; i < got.n_samples; ++i) {
      const double expected =
          mne_physical(spec.digital(s, i), want.pmin, want.pmax, want.dmin, want.dmax) * got.uv_per_unit;
      ASSERT_TRUE(close_sample(x[static_cast<std::size_t>(i)], expected, full_scale)) << s << " " << i;
    }
  }
  EXPECT_TRUE(h.signals[0].is_eeg);
  EXPECT_FALSE(h.signals[2].is_eeg);
  ASSERT_EQ(h.annotations.size(), 3u);
  EXPECT_EQ(h.annotations[0].onset_s, 0.5);
  EXPECT_EQ(h.annotations[0].duration_s, 1.0);
  EXPECT_EQ(h.annotations[0].text, "stimulus A");
  EXPECT_EQ(h.annotations[1].onset_s, 1.25);
  EXPECT_EQ(h.annotations[1].duration_s, kNoDuration);
  EXPECT_EQ(h.annotations[2].duration_s, 0.25);
  EXPECT_EQ(h.annotations[2].text, "\xc3\xa9lectrode");
}

TEST(EdfWritten, BdfPlusRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("sine.bdf");
  write_with_edflib(path, written_bdf_spec());
  expect_written_bdf(path);
}

// The committed written.bdf (the file MNE's reference values in mne_reference.json come from)
// holds the generator's known sine values.
TEST(EdfWrittenFixture, CommittedBdfHoldsTheKnownSine) { expect_written_bdf(data_path("written.bdf")); }

TEST(EdfWrittenFixture, DISABLED_Regenerate) { write_with_edflib(data_path("written.bdf"), written_bdf_spec()); }

TEST(EdfWritten, PlainBdfAndEdfFromIndependentWriter) {
  TempDir dir;
  for (const bool bdf : {true, false}) {
    SCOPED_TRACE(bdf ? "BDF" : "EDF");
    const int64_t dmax = bdf ? 8388607 : 32767, dmin = -dmax - 1;
    const std::vector<PlainSignal> sigs = {{"Fp1", "uV", -3200, 3200, dmin, dmax, 8},
                                           {"O2", "mV", -3.2, 3.2, dmin, dmax, 4},
                                           {"Temp", "degC", 20, 40, dmin, dmax, 1}};
    auto digital = [&](int s, int64_t i) {
      const int64_t v[] = {dmin, dmax, 0, -1, 1, dmax / 3, dmin / 7, 12345};
      return v[(i + s) % 8];
    };
    const std::string path = dir.file(bdf ? "plain.bdf" : "plain.edf");
    write_bytes(path, make_plain_file(bdf, sigs, 3, digital));
    EdfReader reader = EdfReader::open(path);
    const RecordingHeader& h = reader.header();
    EXPECT_EQ(h.format, bdf ? RecordingFormat::kBdf : RecordingFormat::kEdf);
    EXPECT_EQ(h.start_datetime, "2020-01-02T03:04:05");
    EXPECT_EQ(h.patient, "patient x");
    EXPECT_EQ(h.recording, "recording y");
    EXPECT_EQ(h.n_annotation_signals, 0);
    EXPECT_TRUE(h.annotations.empty());
    ASSERT_EQ(reader.n_signals(), 3);
    EXPECT_EQ(h.signals[0].transducer, "AgAgCl electrode");
    EXPECT_EQ(h.signals[0].prefilter, "HP:0.1Hz LP:75Hz");
    EXPECT_EQ(h.signals[2].sfreq_hz, 1.0);
    EXPECT_FALSE(h.signals[2].unit_is_voltage);
    for (int s = 0; s < 3; ++s) {
      const PlainSignal& want = sigs[static_cast<std::size_t>(s)];
      const SignalInfo& got = h.signals[static_cast<std::size_t>(s)];
      const std::vector<double> x = reader.read_signal_uv(s);
      ASSERT_EQ(x.size(), static_cast<std::size_t>(want.samples_per_record * 3));
      for (std::size_t i = 0; i < x.size(); ++i) {
        const double expected =
            mne_physical(digital(s, static_cast<int64_t>(i)), want.pmin, want.pmax, want.dmin, want.dmax) *
            got.uv_per_unit;
        EXPECT_TRUE(close_sample(x[i], expected, full_scale_of(got))) << s << " " << i;
      }
    }
    EXPECT_EQ(reader.read_signal_uv(0, 0, 2)[0], -3200.0);  // dmin -> pmin exactly
  }
}

TEST(EdfWritten, UnitConversionAndPolicy) {
  TempDir dir;
  const std::vector<std::pair<std::string, double>> units = {{"uV", 1},  {"UV", 1},  {"mV", 1e3}, {"MV", 1e3},
                                                             {"V", 1e6}, {"v", 1e6}, {"nV", 1e-3}};
  std::vector<PlainSignal> sigs;
  const char* names[] = {"Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3"};
  for (std::size_t i = 0; i < units.size(); ++i) {
    sigs.push_back({names[i], units[i].first, -100, 100, -32768, 32767, 2});
  }
  sigs.push_back({"O1", "", -100, 100, -32768, 32767, 2});  // EEG with no unit
  sigs.push_back({"SpO2", "%", 0, 100, -32768, 32767, 2});  // non-EEG, not a voltage
  const std::string path = dir.file("units.edf");
  write_bytes(path, make_plain_file(false, sigs, 1, [](int, int64_t) { return int64_t{32767}; }));
  {
    EdfReader reader = EdfReader::open(path);  // default: warn, keep O1 as µV
    for (std::size_t i = 0; i < units.size(); ++i) {
      EXPECT_EQ(reader.header().signals[i].uv_per_unit, units[i].second) << units[i].first;
      EXPECT_DOUBLE_EQ(reader.read_signal_uv(static_cast<int64_t>(i))[0], 100 * units[i].second);
    }
    EXPECT_FALSE(reader.header().signals[7].unit_is_voltage);
    EXPECT_EQ(reader.read_signal_uv(7)[0], 100.0);
    EXPECT_EQ(reader.read_signal_uv(8)[0], 100.0);
  }  // closed: EDFlib allows one open handle per path

  EdfOpenOptions strict;
  strict.unknown_eeg_unit = UnknownUnitPolicy::kError;
  expect_input_error([&] { EdfReader::open(path, strict); }, path, {"O1 ('')"});
}

TEST(EdfWritten, MoveAndSameFileTwice) {
  TempDir dir;
  const std::string path = dir.file("m.edf");
  write_with_edflib(path, small_edfplus_spec());
  EdfReader a = EdfReader::open(path);
  expect_input_error([&] { EdfReader::open(path); }, path, {"already open"});
  EdfReader b = std::move(a);
  EXPECT_EQ(b.read_signal_uv(1).size(), 60u);
  { EdfReader c = std::move(b); }
  EXPECT_EQ(EdfReader::open(path).n_signals(), 2);  // closed, can be opened again
}

// ---- bad files: one clear InputError each ----

struct BadCase {
  std::string name;
  std::function<void(std::string&)> corrupt;  // edits the bytes of a valid file
  std::vector<std::string> expected;          // substrings of the message
};

TEST(EdfBadFiles, Catalogue) {
  TempDir dir;
  const std::string base_path = dir.file("base.edf");
  write_with_edflib(base_path, small_edfplus_spec());
  const std::string base = read_bytes(base_path);
  const std::size_t ns = 3;  // 2 data signals + the annotation signal
  const std::size_t data_start = 256 * (ns + 1);
  const std::size_t record_bytes = base.size() > data_start ? (base.size() - data_start) / 3 : 0;
  ASSERT_EQ(data_start + 3 * record_bytes, base.size());
  const std::size_t tal_offset = data_start + (10 + 20) * 2;  // the annotation signal in record 0

  std::mt19937 rng(1234);
  std::string random_bytes(3000, '\0');
  for (char& c : random_bytes) c = static_cast<char>(rng());

  const std::vector<BadCase> cases = {
      {"empty", [](std::string& b) { b.clear(); }, {"empty (0 bytes)"}},
      {"short", [](std::string& b) { b.resize(100); }, {"100 bytes", "256-byte"}},
      {"random", [&](std::string& b) { b = random_bytes; }, {"not an EDF or BDF file"}},
      {"gdf", [](std::string& b) { put(b, 0, "GDF 2.20", 8); }, {"GDF file", "GDF 2.20"}},
      {"text",
       [](std::string& b) { b = "hello world, this is not EEG\n" + std::string(300, 'x'); },
       {"version field", "hello wo"}},
      {"truncated data",
       [](std::string& b) { b.resize(b.size() - 10); },
       {"truncated", "3 data records", "2 complete records"}},
      {"truncated header", [](std::string& b) { b.resize(300); }, {"3 signals", "1024 header bytes", "300 bytes"}},
      {"trailing bytes", [](std::string& b) { b += std::string(7, '\0'); }, {"7 unexpected bytes"}},
      {"signals not a number", [](std::string& b) { put(b, 252, "abc", 4); }, {"'number of signals' = 'abc'"}},
      {"zero signals", [](std::string& b) { put(b, 252, "0", 4); }, {"'number of signals' = '0'"}},
      {"too many signals", [](std::string& b) { put(b, 252, "9999", 4); }, {"'number of signals' = '9999'", "640"}},
      {"header bytes",
       [](std::string& b) { put(b, 184, "768", 8); },
       {"'number of bytes in header' = '768'", "expected 1024"}},
      {"start date", [](std::string& b) { put(b, 168, "32.01.20", 8); }, {"'start date' = '32.01.20'"}},
      {"start time", [](std::string& b) { put(b, 176, "25.00.00", 8); }, {"'start time' = '25.00.00'"}},
      {"zero records", [](std::string& b) { put(b, 236, "0", 8); }, {"'number of data records' = '0'"}},
      {"records text",
       [](std::string& b) { put(b, 236, "three", 8); },
       {"'number of data records' = 'three'", "not an integer"}},
      {"negative duration", [](std::string& b) { put(b, 244, "-1", 8); }, {"'duration of a data record' = '-1'"}},
      {"exponent duration", [](std::string& b) { put(b, 244, "1e0", 8); }, {"'duration of a data record' = '1e0'"}},
      {"physical min == max",
       [&](std::string& b) { put(b, signal_field(ns, kOffPmin, 8, 1), "500", 8); },
       {"signal 1 'EEG Fp1-REF'", "physical minimum equals physical maximum (500)"}},
      {"physical max text",
       [&](std::string& b) { put(b, signal_field(ns, kOffPmax, 8, 0), "abc", 8); },
       {"'physical maximum of signal 0 'EKG'' = 'abc'", "not a finite number"}},
      {"physical min infinite",
       [&](std::string& b) { put(b, signal_field(ns, kOffPmin, 8, 0), "-1e99999", 8); },
       {"physical minimum of signal 0 'EKG'", "not a finite number"}},
      {"digital max below min",
       [&](std::string& b) { put(b, signal_field(ns, kOffDmax, 8, 1), "-40000", 8); },
       {"digital maximum of signal 1 'EEG Fp1-REF'", "outside the EDF range"}},
      {"digital max == min",
       [&](std::string& b) { put(b, signal_field(ns, kOffDmax, 8, 1), "-32768", 8); },
       {"signal 1 'EEG Fp1-REF'", "digital maximum -32768 is not above digital minimum -32768"}},
      {"digital min text",
       [&](std::string& b) { put(b, signal_field(ns, kOffDmin, 8, 0), "1.5", 8); },
       {"digital minimum of signal 0 'EKG'", "not an integer"}},
      {"zero samples per record",
       [&](std::string& b) { put(b, signal_field(ns, kOffSpr, 8, 1), "0", 8); },
       {"number of samples in each data record of signal 1 'EEG Fp1-REF'", "at least 1"}},
      {"huge record",
       [&](std::string& b) { put(b, signal_field(ns, kOffSpr, 8, 1), "9999999", 8); },
       {"more than EDFlib's limit"}},
      {"discontinuous", [](std::string& b) { put(b, 192, "EDF+D", 44); }, {"discontinuous EDF+D", "EDF+C"}},
      {"no annotation signal",
       [&](std::string& b) { put(b, signal_field(ns, kOffLabel, 16, 2), "XDF Annotations", 16); },
       {"no 'EDF Annotations' signal"}},
      {"time-keeping gap",
       [&](std::string& b) { b[tal_offset + record_bytes + 1] = '5'; },  // "+1" -> "+5"
       {"data record 1 starts at 5 s", "contiguous"}},
      {"time-keeping missing",
       [&](std::string& b) { b[tal_offset + 2] = 'x'; },  // "+0\x14\x14" -> "+0\x14x"
       {"data record 0", "time-keeping"}},
      {"annotation not terminated",
       [&](std::string& b) { b[data_start + record_bytes - 1] = 'z'; },
       {"data record 0", "does not end with a 0 byte"}},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::string bytes = base;
    c.corrupt(bytes);
    const std::string path = dir.file("bad.edf");
    write_bytes(path, bytes);
    expect_input_error([&] { EdfReader::open(path); }, path, c.expected);
  }

  expect_input_error([&] { EdfReader::open(dir.file("missing.edf")); }, dir.file("missing.edf"), {"no such file"});
  const std::string sub = dir.file("a_directory.edf");
  fs::create_directory(sub);
  expect_input_error([&] { EdfReader::open(sub); }, sub, {"not a regular file"});
}

// Defects that only EDF+ metadata or formatting carry: the file opens, the repair is listed, and
// the samples are the ones written.
TEST(EdfBadFiles, RepairableDefects) {
  TempDir dir;
  const std::string base_path = dir.file("base.edf");
  const FileSpec spec = small_edfplus_spec();
  write_with_edflib(base_path, spec);
  const std::string base = read_bytes(base_path);
  const std::size_t ns = 3;
  const std::vector<BadCase> cases = {
      {"annotation prefilter",
       [&](std::string& b) { put(b, signal_field(ns, kOffPrefilter, 80, 2), "HP:0Hz", 80); },
       {"prefiltering of signal 2 'EDF Annotations'"}},
      {"right-aligned numbers",
       [&](std::string& b) {
         put(b, signal_field(ns, kOffPmax, 8, 0), "     500", 8);
         put(b, 236, "       3", 8);
       },
       {"physical maximum of signal 0 'EKG' right-aligned", "number of data records right-aligned"}},
      {"records unknown",
       [](std::string& b) { put(b, 236, "-1", 8); },
       {"number of data records = -1 (unknown) set to 3"}},
      {"latin-1 micro",
       [&](std::string& b) { put(b, signal_field(ns, kOffDim, 8, 1), "\xb5V", 8); },
       {"physical dimension of signal 1", "'\\xB5V' read as 'uV'"}},
      {"non-ASCII label",
       [&](std::string& b) { put(b, signal_field(ns, kOffLabel, 16, 0), "EKG\xe9", 16); },
       {"label of signal 0 'EKG_'", "replaced by '_'"}},
      {"EDF+ patient syntax",
       [](std::string& b) { put(b, 8, "just a name", 80); },
       {"EDF+ patient field 'just a name'", "read as 'X X X X'"}},
      {"annotation digital range",
       [&](std::string& b) { put(b, signal_field(ns, kOffDmin, 8, 2), "-100", 8); },
       {"digital minimum of signal 2 'EDF Annotations' = -100 set to -32768"}},
      {"EDF+ recording syntax",
       [](std::string& b) { put(b, 88, "Startdate 02-JAN-2020 lab", 80); },
       {"EDF+ recording field", "read as 'Startdate 02-JAN-2020 X X X'"}},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::string bytes = base;
    c.corrupt(bytes);
    const std::string path = dir.file("repairable.edf");
    write_bytes(path, bytes);
    EdfReader reader = EdfReader::open(path);
    std::string repairs;
    for (const auto& r : reader.header().repairs) repairs += r + "\n";
    for (const auto& part : c.expected)
      EXPECT_NE(repairs.find(part), std::string::npos) << part << " not in " << repairs;
    EXPECT_EQ(reader.header().n_records, 3);
    EXPECT_EQ(reader.header().start_datetime, "2020-01-02T03:04:05");
    const std::vector<double> x = reader.read_signal_uv(1);
    ASSERT_EQ(x.size(), 60u);
    EXPECT_TRUE(close_sample(x[7], mne_physical(spec.digital(1, 7), -500, 500, -32768, 32767), 500));
    EdfOpenOptions strict;
    strict.repair_header = false;
    try {
      EdfReader::open(path, strict);  // a newer EDFlib may accept some defects: nothing to repair
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("repair_header"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace lumamba::io
