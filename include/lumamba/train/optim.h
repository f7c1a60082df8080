// lumamba/train/optim.h — optimiser, learning-rate schedule and training state shared by
// pretraining and fine-tuning.
//
// AdamW over parameter groups (layer-wise lr decay over the Mamba blocks, docs/reference-model.md §17), the
// per-step cosine schedule with linear warm-up of timm's CosineLRScheduler (docs/reference-model.md §13), and
// the optimiser/scheduler/RNG state that makes `--resume` continue a run exactly.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace lumamba::train {

struct AdamWSettings {
  double lr = 5e-4;
  double beta1 = 0.9, beta2 = 0.999;
  double weight_decay = 0.05;
  double eps = 1e-8;
  /// Layer-wise lr decay: parameters of Mamba block i (names containing `mamba_blocks.i.` or
  /// `norm_layers.i.`) get lr · decay^(num_blocks − i); 1 = off.
  double layer_decay = 1.0;
};

/// One parameter group: its parameters and its base (peak) learning rate.
struct ParameterGroup {
  std::string name;
  std::vector<torch::Tensor> parameters;
  double base_lr = 0;
};

/// Groups the trainable parameters (requires_grad) of `module` by layer-wise lr: one group per
/// Mamba block when layer_decay != 1, the rest at the base lr. num_blocks = encoder blocks.
class FlatConfig;
/// Reads `optimizer.{lr,beta1,beta2,weight_decay}` (and `optimizer.layer_decay` when
/// `with_layer_decay`) over `defaults`, and checks the ranges; InputError names the key.
AdamWSettings read_adamw_settings(const FlatConfig& flat, AdamWSettings defaults, bool with_layer_decay);

std::vector<ParameterGroup> make_parameter_groups(const torch::nn::Module& module, const AdamWSettings& settings,
                                                  int64_t num_blocks);

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<ParameterGroup>& groups,
                                                const AdamWSettings& settings);

/// timm CosineLRScheduler (t_initial = total_steps, warmup_prefix = false, cycle_limit 1), per step:
/// step < warmup_steps: warmup_lr_init + step · (base − warmup_lr_init) / warmup_steps;
/// else lr_min + ½ (base − lr_min)(1 + cos(π · step / total_steps)); after total_steps: lr_min.
struct CosineSchedule {
  int64_t total_steps = 1;
  int64_t warmup_steps = 0;
  double warmup_lr_init = 1e-6;
  double lr_min = 1e-6;
  double lr_at(double base_lr, int64_t step) const;
};

/// Sets every group's lr for `step` (groups in the optimiser's order) and returns group 0's.
double apply_schedule(torch::optim::Optimizer& optimizer, const std::vector<ParameterGroup>& groups,
                      const CosineSchedule& schedule, int64_t step);

/// Clips the global L2 norm of the gradients to max_norm (<= 0: no clipping); returns the norm
/// before clipping.
double clip_gradients(const std::vector<ParameterGroup>& groups, double max_norm);

/// Gradient L2 norm per part of the model: parameters grouped by their name up to the first
/// component that is not a number ("patch_embed", "mamba_blocks.0", "classifier"). Shows which
/// part learns and which is starved or exploding (metrics.jsonl "grad_norm").
std::map<std::string, double> gradient_norms_by_part(const torch::nn::Module& module);

/// Where a run stands; saved in the training state so `--resume` continues exactly.
struct TrainingProgress {
  int64_t epoch = 0;            ///< epochs completed
  int64_t step = 0;             ///< optimiser steps taken
  double best_metric = 0;       ///< best validation loss so far
  bool has_best = false;
  int64_t best_step = -1;       ///< step at which best_metric was reached (-1: none)
  int64_t epochs_without_improvement = 0;
  /// The training loop's running sums of an epoch stopped part-way (JSON; "" = none), so that the
  /// epoch's summary line after a resume covers all its steps.
  std::string partial_epoch_json;
};

/// Metadata key of last/best.safetensors: the optimiser step their weights are from. `--resume`
/// compares it with the training state to find a checkpoint that a kill left behind.
inline constexpr const char* kMetaTrainingStep = "lumamba.training_step";

/// OUT/checkpoints/training_state.pt: everything `--resume` needs in one file.
std::string training_state_path(const std::string& checkpoint_dir);

/// Writes the module's weights, the optimiser state, the global torch RNG state and `progress` to
/// `path` (a torch archive), atomically. A checkpoint commits when this one file is renamed into
/// place; the user-facing last/best.safetensors are written after it and, when a kill falls between
/// the writes, rebuilt from it by resume_training. load_training_state restores all of it (the
/// optimiser must have been built with the same parameter groups).
void save_training_state(const std::string& path, const torch::nn::Module& module,
                         const torch::optim::Optimizer& optimizer, const TrainingProgress& progress);
TrainingProgress load_training_state(const std::string& path, torch::nn::Module& module,
                                     torch::optim::Optimizer& optimizer);

/// `--resume`: restores weights, optimiser and progress from the training state in
/// `checkpoint_dir`, then makes `last.safetensors` (and `best.safetensors` when the best was reached
/// at the resumed step) match it, writing them with `write_checkpoint(path, progress)` where a kill
/// left an older or no file. InputError when there is nothing to resume or the best checkpoint is lost.
TrainingProgress resume_training(
    torch::nn::Module& module, torch::optim::Optimizer& optimizer, const std::string& checkpoint_dir,
    const std::function<void(const std::string& path, const TrainingProgress& progress)>& write_checkpoint);

/// Guards an existing run in `out_dir` (one with a training state): without `resume` it is not
/// overwritten, and with `resume` it is not continued under a config (OUT/config.yaml) that differs
/// in a key other than `free_on_resume`; InputError listing the differences in both cases, unless
/// `force`. A run resumed under another batch size or schedule is no longer the run it was.
void check_existing_run(const std::string& out_dir, const FlatConfig& flat, bool resume, bool force,
                        const std::set<std::string>& free_on_resume = {});

/// Appends one line (a JSON object) to a metrics file such as OUT/metrics.jsonl.
void append_metrics_line(const std::string& path, const std::string& line);
/// On resume: keeps the lines of a metrics file whose integer field `field` ("epoch", "step") is
/// <= `last` (drops lines written after the checkpoint the run resumes from), atomically. A
/// missing file is left missing.
void truncate_metrics(const std::string& path, const std::string& field, int64_t last);

}  // namespace lumamba::train
