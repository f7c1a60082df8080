// Montages on plain buffers: TCP bipolar (22 / 20 derivations) and unipolar, electrode matching
// with 10-20 aliases, exact anode − cathode values, and the missing-electrode error.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/io/channels.h"
#include "lumamba/preprocess/montage.h"

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

}  // namespace
}  // namespace lumamba::preprocess
