// Embedding probe: k-NN, PCA and effective rank against scikit-learn 1.2.1 / NumPy
// (tests/fixtures/metrics/embedding_probe_reference.json, made by
// tools/sklearn_reference/embedding_probe_reference.py); the subject-identification split and the
// whole probe on windows whose classes and subjects are known by construction.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "lumamba/core/error.h"
#include "lumamba/data/window_dataset.h"
#include "lumamba/eval/embedding_probe.h"
#include "lumamba/io/channels.h"
#include "lumamba/io/window_h5.h"
#include "support/scratch.h"

namespace {
namespace fs = std::filesystem;
using namespace lumamba;

nlohmann::json reference() {
  std::ifstream in(std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/metrics/embedding_probe_reference.json");
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in);
}

torch::Tensor matrix(const nlohmann::json& rows) {
  std::vector<double> flat;
  for (const auto& row : rows) {
    for (const auto& v : row) flat.push_back(v.get<double>());
  }
  return torch::tensor(flat, torch::kFloat64).reshape({static_cast<int64_t>(rows.size()), -1});
}

TEST(EmbeddingProbe, KnnVoteSharesEqualScikitLearnCosineNeighbours) {
  const auto doc = reference()["knn"];
  const auto x_train = matrix(doc["x_train"]), x_test = matrix(doc["x_test"]);
  const auto y = torch::tensor(doc["y_train"].get<std::vector<int64_t>>(), torch::kInt64);
  for (const auto& c : doc["cases"]) {
    const auto shares = eval::knn_vote_shares(x_train, y, x_test, c["k"].get<int64_t>(), doc["n_classes"].get<int64_t>());
    EXPECT_LT((shares - matrix(c["proba"])).abs().max().item<double>(), 1e-12) << "k = " << c["k"];
  }
}

TEST(EmbeddingProbe, KnnCapsKAndChecksShapes) {
  const auto x = torch::tensor({0.0, 1.0, 1.0, 0.0}, torch::kFloat64).reshape({2, 2});
  const auto y = torch::tensor({0, 1}, torch::kInt64);
  const auto shares = eval::knn_vote_shares(x, y, x, 50, 2);  // k capped at the 2 training rows
  EXPECT_TRUE(torch::allclose(shares, torch::full({2, 2}, 0.5, torch::kFloat64)));
  EXPECT_THROW(eval::knn_vote_shares(x, y, torch::zeros({1, 3}), 1, 2), InputError);
}

TEST(EmbeddingProbe, PcaEqualsScikitLearn) {
  const auto doc = reference()["pca"];
  const auto pca = eval::pca_2d(matrix(doc["x"]));
  EXPECT_LT((pca.scores - matrix(doc["scores"])).abs().max().item<double>(), 1e-9);
  EXPECT_NEAR(pca.explained[0], doc["explained"][0].get<double>(), 1e-12);
  EXPECT_NEAR(pca.explained[1], doc["explained"][1].get<double>(), 1e-12);
}

TEST(EmbeddingProbe, EffectiveRankEqualsNumpyAndItsAnalyticLimits) {
  const auto doc = reference();
  EXPECT_NEAR(eval::effective_rank(matrix(doc["pca"]["x"])), doc["effective_rank"].get<double>(), 1e-9);
  // Rank-one data: 1. Rows ±e_i of R^4 (centred, equal singular values): 4.
  const auto direction = torch::tensor({1.0, -2.0, 0.5}, torch::kFloat64);
  const auto rank_one = torch::outer(torch::arange(5, torch::kFloat64), direction);
  EXPECT_NEAR(eval::effective_rank(rank_one), 1.0, 1e-9);
  const auto eye = torch::eye(4, torch::kFloat64);
  EXPECT_NEAR(eval::effective_rank(torch::cat({eye, -eye})), 4.0, 1e-9);
  EXPECT_NEAR(eval::effective_rank(torch::ones({6, 3})), 1.0, 0.0);  // no direction at all
}

constexpr int64_t kSamples = 240;  // 6 patches of 40 at 256 Hz

// A recording of `subject`: class 1 windows carry a 12 Hz sine, class 0 windows a 6 Hz one; every
// subject has its own broadband gain so band powers identify it.
void add_recording(const fs::path& path, const std::string& subject, const std::string& split, double gain,
                   uint32_t seed) {
  const std::vector<std::string> channels{"FP1", "FP2", "C3", "C4", "O1", "O2"};
  io::RecordingWindows r;
  r.channel_names = channels;
  for (const auto& p : io::channel_positions(channels)) r.channel_locations_m.push_back({p.x_m, p.y_m, p.z_m});
  r.source_file = path.stem().string() + ".edf";
  r.subject = subject;
  r.split = split;
  r.sfreq_hz = 256;
  r.n_windows = 16;
  r.n_channels = static_cast<int64_t>(channels.size());
  r.n_samples = kSamples;
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, 1.f);
  for (int64_t w = 0; w < r.n_windows; ++w) {
    const int64_t label = w % 2;
    const float hz = label == 1 ? 12.f : 6.f;
    for (int64_t c = 0; c < r.n_channels; ++c) {
      for (int64_t t = 0; t < kSamples; ++t) {
        const float sine = 20.f * std::sin(2.f * 3.14159265f * hz * static_cast<float>(t) / 256.f);
        r.signal_uv.push_back(sine + static_cast<float>(gain) * noise(rng));
      }
    }
    r.labels.push_back(label);
    r.window_start_s.push_back(static_cast<double>(w));
  }
  io::write_recording_h5(path.string(), r, io::StorageDType::kFloat32, R"({"name":"generic"})");
}

