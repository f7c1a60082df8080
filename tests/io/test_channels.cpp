// Tests for lumamba/io/channels.h: electrode positions, bipolar midpoints, aliases, the
// docs/reference-model.md §8 vocabulary and the TCP montage.
//
// References: tests/fixtures/electrodes/tcp22_luna_positions.tsv (copied from shared/data/electrodes/;
// computed independently with MNE 1.3.0 the way BioFoundation channel_embeddings.py
// get_channel_locations does it), the vocabulary as listed in docs/reference-model.md §8, and the channel_names_idx
// of tests/fixtures/golden/case_c22.safetensors (the 22 TCP names, written out below).
#include "lumamba/io/channels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lumamba/core/error.h"

namespace {

using lumamba::InputError;
namespace io = lumamba::io;

// The reference file prints metres with 9 decimals. Electrode rows are the same MNE numbers as
// data/electrodes (same rounding, so equal); a midpoint here averages two rounded values (error
// ≤ 0.5e-9) while the reference rounds the exact midpoint (≤ 0.5e-9): together ≤ 1e-9.
constexpr double kPositionTolM = 1e-9;

// docs/reference-model.md §8: V = 90, in this order.
const std::vector<std::string> kSpecVocabulary = {
    "A1-T3",  "AF3",   "AF4", "C1",    "C2",    "C3",    "C3-CZ",  "C3-P3",  "C4",    "C4-P4",
    "C4-T4",  "C5",    "C6",  "CB1",   "CB2",   "CP1",   "CP2",    "CP3",    "CP4",   "CP5",
    "CP6",    "CPZ",   "CZ",  "CZ-C4", "F1",    "F10",   "F2",     "F3",     "F3-C3", "F4",
    "F4-C4",  "F5",    "F6",  "F7",    "F7-T3", "F8",    "F8-T4",  "F9",     "FC1",   "FC2",
    "FC3",    "FC4",   "FC5", "FC6",   "FCZ",   "FP1",   "FP1-F3", "FP1-F7", "FP2",   "FP2-F4",
    "FP2-F8", "FPZ",   "FT7", "FT8",   "FZ",    "O1",    "O2",     "OZ",     "P1",    "P2",
    "P3",     "P3-O1", "P4",  "P4-O2", "P5",    "P6",    "P7",     "P8",     "PO3",   "PO4",
    "PO5",    "PO6",   "PO7", "PO8",   "POZ",   "PZ",    "T3",     "T3-C3",  "T3-T5", "T4",
    "T4-A2",  "T4-T6", "T5",  "T5-O1", "T6",    "T6-O2", "T7",     "T8",     "TP7",   "TP8"};

// TUEG_CHANNEL_LIST order (case_c22 metadata "channels").
const std::vector<std::string> kTcp22Names = {
    "FP1-F7", "F7-T3", "T3-T5", "T5-O1", "FP2-F8", "F8-T4", "T4-T6", "T6-O2",
    "T3-C3",  "C3-CZ", "CZ-C4", "C4-T4", "FP1-F3", "F3-C3", "C3-P3", "P3-O1",
    "FP2-F4", "F4-C4", "C4-P4", "P4-O2", "A1-T3",  "T4-A2"};

// case_c22.safetensors channel_names_idx (both batch rows), i.e. docs/reference-model.md §8 positions of kTcp22Names.
const std::vector<int64_t> kTcp22GoldenIdx = {47, 34, 78, 83, 50, 36, 81, 85, 77, 6, 23,
                                              10, 46, 28, 7,  61, 49, 30, 9,  63, 0, 80};

struct ReferenceRow {
  std::string kind;
  std::array<double, 3> xyz_m{};
};

struct Reference {
  std::map<std::string, ReferenceRow> rows;
  std::vector<std::string> bipolar_order;  // bipolar rows in file order
};

Reference load_reference() {
  const std::string path =
      std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/electrodes/tcp22_luna_positions.tsv";
  std::ifstream in(path);
  Reference ref;
  if (!in) {
    ADD_FAILURE() << "cannot open reference " << path;
    return ref;
  }
  std::string line;
  bool header_seen = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (!header_seen) {
      EXPECT_EQ(line, "name\tkind\tx\ty\tz");
      header_seen = true;
      continue;
    }
    std::istringstream fields(line);
    std::string name;
    ReferenceRow row;
    fields >> name >> row.kind >> row.xyz_m[0] >> row.xyz_m[1] >> row.xyz_m[2];
    EXPECT_FALSE(fields.fail()) << "bad reference line: " << line;
    if (row.kind == "bipolar_midpoint") ref.bipolar_order.push_back(name);
    ref.rows[name] = row;
  }
  return ref;
}

