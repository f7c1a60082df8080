// The whole preprocessing chain from EDF files against MNE 1.3 (tests/fixtures/chain/, made by
// tools/mne_reference/chain_reference.py), and the dataset build: parts, resume, bad files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "lumamba/core/error.h"
#include "lumamba/io/safetensors.h"
#include "lumamba/io/window_h5.h"
#include "lumamba/preprocess/dataset_builder.h"
#include "support/scratch.h"

namespace lumamba::preprocess {
namespace {
namespace fs = std::filesystem;
using test::fresh_scratch_dir;

const std::string kData = LUMAMBA_TEST_FIXTURES_DIR;
// Issue 5's parity target for the full chain on real recordings.
constexpr double kChainMaxAbsUv = 1e-3;
constexpr double kChainRelRms = 1e-5;

std::vector<double> read_f64(const io::TensorView& v) {
  std::vector<double> out(static_cast<size_t>(v.numel()));
  std::memcpy(out.data(), v.data, v.n_bytes);
  return out;
}

struct ChainCase {
  std::string reference, edf;
  std::vector<std::string> channels;  // empty = TCP
  double notch_hz;
};

class ChainParity : public ::testing::TestWithParam<ChainCase> {};

TEST_P(ChainParity, WindowsMatchMne) {
  const auto& c = GetParam();
  const auto ref_file = io::SafetensorsFile::open(kData + "/chain/" + c.reference + ".safetensors");
  const auto& view = ref_file.at("windows");
  const auto ref = read_f64(view);
  PreprocessPreset preset;
  preset.montage = c.channels.empty() ? "tcp" : "unipolar";
  preset.tcp_ears = "true";
  preset.channels = c.channels;
  preset.notch_hz = c.notch_hz;
  preset.window_s = static_cast<double>(view.shape[2]) / 256.0;
  RecordingJob job{kData + "/edf/" + c.edf, "s"};
  const auto out = process_recording(job, preset, 2);
  ASSERT_EQ(out.n_windows, view.shape[0]);
  ASSERT_EQ(out.n_channels, view.shape[1]);
  ASSERT_EQ(out.n_samples, view.shape[2]);
  EXPECT_EQ(out.sfreq_hz, 256);
  double max_abs = 0, err2 = 0, ref2 = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = static_cast<double>(out.signal_uv[i]) - ref[i];
    max_abs = std::max(max_abs, std::abs(d));
    err2 += d * d;
    ref2 += ref[i] * ref[i];
  }
  const double rel_rms = std::sqrt(err2 / ref2);
  // Our windows are float32 (the HDF5 contract): the float32 rounding (≤ 6e-8 relative) dominates.
  EXPECT_LE(max_abs, kChainMaxAbsUv) << c.reference;
  EXPECT_LE(rel_rms, kChainRelRms) << c.reference;
  RecordProperty("max_abs_uv", std::to_string(max_abs));
  RecordProperty("rel_rms", std::to_string(rel_rms));
  EXPECT_EQ(ref_file.metadata().at("channels").substr(0, out.channel_names[0].size()), out.channel_names[0]);
}

INSTANTIATE_TEST_SUITE_P(
    RealRecordings, ChainParity,
    ::testing::Values(ChainCase{"S001R01_unipolar", "S001R01.edf", {"C3", "CZ", "C4", "O1", "O2"}, 60.0},
                      ChainCase{"eeglab_unipolar", "eeglab_test.edf", {"FP1", "F3", "C3", "P3", "O1"}, 50.0},
                      ChainCase{"tuh_ar_tcp22", "aaaaaool_s001_t000.edf", {}, 60.0}),
    [](const auto& info) { return info.param.reference; });

TEST(DatasetBuilder, BadFilesAreReportedAndTheRunContinues) {
  const auto dir = fresh_scratch_dir("build_bad");
  fs::copy_file(kData + "/edf/S001R01.edf", dir / "good.edf");
  // Catalogue: truncated file, random bytes, empty file, a file lacking a required electrode,
  // a recording shorter than one window (no windows, not a failure).
  {
    std::ifstream in(kData + "/edf/S001R01.edf", std::ios::binary);
    std::vector<char> bytes(4000);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::ofstream(dir / "truncated.edf", std::ios::binary).write(bytes.data(), 4000);
  }
  std::ofstream(dir / "random.edf", std::ios::binary) << "this is not an EDF file at all, just text.............";
  std::ofstream(dir / "empty.bdf", std::ios::binary).flush();
  fs::copy_file(kData + "/edf/eeglab_test.edf", dir / "no_cz.edf");         // eeglab has no CZ
  fs::copy_file(kData + "/edf/aaaaaool_s001_t000.edf", dir / "short.edf");  // 2 s < 5 s window
  PreprocessPreset preset;
  preset.montage = "unipolar";
  preset.channels = {"C3", "CZ", "C4"};
  preset.labels = "none";
  const auto jobs = discover_recordings(dir.string(), preset);
  ASSERT_EQ(jobs.size(), 6u);
  BuildOptions options;
  options.output_path = (dir / "out.h5").string();
  options.n_jobs = 2;
  options.show_progress = false;
  const auto summary = build_window_dataset(jobs, preset, options);
  EXPECT_EQ(summary.n_processed, 2);  // good + short
  EXPECT_EQ(summary.n_without_windows, 1);
  EXPECT_EQ(summary.n_windows, 12);  // 61 s at 256 Hz -> 12 windows of 5 s
  ASSERT_EQ(summary.failures.size(), 4u);
  std::map<std::string, std::string> reasons(summary.failures.begin(), summary.failures.end());
  EXPECT_NE(reasons.at((dir / "no_cz.edf").string()).find("CZ"), std::string::npos);
  for (const auto& [file, reason] : reasons) EXPECT_NE(reason.find(file), std::string::npos) << reason;
  auto reader = io::WindowH5Reader::open(options.output_path);
  ASSERT_EQ(reader.groups().size(), 1u);
  EXPECT_EQ(reader.groups()[0].channel_names, (std::vector<std::string>{"C3", "CZ", "C4"}));
  // A second run reuses the finished part and produces the same file content.
  const auto again = build_window_dataset(jobs, preset, options);
  EXPECT_EQ(again.n_reused, 1);
  EXPECT_EQ(again.n_processed, 1);  // the short file has no part, it is redone
  EXPECT_EQ(again.n_windows, 12);
  EXPECT_EQ(io::WindowH5Reader::open(options.output_path).read_signal(0, 0, 12), reader.read_signal(0, 0, 12));
  fs::remove_all(dir);
}

// Several machines build one dataset: shards 0/3, 1/3, 2/3 write parts only, --merge assembles them
// without processing; the result equals a one-machine run. The default (linked) OUT.h5 holds links
// to the parts, not copies, and still reads after its folder moves; the single layout is
// self-contained.
TEST(DatasetBuilder, ShardsThenMergeEqualOneRunAndLinkedDatasetsDoNotCopy) {
  const auto dir = fresh_scratch_dir("build_shards");
  fs::create_directories(dir / "edf");
  for (const char* name : {"a", "b", "c", "d"}) fs::copy_file(kData + "/edf/S001R01.edf", dir / "edf" / (std::string(name) + ".edf"));
  fs::copy_file(kData + "/edf/aaaaaool_s001_t000.edf", dir / "edf" / "short.edf");  // no windows
  PreprocessPreset preset;
  preset.montage = "unipolar";
  preset.channels = {"C3", "CZ", "C4"};
  preset.labels = "none";
  const auto jobs = discover_recordings((dir / "edf").string(), preset);
  ASSERT_EQ(jobs.size(), 5u);
  BuildOptions options;
  options.show_progress = false;
  options.output_path = (dir / "one.h5").string();
  options.layout = io::DatasetLayout::kSingle;
  const auto one = build_window_dataset(jobs, preset, options);
  EXPECT_EQ(one.n_windows, 48);

  options.output_path = (dir / "sharded" / "out.h5").string();
  options.layout = io::DatasetLayout::kLinked;
  int64_t processed = 0;
  for (int i = 0; i < 3; ++i) {
    options.shard_index = i;
    options.shard_count = 3;
    const auto shard = build_window_dataset(jobs, preset, options);
    EXPECT_EQ(shard.n_recordings, i < 2 ? 2 : 1);  // recordings i, i+3
    processed += shard.n_processed;
    EXPECT_FALSE(fs::exists(options.output_path));  // a shard writes parts only
  }
  EXPECT_EQ(processed, 5);
  options.shard_index = 0;
  options.shard_count = 1;
  options.merge_only = true;
  const auto merged = build_window_dataset(jobs, preset, options);
  EXPECT_EQ(merged.n_processed, 0);
  EXPECT_EQ(merged.n_reused, 4);
  ASSERT_EQ(merged.not_in_parts.size(), 1u);  // the short recording has no part
  EXPECT_NE(merged.not_in_parts[0].first.find("short.edf"), std::string::npos);
  EXPECT_EQ(merged.n_windows, 48);
  // Linked: a few kB, not the parts' size again.
  std::uintmax_t parts_bytes = 0;
  for (const auto& e : fs::directory_iterator(dir / "sharded" / "out.h5.parts")) {
    if (e.is_regular_file() && e.path().extension() == ".h5") parts_bytes += e.file_size();
  }
  EXPECT_LT(fs::file_size(options.output_path), parts_bytes / 20);
  // The same windows as the one-machine run, also after the folder moved.
  fs::rename(dir / "sharded", dir / "moved");
  auto a = io::WindowH5Reader::open((dir / "one.h5").string());
  auto b = io::WindowH5Reader::open((dir / "moved" / "out.h5").string());
  ASSERT_EQ(a.groups().size(), 4u);
  ASSERT_EQ(b.groups().size(), 4u);
  for (size_t g = 0; g < 4; ++g) {
    EXPECT_EQ(a.groups()[g].source_file, b.groups()[g].source_file);
    EXPECT_EQ(a.read_signal(g, 0, 12), b.read_signal(g, 0, 12)) << g;
  }
  // The single layout does not need its parts.
  fs::remove_all(dir / "one.h5.parts");
  EXPECT_EQ(io::WindowH5Reader::open((dir / "one.h5").string()).read_signal(3, 0, 12), a.read_signal(3, 0, 12));
  fs::remove_all(dir);
}

TEST(DatasetBuilder, ShardSpecifications) {
  EXPECT_EQ(parse_shard("0/4"), std::make_pair(0, 4));
  EXPECT_EQ(parse_shard("3/4"), std::make_pair(3, 4));
  for (const char* bad : {"4/4", "-1/4", "1", "a/b", "1/0"}) {
    try {
      parse_shard(bad);
      ADD_FAILURE() << bad;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--shard"), std::string::npos) << e.what();
    }
  }
  setenv("SLURM_ARRAY_TASK_ID", "7", 1);
  setenv("SLURM_ARRAY_TASK_MIN", "5", 1);
  setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
  EXPECT_EQ(parse_shard("slurm"), std::make_pair(2, 4));
  unsetenv("SLURM_ARRAY_TASK_ID");
  unsetenv("SLURM_ARRAY_TASK_MIN");
  unsetenv("SLURM_ARRAY_TASK_COUNT");
  EXPECT_THROW(parse_shard("slurm"), InputError);
}

TEST(DatasetBuilder, ManifestAndTuabFolderLabels) {
  const auto dir = fresh_scratch_dir("build_manifest");
  std::ofstream(dir / "m.csv") << "file,label,subject,split\n" << kData << "/edf/S001R01.edf,1,S001,test\n";
  PreprocessPreset preset;
  preset.channels = {"O1", "O2"};
  preset.labels = "manifest";
  const auto jobs = discover_recordings((dir / "m.csv").string(), preset);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].label, 1);
  EXPECT_EQ(jobs[0].split, "test");
  const auto w = process_recording(jobs[0], preset);
  EXPECT_EQ(w.labels, std::vector<int64_t>(12, 1));
  EXPECT_EQ(w.subject, "S001");
  std::ofstream(dir / "bad.csv") << "file,label,subject,split\nx.edf,abc,S,train\n";
  EXPECT_THROW(discover_recordings((dir / "bad.csv").string(), preset), InputError);

  // TUAB tree: label from normal/abnormal, eval -> test, train subjects split 80/20.
  for (const auto* sub : {"train/normal/01_tcp_ar", "train/abnormal/01_tcp_ar", "eval/abnormal/01_tcp_ar"}) {
    fs::create_directories(dir / "tuab" / sub);
    fs::copy_file(kData + "/edf/aaaaaool_s001_t000.edf", dir / "tuab" / sub / "aaaaaool_s001_t000.edf");
  }
  auto tuab = builtin_preset("tuab");
  const auto tj = discover_recordings((dir / "tuab").string(), tuab);
  ASSERT_EQ(tj.size(), 3u);
  EXPECT_EQ(tj[0].label, 1);  // eval/abnormal (sorted paths: eval < train)
  EXPECT_EQ(tj[0].split, "test");
  EXPECT_EQ(tj[1].label, 1);
  EXPECT_EQ(tj[2].label, 0);
  EXPECT_TRUE(tj[1].split == "train" || tj[1].split == "val");
  fs::remove_all(dir);
}

