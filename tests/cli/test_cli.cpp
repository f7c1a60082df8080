// `lumamba forward` and `lumamba info` end to end: run the built binary, read what it wrote and
// compare with the golden reference numbers.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lumamba/core/blas.h"
#include "lumamba/data/normalize.h"
#include "lumamba/eval/inference.h"
#include "lumamba/io/channels.h"
#include "lumamba/io/window_h5.h"
#include "lumamba/model/kernels/selective_scan_cpu.h"
#include "lumamba/model/weights.h"
#include "lumamba/preprocess/dataset_builder.h"
#include "lumamba/preprocess/preset.h"
#include "support/cli_run.h"
#include "support/golden.h"
#include "support/scratch.h"
#include "support/tensor_compare.h"
#include "support/tolerances.h"

namespace lumamba::test {
namespace {

std::string weights_args() {
  return "--weights " + golden_path("weights.safetensors") + " --config " + golden_path("config.json");
}

TEST(CliForward, PretrainingOutputsMatchGolden) {
  const auto out = scratch_path("cli_pre.safetensors");
  ASSERT_EQ(run("forward " + weights_args() + " --input " + golden_path("case_c22.safetensors") + " --output " + out +
                " num_classes=0"),
            0);
  auto result = load_tensors(io::SafetensorsFile::open(out));
  auto golden = load_tensors(open_golden("case_c22.safetensors"));
  EXPECT_TRUE(close_rms(result.at("reconstruction"), golden.at("pre.recon"), kF32StageRmsTol));
  EXPECT_TRUE(close_rms(result.at("embedding"), golden.at("pre.encoder_out"), kF32StageRmsTol));
  EXPECT_TRUE(close_rms(result.at("embedding_mean"), golden.at("pre.encoder_out").mean(1), kF32StageRmsTol));
  EXPECT_EQ(result.count("logits"), 0u);
  std::remove(out.c_str());
}

TEST(CliForward, Float64MatchesGoldenF64) {
  const auto out = scratch_path("cli_pre64.safetensors");
  ASSERT_EQ(run("forward " + weights_args() + " --dtype float64 --input " + golden_path("case_c22.safetensors") +
                " --output " + out + " num_classes=0"),
            0);
  auto result = load_tensors(io::SafetensorsFile::open(out));
  auto golden = load_tensors(open_golden("case_c22.safetensors"));
  EXPECT_EQ(result.at("reconstruction").scalar_type(), torch::kFloat64);
  EXPECT_TRUE(close_rms(result.at("reconstruction"), golden.at("pre.recon_f64"), kF64StageRmsTol));
  std::remove(out.c_str());
}

TEST(CliForward, ChannelNamesFromMetadataAndZscore) {
  // An input with raw µV and only the channel names: locations come from our electrode table,
  // --zscore normalises like the reference task. Logits must equal the golden classification path.
  auto golden_file = open_golden("case_c22.safetensors");
  auto golden = load_tensors(golden_file);
  const auto in = scratch_path("cli_names_only.safetensors");
  model::save_tensors(in, {{"input", golden.at("input_raw")}}, {{"channels", golden_file.metadata().at("channels")}});
  const auto out = scratch_path("cli_names_only_out.safetensors");
  ASSERT_EQ(run("forward " + weights_args() + " --zscore --input " + in + " --output " + out), 0);
  auto result = load_tensors(io::SafetensorsFile::open(out));
  EXPECT_TRUE(close_rms(result.at("logits"), golden.at("cls.logits"), kF32StageRmsTol));
  EXPECT_TRUE(close_rms(result.at("embedding"), golden.at("cls.encoder_out"), kF32StageRmsTol));
  std::remove(in.c_str());
  std::remove(out.c_str());
}

TEST(CliForward, UnknownChannelIsNamed) {
  auto golden = load_tensors(open_golden("case_c16.safetensors"));
  const auto in = scratch_path("cli_unknown.safetensors");
  std::string names = "FP1,FP2,F7,F3,F4,F8,T7,C3,C4,T8,P7,P3,P4,P8,O1,XYZ9";
  model::save_tensors(in, {{"input", golden.at("input")}}, {{"channels", names}});
  EXPECT_NE(run("forward " + weights_args() + " --input " + in + " --output " + scratch_path("cli_never.safetensors")),
            0);
  std::ifstream err(scratch_path("cli_stderr.txt"));
  std::stringstream ss;
  ss << err.rdbuf();
  EXPECT_NE(ss.str().find("XYZ9"), std::string::npos) << ss.str();
  EXPECT_FALSE(std::filesystem::exists(scratch_path("cli_never.safetensors")));
  std::remove(in.c_str());
}

// One vocabulary (docs/cli.md): every subcommand's help lists the shared flags; every command that
// reads data takes --data and every command that writes files takes --output.
TEST(CliVocabulary, EveryHelpListsTheSharedFlags) {
  struct Command {
    std::string name;
    bool data, output;
  };
  const std::vector<Command> commands = {
      {"info", false, false},       {"forward", true, true},        {"preprocess", true, true},
      {"pretrain", true, true},     {"finetune", true, true},       {"evaluate", true, true},
      {"baseline", true, true},     {"probe", true, true},          {"predict", true, true},
      {"embed", true, true},        {"benchmark", false, true},     {"bench scan", false, false},
      {"bench model", false, false}, {"bench efficiency", false, true}};
  const auto out = scratch_path("cli_help.txt");
  for (const auto& c : commands) {
    ASSERT_EQ(run(c.name + " --help", out), 0) << c.name;
    const auto help = read_file(out);
    for (const std::string flag : {"--threads", "--log-level"}) {
      EXPECT_NE(help.find(flag), std::string::npos) << c.name << " --help lacks " << flag;
    }
    EXPECT_EQ(help.find("--data") != std::string::npos, c.data) << c.name << " --help:\n" << help;
    EXPECT_EQ(help.find("--output") != std::string::npos, c.output) << c.name << " --help:\n" << help;
  }
}

// The old spellings stay as aliases: `preprocess --input` and `--data` build the same file list, and
// `finetune data=`/`--data` are one setting (giving both is an error naming both).
TEST(CliVocabulary, OldSpellingsAreAliasesAndOneSettingIsGivenOnce) {
  const auto h5 = scratch_path("cli_vocab.h5");
  const std::string edf = std::string(LUMAMBA_SOURCE_DIR) + "/data/eegmmidb_S001/S001R03.edf";
  EXPECT_EQ(run("preprocess --preset generic labels=none --input " + edf + " --output " + h5), 0);
  std::filesystem::remove_all(h5);
  std::filesystem::remove_all(h5 + ".parts");
  EXPECT_EQ(run("preprocess --preset generic labels=none --data " + edf + " --output " + h5), 0);
  EXPECT_TRUE(std::filesystem::exists(h5));
  const auto stderr_path = scratch_path("cli_stderr.txt");
  const int status = run("finetune --config " + std::string(LUMAMBA_SOURCE_DIR) + "/configs/finetune/generic.yaml --data " +
                         h5 + " data=" + h5 + " --output " + scratch_path("cli_vocab_run"));
  EXPECT_EQ(WEXITSTATUS(status), 1);  // bad input
  EXPECT_NE(read_file(stderr_path).find("--data " + h5 + " and data=" + h5 + " name the same setting"),
            std::string::npos)
      << read_file(stderr_path);
  std::filesystem::remove_all(h5);
  std::filesystem::remove_all(h5 + ".parts");
}

// A folder (or one file) with the generic preset has no manifest: its windows get no labels instead
// of every file failing; a recording without windows is named with its length (S001R03: 125 data
// records of 1 s in its EDF header).
TEST(CliPreprocess, FolderWithoutManifestIsUnlabelledAndShortRecordingsAreNamed) {
  const auto dir = fresh_scratch_dir("cli_unlabelled");
  const std::string edf = std::string(LUMAMBA_SOURCE_DIR) + "/data/eegmmidb_S001/S001R03.edf";
  EXPECT_EQ(run("preprocess --preset generic --data " + edf + " --output " + (dir / "a.h5").string(),
                (dir / "a.json").string()),
            0);
  auto j = nlohmann::json::parse(read_file((dir / "a.json").string()));
  EXPECT_EQ(j["windows"], 25);  // 125 s in 5 s windows
  EXPECT_EQ(j["windows_per_label"]["-1"], 25);
  const int status = run("preprocess --preset generic window_s=200 --data " + edf + " --output " +
                             (dir / "b.h5").string(),
                         (dir / "b.json").string());
  EXPECT_EQ(WEXITSTATUS(status), 1);  // nothing written
  j = nlohmann::json::parse(read_file((dir / "b.json").string()));
  ASSERT_EQ(j["without_windows_files"].size(), 1u);
  EXPECT_EQ(j["without_windows_files"][0]["file"], edf);
  EXPECT_DOUBLE_EQ(j["without_windows_files"][0]["recording_s"].get<double>(), 125.0);
  EXPECT_NE(read_file(scratch_path("cli_stderr.txt")).find("S001R03.edf: no windows: the recording is 125.0 s"),
            std::string::npos);
}

// A BrainVision recording (tests/fixtures/brainvision, 12 s of Fp1, Fp2, Cz and an EOG channel at
// 250 Hz) through `preprocess` and `embed`: every channel with a position, average-referenced;
// the EOG channel, which has no position, is named in the log.
TEST(CliPreprocess, BrainVisionRecordingWithPositionsAndAverageReference) {
  const auto dir = fresh_scratch_dir("cli_brainvision");
  for (const char* ext : {".vhdr", ".vmrk", ".eeg"}) {
    std::filesystem::copy_file(std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/brainvision/int16_multiplexed" + ext,
                               dir / (std::string("rec") + ext));
  }
  // The header names its data and marker files: point them at the copies.
  auto vhdr = read_file((dir / "rec.vhdr").string());
  for (const std::string from : {"int16_multiplexed.eeg", "int16_multiplexed.vmrk"}) {
    vhdr.replace(vhdr.find(from), from.size(), from.substr(0, 0) + "rec" + from.substr(from.find('.')));
  }
  std::ofstream((dir / "rec.vhdr").string(), std::ios::binary) << vhdr;
  const std::string settings = " montage=all_eeg reference=average notch_hz=50";
  ASSERT_EQ(run("preprocess --preset generic --data " + dir.string() + " --output " + (dir / "a.h5").string() + settings,
                (dir / "a.json").string()),
            0);
  const auto j = nlohmann::json::parse(read_file((dir / "a.json").string()));
  EXPECT_EQ(j["windows"], 2);  // 12 s in 5 s windows
  EXPECT_NE(read_file(scratch_path("cli_stderr.txt")).find("not used: EOG"), std::string::npos);
  auto reader = io::WindowH5Reader::open((dir / "a.h5").string());
  ASSERT_EQ(reader.groups().size(), 1u);
  EXPECT_EQ(reader.groups()[0].channel_names, (std::vector<std::string>{"FP1", "FP2", "CZ"}));
  EXPECT_DOUBLE_EQ(reader.groups()[0].channel_locations_m[2][2], io::find_electrode("Cz")->z_m);
  // embed reads the same recording with the same settings.
  ASSERT_EQ(run("embed " + (dir / "rec.vhdr").string() + " --weights lumamba-tiny-eegmmidb --preset generic --output " +
                (dir / "e.csv").string() + " --format csv" + settings),
            0);
  const auto csv = read_file((dir / "e.csv").string());
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);  // header + 2 windows
}

TEST(CliInfo, JsonParameterCountsAndMacs) {
  const auto out = scratch_path("cli_info.json");
  ASSERT_EQ(run("info --json --weights " + golden_path("weights.safetensors") + " --config " +
                    golden_path("config.json") + " --threads 2",
                out),
            0);
  std::ifstream f(out);
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["parameters"]["encoder"], 4094777);
  EXPECT_EQ(j["parameters"]["total"], 5280955);
  EXPECT_EQ(j["runtime"]["intra_op_threads"], 2);
  EXPECT_GT(j["macs"]["total"].get<int64_t>(), j["macs"]["per_module"]["mamba_blocks"].get<int64_t>());
  EXPECT_NE(j["runtime"]["blas"].get<std::string>().find("BLAS: "), std::string::npos);
  // The scan kernel build this CPU runs (the widest: the test process and lumamba see the same CPU).
  EXPECT_EQ(j["runtime"]["scan_kernel_isa"], model::kernels::scan_kernel_isa());
  std::remove(out.c_str());
}