const Reference& reference() {
  static const Reference ref = load_reference();
  return ref;
}

void expect_position_near(const io::Position3& p, const std::array<double, 3>& expected_m,
                          const std::string& what) {
  EXPECT_NEAR(p.x_m, expected_m[0], kPositionTolM) << what << " x";
  EXPECT_NEAR(p.y_m, expected_m[1], kPositionTolM) << what << " y";
  EXPECT_NEAR(p.z_m, expected_m[2], kPositionTolM) << what << " z";
}

void expect_same_position(const io::Position3& a, const io::Position3& b, const std::string& what) {
  EXPECT_EQ(a.x_m, b.x_m) << what;
  EXPECT_EQ(a.y_m, b.y_m) << what;
  EXPECT_EQ(a.z_m, b.z_m) << what;
}

std::string input_error_message(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected lumamba::InputError";
  return {};
}

int64_t spec_index(const std::string& name) {
  const auto it = std::find(kSpecVocabulary.begin(), kSpecVocabulary.end(), name);
  EXPECT_NE(it, kSpecVocabulary.end()) << name;
  return static_cast<int64_t>(it - kSpecVocabulary.begin());
}

TEST(Channels, ReferenceFileIsComplete) {
  // 19 electrodes of the TCP montage + 22 derivations.
  EXPECT_EQ(reference().rows.size(), 41U);
  EXPECT_EQ(reference().bipolar_order, kTcp22Names);
}

TEST(Channels, ElectrodePositionsMatchMneReference) {
  const auto& ref = reference().rows;
  ASSERT_TRUE(ref.count("FP1") && ref.count("CZ") && ref.count("T3"));
  const auto fp1 = io::find_electrode("FP1");
  const auto cz = io::find_electrode("CZ");
  const auto t7 = io::find_electrode("T7");
  ASSERT_TRUE(fp1 && cz && t7);
  expect_position_near(*fp1, ref.at("FP1").xyz_m, "FP1");
  expect_position_near(*cz, ref.at("CZ").xyz_m, "CZ");
  expect_position_near(*t7, ref.at("T3").xyz_m, "T7 (reference row T3)");  // T3 = old name of T7
  // Every electrode row of the reference.
  for (const auto& [name, row] : ref) {
    if (row.kind != "electrode") continue;
    const auto p = io::find_electrode(name);
    ASSERT_TRUE(p.has_value()) << name;
    expect_position_near(*p, row.xyz_m, name);
  }
  // Sanity of the frame: FP1 is anterior-left, CZ is the top, T7 is left.
  EXPECT_LT(fp1->x_m, 0.0);
  EXPECT_GT(fp1->y_m, cz->y_m);
  EXPECT_GT(cz->z_m, fp1->z_m);
  EXPECT_LT(t7->x_m, fp1->x_m);
}

