// lumamba/train/run.h — what `pretrain` and `finetune` share around their step loops: the run
// folder, the checkpoint keeper (atomic training state, best and last weights, resume, best
// tracking), the common `train.*` / `schedule.*` keys, and the mean ± std summary over seeds.
//
//   RunFolder(out) ─ lock, guard (check_existing_run), config.yaml, metrics.jsonl
//   CheckpointKeeper ─ start (fresh | --resume) ─ record(validation) ─ save(state → best → last)
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lumamba/core/output_lock.h"
#include "lumamba/model/lumamba.h"
#include "lumamba/train/config.h"
#include "lumamba/train/distributed.h"
#include "lumamba/train/optim.h"

namespace lumamba::train {

/// The `train.*` keys both training loops take, with their ranges (each read and checked here once).
struct CommonTrainSettings {
  int64_t epochs = 10, warmup_epochs = 0, batch_size = 32;
  int64_t max_steps = 0;  ///< 0 = the epochs decide; the loops define what stopping there means
  double grad_clip = 0;   ///< global-norm clipping; 0 = off
  uint64_t seed = 42;
  CosineSchedule schedule;  ///< warmup_lr_init and lr_min from `schedule.*`; steps are set at run time
};
/// Reads train.{epochs,warmup_epochs,batch_size,max_steps,grad_clip,seed} and
/// schedule.{warmup_lr_init,lr_min} over `defaults`; InputError names the key and its range.
CommonTrainSettings read_common_train_settings(const FlatConfig& flat, const CommonTrainSettings& defaults);

/// The folder of one run, locked for the run's life. A finished or running run is not overwritten
/// and not resumed under another config (check_existing_run; `free_on_resume` keys may change);
/// the resolved config is written to OUT/config.yaml. In a data-parallel job only rank 0 writes:
/// the other ranks' folder (`writes` false) names the paths and touches nothing.
class RunFolder {
 public:
  RunFolder(const std::string& out_dir, const FlatConfig& flat, bool resume, bool force,
            const std::set<std::string>& free_on_resume = {}, bool writes = true);

  /// Appends one JSON object line to OUT/metrics.jsonl (nothing when this rank does not write).
  void append_metrics(const std::string& json_line) const;
  bool writes() const { return lock_.has_value(); }

 private:
  std::optional<OutputLock> lock_;  // first member: held before anything is read or written

 public:
  const std::string dir, checkpoint_dir, last_path, best_path, metrics_path;
};

/// Called with the run folder after each save of a run's checkpoints (the ranks that write): the CLI
/// refreshes OUT/report.html there so that a long run can be watched. The hook handles its own errors.
void set_checkpoint_hook(std::function<void(const std::string& run_dir)> hook);

/// Checkpoints of a run: the training state (it commits a checkpoint), then best.safetensors when
/// the validation metric improved, then last.safetensors. `write_weights(path, progress, metric)`
/// writes one user-facing weights file stamped with its step and metric.
class CheckpointKeeper {
 public:
  using WriteWeights = std::function<void(const std::string& path, const TrainingProgress& at, double metric)>;
  CheckpointKeeper(const RunFolder& folder, torch::nn::Module& module, torch::optim::Optimizer& optimizer,
                   WriteWeights write_weights);

  /// A fresh run empties metrics.jsonl, and so does `--resume` of a run killed before its first
  /// checkpoint (it starts from the beginning, with a warning); otherwise `--resume` restores weights,
  /// optimiser, RNG and progress,
  /// repairs last/best after a kill, and drops metrics lines written after the checkpoint (lines
  /// whose integer `metrics_field`, "step" or "epoch", is past it).
  TrainingProgress start(bool resume, const std::string& metrics_field) const;

  /// Takes a validation metric (lower is better); true when it is the best so far.
  static bool record(TrainingProgress& progress, double metric);

  /// state → best (when `improved`, with the best metric) → last (with `last_metric`); nothing
  /// when the folder does not write (ranks other than 0).
  void save(const TrainingProgress& progress, bool improved, double last_metric) const;

  /// Data-parallel start: rank 0's weights, optimiser state and progress (after start(), fresh or
  /// resumed) to every rank, sent as the bytes of a training state. Identity for one process.
  void share_from_main(TrainingGroup& group, TrainingProgress& progress) const;

 private:
  const RunFolder& folder_;
  torch::nn::Module& module_;
  torch::optim::Optimizer& optimizer_;
  WriteWeights write_weights_;
};

/// What a training loop works on, made before its first step.
struct TrainingParts {
  const RunFolder& folder;
  model::LuMamba& net;
  const std::vector<ParameterGroup>& groups;
  torch::optim::Optimizer& optimizer;
  const CheckpointKeeper& keeper;
  const CosineSchedule& schedule;  ///< total_steps and warmup_steps set
};

/// Mean and sample standard deviation of each named metric over runs (seeds): {name: {mean, std}}.
struct MetricSummary {
  double mean = 0, std = 0;
  int64_t n = 0;
};
std::map<std::string, MetricSummary> summarise_over_runs(const std::map<std::string, std::vector<double>>& values);

}  // namespace lumamba::train
