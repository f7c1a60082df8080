// Pretraining loop: resume after a stop gives the same weights as an uninterrupted run, the loss
// falls on a learnable signal, checkpoints load for inference and fine-tuning, config errors name
// the key. Tiny model (E 16, Q 2, 1 block, d_state 4, patch 8) on tiny HDF5 files made here (4
// and 6 channels, 64 samples per window).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "lumamba/core/error.h"
#include "lumamba/io/channels.h"
#include "lumamba/io/safetensors.h"
#include "lumamba/io/window_h5.h"
#include "lumamba/model/lumamba.h"
#include "lumamba/model/weights.h"
#include "lumamba/train/pretrain.h"
#include "support/scratch.h"

namespace lumamba::test {
namespace {
namespace fs = std::filesystem;

constexpr int64_t kSamples = 64;

// One recording of n windows. kind "noise": Gaussian µV; "toy": the same sinusoid on every channel
// with a random phase per window, plus a little noise (learnable: a masked patch of one channel
// shows on the channels left visible at that time).
std::string write_file(const fs::path& dir, const std::string& name, const std::vector<std::string>& channels,
                       int64_t n, const std::string& kind, uint64_t seed) {
  io::RecordingWindows r;
  r.channel_names = channels;
  for (const auto& p : io::channel_positions(channels)) r.channel_locations_m.push_back({p.x_m, p.y_m, p.z_m});
  r.source_file = name + ".edf";
  r.subject = "S1";
  r.split = "train";
  r.sfreq_hz = 256;
  r.n_windows = n;
  r.n_channels = static_cast<int64_t>(channels.size());
  r.n_samples = kSamples;
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> noise(0.f, 1.f);
  std::uniform_real_distribution<float> phase(0.f, 6.2831853f);
  for (int64_t w = 0; w < n; ++w) {
    const float ph = phase(rng);
    for (int64_t c = 0; c < r.n_channels; ++c) {
      const float freq = 0.3f;
      for (int64_t t = 0; t < kSamples; ++t) {
        const float x =
            kind == "toy" ? 40.f * std::sin(freq * static_cast<float>(t) + ph) + 2.f * noise(rng) : 20.f * noise(rng);
        r.signal_uv.push_back(x);
      }
    }
    r.labels.push_back(0);
    r.window_start_s.push_back(static_cast<double>(w * kSamples) / r.sfreq_hz);
  }
  const auto path = (dir / (name + ".h5")).string();
  io::write_recording_h5(path, r, io::StorageDType::kFloat32, R"({"preset":"test"})");
  return path;
}

const char* kTinyPreset = R"(
description: tiny test preset
data: ""
val_data: ""
layout: ""
model:
  patch_size: 8
  embed_dim: 16
  num_queries: 2
  num_heads: 2
  num_blocks: 1
  d_state: 4
objective:
  mode: mixed
  mask_ratio: 0.5
  unmasked_loss_coeff: 0.05
  query_spec_coeff: 0.8
  num_global_views: 2
  num_local_views: 2
  num_patches_global: 4
  num_patches_local: 2
  num_slices: 16
  lambda_lejepa: 0.002
  lejepa_scaling: 0.05
train:
  epochs: 2
  warmup_epochs: 1
  batch_size: 4
  max_steps: 0
  grad_clip: 1.0
  seed: 7
  validation: random
  val_fraction: 0.2
  log_every: 2
  val_every: 0
  checkpoint_every: 0
  max_val_batches: 0
optimizer:
  lr: 1.0e-3
  beta1: 0.9
  beta2: 0.999
  weight_decay: 0.01
schedule:
  warmup_lr_init: 1.0e-5
  lr_min: 1.0e-5
)";

train::FlatConfig tiny_config(const std::vector<std::string>& overrides) {
  auto flat = train::FlatConfig::from_yaml(kTinyPreset, "tiny.yaml");
  for (const auto& kv : overrides) flat.apply_override(kv, /*allow_new=*/false);
  return flat;
}

std::map<std::string, torch::Tensor> weights_of(const std::string& path) {
  const auto file = io::SafetensorsFile::open(path);
  model::LuMamba net(model::config_from_checkpoint(file));
  model::load_state_dict(*net, {&file});
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : net->named_parameters(true)) out[item.key()] = item.value().detach().clone();
  return out;
}

