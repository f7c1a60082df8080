// Fine-tuning end to end on tiny HDF5 files: outputs, exact resume, checkpoint → evaluate/embed,
// config errors, and that a tiny model learns a separable toy task (sine bursts vs noise).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "lumamba/core/error.h"
#include "lumamba/data/window_dataset.h"
#include "lumamba/eval/inference.h"
#include "lumamba/io/channels.h"
#include "lumamba/io/safetensors.h"
#include "lumamba/io/window_h5.h"
#include "lumamba/model/weights.h"
#include "lumamba/preprocess/dataset_builder.h"
#include "lumamba/preprocess/preset.h"
#include "lumamba/train/finetune.h"
#include "lumamba/train/optim.h"
#include "support/scratch.h"

namespace {
namespace fs = std::filesystem;
using namespace lumamba;
using lumamba::test::fresh_scratch_dir;

constexpr int64_t kSamples = 160;  // 4 patches of 40

// One recording: label 1 windows carry a 12 Hz sine burst on every channel, label 0 windows noise.
// per_channel: channel c of window w carries the sine when (w + c) % 2 == 1, y = (N, C) 0/1 labels.
void add_recording(const fs::path& path, const std::vector<std::string>& channels, const std::string& split, int64_t n,
                   uint32_t seed, bool per_channel = false, int64_t nan_window = -1) {
  io::RecordingWindows r;
  r.channel_names = channels;
  for (const auto& p : io::channel_positions(channels)) r.channel_locations_m.push_back({p.x_m, p.y_m, p.z_m});
  r.source_file = path.stem().string() + ".edf";
  r.subject = path.stem().string();
  r.split = split;
  r.sfreq_hz = 256;
  r.n_windows = n;
  r.n_channels = static_cast<int64_t>(channels.size());
  r.n_samples = kSamples;
  r.n_label_columns = per_channel ? r.n_channels : 0;
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, 10.f);
  for (int64_t w = 0; w < n; ++w) {
    const int64_t label = w % 2;
    for (int64_t c = 0; c < r.n_channels; ++c) {
      const bool on = per_channel ? (w + c) % 2 == 1 : label == 1;
      if (per_channel) r.multi_labels.push_back(on ? 1 : 0);
      for (int64_t t = 0; t < kSamples; ++t) {
        const float sine = on ? 30.f * std::sin(2.f * 3.14159265f * 12.f * static_cast<float>(t) / 256.f) : 0.f;
        r.signal_uv.push_back(sine + noise(rng));
      }
    }
    if (w == nan_window) r.signal_uv[r.signal_uv.size() - 7] = std::numeric_limits<float>::quiet_NaN();
    if (!per_channel) r.labels.push_back(label);
    r.window_start_s.push_back(static_cast<double>(w * kSamples) / 256.0);
  }
  io::write_recording_h5(path.string(), r, io::StorageDType::kFloat32, R"({"name":"generic"})");
}

// Three files (train 4 channels, train 6 channels, test 4 channels) assembled into one dataset.
std::string make_dataset(const fs::path& dir) {
  const std::vector<std::string> c4{"FP1", "FP2", "O1", "O2"}, c6{"FP1", "FP2", "C3", "C4", "O1", "O2"};
  add_recording(dir / "a.h5", c4, "train", 24, 1);
  add_recording(dir / "b.h5", c6, "train", 16, 2);
  add_recording(dir / "c.h5", c4, "test", 12, 3);
  const auto out = (dir / "all.h5").string();
  io::assemble_window_h5({(dir / "a.h5").string(), (dir / "b.h5").string(), (dir / "c.h5").string()}, out,
                         R"({"name":"generic"})");
  return out;
}

train::FlatConfig tiny_config(const std::string& data, int64_t epochs) {
  auto flat = train::FlatConfig::from_yaml(R"(
task: toy
target: multiclass
class_names: [noise, sine]
data: ""
val_fraction: 0.2
model: {classifier_option: linear, num_classes: 2, embed_dim: 16, num_queries: 2, num_blocks: 1, d_state: 4}
train: {mode: full, epochs: 3, warmup_epochs: 1, batch_size: 8, eval_batch_size: 16, patience: 50, seed: 5}
optimizer: {lr: 3.0e-3, weight_decay: 0.01, layer_decay: 0.75}
schedule: {warmup_lr_init: 1.0e-5, lr_min: 1.0e-5}
)",
                                           "tiny.yaml");
  flat.apply_override("data=" + data);
  flat.apply_override("train.epochs=" + std::to_string(epochs));
  return flat;
}

