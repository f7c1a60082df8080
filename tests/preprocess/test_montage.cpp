// Montages on plain buffers: TCP bipolar (22 / 20 derivations), custom bipolar derivations and
// unipolar channels with references, electrode matching with 10-20 aliases, exact anode − cathode
// values, the missing-electrode error and `missing: drop`; and one BioSemi-style BDF through
// process_recording_continuous with its cap's positions, channel aliases and a mastoid reference.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/io/channels.h"
#include "lumamba/io/electrode_positions.h"
#include "lumamba/io/recording.h"
#include "lumamba/preprocess/dataset_builder.h"
#include "lumamba/preprocess/montage.h"
#include "lumamba/preprocess/preset.h"
#include "support/edf_writer.h"
#include "support/scratch.h"

namespace lumamba::preprocess {
namespace {

// The 19 electrodes of the TCP montage, some spelled the new 10-20 way or in EDF style.
const std::vector<std::string> kInputNames = {"Fp1.", "fp2", "F3", "F4", "C3", "C4", "P3", "P4",
                                              "O1",   "O2",  "F7", "F8", "T7", "T8", "P7", "P8",
                                              "Cz",   "A1",  "A2"};

std::vector<std::vector<double>> make_inputs(std::size_t n_channels, std::size_t n_times) {
  std::vector<std::vector<double>> x(n_channels, std::vector<double>(n_times));
  for (std::size_t c = 0; c < n_channels; ++c) {
    for (std::size_t i = 0; i < n_times; ++i) {
      // Values whose differences round (not exact small integers), to check bit-exact anode − cathode.
      x[c][i] = std::sin(0.37 * static_cast<double>(i) + static_cast<double>(c)) * (10.0 + static_cast<double>(c)) / 3.0;
    }
  }
  return x;
}

std::size_t input_index(const std::string& electrode) {
  static const std::vector<std::string> canonical = {"FP1", "FP2", "F3", "F4", "C3", "C4", "P3",
                                                     "P4",  "O1",  "O2", "F7", "F8", "T3", "T4",
                                                     "T5",  "T6",  "CZ", "A1", "A2"};
  for (std::size_t i = 0; i < canonical.size(); ++i) {
    if (canonical[i] == electrode) return i;
  }
  ADD_FAILURE() << "no test input for " << electrode;
  return 0;
}

TEST(Montage, TcpVariants) {
  const Montage ar = tcp_montage(TcpMontage::kAr);
  ASSERT_EQ(ar.channels.size(), 22u);
  EXPECT_EQ(ar.channels.front().name, "FP1-F7");
  EXPECT_EQ(ar.channels.back().name, "T4-A2");
  EXPECT_EQ(tcp_montage(TcpMontage::kLe).channels.size(), 22u);
  const Montage a = tcp_montage(TcpMontage::kArA);
  ASSERT_EQ(a.channels.size(), 20u);
  for (const auto& c : a.channels) {
    EXPECT_NE(c.name, "A1-T3");
    EXPECT_NE(c.name, "T4-A2");
  }
  EXPECT_EQ(a.required_electrodes().size(), 17u);
  EXPECT_EQ(ar.required_electrodes().size(), 19u);
  EXPECT_EQ(parse_tcp_montage("03_tcp_ar_a"), TcpMontage::kArA);
  EXPECT_EQ(parse_tcp_montage("LE"), TcpMontage::kLe);
  EXPECT_EQ(parse_tcp_montage("01_tcp_ar"), TcpMontage::kAr);
  EXPECT_THROW(parse_tcp_montage("bipolar"), InputError);
}

TEST(Montage, BipolarIsAnodeMinusCathodeExactly) {
  const std::size_t n = 257;
  const auto inputs = make_inputs(kInputNames.size(), n);
  const Montage m = tcp_montage(TcpMontage::kAr);
  for (const int threads : {1, 4}) {
    const MontageSignals out = apply_montage(m, kInputNames, inputs, "sub.edf", threads);
    ASSERT_EQ(out.names, m.channel_names());
    ASSERT_EQ(out.data_uv.size(), 22u);
    for (std::size_t c = 0; c < m.channels.size(); ++c) {
      const auto& a = inputs[input_index(m.channels[c].anode)];
      const auto& b = inputs[input_index(m.channels[c].cathode)];
      ASSERT_EQ(out.data_uv[c].size(), n);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(out.data_uv[c][i], a[i] - b[i]) << out.names[c] << " sample " << i;
      }
      const io::Position3 p = io::channel_position(out.names[c]);
      EXPECT_EQ(out.positions[c].x_m, p.x_m);
      EXPECT_EQ(out.positions[c].y_m, p.y_m);
      EXPECT_EQ(out.positions[c].z_m, p.z_m);
    }
  }
}

TEST(Montage, MissingElectrodesAreNamedWithTheFile) {
  // An "_ar_a" recording has no A1/A2 and here no Cz either.
  std::vector<std::string> names;
  std::vector<std::vector<double>> data;
  const auto inputs = make_inputs(kInputNames.size(), 16);
  for (std::size_t i = 0; i < kInputNames.size(); ++i) {
    if (kInputNames[i] == "A1" || kInputNames[i] == "A2" || kInputNames[i] == "Cz") continue;
    names.push_back(kInputNames[i]);
    data.push_back(inputs[i]);
  }
  try {
    apply_montage(tcp_montage(TcpMontage::kAr), names, data, "aaaaaaac_s001_t000.edf");
    FAIL() << "no exception";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("aaaaaaac_s001_t000.edf"), std::string::npos) << msg;
    EXPECT_NE(msg.find("CZ"), std::string::npos) << msg;
    EXPECT_NE(msg.find("A1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("A2"), std::string::npos) << msg;
  }
  // Without the ear electrodes only Cz is missing from the 20-channel montage.
  try {
    apply_montage(tcp_montage(TcpMontage::kArA), names, data);
    FAIL() << "no exception";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("CZ"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("A1"), std::string::npos) << msg;
  }
}

TEST(Montage, UnipolarCopiesInOrder) {
  const auto inputs = make_inputs(kInputNames.size(), 32);
  const Montage m = unipolar_montage({"O1", "cz", "T3", "Fp1"});
  EXPECT_EQ(m.channel_names(), (std::vector<std::string>{"O1", "CZ", "T3", "FP1"}));
  const MontageSignals out = apply_montage(m, kInputNames, inputs);
  EXPECT_EQ(out.data_uv[0], inputs[input_index("O1")]);
  EXPECT_EQ(out.data_uv[1], inputs[input_index("CZ")]);
  EXPECT_EQ(out.data_uv[2], inputs[input_index("T3")]);  // matched through the alias T7
  EXPECT_EQ(out.data_uv[3], inputs[input_index("FP1")]);
  EXPECT_THROW(unipolar_montage({"O1", "XYZ"}), InputError);
  EXPECT_THROW(unipolar_montage({"O1", "o1"}), InputError);
}

TEST(Montage, RejectsAmbiguousAndMismatchedInputs) {
  const auto inputs = make_inputs(3, 8);
  const Montage m = unipolar_montage({"C3"});
  EXPECT_THROW(apply_montage(m, {"C3", "c3.", "C4"}, inputs), InputError);  // C3 twice
  EXPECT_THROW(apply_montage(m, {"C3", "C4"}, inputs), InputError);         // 2 names, 3 buffers
  auto ragged = inputs;
  ragged[1].pop_back();
  const std::vector<std::string> names = {"C3", "CZ", "C4"};
  EXPECT_THROW(apply_montage(unipolar_montage({"C3", "CZ"}), names, ragged), InputError);  // lengths
}

TEST(Montage, ReferencesSubtractTheMeanOfTheirElectrodes) {
  const auto x = make_inputs(kInputNames.size(), 50);
  Montage average = unipolar_montage({"C3", "CZ", "C4"});
  average.average_reference = true;
  const auto avg = apply_montage(average, kInputNames, x);
  Montage ears = unipolar_montage({"C3", "CZ", "C4"});
  ears.reference_electrodes = {"A1", "A2"};
  EXPECT_EQ(ears.required_electrodes(), (std::vector<std::string>{"C3", "CZ", "C4", "A1", "A2"}));
  const auto linked = apply_montage(ears, kInputNames, x);
  const auto& c3 = x[input_index("C3")];
  const auto& cz = x[input_index("CZ")];
  const auto& c4 = x[input_index("C4")];
  const auto& a1 = x[input_index("A1")];
  const auto& a2 = x[input_index("A2")];
  for (std::size_t i = 0; i < 50; ++i) {
    const double mean = (c3[i] + cz[i] + c4[i]) / 3;
    EXPECT_NEAR(avg.data_uv[0][i], c3[i] - mean, 1e-12);
    EXPECT_NEAR(avg.data_uv[1][i], cz[i] - mean, 1e-12);
    EXPECT_NEAR(avg.data_uv[0][i] + avg.data_uv[1][i] + avg.data_uv[2][i], 0, 1e-12);  // average reference sums to 0
    EXPECT_NEAR(linked.data_uv[2][i], c4[i] - (a1[i] + a2[i]) / 2, 1e-12);
  }
  ears.average_reference = true;
  EXPECT_THROW(apply_montage(ears, kInputNames, x), InputError);
}

TEST(Montage, CustomBipolarDerivationsFromListAndFile) {
  const auto d = parse_derivation(" fp1-F7 ");
  EXPECT_EQ(d.name, "FP1-F7");
  EXPECT_EQ(d.anode, "FP1");
  EXPECT_EQ(d.cathode, "F7");
  for (const char* bad : {"FP1", "FP1-", "-F7", "FP1-F7-T3"}) EXPECT_THROW(parse_derivation(bad), InputError) << bad;
  const auto path = test::scratch_path("pairs.csv");
  std::ofstream(path) << "# longitudinal pairs of an EGI cap\nanode,cathode,name\nE1,E2,front\n\nE3,E4\n";
  const auto pairs = read_derivations(path);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[1].name, "E3-E4");
  std::ofstream(path) << "E1,E2\nE3\n";
  try {
    read_derivations(path);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  // Positions are midpoints in the given table; values are anode − cathode.
  const auto& gsn = io::builtin_electrode_positions("GSN-HydroCel-129");
  const Montage m = bipolar_montage(pairs, gsn);
  const auto e3 = *gsn.find("E3"), e4 = *gsn.find("E4");
  EXPECT_DOUBLE_EQ(m.channels[1].position.y_m, (e3.y_m + e4.y_m) / 2);
  const std::vector<std::string> names = {"E4", "E3", "E2", "E1"};
  const auto x = make_inputs(4, 10);
  const auto out = apply_montage(m, names, x);
  EXPECT_EQ(out.data_uv[0][7], x[3][7] - x[2][7]);
  EXPECT_EQ(out.data_uv[1][7], x[1][7] - x[0][7]);
  EXPECT_THROW(bipolar_montage({parse_derivation("E1-E2"), parse_derivation("e1-e2")}, gsn), InputError);
  EXPECT_THROW(bipolar_montage({parse_derivation("E1-E1")}, gsn), InputError);
  EXPECT_THROW(bipolar_montage({parse_derivation("E1-Cz9")}, gsn), InputError);
}

TEST(Montage, MissingDropLeavesOutOnlyTheChannelsThatNeedTheElectrode) {
  std::vector<std::string> without_a1;
  for (const auto& n : kInputNames) {
    if (n != "A1") without_a1.push_back(n);
  }
  Montage tcp = tcp_montage(TcpMontage::kAr);
  EXPECT_THROW(apply_montage(tcp, without_a1, make_inputs(without_a1.size(), 8)), InputError);  // missing: error
  const auto dropped = drop_unavailable_channels(tcp, without_a1);
  EXPECT_EQ(dropped, (std::vector<std::string>{"A1-T3"}));
  EXPECT_EQ(tcp.channels.size(), 21u);
  EXPECT_EQ(apply_montage(tcp, without_a1, make_inputs(without_a1.size(), 8)).names.size(), 21u);
}

// A BioSemi-style BDF: scalp electrodes named A1..A3, B1 (BioSemi's 128-channel cap), two external
// electrodes EXG1/EXG2 on the mastoids, and the trigger channel "Status" (no voltage unit).
TEST(Montage, BiosemiRecordingWithCapPositionsAliasesAndMastoidReference) {
  const auto path = test::scratch_path("biosemi.bdf");
  test::FileSpec spec;
  spec.bdf = true;
  spec.n_records = 2;
  for (const char* label : {"A1", "A2", "A3", "B1", "EXG1", "EXG2"}) {
    spec.signals.push_back({label, "uV", -262144, 262143, -8388608, 8388607, 256});
  }
  spec.signals.push_back({"Status", "Boolean", -8388608, 8388607, -8388608, 8388607, 256});
  spec.digital = [](int s, int64_t i) { return static_cast<int>((s + 1) * 1000 + (i * (s + 3)) % 97); };
  test::write_with_edflib(path, spec);

  PreprocessPreset preset = builtin_preset("generic");
  apply_preset_overrides(preset, {"montage=all_eeg", "positions=biosemi128", "channel_aliases={EXG1: M1, EXG2: M2}",
                                  "reference=linked_mastoids", "l_freq_hz=0", "h_freq_hz=0", "notch_hz=0",
                                  "resample_hz=256", "labels=none"});
  const auto rec = process_recording_continuous(RecordingJob{path, "s1"}, preset);
  // The mastoids are the reference, not channels; Status has no position and no voltage unit.
  ASSERT_EQ(rec.channel_names, (std::vector<std::string>{"A1", "A2", "A3", "B1"}));
  const auto& cap = io::builtin_electrode_positions("biosemi128");
  EXPECT_EQ(rec.channel_locations_m[0][2], cap.find("A1")->z_m);  // BioSemi's A1: the vertex
  EXPECT_EQ(rec.channel_locations_m[3][0], cap.find("B1")->x_m);
  // No filter, native rate: samples are A3 − (EXG1 + EXG2) / 2 in µV (EDF scaling of the digital values).
  auto uv = [&](int s, int64_t i) {
    return (spec.digital(s, i) + 8388608.0) * (262143.0 + 262144.0) / (8388607.0 + 8388608.0) - 262144.0;
  };
  for (int64_t i : {0, 100, 511}) {
    const double want = uv(2, i) - (uv(4, i) + uv(5, i)) / 2;
    EXPECT_NEAR(rec.signal_uv[static_cast<std::size_t>(2 * rec.n_samples + i)], want, 1e-3) << i;
  }
  // missing: error names the electrode; missing: drop keeps what can be formed.
  PreprocessPreset unipolar = builtin_preset("generic");
  apply_preset_overrides(unipolar, {"channels=[A1, A2, C7]", "positions=biosemi128", "l_freq_hz=0", "h_freq_hz=0",
                                    "notch_hz=0", "labels=none"});
  try {
    process_recording_continuous(RecordingJob{path, "s1"}, unipolar);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("C7"), std::string::npos) << e.what();
  }
  apply_preset_overrides(unipolar, {"missing=drop"});
  EXPECT_EQ(process_recording_continuous(RecordingJob{path, "s1"}, unipolar).channel_names,
            (std::vector<std::string>{"A1", "A2"}));
  // The reference electrode cannot also be a channel; a reference with a bipolar montage is refused.
  apply_preset_overrides(unipolar, {"reference=A1"});
  EXPECT_THROW(process_recording_continuous(RecordingJob{path, "s1"}, unipolar), InputError);
  EXPECT_THROW(apply_preset_overrides(unipolar, {"montage=tcp"}), InputError);
}

// A BrainVision recording with its own [Coordinates]: they win over the preset's table, unless
// recording_positions=ignore (tests/fixtures/brainvision/float32_ansi.vhdr: Fz and Pz placed, the
// temperature channel not).
TEST(Montage, RecordingsOwnPositionsWinOverThePresetsTable) {
  const std::string vhdr = std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/brainvision/float32_ansi.vhdr";
  PreprocessPreset preset = builtin_preset("generic");
  apply_preset_overrides(preset, {"channels=[Fz, Pz]", "l_freq_hz=0", "h_freq_hz=0", "notch_hz=0", "resample_hz=250",
                                  "labels=none"});
  const auto own = process_recording_continuous(RecordingJob{vhdr, "s"}, preset);
  const auto reader = io::open_recording(vhdr);
  ASSERT_TRUE(reader->header().signals[0].position.has_value());
  EXPECT_EQ(own.channel_locations_m[0][1], reader->header().signals[0].position->y_m);
  EXPECT_EQ(own.channel_locations_m[1][2], reader->header().signals[1].position->z_m);
  apply_preset_overrides(preset, {"recording_positions=ignore"});
  const auto table = process_recording_continuous(RecordingJob{vhdr, "s"}, preset);
  EXPECT_EQ(table.channel_locations_m[0][1], io::find_electrode("Fz")->y_m);
  EXPECT_NE(table.channel_locations_m[0][1], own.channel_locations_m[0][1]);
}

}  // namespace
}  // namespace lumamba::preprocess