std::vector<nlohmann::json> read_metrics(const fs::path& dir) {
  std::ifstream in(dir / "metrics.jsonl");
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

class PretrainTest : public ::testing::Test {
 protected:
  void SetUp() override { at::set_num_threads(1); }
};

TEST_F(PretrainTest, ResumedRunEqualsUninterruptedRun) {
  const auto dir = fresh_scratch_dir("pretrain_resume");
  const auto a = write_file(dir, "four", {"FP1", "FP2", "C3", "C4"}, 20, "noise", 1);
  const auto b = write_file(dir, "six", {"FP1", "FP2", "C3", "C4", "O1", "O2"}, 15, "noise", 2);
  const std::string data = "data=" + a + "," + b;

  // Uninterrupted: 2 epochs.
  auto flat = tiny_config({data});
  const auto config = train::pretrain_config(flat);
  const auto straight = train::run_pretrain(config, flat, (dir / "straight").string(), false);
  // 16 + 12 windows after the 20 % split → 4 + 3 batches of 4 per epoch.
  ASSERT_EQ(straight.steps, 14);
  EXPECT_EQ(straight.epochs_completed, 2);

  // Stopped mid-epoch after 5 steps, then resumed to the end.
  auto flat_stop = tiny_config({data, "train.max_steps=5"});
  const auto stopped =
      train::run_pretrain(train::pretrain_config(flat_stop), flat_stop, (dir / "resumed").string(), false);
  ASSERT_EQ(stopped.steps, 5);
  // Another stop exactly at the epoch boundary on the way.
  auto flat_stop2 = tiny_config({data, "train.max_steps=7"});
  ASSERT_EQ(train::run_pretrain(train::pretrain_config(flat_stop2), flat_stop2, (dir / "resumed").string(), true).steps,
            7);
  const auto resumed = train::run_pretrain(config, flat, (dir / "resumed").string(), true);
  ASSERT_EQ(resumed.steps, 14);

  const auto w1 = weights_of(straight.last_checkpoint), w2 = weights_of(resumed.last_checkpoint);
  ASSERT_EQ(w1.size(), w2.size());
  for (const auto& [name, t] : w1) EXPECT_TRUE(torch::equal(t, w2.at(name))) << name;
  EXPECT_DOUBLE_EQ(straight.best_val_loss, resumed.best_val_loss);
  const auto b1 = weights_of(straight.best_checkpoint), b2 = weights_of(resumed.best_checkpoint);
  for (const auto& [name, t] : b1) EXPECT_TRUE(torch::equal(t, b2.at(name))) << name;

  // The epoch lines of the resumed run equal the uninterrupted run's (throughput aside). Its
  // "train" lines differ: a stop writes one for the steps since the last line.
  std::vector<nlohmann::json> e1, e2;
  for (const auto& j : read_metrics(dir / "straight"))
    if (j["kind"] == "epoch") e1.push_back(j);
  for (const auto& j : read_metrics(dir / "resumed"))
    if (j["kind"] == "epoch") e2.push_back(j);
  ASSERT_EQ(e1.size(), e2.size());
  for (size_t i = 0; i < e1.size(); ++i) {
    EXPECT_EQ(e1[i]["step"], e2[i]["step"]) << i;
    EXPECT_EQ(e1[i]["val_loss"], e2[i]["val_loss"]) << i;
    EXPECT_EQ(e1[i]["best"], e2[i]["best"]) << i;
    // Epoch 1 was stopped after 5 of its 7 steps: its summary still covers all 7.
    EXPECT_EQ(e1[i]["train_steps"], e2[i]["train_steps"]) << i;
    EXPECT_DOUBLE_EQ(e1[i]["train_loss"].get<double>(), e2[i]["train_loss"].get<double>()) << i;
  }
  const auto m1 = read_metrics(dir / "straight");
  // Epoch lines carry both channel groups' validation and the zero-prediction baseline.
  int n_epoch_lines = 0;
  for (const auto& j : m1) {
    if (j["kind"] != "epoch") continue;
    ++n_epoch_lines;
    EXPECT_TRUE(j.contains("val_rec_masked") && j.contains("val_zero_rec_masked") && j.contains("val_sigreg"));
    EXPECT_EQ(j["val_windows"], 4 + 3);
  }
  EXPECT_EQ(n_epoch_lines, 2);
  EXPECT_TRUE(fs::exists(dir / "straight" / "config.yaml"));
  EXPECT_TRUE(fs::exists(dir / "straight" / "checkpoints" / "training_state.pt"));
  fs::remove_all(dir);
}

TEST_F(PretrainTest, CheckpointsLoadForInferenceAndFineTuning) {
  const auto dir = fresh_scratch_dir("pretrain_ckpt");
  const auto a = write_file(dir, "four", {"FP1", "FP2", "C3", "C4"}, 10, "noise", 3);
  auto flat = tiny_config({"data=" + a, "objective.mode=reconstruction", "train.epochs=1", "train.warmup_epochs=0"});
  const auto result = train::run_pretrain(train::pretrain_config(flat), flat, (dir / "out").string(), false);
  ASSERT_TRUE(result.has_best);
  const auto file = io::SafetensorsFile::open(result.best_checkpoint);
  ASSERT_TRUE(model::has_config(file));
  const auto options = model::config_from_checkpoint(file);
  EXPECT_EQ(options.embed_dim(), 16);
  EXPECT_EQ(options.patch_size(), 8);
  EXPECT_EQ(options.num_classes(), 0);
  EXPECT_NE(file.metadata().at(model::kMetaPreprocess).find("test"), std::string::npos);
  EXPECT_NE(file.metadata().at("lumamba.pretrain").find("reconstruction"), std::string::npos);
  // Fine-tuning: encoder from the checkpoint, fresh classifier head.
  auto head_options = options;
  head_options.num_classes(2).classifier_option("linear");
  model::LuMamba classifier(head_options);
  const auto report = model::load_state_dict(*classifier, {&file}, model::LoadMode::kEncoderOnly);
  EXPECT_FALSE(report.loaded.empty());
  EXPECT_FALSE(report.fresh.empty());
  fs::remove_all(dir);
}

TEST_F(PretrainTest, ReconstructionLossFallsOnALearnableSignal) {
  const auto dir = fresh_scratch_dir("pretrain_learn");
  const auto a = write_file(dir, "four", {"FP1", "FP2", "C3", "C4"}, 40, "toy", 4);
  const auto b = write_file(dir, "six", {"FP1", "FP2", "C3", "C4", "O1", "O2"}, 40, "toy", 5);
  auto flat = tiny_config({"data=" + a + "," + b, "objective.mode=reconstruction", "train.epochs=12",
                           "train.warmup_epochs=1", "train.batch_size=8", "optimizer.lr=3e-3"});
  const auto result = train::run_pretrain(train::pretrain_config(flat), flat, (dir / "out").string(), false);
  std::vector<nlohmann::json> epochs;
  for (const auto& j : read_metrics(dir / "out")) {
    if (j["kind"] == "epoch") epochs.push_back(j);
  }
  ASSERT_EQ(epochs.size(), 12u);
  const double first = epochs.front()["val_rec_masked"], last = epochs.back()["val_rec_masked"];
  const double zeros = epochs.back()["val_zero_rec_masked"];
  EXPECT_LT(last, 0.3 * first) << "first " << first << ", last " << last;
  EXPECT_LT(last, 0.3 * zeros) << "zero prediction " << zeros << ", last " << last;
  EXPECT_LT(result.best_val_loss, epochs.front()["val_loss"].get<double>());
  fs::remove_all(dir);
}

void expect_error_naming(const std::vector<std::string>& overrides, const std::string& key) {
  try {
    auto flat = tiny_config({});
    for (const auto& kv : overrides) flat.apply_override(kv, /*allow_new=*/true);
    flat.set("data", "x.h5");
    (void)train::pretrain_config(flat);
    ADD_FAILURE() << "no error for " << overrides.front();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
  }
}

TEST(PretrainConfig, ErrorsNameTheKey) {
  expect_error_naming({"train.batch_size=0"}, "train.batch_size");
  expect_error_naming({"train.epochs=many"}, "train.epochs");
  expect_error_naming({"train.warmup_epochs=5"}, "train.warmup_epochs");
  expect_error_naming({"train.validation=half"}, "train.validation");
  expect_error_naming({"objective.mode=contrastive"}, "objective.mode");
  expect_error_naming({"objective.mask_ratio=1.5"}, "objective.mask_ratio");
  expect_error_naming({"objective.lambda_lejepa=-1"}, "objective.lambda_lejepa");
  expect_error_naming({"optimizer.beta2=1.5"}, "optimizer.beta2");
  expect_error_naming({"model.num_classes=2"}, "model.num_classes");
  expect_error_naming({"model.embed_dims=8"}, "embed_dims");
  expect_error_naming({"train.bacth_size=8"}, "train.bacth_size");
  // Unknown keys on the command line are caught by the preset's key list too.
  auto flat = tiny_config({});
  EXPECT_THROW(flat.apply_override("train.nope=1", /*allow_new=*/false), InputError);
}

TEST(PretrainConfig, CropsLongerThanTheWindowAreRejectedBeforeTraining) {
  const auto dir = fresh_scratch_dir("pretrain_crops");
  const auto a = write_file(dir, "four", {"FP1", "FP2", "C3", "C4"}, 10, "noise", 6);
  auto flat = tiny_config({"data=" + a, "objective.num_patches_global=16"});
  try {
    train::run_pretrain(train::pretrain_config(flat), flat, (dir / "out").string(), false);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("objective.num_patches_global"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(PretrainConfig, PresetsAreComplete) {
  for (const std::string mode : {"reconstruction", "lejepa", "mixed"}) {
    const auto path = std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/../../configs/pretrain/" + mode + ".yaml";
    std::ifstream in(path);
    ASSERT_TRUE(in.good()) << path;
    std::stringstream text;
    text << in.rdbuf();
    auto flat = train::FlatConfig::from_yaml(text.str(), path);
    flat.apply_override("data=x.h5", false);
    flat.apply_override("out=o", true);
    flat.get_string("out", "");
    const auto c = train::pretrain_config(flat);  // every key read, none unknown
    EXPECT_EQ(c.objective.mode(), mode);
    EXPECT_DOUBLE_EQ(c.optimizer.lr, 1.25e-4);
    EXPECT_DOUBLE_EQ(c.schedule.warmup_lr_init, 2.5e-7);
    EXPECT_DOUBLE_EQ(c.schedule.lr_min, 2.5e-7);
    EXPECT_DOUBLE_EQ(c.grad_clip, 1.0);
  }
}

TEST(PretrainSplit, RandomSplitIsPerFileAndSeeded) {
  const auto dir = fresh_scratch_dir("pretrain_split");
  const auto a = write_file(dir, "four", {"FP1", "FP2", "C3", "C4"}, 20, "noise", 7);
  const auto b = write_file(dir, "six", {"FP1", "FP2", "C3", "C4", "O1", "O2"}, 10, "noise", 8);
  const auto ds = data::WindowDataset::open({a, b}, {});
  auto flat = tiny_config({"data=" + a + "," + b});
  const auto c = train::pretrain_config(flat);
  const auto s1 = train::split_pretrain_windows(ds, c), s2 = train::split_pretrain_windows(ds, c);
  EXPECT_EQ(s1.how, "random");
  EXPECT_EQ(s1.val, s2.val);
  int64_t val_a = 0, val_b = 0;
  for (const int64_t w : s1.val) (ds.recording_of(w).n_channels == 4 ? val_a : val_b)++;
  EXPECT_EQ(val_a, 4);
  EXPECT_EQ(val_b, 2);
  EXPECT_EQ(s1.train.size() + s1.val.size(), 30u);
  fs::remove_all(dir);
}

// Regression: the patch embedding's gradients are right (LibTorch 1.13's gelu_backward misreads a
// channels-last grad_output; before the fix in PatchEmbedNetworkImpl::forward they were inf and
// training did not learn). Directional derivatives against central differences, float64.
TEST(PatchEmbedGradient, MatchesFiniteDifferences) {
  torch::manual_seed(3);
  for (const int64_t patch : {int64_t{8}, int64_t{40}}) {
    model::PatchEmbedNetwork net(16, patch);
    net->to(torch::kFloat64);
    auto x = torch::randn({2, 3, 4 * patch}, torch::kFloat64).requires_grad_(true);
    {  // the forward values are those of the plain Sequential (GELU is element-wise)
      torch::NoGradGuard no_grad;
      const auto plain =
          net->proj_in->forward(x.reshape({2, 1, 3 * 4, patch})).permute({0, 2, 3, 1}).reshape({2, 12, -1});
      EXPECT_TRUE(torch::equal(net->forward(x), plain));
    }
    const auto r = torch::randn_like(net->forward(x));
    const auto loss_of = [&](const torch::Tensor& input) { return (net->forward(input) * r).sum(); };
    net->zero_grad();
    loss_of(x).backward();
    const auto dx = torch::randn_like(x);
    const double eps = 1e-6;
    torch::NoGradGuard no_grad;
    const double numeric = (loss_of(x + eps * dx) - loss_of(x - eps * dx)).item<double>() / (2 * eps);
    const double analytic = (x.grad() * dx).sum().item<double>();
    EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << "P " << patch;
    for (const auto& item : net->named_parameters(true)) {
      auto& w = item.value();
      ASSERT_TRUE(torch::isfinite(w.grad()).all().item<bool>()) << item.key();
      const auto dw = torch::randn_like(w);
      const auto w0 = w.detach().clone();
      w.detach().copy_(w0 + eps * dw);
      const double up = loss_of(x).item<double>();
      w.detach().copy_(w0 - eps * dw);
      const double down = loss_of(x).item<double>();
      w.detach().copy_(w0);
      const double num_w = (up - down) / (2 * eps), ana_w = (w.grad() * dw).sum().item<double>();
      EXPECT_NEAR(ana_w, num_w, 1e-6 * std::max(1.0, std::abs(num_w))) << "P " << patch << " " << item.key();
    }
  }
}

}  // namespace
}  // namespace lumamba::test