// LUMAMBA_SCAN_ISA picks the build of the scan kernel (reported by info); an unknown value is refused
// with a message naming the variable.
TEST(CliInfo, ScanIsaOverride) {
  namespace k = model::kernels;
  const auto out = scratch_path("cli_info_isa.json");
  if (k::scan_isa_available(k::ScanIsa::kAvx2)) {
    setenv("LUMAMBA_SCAN_ISA", "avx2", 1);
    const int rc = run("info --json", out);
    unsetenv("LUMAMBA_SCAN_ISA");
    ASSERT_EQ(rc, 0);
    std::ifstream f(out);
    EXPECT_EQ(nlohmann::json::parse(f)["runtime"]["scan_kernel_isa"], "avx2+fma");
  }
  setenv("LUMAMBA_SCAN_ISA", "avx9", 1);
  const int rc = run("info --json", out);
  unsetenv("LUMAMBA_SCAN_ISA");
  EXPECT_NE(rc, 0);
  std::ifstream err(scratch_path("cli_stderr.txt"));
  const std::string message((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  EXPECT_NE(message.find("LUMAMBA_SCAN_ISA"), std::string::npos) << message;
  std::remove(out.c_str());
}

// The OpenBLAS core: a preset OPENBLAS_CORETYPE is kept as it is; without one, lumamba never runs on
// OpenBLAS's generic SSE3 fallback on a CPU with AVX2+FMA (the Prescott case, 5x slower SGEMM).
// The test never unsets the variable itself (machines may set it on purpose).
TEST(CliInfo, OpenblasCoreIsPresetOrNotAGenericFallback) {
  const auto out = scratch_path("cli_info_core.json");
  ASSERT_EQ(run("info --json", out), 0);
  std::ifstream f(out);
  const auto j = nlohmann::json::parse(f);
  const auto core = j["runtime"]["openblas_core"].get<std::string>();
  if (core.empty()) GTEST_SKIP() << "the BLAS behind libtorch is not OpenBLAS: " << j["runtime"]["blas"];
  if (const char* preset = std::getenv("OPENBLAS_CORETYPE"); preset != nullptr && *preset != '\0') {
    EXPECT_EQ(j["runtime"]["openblas_coretype"], preset);
    EXPECT_EQ(j["runtime"]["openblas_core_switch"], "");
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    EXPECT_EQ(openblas_core_override(core, false, true), "") << "still on a generic core: " << core;
  }
  // An explicit choice in the child's environment is respected (Haswell kernels run on any AVX2 CPU).
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    const std::string cmd = "OPENBLAS_CORETYPE=Haswell " + std::string(LUMAMBA_CLI_PATH) + " info --json > " + out +
                            " 2> " + scratch_path("cli_stderr.txt");
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream g(out);
    const auto k = nlohmann::json::parse(g);
    EXPECT_EQ(k["runtime"]["openblas_core"], "Haswell");
    EXPECT_EQ(k["runtime"]["openblas_core_switch"], "");
  }
  std::remove(out.c_str());
}

// A recording preprocessed as one continuous sequence, as model inputs: signal (1, C, S·P) z-scored
// over the whole recording and locations (1, C, 3) — what whole-recording mode must be equal to.
struct ContinuousInputs {
  torch::Tensor signal, locations;
  int64_t n_patches = 0;
  double seconds_per_patch = 0;
};

ContinuousInputs continuous_inputs(const std::string& edf, const std::string& preset, int64_t patch) {
  preprocess::RecordingJob job;
  job.path = edf;
  const auto rec = preprocess::process_recording_continuous(job, preprocess::builtin_preset(preset));
  ContinuousInputs in;
  in.n_patches = rec.n_samples / patch;
  in.seconds_per_patch = static_cast<double>(patch) / rec.sfreq_hz;
  auto signal =
      torch::from_blob(const_cast<float*>(rec.signal_uv.data()), {rec.n_channels, rec.n_samples}, torch::kFloat32)
          .narrow(1, 0, in.n_patches * patch);
  in.signal = data::zscore_channels(signal.unsqueeze(0));  // copies: rec may go
  in.locations = torch::empty({1, rec.n_channels, 3}, torch::kFloat32);
  for (int64_t c = 0; c < rec.n_channels; ++c) {
    for (int64_t d = 0; d < 3; ++d) {
      in.locations[0][c][d] = rec.channel_locations_m[static_cast<size_t>(c)][static_cast<size_t>(d)];
    }
  }
  return in;
}

const std::string kWholeRecordingEdf = std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/edf/S001R03.edf";

// `embed --whole-recording` on a real 2-minute recording, streamed in 3 chunks, equals the encoder
// run once on the whole z-scored recording (same preprocessing, library calls).
TEST(CliEmbed, WholeRecordingEqualsOneShotEncoder) {
  const auto out = scratch_path("cli_whole.safetensors");
  ASSERT_EQ(run("embed " + kWholeRecordingEdf + " " + weights_args() +
                " --preset events --whole-recording --chunk-patches 300 --output " + out),
            0);
  auto result = load_tensors(io::SafetensorsFile::open(out));
  auto loaded = eval::load_model({golden_path("weights.safetensors")}, golden_path("config.json"));
  const auto in = continuous_inputs(kWholeRecordingEdf, "events", loaded.options.patch_size());
  ASSERT_GT(in.n_patches, 600);  // several chunks of 300
  torch::NoGradGuard no_grad;
  const auto one_shot = loaded.net->encode(in.signal, in.locations);
  ASSERT_EQ(result.at("embedding").sizes(), one_shot.sizes());  // (1, S, 384)
  EXPECT_TRUE(close_rms(result.at("embedding"), one_shot, kF32StageRmsTol));
  ASSERT_EQ(result.at("patch_start_s").size(0), in.n_patches);
  EXPECT_DOUBLE_EQ(result.at("patch_start_s")[1].item<double>(), in.seconds_per_patch);
  std::remove(out.c_str());
}

// `predict --whole-recording`: one row per recording, the head's probabilities on the one-shot encoder.
TEST(CliPredict, WholeRecordingIsOnePredictionOfTheWholeSequence) {
  const auto out = scratch_path("cli_whole_predict");
  std::filesystem::remove_all(out);
  ASSERT_EQ(run("predict " + kWholeRecordingEdf + " " + weights_args() +
                " --preset events --whole-recording --chunk-patches 300 --output " + out),
            0);
  std::ifstream f(out + "/predictions.json");
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["mode"], "whole_recording");
  ASSERT_EQ(j["recordings"].size(), 1u);
  const auto& r = j["recordings"][0];
  EXPECT_EQ(r["n_windows"], 1);
  auto loaded = eval::load_model({golden_path("weights.safetensors")}, golden_path("config.json"));
  const auto in = continuous_inputs(kWholeRecordingEdf, "events", loaded.options.patch_size());
  torch::NoGradGuard no_grad;
  const auto p = torch::softmax(loaded.net->forward(in.signal, in.locations).logits, -1);  // (1, 2)
  for (int64_t c = 0; c < 2; ++c) {
    EXPECT_NEAR(r["mean_probabilities"][static_cast<size_t>(c)].get<double>(), p[0][c].item<double>(), 1e-4);
  }
  EXPECT_NEAR(r["eeg_seconds"].get<double>(), static_cast<double>(in.n_patches) * in.seconds_per_patch, 1e-9);
  std::filesystem::remove_all(out);
}

}  // namespace
// A manifest with one good and one unreadable recording: the good one is written, but the run is
// not a success (exit 2, the failure counted in the summary) unless --allow-failures says so.
TEST(CliPreprocess, FailedRecordingsGiveExitCode2) {
  const auto dir = fresh_scratch_dir("cli_preprocess_failures");
  {
    std::ofstream broken(dir / "broken.edf");
    broken << "not an EDF file";
  }
  std::ofstream manifest(dir / "manifest.csv");
  manifest << "file,label,subject,split\n" << kWholeRecordingEdf << ",,S001,train\n" << (dir / "broken.edf").string()
           << ",,S002,train\n";
  manifest.close();
  const std::string base = "preprocess --preset events --input " + (dir / "manifest.csv").string();
  EXPECT_EQ(run(base + " --output " + (dir / "a.h5").string(), (dir / "a.json").string()) >> 8, 2);
  std::ifstream summary(dir / "a.json");
  const auto j = nlohmann::json::parse(summary);
  EXPECT_EQ(j["failed"], 1);
  EXPECT_EQ(j["processed"], 1);
  EXPECT_TRUE(std::filesystem::exists(dir / "a.h5"));
  EXPECT_EQ(run(base + " --allow-failures --output " + (dir / "b.h5").string()), 0);
}

namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// A full disk while preprocessing (RLIMIT_FSIZE through bash's `ulimit -f`, KiB): exit 1 with
// "disk full: PATH", no crash (HDF5 used to segfault), no temporary left, and never counted as bad
// recordings. 2,700 KiB fails on the first part written, 6,000 KiB on the assembled single-layout
// file; a rerun without the limit then finishes, reusing the parts that were complete.
TEST(CliPreprocess, FullDiskIsExitOneNamingThePath) {
  const auto dir = fresh_scratch_dir("cli_full_disk");
  const std::string input = std::string(LUMAMBA_SOURCE_DIR) + "/data/eegmmidb_S001";
  for (const int kib : {2700, 6000}) {
    SCOPED_TRACE(kib);
    const auto out = dir / ("limit_" + std::to_string(kib));
    std::filesystem::create_directories(out);
    // --layout single: the assembled file copies the parts, so at 6000 KiB the parts fit and it does not.
    const std::string preprocess = std::string(LUMAMBA_CLI_PATH) + " preprocess --preset events --layout single --input " +
                                   input + " --output " + (out / "w.h5").string();
    const std::string limited = "bash -c 'ulimit -f " + std::to_string(kib) + "; trap \"\" XFSZ; " + preprocess +
                                "' > /dev/null 2> " + (out / "err.txt").string();
    const int status = std::system(limited.c_str());
    ASSERT_TRUE(WIFEXITED(status)) << "crashed";
    EXPECT_EQ(WEXITSTATUS(status), 1);
    const auto err = read_text(out / "err.txt");
    EXPECT_NE(err.find("error: disk full: " + out.string()), std::string::npos) << err;
    EXPECT_EQ(err.find("failed: "), std::string::npos) << "counted as a bad recording: " << err;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(out)) {
      EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << "left behind: " << entry.path();
    }
    EXPECT_FALSE(std::filesystem::exists(out / "w.h5"));
    ASSERT_EQ(std::system((preprocess + " > " + (out / "summary.json").string() + " 2> /dev/null").c_str()), 0);
    const auto summary = nlohmann::json::parse(read_text(out / "summary.json"));
    EXPECT_EQ(summary["failed"], 0);
    EXPECT_EQ(summary["reused_from_parts"].get<int>() > 0, kib == 6000) << summary.dump();
  }
  // The default (linked) OUT.h5 holds links to the parts, not copies: under the same per-file limit
  // it is written, a few kB.
  const auto linked = dir / "linked";
  std::filesystem::create_directories(linked);
  const std::string limited = "bash -c 'ulimit -f 6000; trap \"\" XFSZ; " + std::string(LUMAMBA_CLI_PATH) +
                              " preprocess --preset events --input " + input + " --output " + (linked / "w.h5").string() +
                              "' > /dev/null 2> /dev/null";
  EXPECT_EQ(std::system(limited.c_str()), 0);
  EXPECT_LT(std::filesystem::file_size(linked / "w.h5"), 64u << 10);
  std::filesystem::remove_all(dir);
}

