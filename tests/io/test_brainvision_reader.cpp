// Tests for lumamba/io/brainvision_reader.h and open_recording: the BrainVision files of
// tests/fixtures/brainvision/ (INT_16 multiplexed, INT_32 vectorized in nV, IEEE_FLOAT_32 with an
// ANSI header and an escaped comma) against what MNE 1.3's read_raw_brainvision returns for them
// (mne_reference.json, both written by tools/mne_reference/brainvision_reference.py), and the
// errors a broken file gives.
#include "lumamba/io/brainvision_reader.h"

#include <gtest/gtest.h>

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

const std::string kDir = std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/brainvision/";

const nlohmann::json& mne_reference() {
  static const nlohmann::json j = [] {
    std::ifstream in(kDir + "mne_reference.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

TEST(BrainVisionReader, EqualsMneOnEachBinaryFormatAndOrientation) {
  ASSERT_EQ(mne_reference()["mne_version"], "1.3.0");
  ASSERT_EQ(mne_reference()["files"].size(), 3u);
  for (const auto& [file, ref] : mne_reference()["files"].items()) {
    SCOPED_TRACE(file);
    auto reader = io::open_recording(kDir + file);
    const auto& h = reader->header();
    EXPECT_EQ(h.format, io::RecordingFormat::kBrainVision);
    const auto names = ref["ch_names"].get<std::vector<std::string>>();
    ASSERT_EQ(h.signals.size(), names.size());
    for (std::size_t c = 0; c < names.size(); ++c) {
      const auto& s = h.signals[c];
      EXPECT_EQ(s.label, names[c]);
      EXPECT_EQ(s.physical_dimension, ref["units"][c].get<std::string>());
      EXPECT_EQ(s.sfreq_hz, ref["sfreq"].get<double>());
      ASSERT_EQ(s.n_samples, ref["n_times"].get<int64_t>());
      // MNE: volts for voltage channels (lumamba: µV), the resolution-scaled value otherwise.
      const double to_lumamba = s.unit_is_voltage ? 1e6 : 1.0;
      const auto x = reader->read_signal_uv(static_cast<int64_t>(c));
      double worst = 0;
      const std::size_t stored = ref["head"][c].size();
      for (std::size_t i = 0; i < stored; ++i) {
        const double head = ref["head"][c][i].get<double>() * to_lumamba;
        const double tail = ref["tail"][c][i].get<double>() * to_lumamba;
        worst = std::max(worst, std::abs(x[i] - head) / std::max(1.0, std::abs(head)));
        worst = std::max(worst, std::abs(x[x.size() - stored + i] - tail) / std::max(1.0, std::abs(tail)));
      }
      EXPECT_LT(worst, 1e-12) << s.label;
    }
    for (std::size_t c = 0; c < names.size(); ++c) {  // the recording's own positions ([Coordinates])
      const auto& want = ref["positions"][c];
      ASSERT_EQ(h.signals[c].position.has_value(), !want.is_null()) << names[c];
      if (want.is_null()) continue;
      EXPECT_NEAR(h.signals[c].position->x_m, want[0].get<double>(), 1e-15);
      EXPECT_NEAR(h.signals[c].position->y_m, want[1].get<double>(), 1e-15);
      EXPECT_NEAR(h.signals[c].position->z_m, want[2].get<double>(), 1e-15);
    }
    const auto& ann = ref["annotations"];
    ASSERT_EQ(h.annotations.size(), ann.size());
    for (std::size_t k = 0; k < ann.size(); ++k) {
      EXPECT_NEAR(h.annotations[k].onset_s, ann[k][0].get<double>(), 1e-12);
      EXPECT_NEAR(h.annotations[k].duration_s, ann[k][1].get<double>(), 1e-12);
      EXPECT_EQ(h.annotations[k].text, ann[k][2].get<std::string>());
    }
    EXPECT_EQ(h.start_datetime, "2020-01-02T03:04:05");
  }
  // Channel kinds: voltage units are EEG candidates; °C (unit C) is not a voltage.
  auto ansi = io::open_recording(kDir + "float32_ansi.vhdr");
  EXPECT_TRUE(ansi->header().signals[0].unit_is_voltage);
  EXPECT_FALSE(ansi->header().signals[2].unit_is_voltage);
  EXPECT_EQ(ansi->header().signals[2].label, "Temp,skin");
}

TEST(BrainVisionReader, RecordingFilesAreRecognisedByExtension) {
  EXPECT_TRUE(io::is_recording_file("a/b/rec.vhdr"));
  EXPECT_TRUE(io::is_recording_file("REC.EDF"));
  EXPECT_TRUE(io::is_recording_file("x.bdf"));
  EXPECT_FALSE(io::is_recording_file("x.vmrk"));
  EXPECT_FALSE(io::is_recording_file("x.eeg"));
  EXPECT_THROW(io::open_recording(kDir + "int16_multiplexed.vmrk"), InputError);
}

// Copies a fixture recording into a scratch folder, edits its header, and expects InputError text.
void expect_broken(const std::string& name, const std::string& from, const std::string& to, const std::string& expected,
                   std::size_t truncate_data_to = 0) {
  const auto dir = lumamba::test::fresh_scratch_dir("bv_" + name);
  for (const char* ext : {".vhdr", ".vmrk", ".eeg"}) {
    fs::copy_file(kDir + "int16_multiplexed" + ext, dir / (std::string("int16_multiplexed") + ext));
  }
  const auto vhdr = (dir / "int16_multiplexed.vhdr").string();
  std::string text;
  {
    std::ifstream in(vhdr, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (!from.empty()) {
    const auto pos = text.find(from);
    ASSERT_NE(pos, std::string::npos) << from;
    text.replace(pos, from.size(), to);
  }
  std::ofstream(vhdr, std::ios::binary) << text;
  if (truncate_data_to > 0) fs::resize_file(dir / "int16_multiplexed.eeg", truncate_data_to);
  try {
    io::open_recording(vhdr);
    FAIL() << name << ": expected InputError containing '" << expected << "'";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << name << ": " << e.what();
  }
}

TEST(BrainVisionReader, BrokenFilesFailNamingTheProblem) {
  expect_broken("version", "Brain Vision Data Exchange Header File Version 1.0", "Some Other Header", "not a BrainVision header");
  expect_broken("ascii", "DataFormat=BINARY", "DataFormat=ASCII", "DataFormat=ASCII is not read");
  expect_broken("format", "BinaryFormat=INT_16", "BinaryFormat=UINT_16", "BinaryFormat=UINT_16");
  expect_broken("orientation", "DataOrientation=MULTIPLEXED", "DataOrientation=DIAGONAL", "DataOrientation=DIAGONAL");
  expect_broken("interval", "SamplingInterval=4000", "SamplingInterval=0", "SamplingInterval=0");
  expect_broken("channels", "NumberOfChannels=4", "NumberOfChannels=5", "has no Ch5");
  expect_broken("datafile", "DataFile=int16_multiplexed.eeg", "DataFile=missing.eeg", "missing.eeg");
  expect_broken("marker", "MarkerFile=int16_multiplexed.vmrk", "MarkerFile=missing.vmrk", "missing.vmrk");
  expect_broken("resolution", "Ch1=Fp1,,0.1,", "Ch1=Fp1,,zero,", "resolution 'zero'");
  expect_broken("empty", "", "", "holds no samples", 7);  // less than one 4-channel frame
  expect_broken("vectorized", "DataOrientation=MULTIPLEXED", "DataOrientation=VECTORIZED", "not a whole number", 8002);
}

}  // namespace
