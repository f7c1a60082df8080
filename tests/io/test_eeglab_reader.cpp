// Tests for lumamba/io/eeglab_reader.h: the EEGLAB datasets of tests/fixtures/eeglab/ (an `EEG` struct
// with the samples inside, top-level fields with a compressed .set and a .fdt, unit-sphere positions)
// against what MNE 1.3's read_raw_eeglab returns for them (mne_reference.json, both written by
// tools/mne_reference/eeglab_reference.py); the same datasets re-saved as MATLAB v7.3 (HDF5) by libmatio
// read the same; and the catalogue of broken files in tests/fixtures/eeglab/broken/.
#include "lumamba/io/eeglab_reader.h"

#include <gtest/gtest.h>
#include <matio.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/io/recording.h"
#include "support/scratch.h"

namespace {

namespace io = lumamba::io;
namespace fs = std::filesystem;
using lumamba::InputError;

const std::string kDir = std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/eeglab/";

const nlohmann::json& mne_reference() {
  static const nlohmann::json j = [] {
    std::ifstream in(kDir + "mne_reference.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

TEST(EeglabReader, EqualsMneOnStructTopLevelAndFdtFiles) {
  ASSERT_EQ(mne_reference()["mne_version"], "1.3.0");
  ASSERT_EQ(mne_reference()["files"].size(), 3u);
  for (const auto& [file, ref] : mne_reference()["files"].items()) {
    SCOPED_TRACE(file);
    auto reader = io::open_recording(kDir + file);
    const auto& h = reader->header();
    EXPECT_EQ(h.format, io::RecordingFormat::kEeglab);
    const auto names = ref["ch_names"].get<std::vector<std::string>>();
    ASSERT_EQ(h.signals.size(), names.size());
    for (std::size_t c = 0; c < names.size(); ++c) {
      const auto& s = h.signals[c];
      EXPECT_EQ(s.label, names[c]);
      EXPECT_TRUE(s.unit_is_voltage);
      EXPECT_EQ(s.sfreq_hz, ref["sfreq"].get<double>());
      ASSERT_EQ(s.n_samples, ref["n_times"].get<int64_t>());
      const auto x = reader->read_signal_uv(static_cast<int64_t>(c));
      ASSERT_EQ(static_cast<int64_t>(x.size()), s.n_samples);
      double worst = 0;
      const std::size_t stored = ref["head"][c].size();
      for (std::size_t i = 0; i < stored; ++i) {  // MNE: volts; lumamba: µV
        const double head = ref["head"][c][i].get<double>() * 1e6;
        const double tail = ref["tail"][c][i].get<double>() * 1e6;
        worst = std::max(worst, std::abs(x[i] - head) / std::max(1.0, std::abs(head)));
        worst = std::max(worst, std::abs(x[x.size() - stored + i] - tail) / std::max(1.0, std::abs(tail)));
      }
      EXPECT_LT(worst, 1e-12) << s.label;
      // Positions: MNE's where MNE gives an EEG channel one of a head's size; none for EOG channels
      // (MNE leaves them unplaced) and for positions on a unit sphere (lumamba's deliberate difference).
      const auto& want = ref["positions"][c];
      const bool eeg = ref["ch_types"][c] == "eeg";
      const bool unit_sphere = file == "unit_sphere.set";
      ASSERT_EQ(s.position.has_value(), eeg && !unit_sphere && !want.is_null()) << s.label;
      if (!s.position) continue;
      EXPECT_NEAR(s.position->x_m, want[0].get<double>(), 1e-15);
      EXPECT_NEAR(s.position->y_m, want[1].get<double>(), 1e-15);
      EXPECT_NEAR(s.position->z_m, want[2].get<double>(), 1e-15);
    }
    const auto& ann = ref["annotations"];
    ASSERT_EQ(h.annotations.size(), ann.size());
    for (std::size_t k = 0; k < ann.size(); ++k) {
      EXPECT_NEAR(h.annotations[k].onset_s, ann[k][0].get<double>(), 1e-12);
      if (ann[k][1].is_null()) {
        EXPECT_EQ(h.annotations[k].duration_s, io::kNoDuration);
      } else {
        EXPECT_NEAR(h.annotations[k].duration_s, ann[k][1].get<double>(), 1e-12);
      }
      EXPECT_EQ(h.annotations[k].text, ann[k][2].get<std::string>());
    }
  }
  // What MNE's reference shows and the checks above rely on: a numeric event type reads "2.0", the
  // unit-sphere positions MNE keeps are 1000 times too small for a head.
  const auto& embedded = mne_reference()["files"]["embedded_struct.set"];
  EXPECT_EQ(embedded["annotations"][2][2], "2.0");
  EXPECT_LT(std::abs(mne_reference()["files"]["unit_sphere.set"]["positions"][0][2].get<double>()), 0.002);
  auto reader = io::open_recording(kDir + "embedded_struct.set");
  EXPECT_EQ(reader->header().recording, "embedded_struct");
  EXPECT_EQ(reader->header().patient, "sub01");
  EXPECT_NEAR(reader->header().duration_s, 12.0, 1e-12);
}

// Re-saves every variable of a v5 .set as MATLAB v7.3 (HDF5) with libmatio.
void save_as_v73(const std::string& from, const std::string& to) {
  mat_t* in = Mat_Open(from.c_str(), MAT_ACC_RDONLY);
  ASSERT_NE(in, nullptr) << from;
  mat_t* out = Mat_CreateVer(to.c_str(), nullptr, MAT_FT_MAT73);
  ASSERT_NE(out, nullptr) << to;
  int n = 0;
  while (matvar_t* v = Mat_VarReadNext(in)) {
    EXPECT_EQ(Mat_VarWrite(out, v, MAT_COMPRESSION_NONE), 0) << v->name;
    Mat_VarFree(v);
    ++n;
  }
  EXPECT_GT(n, 0);
  Mat_Close(out);
  Mat_Close(in);
}

TEST(EeglabReader, MatlabV73FilesReadLikeV5) {
  const auto dir = lumamba::test::fresh_scratch_dir("eeglab_v73");
  for (const std::string name : {"embedded_struct", "toplevel_fdt"}) {
    SCOPED_TRACE(name);
    const auto v73 = (dir / (name + ".set")).string();
    save_as_v73(kDir + name + ".set", v73);
    if (name == "toplevel_fdt") fs::copy_file(kDir + name + ".fdt", dir / (name + ".fdt"));
    {
      mat_t* m = Mat_Open(v73.c_str(), MAT_ACC_RDONLY);
      ASSERT_NE(m, nullptr);
      EXPECT_EQ(Mat_GetVersion(m), MAT_FT_MAT73);
      Mat_Close(m);
    }
    auto a = io::open_recording(kDir + name + ".set");
    auto b = io::open_recording(v73);
    ASSERT_EQ(a->n_signals(), b->n_signals());
    for (int64_t c = 0; c < a->n_signals(); ++c) {
      const auto& sa = a->header().signals[static_cast<std::size_t>(c)];
      const auto& sb = b->header().signals[static_cast<std::size_t>(c)];
      EXPECT_EQ(sa.label, sb.label);
      EXPECT_EQ(sa.position.has_value(), sb.position.has_value());
      if (sa.position && sb.position) {
        EXPECT_EQ(sa.position->x_m, sb.position->x_m);
      }
      EXPECT_EQ(a->read_signal_uv(c), b->read_signal_uv(c));
    }
    ASSERT_EQ(a->header().annotations.size(), b->header().annotations.size());
    for (std::size_t k = 0; k < a->header().annotations.size(); ++k) {
      EXPECT_EQ(a->header().annotations[k].text, b->header().annotations[k].text);
      EXPECT_EQ(a->header().annotations[k].onset_s, b->header().annotations[k].onset_s);
    }
  }
}

TEST(EeglabReader, BrokenFilesFailNamingTheProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no_srate", "no field 'srate'"},
      {"zero_srate", "'srate' must be > 0"},
      {"epoched", "epoched dataset (2 trials)"},
      {"missing_fdt", "'nowhere.fdt' does not exist"},
      {"short_fdt", "float32 need 1600"},
      {"dat_format", "old .dat format"},
      {"data_shape", "field 'data' is 2 × 150, expected 2 channels × 200 samples"},
      {"chanlocs_count", "'chanlocs' has 1 entries for 2 channels"},
      {"latency_text", "event(1).latency ('x') is not a number"},
      {"nbchan_text", "field 'nbchan' must be one finite number"},
      {"alleeg", "ALLEEG"},
      {"no_eeg_fields", "no field 'srate'"},
      {"not_mat", "not a MATLAB file"},
      // Found by fuzz_eeglab (fuzz/README.md): headers declaring gigabytes in a 2 kB file.
      {"declares_gigabytes", "(a damaged file)"},
      {"declares_terabytes", "(a damaged file)"},
      {"struct_without_fields", "no field 'srate'"},
  };
  for (const auto& [name, expected] : cases) {
    const auto path = kDir + "broken/" + name + ".set";
    try {
      io::open_recording(path);
      ADD_FAILURE() << name << ": expected InputError containing '" << expected << "'";
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(expected), std::string::npos) << name << ": " << what;
      EXPECT_NE(what.find(name + ".set"), std::string::npos) << name << ": the message names the file: " << what;
    }
  }
  EXPECT_TRUE(io::is_recording_file("a/b/rec.set"));
  EXPECT_FALSE(io::is_recording_file("a/b/rec.fdt"));
}

}  // namespace