// A tiny labelled dataset (train / val / test recordings; label 1 = a 12 Hz burst) for training runs.
std::string write_tiny_dataset(const std::filesystem::path& dir) {
  std::vector<std::string> parts;
  const std::vector<std::string> channels{"FP1", "FP2", "O1", "O2"};
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.f, 10.f);
  for (const auto& [split, n] : std::vector<std::pair<std::string, int64_t>>{{"train", 24}, {"val", 8}, {"test", 8}}) {
    io::RecordingWindows r;
    r.channel_names = channels;
    for (const auto& p : io::channel_positions(channels)) r.channel_locations_m.push_back({p.x_m, p.y_m, p.z_m});
    r.source_file = split + ".edf";
    r.subject = split;
    r.split = split;
    r.n_windows = n;
    r.n_channels = 4;
    r.n_samples = 160;
    for (int64_t w = 0; w < n; ++w) {
      for (int64_t c = 0; c < 4; ++c) {
        for (int64_t t = 0; t < 160; ++t) {
          r.signal_uv.push_back((w % 2 == 1 ? 30.f * std::sin(0.29452f * static_cast<float>(t)) : 0.f) + noise(rng));
        }
      }
      r.labels.push_back(w % 2);
      r.window_start_s.push_back(static_cast<double>(w) * 0.625);
    }
    parts.push_back((dir / (split + ".h5")).string());
    io::write_recording_h5(parts.back(), r, io::StorageDType::kFloat32, R"({"name":"generic"})");
  }
  const auto out = (dir / "tiny.h5").string();
  io::assemble_window_h5(parts, out, R"({"name":"generic"})");
  return out;
}