TEST(Channels, OldAndNewTenTwentyNamesAreAliases) {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"T3", "T7"}, {"T4", "T8"}, {"T5", "P7"}, {"T6", "P8"}};
  for (const auto& [old_name, new_name] : pairs) {
    EXPECT_EQ(io::electrode_alias(old_name), new_name);
    EXPECT_EQ(io::electrode_alias(new_name), old_name);
    const auto a = io::find_electrode(old_name);
    const auto b = io::find_electrode(new_name);
    ASSERT_TRUE(a && b) << old_name << "/" << new_name;
    expect_same_position(*a, *b, old_name + " vs " + new_name);
  }
  EXPECT_EQ(io::electrode_alias("t5"), "P7");
  EXPECT_EQ(io::electrode_alias(" p8 "), "T6");
  EXPECT_EQ(io::electrode_alias("CZ"), std::nullopt);
  EXPECT_EQ(io::electrode_alias("FP1"), std::nullopt);
  EXPECT_EQ(io::electrode_alias("T3-T5"), std::nullopt);  // a channel, not an electrode
}

TEST(Channels, LookupIsCaseInsensitiveAndDotTolerant) {
  EXPECT_EQ(io::normalize_channel_label("Fc5."), "FC5");
  EXPECT_EQ(io::normalize_channel_label("C3.."), "C3");
  EXPECT_EQ(io::normalize_channel_label("  fp1 "), "FP1");
  EXPECT_EQ(io::normalize_channel_label("Iz.. "), "IZ");
  EXPECT_EQ(io::normalize_channel_label("t3"), "T3");  // no alias applied
  EXPECT_EQ(io::normalize_channel_label("fp1-f7"), "FP1-F7");
  EXPECT_EQ(io::normalize_channel_label(""), "");
  EXPECT_EQ(io::normalize_channel_label(" . "), "");

  const auto fp1 = io::find_electrode("FP1");
  const auto fp1_lower = io::find_electrode("fp1");
  const auto fp1_mixed = io::find_electrode("Fp1");
  ASSERT_TRUE(fp1 && fp1_lower && fp1_mixed);
  expect_same_position(*fp1, *fp1_lower, "fp1");
  expect_same_position(*fp1, *fp1_mixed, "Fp1");

  const auto fc5 = io::find_electrode("FC5");
  const auto fc5_edf = io::find_electrode(io::normalize_channel_label("Fc5."));
  ASSERT_TRUE(fc5 && fc5_edf);
  expect_same_position(*fc5, *fc5_edf, "Fc5.");
  EXPECT_LT(fc5->x_m, 0.0);  // odd number = left hemisphere

  EXPECT_EQ(io::find_electrode("XYZ"), std::nullopt);
  EXPECT_EQ(io::find_electrode(""), std::nullopt);
  EXPECT_EQ(io::find_electrode("FP1-F7"), std::nullopt);  // a channel, not an electrode
}

TEST(Channels, SeedCerebellarElectrodesUseReferenceStandIns) {
  // channel_embeddings.py: set_montage(..., match_alias={'cb1': 'POO7', 'cb2': 'POO8'}).
  const auto cb1 = io::find_electrode("cb1");
  const auto poo7 = io::find_electrode("POO7");
  const auto cb2 = io::find_electrode("CB2");
  const auto poo8 = io::find_electrode("poo8");
  ASSERT_TRUE(cb1 && poo7 && cb2 && poo8);
  expect_same_position(*cb1, *poo7, "CB1 vs POO7");
  expect_same_position(*cb2, *poo8, "CB2 vs POO8");
  // Position-only: the vocabulary keeps CB1 and has no POO7.
  EXPECT_EQ(io::find_vocabulary_index("CB1"), spec_index("CB1"));
  EXPECT_EQ(io::find_vocabulary_index("POO7"), std::nullopt);
}