std::vector<torch::Tensor> weights_of(const std::string& checkpoint) {
  const auto loaded = eval::load_model({checkpoint});
  std::vector<torch::Tensor> out;
  for (const auto& p : loaded.net->parameters()) out.push_back(p.detach().clone());
  return out;
}

TEST(FlatConfigList, BracketedOverrideIsTheSameListAsAYamlSequence) {
  auto flat = train::FlatConfig::from_yaml("class_names: [eyes_open, eyes_closed]\n", "test.yaml");
  EXPECT_EQ(flat.get_list("class_names"), (std::vector<std::string>{"eyes_open", "eyes_closed"}));
  flat.apply_override("class_names=[open, closed ]");
  EXPECT_EQ(flat.get_list("class_names"), (std::vector<std::string>{"open", "closed"}));
  flat.apply_override("class_names=a,b");
  EXPECT_EQ(flat.get_list("class_names"), (std::vector<std::string>{"a", "b"}));
  flat.apply_override("class_names=[]");
  EXPECT_TRUE(flat.get_list("class_names").empty());
}

TEST(Finetune, ResumeEqualsStraightRunAndWritesOutputs) {
  at::set_num_threads(1);
  const auto dir = fresh_scratch_dir("finetune_resume");
  const auto data = make_dataset(dir);

  const auto straight_flat = tiny_config(data, 3);
  const auto straight =
      train::run_finetune(train::finetune_config(straight_flat), straight_flat, (dir / "straight").string(), false);
  EXPECT_EQ(straight.epochs_run, 3);
  ASSERT_TRUE(straight.has_test);
  EXPECT_EQ(straight.test.windows.n_samples, 12);

  // A 3-epoch run stopped after its first epoch (as if killed), then resumed.
  const auto partial_dir = dir / "partial";
  {
    auto flat = tiny_config(data, 3);
    auto config = train::finetune_config(flat);
    config.stop_after_epochs = 1;
    train::run_finetune(config, flat, partial_dir.string(), false);
  }
  {
    auto flat = tiny_config(data, 3);
    train::run_finetune(train::finetune_config(flat), flat, partial_dir.string(), true);
  }
  const auto a = weights_of((dir / "straight/checkpoints/last.safetensors").string());
  const auto b = weights_of((partial_dir / "checkpoints/last.safetensors").string());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;

  // metrics.jsonl: one line per epoch, also after the resume.
  std::ifstream in(partial_dir / "metrics.jsonl");
  std::string line;
  int64_t lines = 0;
  while (std::getline(in, line)) {
    if (!line.empty()) {
      EXPECT_EQ(nlohmann::json::parse(line)["epoch"].get<int64_t>(), ++lines);
    }
  }
  EXPECT_EQ(lines, 3);
  for (const char* f : {"config.yaml", "test_metrics.json", "test_predictions.csv", "checkpoints/best.safetensors",
                        "checkpoints/training_state.pt"}) {
    EXPECT_TRUE(fs::exists(dir / "straight" / f)) << f;
  }
}