// kill -9 right after chosen atomic renames of a fine-tuning run (LUMAMBA_KILL_AFTER_COMMITS: after
// the training state, after last, after best, in later epochs and at the end), then --resume: every
// run ends with the files of the uninterrupted run, byte for byte.
TEST(CliKillResume, KillsAtChosenRenamesResumeToTheStraightRun) {
  const auto dir = fresh_scratch_dir("cli_kill_resume");
  const auto data = write_tiny_dataset(dir);
  const std::string finetune = std::string(LUMAMBA_CLI_PATH) + " finetune --threads 1 --config " +
                               LUMAMBA_SOURCE_DIR + "/configs/finetune/generic.yaml data=" + data +
                               " model.classifier_option=linear model.embed_dim=16"
                               " model.num_queries=2 model.num_blocks=1 model.d_state=4 train.epochs=3"
                               " train.warmup_epochs=0 train.batch_size=8 optimizer.lr=3e-3";
  const auto run_in = [&](const std::filesystem::path& out, const std::string& extra) {
    const std::string cmd = finetune + " out=" + out.string() + extra + " > /dev/null 2>> " + (dir / "log.txt").string();
    return std::system(cmd.c_str());
  };
  ASSERT_EQ(run_in(dir / "straight", ""), 0) << read_text(dir / "log.txt");
  // Renames 1-3 are config.yaml, provenance.json and the emptied metrics.jsonl (killed there, --resume
  // starts from the beginning), then per epoch the training state, last, (when validation improved)
  // best and report.html, then the test outputs: more than 10 renames, so each kill point is reached.
  for (const int kill_after : {3, 4, 5, 7, 9}) {
    SCOPED_TRACE("killed after rename " + std::to_string(kill_after));
    const auto out = dir / ("killed_" + std::to_string(kill_after));
    const int status = std::system(("LUMAMBA_KILL_AFTER_COMMITS=" + std::to_string(kill_after) + " " + finetune +
                                    " out=" + out.string() + " > /dev/null 2>> " + (dir / "log.txt").string())
                                       .c_str());
    EXPECT_NE(status, 0) << "not killed";
    ASSERT_EQ(run_in(out, " --resume"), 0) << read_text(dir / "log.txt");
    for (const char* file : {"checkpoints/last.safetensors", "checkpoints/best.safetensors", "test_metrics.json",
                             "test_predictions.csv"}) {
      EXPECT_EQ(read_text(out / file), read_text(dir / "straight" / file)) << file;
    }
  }
  std::filesystem::remove_all(dir);
}