TEST(Channels, Tcp22MidpointsMatchMneReference) {
  const auto& ref = reference().rows;
  const auto& montage = io::tcp22_montage();
  ASSERT_EQ(montage.size(), kTcp22Names.size());
  std::vector<std::string> names;
  for (std::size_t i = 0; i < montage.size(); ++i) {
    const auto& d = montage[i];
    EXPECT_EQ(d.name, kTcp22Names[i]);
    EXPECT_EQ(d.name, d.anode + "-" + d.cathode);
    names.push_back(d.name);
    ASSERT_TRUE(ref.count(d.name)) << d.name;
    const auto p = io::channel_position(d.name);
    expect_position_near(p, ref.at(d.name).xyz_m, d.name);
    // Exactly the midpoint of the two electrodes.
    const auto a = io::find_electrode(d.anode);
    const auto c = io::find_electrode(d.cathode);
    ASSERT_TRUE(a && c) << d.name;
    EXPECT_EQ(p.x_m, (a->x_m + c->x_m) / 2) << d.name;
    EXPECT_EQ(p.y_m, (a->y_m + c->y_m) / 2) << d.name;
    EXPECT_EQ(p.z_m, (a->z_m + c->z_m) / 2) << d.name;
  }
  EXPECT_EQ(montage.front().anode, "FP1");
  EXPECT_EQ(montage.front().cathode, "F7");
  EXPECT_EQ(montage.back().anode, "T4");
  EXPECT_EQ(montage.back().cathode, "A2");

  const auto all = io::channel_positions(names);
  ASSERT_EQ(all.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    expect_same_position(all[i], io::channel_position(names[i]), names[i]);
  }
}

TEST(Channels, BipolarLookupUsesAliasesAndCase) {
  expect_same_position(io::channel_position("T7-P7"), io::channel_position("T3-T5"), "T7-P7");
  expect_same_position(io::channel_position("fp1-f7"), io::channel_position("FP1-F7"), "fp1-f7");
  expect_same_position(io::channel_position(" Fp1-F7. "), io::channel_position("FP1-F7"),
                       "Fp1-F7.");
  // A unipolar channel is just the electrode.
  const auto cz = io::find_electrode("CZ");
  ASSERT_TRUE(cz.has_value());
  expect_same_position(io::channel_position("Cz"), *cz, "Cz");
  // Reversing the pair gives the same midpoint (location only; the sign lives in the signal).
  expect_same_position(io::channel_position("F7-FP1"), io::channel_position("FP1-F7"), "F7-FP1");
}

TEST(Channels, VocabularyIsSpecSection8) {
  const auto& vocab = io::channel_vocabulary();
  ASSERT_EQ(vocab.size(), 90U);
  EXPECT_EQ(vocab, kSpecVocabulary);
  // Python sorted() order = code-point order; names unique.
  EXPECT_TRUE(std::is_sorted(vocab.begin(), vocab.end()));
  EXPECT_EQ(std::adjacent_find(vocab.begin(), vocab.end()), vocab.end());
  EXPECT_EQ(std::set<std::string>(vocab.begin(), vocab.end()).size(), vocab.size());
  EXPECT_EQ(vocab.front(), "A1-T3");
  EXPECT_EQ(vocab.back(), "TP8");
  EXPECT_EQ(io::find_vocabulary_index("A1-T3"), 0);
  EXPECT_EQ(io::find_vocabulary_index("TP8"), 89);
  EXPECT_EQ(io::find_vocabulary_index("FP1-F7"), 47);
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    EXPECT_EQ(io::find_vocabulary_index(vocab[i]), static_cast<int64_t>(i)) << vocab[i];
  }
}

TEST(Channels, Tcp22IndicesMatchGoldenCaseC22) {
  // The golden list must agree with docs/reference-model.md §8 order and with the table.
  std::vector<int64_t> from_spec;
  for (const auto& name : kTcp22Names) from_spec.push_back(spec_index(name));
  EXPECT_EQ(from_spec, kTcp22GoldenIdx);
  EXPECT_EQ(io::vocabulary_indices(kTcp22Names), kTcp22GoldenIdx);
  std::vector<std::string> montage_names;
  for (const auto& d : io::tcp22_montage()) montage_names.push_back(d.name);
  EXPECT_EQ(io::vocabulary_indices(montage_names), kTcp22GoldenIdx);
}