// Train subjects T1, T2 (2 recordings each), test subjects S1-S3 (2 recordings each) and S4 (one).
std::string make_dataset(const fs::path& dir) {
  std::vector<std::string> parts;
  uint32_t seed = 1;
  const auto add = [&](const std::string& name, const std::string& subject, const std::string& split, double gain) {
    const auto path = dir / (name + ".h5");
    add_recording(path, subject, split, gain, seed++);
    parts.push_back(path.string());
  };
  add("T1R1", "T1", "train", 2);
  add("T1R2", "T1", "train", 2);
  add("T2R1", "T2", "val", 8);
  add("T2R2", "T2", "val", 8);
  add("S1R1", "S1", "test", 2);
  add("S1R2", "S1", "test", 2);
  add("S2R1", "S2", "test", 4);
  add("S2R2", "S2", "test", 4);
  add("S3R1", "S3", "test", 8);
  add("S3R2", "S3", "test", 8);
  add("S4R1", "S4", "test", 3);
  const auto out = (dir / "all.h5").string();
  io::assemble_window_h5(parts, out, R"({"name":"generic"})");
  return out;
}

TEST(EmbeddingProbe, SubjectIdHoldsOutEachSubjectsLastRecording) {
  const auto dir = test::fresh_scratch_dir("embedding_probe_split");
  const auto ds = data::WindowDataset::open({make_dataset(dir)}, {});
  std::vector<int64_t> test_windows;
  for (int64_t w = 0; w < ds.size(); ++w) {
    if (ds.recording_of(w).split == "test") test_windows.push_back(w);
  }
  const auto split = eval::subject_id_split(ds, test_windows);
  EXPECT_EQ(split.subjects, (std::vector<std::string>{"S1", "S2", "S3"}));  // S4 has one recording
  ASSERT_EQ(split.subject_codes.size(), test_windows.size());
  EXPECT_EQ(split.train_rows.size(), 3u * 16);
  EXPECT_EQ(split.test_rows.size(), 3u * 16);
  for (const auto row : split.test_rows) {
    EXPECT_EQ(ds.recording_of(test_windows[row]).name.substr(2, 2), "R2") << ds.recording_of(test_windows[row]).name;
  }
  for (size_t i = 0; i < test_windows.size(); ++i) {
    EXPECT_EQ(split.subject_codes[i] == -1, ds.recording_of(test_windows[i]).subject == "S4");
  }
}

TEST(EmbeddingProbe, WholeProbeSeparatesWhatTheWindowsCarry) {
  const auto dir = test::fresh_scratch_dir("embedding_probe_run");
  const auto ds = data::WindowDataset::open({make_dataset(dir)}, {});
  torch::manual_seed(0);
  model::LuMamba net(model::LuMambaOptions().num_blocks(1));
  net->eval();
  eval::EmbeddingProbeOptions options;
  options.knn_k = 5;
  const auto report = eval::probe_embeddings(net, ds, options);
  EXPECT_EQ(report.n_train, 4 * 16);
  EXPECT_EQ(report.n_test, 7 * 16);
  EXPECT_EQ(report.subject_id_subjects, 3);
  EXPECT_EQ(report.band_power.dim, 6 * 5);
  EXPECT_EQ(report.embedding.dim, model::LuMambaOptions().d_model());
  // 6 vs 12 Hz is in the band powers (theta vs alpha), and each test subject's noise level (gains
  // 2, 4, 8: log powers 1.4 apart) is far outside the window-to-window spread of a band's log power.
  EXPECT_GE(report.band_power.task.windows.balanced_accuracy, 0.95);
  EXPECT_GE(report.band_power.knn_balanced_accuracy, 0.95);
  EXPECT_GE(report.band_power.subject_id_accuracy, 0.95);
  // Even a random encoder's embeddings are finite, not collapsed, and its plots are written.
  EXPECT_GT(report.embedding.effective_rank, 1.5);
  EXPECT_TRUE(std::isfinite(report.embedding.task.windows.balanced_accuracy));
  EXPECT_EQ(report.pca.scores.size(0), report.n_test);
  EXPECT_GT(report.pca.explained[0], report.pca.explained[1]);
  const auto json = nlohmann::json::parse(report.to_json());
  EXPECT_NEAR(json["subject_id"]["chance"].get<double>(), 1.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(json["band_power"]["subject_id_accuracy"].get<double>(), report.band_power.subject_id_accuracy);
  eval::write_embedding_plots(report, ds, (dir / "label.svg").string(), (dir / "subject.svg").string(), "test");
  std::ifstream by_subject(dir / "subject.svg");
  const std::string svg((std::istreambuf_iterator<char>(by_subject)), std::istreambuf_iterator<char>());
  for (const char* s : {"S1", "S2", "S3", "S4"}) EXPECT_NE(svg.find(std::string("data-name=\"") + s + "\""), std::string::npos) << s;
  EXPECT_NE(svg.find("chance 0.333"), std::string::npos);
}

TEST(EmbeddingProbe, WindowsWithoutTestSplitAreRefusedNamingTheSplits) {
  const auto dir = test::fresh_scratch_dir("embedding_probe_no_test");
  add_recording(dir / "a.h5", "T1", "train", 1, 1);
  const auto ds = data::WindowDataset::open({(dir / "a.h5").string()}, {});
  model::LuMamba net(model::LuMambaOptions().num_blocks(1));
  try {
    eval::probe_embeddings(net, ds, {});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("test (0)"), std::string::npos) << e.what();
  }
}

}  // namespace