// The CI variant of the eegmmidb suite (bundled S001 runs, a 10-step pretraining, 30 steps per
// fine-tuning run): every unit runs,
// the results hold the baseline and the model per task with sane numbers, and a second invocation
// reuses every finished unit instead of redoing it.
TEST(CliBenchmark, QuickSuiteRunsReportsAndResumes) {
  const auto dir = fresh_scratch_dir("bench_quick");
  const std::string cmd = std::string("cd ") + LUMAMBA_SOURCE_DIR + " && " + LUMAMBA_CLI_PATH +
                          " benchmark configs/benchmark/eegmmidb.yaml --quick --output " + dir.string();
  ASSERT_EQ(std::system((cmd + " > /dev/null 2> " + (dir / "log1.txt").string()).c_str()), 0)
      << read_text(dir / "log1.txt");
  const auto results = nlohmann::json::parse(read_text(dir / "results.json"));
  EXPECT_TRUE(results["quick"].get<bool>());
  ASSERT_EQ(results["tasks"].size(), 3u);
  for (const auto& t : results["tasks"]) {
    const auto name = t["name"].get<std::string>();
    ASSERT_FALSE(t.contains("error")) << name << ": " << t["error"];
    EXPECT_EQ(t["recordings"], nlohmann::json({{"test", 1}, {"train", 1}, {"val", 1}})) << name;
    EXPECT_EQ(t["preprocess"]["failed"], 0) << name;
    const auto& base = t["baseline"]["test"];
    // R11 holds 15 movement cues (T1 + T2) and 15 rest blocks (T0).
    EXPECT_EQ(base["n"], name == "rest_vs_imagined" ? 30 : 15) << name;
    const double bal = base["balanced_accuracy"].get<double>();
    EXPECT_TRUE(bal >= 0 && bal <= 1) << name;
    const auto& runs = t["variants"]["scratch"]["runs"];
    ASSERT_EQ(runs.size(), 1u) << name;
    EXPECT_EQ(runs[0]["steps"], 30) << name;  // train.max_steps of the quick variant
    EXPECT_EQ(runs[0]["test"]["n"], base["n"]) << name;
    int64_t predicted = 0;
    for (const auto& n : runs[0]["test"]["predicted_per_class"]) predicted += n.get<int64_t>();
    EXPECT_EQ(predicted, base["n"].get<int64_t>()) << name;
    EXPECT_TRUE(std::filesystem::exists(dir / (name + ".svg"))) << name;
  }
  // The quick variant pretrains one objective (10 steps) and fine-tunes each task from it too.
  ASSERT_EQ(results["pretrain"]["runs"].size(), 1u);
  EXPECT_EQ(results["pretrain"]["runs"][0]["steps"], 10);
  EXPECT_GT(results["pretrain"]["corpus"][0]["windows"].get<int64_t>(), 0);
  EXPECT_GT(results["pretrain"]["runs"][0]["curves"]["windows_per_s"].get<double>(), 0);  // from its metrics.jsonl
  EXPECT_TRUE(std::filesystem::exists(dir / "pretrain_mixed.svg"));
  for (const auto& t : results["tasks"]) {
    const auto& mixed = t["variants"]["mixed"];
    EXPECT_EQ(mixed["init"], results["pretrain"]["runs"][0]["checkpoint"]) << t["name"];
    ASSERT_EQ(mixed["runs"].size(), 1u) << t["name"];
    EXPECT_EQ(mixed["runs"][0]["steps"], 30) << t["name"];
  }
  const auto md = read_text(dir / "results.md");
  EXPECT_NE(md.find("- run `mixed`: 10 steps"), std::string::npos) << md;
  EXPECT_NE(md.find("| imagined_left_right | band power + LR |"), std::string::npos) << md;
  EXPECT_NE(md.find("| executed_left_right | LuMamba scratch (1 seed) |"), std::string::npos) << md;

  // Resume: nothing is redone (no preprocessing, baseline or fine-tuning starts), same results.
  const auto result_file = dir / "imagined_left_right" / "scratch" / "seed_1" / "result.json";
  const auto mtime = std::filesystem::last_write_time(result_file);
  ASSERT_EQ(std::system((cmd + " > /dev/null 2> " + (dir / "log2.txt").string()).c_str()), 0);
  const auto log2 = read_text(dir / "log2.txt");
  EXPECT_EQ(log2.find("== "), std::string::npos) << log2;
  EXPECT_EQ(std::filesystem::last_write_time(result_file), mtime);
  EXPECT_EQ(nlohmann::json::parse(read_text(dir / "results.json"))["tasks"], results["tasks"]);
  std::filesystem::remove_all(dir);
}

}  // namespace lumamba::test