TEST(Channels, VocabularyLookupAppliesAliasesPerElectrode) {
  EXPECT_EQ(io::find_vocabulary_index("T7-P7"), spec_index("T3-T5"));
  EXPECT_EQ(io::find_vocabulary_index("t8-p8"), spec_index("T4-T6"));
  EXPECT_EQ(io::find_vocabulary_index("F7-T7"), spec_index("F7-T3"));  // alias on one side
  EXPECT_EQ(io::find_vocabulary_index("T7-T5"), spec_index("T3-T5"));  // mixed old/new
  EXPECT_EQ(io::find_vocabulary_index("P7-O1"), spec_index("T5-O1"));
  EXPECT_EQ(io::find_vocabulary_index("t7"), spec_index("T7"));  // exists itself, no alias
  EXPECT_EQ(io::find_vocabulary_index("T3"), spec_index("T3"));
  EXPECT_EQ(io::find_vocabulary_index("Fc5."), spec_index("FC5"));
  EXPECT_EQ(io::find_vocabulary_index("fp1-f7"), spec_index("FP1-F7"));
  // Never swapped, never invented.
  EXPECT_EQ(io::find_vocabulary_index("F7-FP1"), std::nullopt);
  EXPECT_EQ(io::find_vocabulary_index("IZ"), std::nullopt);
  EXPECT_EQ(io::find_vocabulary_index("FP1-F7-T3"), std::nullopt);
  EXPECT_EQ(io::find_vocabulary_index(""), std::nullopt);
}

TEST(Channels, UnknownChannelsAreReportedTogether) {
  const auto msg = input_error_message([] {
    io::channel_positions({"FP1", "XYZ", "C3", "FP1-QQ", "A-B-C"});
  });
  EXPECT_EQ(msg.rfind("unknown channel(s): XYZ, FP1-QQ (unknown electrode 'QQ'), A-B-C (", 0), 0U)
      << msg;
  EXPECT_NE(msg.find("standard_1005"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("C3 ("), std::string::npos) << msg;  // known channels are not listed

  const auto one = input_error_message([] { io::channel_position("Fp1-Qq"); });
  EXPECT_NE(one.find("Fp1-Qq"), std::string::npos) << one;
  EXPECT_NE(one.find("'QQ'"), std::string::npos) << one;
  const auto both = input_error_message([] { io::channel_position("XX-YY"); });
  EXPECT_NE(both.find("'XX', 'YY'"), std::string::npos) << both;
  EXPECT_THROW(io::channel_position("-F7"), InputError);
  EXPECT_THROW(io::channel_position(""), InputError);

  const auto vocab_msg = input_error_message([] {
    io::vocabulary_indices({"FP1", "XYZ", "F7-FP1", "CZ"});
  });
  EXPECT_NE(vocab_msg.find("XYZ, F7-FP1"), std::string::npos) << vocab_msg;
  EXPECT_NE(vocab_msg.find("90-name"), std::string::npos) << vocab_msg;
  EXPECT_TRUE(io::vocabulary_indices({}).empty());
  EXPECT_TRUE(io::channel_positions({}).empty());
}

TEST(Channels, SplitChannelList) {
  EXPECT_EQ(io::split_channel_list("a,b , c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(io::split_channel_list(" FP1-F7 ,F7-T3"),
            (std::vector<std::string>{"FP1-F7", "F7-T3"}));
  EXPECT_EQ(io::split_channel_list("Cz"), (std::vector<std::string>{"Cz"}));  // case kept
  const auto msg = input_error_message([] { io::split_channel_list("a,,b"); });
  EXPECT_NE(msg.find("entry 2 of 3"), std::string::npos) << msg;
  EXPECT_THROW(io::split_channel_list(""), InputError);
  EXPECT_THROW(io::split_channel_list("a,"), InputError);
  EXPECT_THROW(io::split_channel_list(" , a"), InputError);
}

}  // namespace
