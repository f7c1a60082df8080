// lumamba/train/finetune.h — supervised fine-tuning on labelled HDF5 windows (docs/reference-model.md §17):
// pretrained encoder (decoder and channel embedding dropped) + a fresh head (luna | mamba | linear),
// full fine-tuning or a frozen encoder (linear probing), layer-wise lr decay, AdamW + cosine
// warm-up per step, optional class weights, early stopping on validation loss, best and last
// checkpoints, resumable, test metrics of the best checkpoint at the end.
//
// Outputs in OUT/: config.yaml (resolved), metrics.jsonl (one line per epoch), checkpoints/
// {best,last}.safetensors (+ .state.pt: optimiser, RNG, progress), test_metrics.json and
// test_predictions.csv when there are test windows.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lumamba/eval/inference.h"
#include "lumamba/model/options.h"
#include "lumamba/train/config.h"
#include "lumamba/train/optim.h"
#include "lumamba/train/run.h"

namespace lumamba::train {

/// The train.* keys shared with pretraining are the base (train/run.h); the reference's fine-tuning
/// values are the defaults.
struct FinetuneConfig : CommonTrainSettings {
  FinetuneConfig() {
    epochs = 50;
    warmup_epochs = 5;
    batch_size = 512;
    schedule.warmup_lr_init = schedule.lr_min = 1e-6;
  }
  eval::TaskInfo task;
  model::LuMambaOptions model;
  std::string init;                      ///< pretrained weights ("" = from scratch)
  std::string init_config;               ///< model config for reference weights without metadata
  std::vector<std::string> train_files;  ///< HDF5 files; windows of split `train` (or all, see below)
  std::vector<std::string> val_files;    ///< "" = the `val` split of train_files, else carved out
  std::vector<std::string> test_files;   ///< "" = the `test` split of train_files
  std::string layout;                    ///< channel order of name-less reference files
  double val_fraction = 0.15;            ///< carved from training recordings when no val split exists
  std::string mode = "full";             ///< full | linear_probe (frozen encoder)
  AdamWSettings optimizer;
  int64_t patience = 15;
  // max_steps: stop after this many optimiser steps in all (0 = epochs decide); the cosine schedule
  // then ends at max_steps, and the epoch it falls in is validated and checkpointed like any other.
  // grad_clip: 0 by default, the reference does not clip in fine-tuning.
  std::string class_weights = "none";    ///< none | balanced (n / (K · n_k))
  /// Few-shot: train on this fraction of the training subjects (at least one), drawn with the seed.
  double subject_fraction = 1.0;
  int64_t eval_batch_size = 256;
  int64_t stop_after_epochs = 0;         ///< end this invocation after N epochs (0 = run to the end); tests of --resume
};

/// Reads a fine-tuning preset (configs/finetune/*.yaml) with overrides already applied; checks
/// every value and that no key is unknown.
FinetuneConfig finetune_config(const FlatConfig& flat);

struct FinetuneResult {
  int64_t epochs_run = 0;        ///< in this invocation
  int64_t epochs_completed = 0;  ///< in all, resumed invocations included
  int64_t best_epoch = -1, steps = 0;
  int64_t train_windows = 0;     ///< after the validation hold-out and train.subject_fraction
  double best_val_loss = 0;
  bool has_test = false;
  eval::EvaluationReport test;
  std::string best_checkpoint;
};

/// Trains; `resume` continues from OUT/checkpoints/training_state.pt (identical to an uninterrupted
/// run on the same machine with the same threads). `flat` is written as OUT/config.yaml. An existing
/// run is neither overwritten nor resumed under another config unless `force` (check_existing_run).
/// With a `group` of several ranks (lumamba/train/distributed.h) every rank calls this with the
/// same arguments: each takes its share of every batch of train.batch_size windows, gradients are
/// summed over ranks, rank 0 alone writes OUT, validation and test predictions of all ranks are
/// gathered; the result is the same on every rank.
FinetuneResult run_finetune(const FinetuneConfig& config, const FlatConfig& flat, const std::string& out_dir,
                            bool resume, bool force = false, std::shared_ptr<TrainingGroup> group = {});

/// Several seeds: one run per seed in OUT/seed_<s>/ (train.seed set), then the mean and sample std
/// of the multiclass test metrics (window level), also written to OUT/seeds_summary.json.
struct SeedsResult {
  std::map<std::string, MetricSummary> test_windows;  ///< balanced_accuracy, auroc, aupr, cohen_kappa, f1_weighted
  std::string summary_json;                           ///< the content of seeds_summary.json
};
SeedsResult run_finetune_seeds(const FlatConfig& flat, const std::string& out_dir, const std::vector<int64_t>& seeds,
                               bool resume, bool force = false, std::shared_ptr<TrainingGroup> group = {});

}  // namespace lumamba::train