// A checkpoint is three renames: training state, last, best. A kill -9 between two of them leaves
// last/best from the epoch before (or none); the resumed run must rebuild them and end exactly where
// an uninterrupted run ends. The old layout (weights and state as two separate commits) continued
// with mismatched weights and optimiser state, or could never finish for want of best.safetensors.
TEST(Finetune, KillBetweenCheckpointWritesResumesToTheStraightRun) {
  at::set_num_threads(1);
  const auto dir = fresh_scratch_dir("finetune_kill_between_writes");
  const auto data = make_dataset(dir);
  const auto straight_flat = tiny_config(data, 3);
  train::run_finetune(train::finetune_config(straight_flat), straight_flat, (dir / "straight").string(), false);
  const auto straight = weights_of((dir / "straight/checkpoints/last.safetensors").string());

  // Checkpoints after epoch 1 (saved aside) and after epoch 2.
  const auto run = dir / "run";
  const auto run_epochs = [&](bool resume) {
    auto flat = tiny_config(data, 3);
    auto config = train::finetune_config(flat);
    config.stop_after_epochs = 1;
    train::run_finetune(config, flat, run.string(), resume);
  };
  run_epochs(false);
  fs::copy(run / "checkpoints", dir / "epoch1");
  run_epochs(true);
  // The toy task improves in epoch 2 (seeded), so best.safetensors is rewritten by the epoch-2 checkpoint.
  std::vector<nlohmann::json> lines;
  {
    std::ifstream in(run / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(lines.size(), 2u);
  ASSERT_TRUE(lines[1]["best"].get<bool>());
  const int64_t step2 = lines[1]["step"].get<int64_t>();
  fs::copy(run, dir / "epoch2", fs::copy_options::recursive);

  struct Crash {
    const char* name;
    bool old_last, old_best;
  };
  // Killed after the state's rename (last and best from epoch 1); after last's (best from epoch 1).
  for (const Crash crash : {Crash{"before_last", true, true}, Crash{"before_best", false, true}}) {
    SCOPED_TRACE(crash.name);
    const auto case_dir = dir / crash.name;
    fs::copy(dir / "epoch2", case_dir, fs::copy_options::recursive);
    for (const auto& [old, file] : {std::pair{crash.old_last, "last.safetensors"}, {crash.old_best, "best.safetensors"}}) {
      if (old) fs::copy_file(dir / "epoch1" / file, case_dir / "checkpoints" / file, fs::copy_options::overwrite_existing);
    }
    // Resuming rebuilds the stale files from the training state before training on.
    {
      auto flat = tiny_config(data, 2);  // nothing left to train: only the repair runs
      train::run_finetune(train::finetune_config(flat), flat, case_dir.string(), true, /*force=*/true);
    }
    for (const char* file : {"last.safetensors", "best.safetensors"}) {
      const auto f = io::SafetensorsFile::open((case_dir / "checkpoints" / file).string());
      EXPECT_EQ(f.metadata().at(train::kMetaTrainingStep), std::to_string(step2)) << file;
      const auto a = weights_of((case_dir / "checkpoints" / file).string());
      const auto b = weights_of((dir / "epoch2" / "checkpoints" / file).string());
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << file << " parameter " << i;
    }
    // And the run then ends exactly where the uninterrupted one ends (--force: the repair-only
    // resume above recorded train.epochs=2 as the run's config).
    auto flat = tiny_config(data, 3);
    train::run_finetune(train::finetune_config(flat), flat, case_dir.string(), true, /*force=*/true);
    const auto resumed = weights_of((case_dir / "checkpoints/last.safetensors").string());
    ASSERT_EQ(resumed.size(), straight.size());
    for (size_t i = 0; i < resumed.size(); ++i) EXPECT_TRUE(torch::equal(resumed[i], straight[i])) << "parameter " << i;
  }

  // A best checkpoint from an earlier step that is gone cannot be rebuilt: a clear refusal.
  const auto lost = dir / "lost_best";
  fs::copy(dir / "epoch2", lost, fs::copy_options::recursive);
  {
    auto flat = tiny_config(data, 3);
    auto config = train::finetune_config(flat);
    config.stop_after_epochs = 1;
    train::run_finetune(config, flat, lost.string(), true);  // epoch 3
  }
  std::vector<nlohmann::json> lost_lines;
  {
    std::ifstream in(lost / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) lost_lines.push_back(nlohmann::json::parse(line));
  }
  fs::remove(lost / "checkpoints" / "best.safetensors");
  auto flat = tiny_config(data, 3);
  if (lost_lines.back()["best"].get<bool>()) {
    // Best at the resumed step: rebuilt.
    EXPECT_NO_THROW(train::run_finetune(train::finetune_config(flat), flat, lost.string(), true));
    EXPECT_TRUE(fs::exists(lost / "checkpoints" / "best.safetensors"));
  } else {
    try {
      train::run_finetune(train::finetune_config(flat), flat, lost.string(), true);
      ADD_FAILURE() << "a lost best checkpoint was not noticed";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("best.safetensors"), std::string::npos) << e.what();
    }
  }
}

// One NaN sample made fine-tuning "succeed" with NaN losses and NaN checkpoints.
TEST(Finetune, NonFiniteWindowStopsTheRunNamingFileAndWindow) {
  at::set_num_threads(1);
  const auto dir = fresh_scratch_dir("finetune_nan_window");
  const std::vector<std::string> c4{"FP1", "FP2", "O1", "O2"};
  add_recording(dir / "a.h5", c4, "train", 24, 1);
  add_recording(dir / "b.h5", c4, "train", 16, 2, false, /*nan_window=*/5);
  const auto data = (dir / "all.h5").string();
  io::assemble_window_h5({(dir / "a.h5").string(), (dir / "b.h5").string()}, data, R"({"name":"generic"})");
  auto flat = tiny_config(data, 2);
  try {
    train::run_finetune(train::finetune_config(flat), flat, (dir / "run").string(), false);
    ADD_FAILURE() << "a NaN window was trained on";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    for (const char* needle : {"all.h5", "b.edf", "window row 5", "1 non-finite"}) {
      EXPECT_NE(msg.find(needle), std::string::npos) << needle << " not in: " << msg;
    }
  }
  EXPECT_FALSE(fs::exists(dir / "run" / "checkpoints" / "last.safetensors"));
}

// A folder with a run was overwritten without --resume, and --resume under a changed batch size
// silently changed the schedule.
TEST(Finetune, ExistingRunIsNeitherOverwrittenNorResumedUnderAnotherConfig) {
  at::set_num_threads(1);
  const auto dir = fresh_scratch_dir("finetune_existing_run");
  const auto data = make_dataset(dir);
  const auto run = (dir / "run").string();
  auto flat = tiny_config(data, 2);
  auto config = train::finetune_config(flat);
  config.stop_after_epochs = 1;
  train::run_finetune(config, flat, run, false);
  const auto expect_refusal = [&](const std::function<void()>& fn, const std::string& needle) {
    try {
      fn();
      ADD_FAILURE() << "not refused: " << needle;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_refusal([&] { train::run_finetune(config, flat, run, false); }, "--resume continues it");
  auto changed = tiny_config(data, 2);
  changed.apply_override("train.batch_size=4");
  expect_refusal([&] { train::run_finetune(train::finetune_config(changed), changed, run, true); },
                 "train.batch_size: 8 -> 4");
  // With the run's own config it resumes; --force starts over.
  EXPECT_EQ(train::run_finetune(train::finetune_config(flat), flat, run, true).epochs_run, 1);
  EXPECT_EQ(train::run_finetune(train::finetune_config(changed), changed, run, false, /*force=*/true).epochs_run, 2);
}

TEST(Finetune, MaxStepsEndsTheRunInsideAnEpochAndTheScheduleWithIt) {
  at::set_num_threads(1);
  const auto dir = fresh_scratch_dir("finetune_max_steps");
  const auto data = make_dataset(dir);
  auto flat = tiny_config(data, 5);
  flat.apply_override("train.max_steps=6", /*allow_new=*/true);
  const auto config = train::finetune_config(flat);
  const auto result = train::run_finetune(config, flat, (dir / "run").string(), false);
  EXPECT_EQ(result.steps, 6);
  std::ifstream in(dir / "run" / "metrics.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  ASSERT_GE(lines.size(), 2u);  // more than one epoch of batches: the budget ends inside a later epoch
  EXPECT_EQ(lines.back()["step"], 6);
  EXPECT_EQ(static_cast<int64_t>(lines.size()), result.epochs_run);
  EXPECT_LT(lines.front()["step"].get<int64_t>(), 6);
  // The cosine schedule spans the 6 steps: the last step's lr is near lr_min, far below lr 3e-3.
  EXPECT_LT(lines.back()["lr"].get<double>(), 3e-4);
  EXPECT_TRUE(result.has_test);
  flat.apply_override("train.max_steps=-1");
  EXPECT_THROW(train::finetune_config(flat), InputError);
}

// Few-shot: train.subject_fraction keeps whole training subjects (here a: 24 windows, b: 16), then
// the validation windows are carved from what is left (val_fraction 0.2: this dataset has no val split).
TEST(Finetune, SubjectFractionTrainsOnWholeSubjectsOnly) {
  at::set_num_threads(1);
  const auto dir = fresh_scratch_dir("finetune_subject_fraction");
  const auto data = make_dataset(dir);
  auto full = tiny_config(data, 1);
  EXPECT_EQ(train::run_finetune(train::finetune_config(full), full, (dir / "full").string(), false).train_windows,
            40 - 8);
  auto half = tiny_config(data, 1);
  half.apply_override("train.subject_fraction=0.5", /*allow_new=*/true);
  const auto result = train::run_finetune(train::finetune_config(half), half, (dir / "half").string(), false);
  EXPECT_TRUE(result.train_windows == 24 - 5 || result.train_windows == 16 - 3) << result.train_windows;
  for (const char* bad : {"train.subject_fraction=0", "train.subject_fraction=1.5"}) {
    half.apply_override(bad);
    EXPECT_THROW(train::finetune_config(half), InputError) << bad;
  }
}

TEST(Finetune, LearnsSeparableToyTaskAndCheckpointEvaluatesTheSame) {
  at::set_num_threads(1);
  const auto dir = fresh_scratch_dir("finetune_learn");
  const auto data = make_dataset(dir);
  auto flat = tiny_config(data, 8);
  const auto result = train::run_finetune(train::finetune_config(flat), flat, (dir / "run").string(), false);
  ASSERT_TRUE(result.has_test);
  EXPECT_GE(result.test.windows.balanced_accuracy, 0.9);
  EXPECT_GE(result.test.windows.auroc, 0.95);

  // The best checkpoint carries config, task and preprocessing; evaluating it reproduces the test metrics.
  const auto loaded = eval::load_model({result.best_checkpoint});
  EXPECT_TRUE(loaded.has_task);
  EXPECT_EQ(loaded.task.class_names, (std::vector<std::string>{"noise", "sine"}));
  EXPECT_NE(loaded.preprocess_json.find("generic"), std::string::npos);
  data::DatasetOptions options;
  options.splits = {"test"};
  const auto ds = data::WindowDataset::open({data}, options);
  const auto windows = eval::all_windows(ds);
  auto net = loaded.net;
  const auto probs = eval::predict_windows(net, ds, windows, loaded.task, 5, false);
  const auto report = eval::evaluate_predictions(ds, windows, probs, 2);
  EXPECT_DOUBLE_EQ(report.windows.auroc, result.test.windows.auroc);
  EXPECT_EQ(report.n_recordings, 1);

  // Embeddings: (N, Q·E) = mean over patches of the encoder output.
  const auto emb = eval::embed_windows(net, ds, windows, 4, false);
  EXPECT_EQ(emb.size(), windows.size() * 32);
}

// The ln 2 plateau (docs/training.md): a model trained from scratch must fit real EEG windows.
// 30 event-locked windows of S001R03 (rest vs real movement, bundled PhysioNet data), trained and
// scored on the same windows: the training loss (eval mode) must fall far below ln 2 = 0.693.
double fitted_training_loss(const std::string& data, const fs::path& out, const std::string& head_norm) {
  auto flat = train::FlatConfig::from_yaml(R"(
task: movement
target: multiclass
class_names: [rest, movement]
data: ""
test_data: ""
val_fraction: 0
model: {classifier_option: mamba, num_classes: 2, embed_dim: 16, num_queries: 2, num_blocks: 1, d_state: 4,
        mamba_head_dim: 32}
train: {mode: full, epochs: 30, warmup_epochs: 0, batch_size: 8, eval_batch_size: 32, patience: 0, seed: 3}
optimizer: {lr: 3.0e-3, weight_decay: 0.05, layer_decay: 1.0}
schedule: {warmup_lr_init: 1.0e-6, lr_min: 1.0e-6}
)",
                                           "fit_real.yaml");
  flat.apply_override("data=" + data);
  flat.apply_override("test_data=" + data);
  flat.apply_override("model.head_norm=" + head_norm, /*allow_new=*/true);
  const auto result = train::run_finetune(train::finetune_config(flat), flat, out.string(), false);
  EXPECT_TRUE(result.has_test);
  // Cross-entropy of the scored windows (eval mode, the best = last-improving checkpoint).
  std::ifstream in(out / "test_predictions.csv");
  std::string line;
  std::getline(in, line);  // header: recording,window_start_s,label,predicted,p_0,p_1
  double loss = 0;
  int n = 0;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::vector<std::string> cells;
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    const int label = std::stoi(cells.at(2));
    loss -= std::log(std::max(1e-12, std::stod(cells.at(4 + static_cast<size_t>(label)))));
    ++n;
  }
  EXPECT_EQ(n, 30);
  return loss / std::max(1, n);
}

TEST(Finetune, FitsRealEegWindowsFromScratch) {
  at::set_num_threads(1);
  torch::set_num_threads(2);
  const auto dir = fresh_scratch_dir("finetune_fit_real");
  const auto preset = preprocess::builtin_preset("events");
  preprocess::RecordingJob job;
  job.path = (fs::path(LUMAMBA_TEST_FIXTURES_DIR) / ".." / ".." / "data" / "eegmmidb_S001" / "S001R03.edf").string();
  job.subject = "S001";
  job.split = "train";
  preprocess::BuildOptions build;
  build.output_path = (dir / "r03.h5").string();
  build.show_progress = false;
  const auto summary = preprocess::build_window_dataset({job}, preset, build);
  ASSERT_EQ(summary.n_windows, 30);

  const double with_norm = fitted_training_loss(build.output_path, dir / "batch", "batch");
  EXPECT_LT(with_norm, 0.3);
}

TEST(Finetune, MultiLabelPerChannelTargets) {
  at::set_num_threads(1);
  const auto dir = fresh_scratch_dir("finetune_multilabel");
  const std::vector<std::string> c4{"FP1", "FP2", "O1", "O2"};
  add_recording(dir / "a.h5", c4, "train", 32, 11, true);
  add_recording(dir / "t.h5", c4, "test", 12, 12, true);
  const auto data = (dir / "all.h5").string();
  io::assemble_window_h5({(dir / "a.h5").string(), (dir / "t.h5").string()}, data, R"({"name":"generic"})");
  auto flat = tiny_config(data, 6);
  flat.apply_override("target=multilabel");
  flat.apply_override("model.num_classes=4");
  flat.apply_override("class_names=");
  flat.apply_override("model.head_norm=batch", /*allow_new=*/true);  // without it the toy stays at chance
  const auto result = train::run_finetune(train::finetune_config(flat), flat, (dir / "run").string(), false);
  ASSERT_TRUE(result.has_test);
  ASSERT_TRUE(result.test.multilabel);
  EXPECT_EQ(result.test.multilabel_windows.n_labels, 4);
  EXPECT_EQ(result.test.multilabel_windows.n_samples, 12);
  EXPECT_GE(result.test.multilabel_windows.auroc_macro, 0.9);  // measured 1.0 with head_norm, 0.49 without
  // Multiclass on per-channel labels is refused with a hint.
  auto wrong = tiny_config(data, 1);
  EXPECT_THROW(train::run_finetune(train::finetune_config(wrong), wrong, (dir / "wrong").string(), false), InputError);
}

TEST(Finetune, ConfigErrorsNameTheKey) {
  auto flat = tiny_config("x.h5", 1);
  flat.apply_override("train.epoch=3", true);  // typo
  try {
    train::finetune_config(flat);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("train.epoch"), std::string::npos) << e.what();
  }
  auto bad = tiny_config("x.h5", 1);
  bad.apply_override("train.mode=frozen");
  EXPECT_THROW(train::finetune_config(bad), InputError);
  auto missing = tiny_config("/nonexistent/file.h5", 1);
  EXPECT_THROW(train::run_finetune(train::finetune_config(missing), missing,
                                   fresh_scratch_dir("finetune_missing").string(), false),
               InputError);
}

TEST(Finetune, ShippedPresetsParse) {
  const fs::path dir = fs::path(LUMAMBA_TEST_FIXTURES_DIR) / ".." / ".." / "configs" / "finetune";
  int64_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto flat = train::FlatConfig::from_yaml(text.str(), entry.path().string());
    const auto config = train::finetune_config(flat);
    EXPECT_GE(config.task.n_classes, 2) << entry.path();
    ++n;
  }
  EXPECT_GE(n, 7);  // generic, eegmmidb_movement, tuab, tuar, tusl, apava, tdbrain
}

TEST(Finetune, BalancedClassWeightsAsScikitLearn) {
  // sklearn compute_class_weight("balanced"): n / (K · n_k)
  const auto w = eval::balanced_class_weights({0, 0, 0, 1}, 2);
  EXPECT_DOUBLE_EQ(w[0], 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(w[1], 2.0);
}

}  // namespace
