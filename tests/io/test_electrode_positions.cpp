// Tests for lumamba/io/electrode_positions.h: built-in and file positions against MNE 1.3's own
// numbers (tests/fixtures/montages/mne_head_positions.json, written by
// tools/mne_reference/montage_reference.py from transform_to_head(make_standard_montage(...)) and
// transform_to_head(read_custom_montage(...))), the head-frame transform against geometry, BIDS
// electrodes.tsv + coordsystem.json, and the errors a user meets.
#include "lumamba/io/electrode_positions.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/io/channels.h"
#include "support/scratch.h"

namespace {

namespace io = lumamba::io;
using lumamba::InputError;

// MNE reads .sfp/.csd files and fsaverage's fiducials as float32 and computes the head transform in
// float32 when its inputs are; lumamba computes in float64. The difference stays below 5e-8 m
// (50 nm; electrodes are ~0.1 m from the origin), far below any physical meaning.
constexpr double kMneTolM = 5e-8;

const std::string kFixtures = std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/montages/";

const nlohmann::json& mne_reference() {
  static const nlohmann::json j = [] {
    std::ifstream in(kFixtures + "mne_head_positions.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

void expect_equals_mne(const io::ElectrodePositions& mine, const nlohmann::json& mne, const std::string& what) {
  const auto names = mne["names"].get<std::vector<std::string>>();
  ASSERT_EQ(mine.names(), names) << what;
  double worst = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& ref = mne["head_m"][i];
    const auto& p = mine.positions()[i];
    worst = std::max({worst, std::abs(p.x_m - ref[0].get<double>()), std::abs(p.y_m - ref[1].get<double>()),
                      std::abs(p.z_m - ref[2].get<double>())});
  }
  EXPECT_LT(worst, kMneTolM) << what << ": largest coordinate difference from MNE " << worst << " m";
}

TEST(ElectrodePositions, EveryBuiltinEqualsMnesHeadFramePositions) {
  const auto& builtin = mne_reference()["builtin"];
  ASSERT_EQ(mne_reference()["mne_version"], "1.3.0");
  std::vector<std::string> mne_names;
  for (const auto& [name, _] : builtin.items()) mne_names.push_back(name);
  // Every montage MNE ships is built in (json keys come sorted; compare as sets).
  auto ours = io::builtin_electrode_position_names();
  std::sort(ours.begin(), ours.end());
  std::sort(mne_names.begin(), mne_names.end());
  EXPECT_EQ(ours, mne_names);
  for (const auto& name : io::builtin_electrode_position_names()) {
    expect_equals_mne(io::builtin_electrode_positions(name), builtin[name], name);
  }
}

TEST(ElectrodePositions, EveryFileFormatEqualsMnesReadCustomMontage) {
  for (const auto& [file, reference] : mne_reference()["files"].items()) {
    expect_equals_mne(io::read_electrode_positions(kFixtures + file), reference, file);
  }
}

TEST(ElectrodePositions, HeadFrameIsDefinedByTheFiducials) {
  // In the head frame itself the transform is the identity.
  const io::Fiducials head{{0, 0.1, 0}, {-0.08, 0, 0}, {0.08, 0, 0}};
  const io::Position3 cz{0.001, -0.01, 0.09};
  auto same = io::to_head_frame(cz, head);
  EXPECT_NEAR(same.x_m, cz.x_m, 1e-15);
  EXPECT_NEAR(same.y_m, cz.y_m, 1e-15);
  EXPECT_NEAR(same.z_m, cz.z_m, 1e-15);
  // ALS digitiser frame (x anterior, y left), shifted by (1, 2, 3) m: p_als = (y, -x, z) + t.
  auto to_als = [](const io::Position3& p) { return io::Position3{p.y_m + 1, -p.x_m + 2, p.z_m + 3}; };
  const io::Fiducials als{to_als(head.nasion), to_als(head.lpa), to_als(head.rpa)};
  const auto back = io::to_head_frame(to_als(cz), als);
  EXPECT_NEAR(back.x_m, cz.x_m, 1e-12);
  EXPECT_NEAR(back.y_m, cz.y_m, 1e-12);
  EXPECT_NEAR(back.z_m, cz.z_m, 1e-12);
  // The origin is the nasion's foot on the LPA-RPA line, not their midpoint.
  const io::Fiducials skewed{{0.02, 0.1, 0}, {-0.08, 0, 0}, {0.08, 0, 0}};
  const auto nasion = io::to_head_frame(skewed.nasion, skewed);
  EXPECT_NEAR(nasion.x_m, 0, 1e-15);
  EXPECT_NEAR(nasion.y_m, 0.1, 1e-15);
  EXPECT_THROW(io::to_head_frame(cz, io::Fiducials{{0, 0.1, 0}, {0.08, 0, 0}, {0.08, 0, 0}}), InputError);
  EXPECT_THROW(io::to_head_frame(cz, io::Fiducials{{0.2, 0, 0}, {-0.08, 0, 0}, {0.08, 0, 0}}), InputError);
}

TEST(ElectrodePositions, LookupIsCaseInsensitiveWithTenTwentyAliases) {
  const auto& biosemi64 = io::builtin_electrode_positions("biosemi64");
  ASSERT_TRUE(biosemi64.find("fp1").has_value());
  EXPECT_EQ(biosemi64.find("FP1")->x_m, biosemi64.find("Fp1")->x_m);
  EXPECT_EQ(biosemi64.find("T3")->y_m, biosemi64.find("T7")->y_m);  // biosemi64 spells T7
  EXPECT_FALSE(biosemi64.find("E23").has_value());
  // BioSemi's 128-channel cap names A1..D32: its A1 is on the vertex, not the left ear lobe.
  const auto& biosemi128 = io::builtin_electrode_positions("biosemi128");
  EXPECT_GT(biosemi128.find("A1")->z_m, 0.08);
  EXPECT_LT(io::reference_electrode_positions().find("A1")->z_m, 0);
  // The reference's own table is the default of every look-up.
  EXPECT_EQ(io::find_electrode("Cz")->z_m, io::reference_electrode_positions().find("CZ")->z_m);
  EXPECT_THROW(io::builtin_electrode_positions("biosemi65"), InputError);
}

TEST(ElectrodePositions, ChannelPositionsUseTheGivenTableForMidpoints) {
  const auto& gsn = io::builtin_electrode_positions("GSN-HydroCel-129");
  const auto pair = io::channel_position("E1-E2", gsn);
  const auto e1 = *gsn.find("E1"), e2 = *gsn.find("E2");
  EXPECT_DOUBLE_EQ(pair.x_m, (e1.x_m + e2.x_m) / 2);
  EXPECT_DOUBLE_EQ(pair.z_m, (e1.z_m + e2.z_m) / 2);
  try {
    io::channel_positions({"E1", "E999", "Fp1"}, gsn);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("E999"), std::string::npos) << m;
    EXPECT_NE(m.find("Fp1"), std::string::npos) << m;
    EXPECT_NE(m.find("GSN-HydroCel-129"), std::string::npos) << m;
  }
}

TEST(ElectrodePositions, BidsElectrodesInMillimetresWithLandmarksReachTheHeadFrame) {
  const auto dir = lumamba::test::fresh_scratch_dir("bids_eeg");
  // A digitiser frame: ALS axes (x anterior, y left), millimetres, shifted by (10, 20, 30) mm.
  auto als_mm = [](double x, double y, double z) {  // head-frame metres -> ALS millimetres
    return std::vector<double>{1000 * y + 10, -1000 * x + 20, 1000 * z + 30};
  };
  const auto nas = als_mm(0, 0.1, 0), lpa = als_mm(-0.08, 0, 0), rpa = als_mm(0.08, 0, 0);
  const auto cz = als_mm(0.001, -0.01, 0.09), c3 = als_mm(-0.06, -0.01, 0.05);
  std::ofstream(dir / "sub-01_space-CapTrak_electrodes.tsv")
      << "name\tx\ty\tz\ttype\n"
      << "Cz\t" << cz[0] << "\t" << cz[1] << "\t" << cz[2] << "\tcup\n"
      << "C3\t" << c3[0] << "\t" << c3[1] << "\t" << c3[2] << "\tcup\n"
      << "GND\tn/a\tn/a\tn/a\tcup\n";
  nlohmann::json cs = {{"EEGCoordinateSystem", "CapTrak"},
                       {"EEGCoordinateUnits", "mm"},
                       {"AnatomicalLandmarkCoordinates", {{"NAS", nas}, {"LPA", lpa}, {"RPA", rpa}}}};
  std::ofstream(dir / "sub-01_space-CapTrak_coordsystem.json") << cs.dump();
  const auto positions = io::read_electrode_positions((dir / "sub-01_space-CapTrak_electrodes.tsv").string());
  ASSERT_EQ(positions.names(), (std::vector<std::string>{"Cz", "C3"}));  // GND has no position
  EXPECT_NEAR(positions.find("Cz")->x_m, 0.001, 1e-12);
  EXPECT_NEAR(positions.find("Cz")->y_m, -0.01, 1e-12);
  EXPECT_NEAR(positions.find("C3")->x_m, -0.06, 1e-12);
  EXPECT_NEAR(positions.find("C3")->z_m, 0.05, 1e-12);

  // Without landmarks an ALS system is turned to RAS and the units still apply.
  cs.erase("AnatomicalLandmarkCoordinates");
  cs["EEGCoordinateSystem"] = "EEGLAB";
  std::ofstream(dir / "sub-01_space-CapTrak_coordsystem.json") << cs.dump();
  const auto als = io::read_electrode_positions((dir / "sub-01_space-CapTrak_electrodes.tsv").string());
  EXPECT_NEAR(als.find("Cz")->x_m, 0.001 - 0.020, 1e-12);  // x = -left = -(y_als) in metres
  EXPECT_NEAR(als.find("Cz")->y_m, -0.01 + 0.010, 1e-12);
  EXPECT_NEAR(als.find("Cz")->z_m, 0.09 + 0.030, 1e-12);
}

void expect_input_error(const std::string& name, const std::string& content, const std::string& expected) {
  const auto path = lumamba::test::scratch_path(name);
  std::ofstream(path) << content;
  try {
    io::read_electrode_positions(path);
    FAIL() << name << ": expected InputError containing '" << expected << "'";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(expected), std::string::npos) << name << ": " << m;
    EXPECT_NE(m.find(name), std::string::npos) << name << ": the message names the file: " << m;
  }
}

TEST(ElectrodePositions, BadFilesFailNamingFileAndProblem) {
  expect_input_error("a.csv", "name,x,y,z\nFp1,-29.4,83.9,-7.0\nFp2,29.9,84.9,-7.1\n", "metres");
  expect_input_error("b.csv", "name,x,y,z\nFp1,-0.03,0.08,-0.007\nfp1,0.03,0.08,-0.007\n", "listed twice");
  expect_input_error("c.csv", "label,a,b,c\nFp1,0,0,0\n", "header must start with name");
  expect_input_error("d.csv", "name,x,y,z\nFp1,0.1,zero,0\n", "line 2: 'zero' is not a number");
  expect_input_error("e.elc", "Positions\n1 2 3\nLabels\nFp1\n", "UnitPosition");
  expect_input_error("f.elc", "UnitPosition mm\nPositions\n1 2 3\n4 5 6\nLabels\nFp1\n", "2 positions but 1 labels");
  expect_input_error("g.sfp", "E1 1 2\n", "line 1: expected 'name x y z'");
  expect_input_error("h.bvef", "<BrainVisionElectrodes><Electrode><Name>Fp1</Name><Theta>1</Theta></Electrode>"
                               "</BrainVisionElectrodes>", "has no <Phi>");
  expect_input_error("i.bvef", "<BrainVisionElectrodes><Electrode>", "not valid XML");
  expect_input_error("j.loc", "1 2 3\n", "unknown extension '.loc'");
  EXPECT_THROW(io::electrode_positions("no_such_cap"), InputError);
}

}  // namespace