TEST(DatasetBuilder, SubjectPatternKeepsEachSubjectOnOneSide) {
  // 12 subjects with 3 runs each: splits drawn at random must never put one subject's runs on two
  // sides (without the pattern each file would be its own "subject").
  const auto dir = fresh_scratch_dir("build_subjects");
  for (int s = 1; s <= 12; ++s) {
    for (int r = 3; r <= 5; ++r) {
      std::ofstream(dir / fmt::format("S{:03d}R{:02d}.edf", s, r)) << "x";  // discovery reads names only
    }
  }
  auto preset = builtin_preset("events");
  ASSERT_EQ(preset.subject_pattern, "(S\\d{3})R");
  const auto jobs = discover_recordings(dir.string(), preset);
  ASSERT_EQ(jobs.size(), 36u);
  std::map<std::string, std::set<std::string>> splits_of;
  std::map<std::string, int> subjects_per_split;
  for (const auto& j : jobs) splits_of[j.subject].insert(j.split);
  ASSERT_EQ(splits_of.size(), 12u);
  EXPECT_EQ(splits_of.begin()->first, "S001");
  for (const auto& [subject, splits] : splits_of) {
    EXPECT_EQ(splits.size(), 1u) << subject;
    ++subjects_per_split[*splits.begin()];
  }
  EXPECT_EQ(subjects_per_split["train"], 10);  // 80/10/10 of 12 subjects: round(1.2) = 1 val, 1 test
  EXPECT_EQ(subjects_per_split["val"], 1);
  EXPECT_EQ(subjects_per_split["test"], 1);
  // A file the pattern does not match is an error naming it, not a subject of its own.
  std::ofstream(dir / "session7.edf") << "x";
  try {
    discover_recordings(dir.string(), preset);
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("session7"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(DatasetBuilder, LowPassAboveNyquistIsCappedOrFails) {
  // S001R01 is sampled at 160 Hz (Nyquist 80 Hz). h_freq_hz = 100 with the default policy "cap"
  // gives exactly the high-pass-only chain; with "fail" the file fails, naming the Nyquist frequency.
  PreprocessPreset preset;
  preset.channels = {"C3", "C4"};
  preset.labels = "none";
  const RecordingJob job{kData + "/edf/S001R01.edf", "S001"};
  preset.h_freq_hz = 100;
  const auto capped = process_recording(job, preset);
  preset.h_freq_hz = 0;
  const auto high_pass_only = process_recording(job, preset);
  ASSERT_EQ(capped.n_windows, 12);
  EXPECT_EQ(capped.signal_uv, high_pass_only.signal_uv);
  preset.h_freq_hz = 75;  // below Nyquist: a real low-pass, so the windows differ
  EXPECT_NE(process_recording(job, preset).signal_uv, high_pass_only.signal_uv);
  preset.h_freq_hz = 100;
  preset.low_pass_above_nyquist = "fail";
  try {
    process_recording(job, preset);
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("Nyquist frequency 80"), std::string::npos) << e.what();
  }
}

TEST(DatasetBuilder, StalePartsAreRedoneAndTheSummarySaysWhy) {
  // A finished part is reused only for the same recording and settings: a changed split in the
  // manifest, or a replaced EDF at the same path, redoes it (issue "Nothing lost, nothing stale").
  const auto dir = fresh_scratch_dir("build_stale");
  fs::copy_file(kData + "/edf/S001R01.edf", dir / "rec.edf");
  PreprocessPreset preset;
  preset.channels = {"C3", "C4"};
  preset.labels = "manifest";
  BuildOptions options;
  options.output_path = (dir / "out.h5").string();
  options.show_progress = false;
  const auto build = [&](const std::string& split, int label) {
    std::ofstream(dir / "m.csv") << "file,label,subject,split\nrec.edf," << label << ",S001," << split << "\n";
    return build_window_dataset(discover_recordings((dir / "m.csv").string(), preset), preset, options);
  };
  const auto first = build("train", 0);
  EXPECT_EQ(first.n_processed, 1);
  EXPECT_EQ(build("train", 0).n_reused, 1);  // unchanged: reused

  const auto moved = build("test", 0);
  EXPECT_EQ(moved.n_reused, 0);
  ASSERT_EQ(moved.redone_stale.size(), 1u);
  EXPECT_EQ(moved.redone_stale[0].second, "changed: split");
  EXPECT_EQ(io::WindowH5Reader::open(options.output_path).groups()[0].split, "test");

  const auto relabelled = build("test", 1);
  ASSERT_EQ(relabelled.redone_stale.size(), 1u);
  EXPECT_EQ(relabelled.redone_stale[0].second, "changed: label");
  EXPECT_EQ(relabelled.windows_per_label.at("1"), 12);

  // Another recording copied over the same path: size and time stamp differ.
  fs::copy_file(kData + "/edf/S001R03.edf", dir / "rec.edf", fs::copy_options::overwrite_existing);
  const auto replaced = build("test", 1);
  ASSERT_EQ(replaced.redone_stale.size(), 1u);
  EXPECT_EQ(replaced.redone_stale[0].second, "changed: source_file");
  EXPECT_GT(replaced.n_windows, 12);  // S001R03 is 2 min long, S001R01 1 min
  EXPECT_NE(summary_to_json(replaced).find("redone_stale_parts"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lumamba::preprocess

namespace lumamba::preprocess {
namespace {

// Flat and clipped channels are kept but named in a warning (analytic cases).
TEST(ChannelQuality, FlatAndClippedChannelsAreNamedOthersNot) {
  EXPECT_EQ(channel_quality_problem(std::vector<double>(500, 3.0), -3200, 3200, 0.1), "flat (every sample 3 µV)");
  std::vector<double> eeg(1000);
  for (size_t i = 0; i < eeg.size(); ++i) eeg[i] = 50 * std::sin(0.05 * static_cast<double>(i));
  EXPECT_EQ(channel_quality_problem(eeg, -3200, 3200, 0.1), "");
  // 2 % of the samples at the rails (within half a digital step): clipped.
  for (size_t i = 0; i < 20; ++i) eeg[i * 50] = (i % 2 == 0) ? 3199.97 : -3200.0;
  EXPECT_NE(channel_quality_problem(eeg, -3200, 3200, 0.1).find("clipped (2.0 %"), std::string::npos);
  // 0.5 %: a few saturated samples are not worth a warning.
  for (size_t i = 10; i < 20; ++i) eeg[i * 50] = 0;
  EXPECT_EQ(channel_quality_problem(eeg, -3200, 3200, 0.1), "");
}

}  // namespace
}  // namespace lumamba::preprocess
