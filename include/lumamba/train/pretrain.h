// lumamba/train/pretrain.h — self-supervised pretraining (docs/reference-model.md §9, §12, §13): masked
// reconstruction, LeJEPA or both (train/objectives.h) on unlabelled HDF5 windows of any channel
// counts, AdamW + per-step cosine schedule with linear warm-up, gradient-norm clipping, validation
// loss, best and last checkpoints, exact resume.
//
//   HDF5 files ─ WindowDataset ─ train / val windows (the files' `val` split, or a random fraction
//   per file) ─ plan_epoch(seed, epoch): homogeneous channel counts, shuffled ─ BackgroundLoader
//   ─ compute_pretrain_loss(step, Generator(seed, step)) ─ backward ─ clip ─ AdamW(lr of step)
//
// Outputs in OUT/: config.yaml (resolved), metrics.jsonl ("kind": "train" every log_every steps,
// "val" for validations between epoch ends, "epoch" at each epoch end), checkpoints/
// {best,last}.safetensors (+ .state.pt: optimiser, torch RNG, progress). The checkpoints carry the
// model config and the preprocessing in their metadata: `lumamba forward`, `lumamba embed` and
// fine-tuning (init=) read them.
//
// Resume: the mask/crop generator of step s is seeded from (seed, s), the epoch's batch order from
// (seed, epoch), the global torch RNG (location jitter, dropout) is restored from the state, and a
// resumed epoch skips the batches already trained on; a run killed at any point and resumed from
// its last checkpoint ends with the same weights as an uninterrupted run (same machine, same
// thread count).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lumamba/data/window_dataset.h"
#include "lumamba/model/options.h"
#include "lumamba/train/config.h"
#include "lumamba/train/objectives.h"
#include "lumamba/train/optim.h"
#include "lumamba/train/run.h"

namespace lumamba::train {

/// The train.* keys shared with fine-tuning (epochs, warm-up, batch size, max_steps, clipping, seed,
/// schedule) are the base (train/run.h); the reference's pretraining values are the defaults.
struct PretrainConfig : CommonTrainSettings {
  PretrainConfig() {
    epochs = 10;
    warmup_epochs = 5;
    batch_size = 32;
    grad_clip = 1.0;
    schedule.warmup_lr_init = schedule.lr_min = 2.5e-7;
  }
  model::LuMambaOptions model;           ///< num_classes must be 0 (reconstruction decoder)
  PretrainObjectiveOptions objective;
  std::vector<std::string> train_files;  ///< HDF5 windows from `lumamba preprocess` (any channel counts)
  std::vector<std::string> val_files;    ///< optional separate validation files
  std::string layout;                    ///< channel order of name-less reference files (tuh | tueg)
  /// Where validation windows come from: "split" (groups whose split is `val`), "random"
  /// (val_fraction of each file's windows, drawn with the seed, as the reference's 80/20 split),
  /// "auto" (split when any group has split `val`, else random), "none". Ignored with val_files.
  /// Windows of split `test` are never trained on.
  std::string validation = "auto";
  double val_fraction = 0.2;
  AdamWSettings optimizer;
  // max_steps: stop after this many optimiser steps (0 = all epochs); the schedule is unchanged.
  int64_t log_every = 10;                ///< a "train" metrics line (and progress detail) every N steps
  int64_t val_every = 0;                 ///< validate every N steps (0 = at each epoch end only)
  int64_t checkpoint_every = 0;          ///< write last.* every N steps besides epoch ends (0 = off)
  int64_t max_val_batches = 0;           ///< cap on validation batches (0 = all)
};

/// Reads a pretraining preset (configs/pretrain/*.yaml) with overrides applied; checks every value
/// (errors name the key) and that no key is unknown.
PretrainConfig pretrain_config(const FlatConfig& flat);

struct PretrainResult {
  int64_t steps = 0, epochs_completed = 0;
  bool has_best = false;
  double best_val_loss = 0;
  std::string best_checkpoint, last_checkpoint;
};

/// Trains; `resume` continues from OUT/checkpoints/training_state.pt. `flat` is written as
/// OUT/config.yaml. An existing run is neither overwritten nor resumed under another config (but
/// train.max_steps, which moves only the stop) unless `force` (check_existing_run).
/// With a `group` of several ranks (lumamba/train/distributed.h) every rank calls this with the
/// same arguments: each takes its share of every batch, masks and crops are drawn for the global
/// batch, SIGReg is the global batch's, gradients are summed over ranks, every rank validates on
/// all validation windows (the same numbers), rank 0 alone writes OUT. Training-loss lines are rank
/// 0's share of each batch (SIGReg the global statistic).
PretrainResult run_pretrain(const PretrainConfig& config, const FlatConfig& flat, const std::string& out_dir,
                            bool resume, bool force = false, std::shared_ptr<TrainingGroup> group = {});

/// The mask/crop generator of optimiser step `step` (a CPU mt19937 seeded from (seed, step)), so
/// a resumed run draws the same masks and crops without saving generator state.
torch::Generator step_generator(uint64_t seed, int64_t step);

/// Validation/training windows of a pretraining run (exposed for tests): train and val window
/// indices of `dataset` following config.validation / val_fraction / seed.
struct PretrainSplit {
  std::vector<int64_t> train, val;
  std::string how;  ///< "split", "random" or "none"
};
PretrainSplit split_pretrain_windows(const data::WindowDataset& dataset, const PretrainConfig& config);

}  // namespace lumamba::train
