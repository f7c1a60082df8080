// lumamba/train/objectives.h — the pre-training losses of LuMamba (docs/reference-model.md §10–§12;
// reference tasks/pretrain_task_LuMamba.py @68bd7cc, criterion/pretrain_criterion.py,
// criterion/query_specialization_criterion.py).
//
//   signal z-scored (B, C, T) ─┬─ token mask (C, T), same for every sample ─ model.forward ─┬─ L_rec
//                              │                                                          └─ L_qs
//                              └─ random temporal crops ─ model.encode ─ mean over patches ─ L_LeJEPA
//   reconstruction: L = L_rec + L_qs;  lejepa: L = s·L_LeJEPA;  mixed: L = L_rec + L_qs + s·L_LeJEPA
//
// Per-sample per-channel z-scoring is data::zscore_channels (lumamba/data/normalize.h).
// Legend: B batch, C channels, T samples, P patch_size, S = T/P, Q num_queries, D = Q·E embedding
// width, M SIGReg slices (random directions), K = 17 points of the characteristic-function grid,
// V views, N rows of an embedding matrix.
#pragma once

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "lumamba/model/lumamba.h"

namespace lumamba::train {

/// The rows of a data-parallel batch that this process computes (lumamba/train/distributed.h):
/// rows [first, first + count) of a global batch of `global_size`, and the differentiable sum over
/// ranks of a 1-D tensor. The default is the whole batch in one process.
struct BatchShare {
  int64_t first = 0, count = 0, global_size = 0;  ///< global_size 0: this process has the whole batch
  int64_t world_size = 1;
  std::function<torch::Tensor(const torch::Tensor&)> sum_over_ranks;

  bool distributed() const { return global_size > 0 && world_size > 1; }
  /// This rank's share of a mean over the batch's rows (1 for the whole batch).
  double fraction() const {
    return distributed() ? static_cast<double>(count) / static_cast<double>(global_size) : 1.0;
  }
};

// ---------------------------------------------------------------------------------------------
// Masked reconstruction (docs/reference-model.md §10)

/// Token mask of one batch: `int(C·S·ratio)` of the C·S (channel, patch) tokens, chosen by a
/// randperm drawn from `generator`, are true (= masked) over their P samples. Returns (C, T) bool;
/// the reference uses the same mask for every sample, so callers expand it to (B, C, T).
/// T must be a multiple of patch_size.
torch::Tensor make_token_mask(int64_t n_channels, int64_t n_samples, int64_t patch_size, double ratio,
                              torch::Generator& generator);

struct ReconstructionLoss {
  torch::Tensor total;     ///< masked + unmasked_coeff · unmasked (scalar)
  torch::Tensor masked;    ///< smooth-L1 (β = 1) mean over the masked elements (scalar)
  torch::Tensor unmasked;  ///< smooth-L1 (β = 1) mean over the unmasked elements (scalar)
};

/// PretrainCriterion(smooth_l1): prediction and target (B, C, T); mask (B, C, T) or (C, T) bool,
/// true = masked. A part with no element (ratio 0 or 1) is 0 (the reference would give NaN).
ReconstructionLoss reconstruction_loss(const torch::Tensor& prediction, const torch::Tensor& target,
                                       const torch::Tensor& mask, double unmasked_coeff = 0.05);

/// QuerySpecializationCriterion(l2): attention_weights (B·S, Q, C) head-averaged cross-attention
/// weights A; G = A·Aᵀ (B·S, Q, Q); coeff · mean over all B·S·Q·Q entries of (G with zero diagonal)².
torch::Tensor query_specialization_loss(const torch::Tensor& attention_weights, double coeff = 0.8);

// ---------------------------------------------------------------------------------------------
// LeJEPA (docs/reference-model.md §11)

/// SIGReg directions of one training step: (dim, num_slices) float32, entries N(0, 1) drawn by
/// torch.randn from a CPU mt19937 generator seeded with `step`, each column divided by
/// (its L2 norm + 1e-12). All views of a step share them. The reference draws on the training
/// device; on CUDA its numbers differ from these (only the CPU stream is reproduced here).
torch::Tensor sigreg_directions(int64_t dim, int64_t num_slices, int64_t step);

/// t grid of the Epps–Pulley integral: linspace(−5, 5, 17) in `dtype`.
torch::Tensor sigreg_t_grid(torch::ScalarType dtype = torch::kFloat32);

struct SigregResult {
  torch::Tensor loss;                ///< mean over slices of statistic_per_slice (scalar)
  torch::Tensor statistic_per_slice; ///< (M,) T_m = N · trapz_t |φ̂_m(t) − e^{−t²/2}|² e^{−t²/2}
  torch::Tensor ecf;                 ///< (M, K, 2) empirical characteristic function [re, im]
};

/// Sliced Epps–Pulley statistic (the reference's SIGReg). embeddings (N, D); directions (D, M),
/// cast to the embeddings' dtype/device. With a distributed `share` the N rows are this rank's and
/// the empirical characteristic function is that of all ranks' rows (its sums all-reduced, as the
/// reference's multi-GPU SIGReg does), so every rank gets the global batch's statistic.
SigregResult sigreg(const torch::Tensor& embeddings, const torch::Tensor& directions, const BatchShare& share = {});
/// sigreg(embeddings, directions).loss.
torch::Tensor sigreg_loss(const torch::Tensor& embeddings, const torch::Tensor& directions);

struct LejepaLoss {
  torch::Tensor total;       ///< (1 − λ)·prediction + λ·sigreg (scalar)
  torch::Tensor prediction;  ///< mean over (V_l, B, D) of (mean_j global_j − local_i)² (scalar)
  torch::Tensor sigreg;      ///< mean over the V_l local views of SIGReg(local_i) (scalar)
};

/// LeJEPA combination with an identity predictor: local (V_l, B, D) and global (V_g, B, D) view
/// embeddings (both carry gradients), directions (D, M), lambda = λ. Only the local views are
/// pulled to the global centre and regularised (unlike rbalestr-lab/lejepa, see docs/reference-model.md §11).
LejepaLoss lejepa_loss(const torch::Tensor& local, const torch::Tensor& global, const torch::Tensor& directions,
                       double lambda, const BatchShare& share = {});

struct RandomCrops {
  torch::Tensor views;          ///< (V·B, C, L), row v·B + b = view v of sample b
  torch::Tensor start_samples;  ///< (V, B) int64 first sample of each crop
};

/// The only LeJEPA augmentation: per view and per sample an independent uniform integer start
/// t0 ∈ [0, T − L] (torch.randint from `generator`), crop x[b, :, t0 : t0 + L] over all channels,
/// not aligned to the patch grid. x (B, C, T), crop_len = L ≤ T. Differentiable w.r.t. x. With a
/// distributed `share` the starts are drawn for the global batch and x's rows are its rows
/// [first, first + B), so that each rank crops as one process with the whole batch would.
RandomCrops random_crops(const torch::Tensor& x, int64_t n_views, int64_t crop_len, torch::Generator& generator,
                         const BatchShare& share = {});

// ---------------------------------------------------------------------------------------------
// Total pre-training loss (docs/reference-model.md §12)

/// Objective settings; keys are the reference config keys (masking.*, le_jepa.*, criterion).
struct PretrainObjectiveOptions {
  /// "reconstruction" (L_rec + L_qs), "lejepa" (s·L_LeJEPA) or "mixed" (both). Default: "reconstruction".
  TORCH_ARG(std::string, mode) = "reconstruction";
  /// Fraction of the C·S tokens masked (masking.masking_ratio; docs/blog say 0.6). Default: 0.5.
  TORCH_ARG(double, mask_ratio) = 0.5;
  /// Weight of the unmasked-element reconstruction term. Default: 0.05.
  TORCH_ARG(double, unmasked_loss_coeff) = 0.05;
  /// Weight of the query-specialisation loss. Default: 0.8.
  TORCH_ARG(double, query_spec_coeff) = 0.8;
  /// Global views (crops of num_patches_global patches) per sample. Default: 2.
  TORCH_ARG(int64_t, num_global_views) = 2;
  /// Local views (crops of num_patches_local patches) per sample. Default: 4.
  TORCH_ARG(int64_t, num_local_views) = 4;
  /// Global crop length in patches (16·40 = 640 samples = 2.5 s at 256 Hz). Default: 16.
  TORCH_ARG(int64_t, num_patches_global) = 16;
  /// Local crop length in patches (4·40 = 160 samples). Default: 4.
  TORCH_ARG(int64_t, num_patches_local) = 4;
  /// SIGReg random directions M. Default: 128.
  TORCH_ARG(int64_t, num_slices) = 128;
  /// λ in (1 − λ)·L_pred + λ·SIGReg (le_jepa.lambd_lejepa). Default: 0.002.
  TORCH_ARG(double, lambda_lejepa) = 0.002;
  /// s, the weight of L_LeJEPA in the total (le_jepa.lejepa_scaling_factor). Default: 0.05.
  TORCH_ARG(double, lejepa_scaling) = 0.05;

 public:
  bool uses_reconstruction() const { return mode_ != "lejepa"; }
  bool uses_lejepa() const { return mode_ != "reconstruction"; }
};

/// Throws InputError naming the field when a value is not allowed.
void validate(const PretrainObjectiveOptions& options);

/// Every part of one step's loss. Parts the mode does not compute are undefined tensors.
struct PretrainLoss {
  torch::Tensor total;                    ///< the loss to back-propagate (scalar)
  torch::Tensor reconstruction;           ///< L_rec = masked + coeff · unmasked
  torch::Tensor reconstruction_masked;
  torch::Tensor reconstruction_unmasked;
  torch::Tensor query_spec;               ///< L_qs
  torch::Tensor lejepa;                   ///< L_LeJEPA = (1 − λ)·pred + λ·sigreg (before the scaling s)
  torch::Tensor lejepa_prediction;        ///< L_pred
  torch::Tensor lejepa_sigreg;            ///< SIGReg averaged over the local views
  torch::Tensor token_mask;               ///< (C, T) bool mask used by the reconstruction forward
};

/// One pre-training step's loss. signal_zscored (B, C, T) (z-scored per sample and channel; the
/// reconstruction target), channel_locations (B, C, 3) metres, channel_names (B, C) int64
/// vocabulary indices (needed unless mode is "lejepa"), step = global optimiser step (seeds the
/// SIGReg directions). The mask and crop starts come from `generator`; location jitter and dropout
/// use the global torch RNG inside the model, which should be in train() mode.
/// In "lejepa" mode the reconstruction forward is skipped: the reference runs it but its outputs
/// do not enter the loss, so the loss and gradients are the same at half the cost.
/// Data-parallel (`share` distributed): the inputs are this rank's rows; the parts are this rank's
/// values (SIGReg the global batch's), and `total` is this rank's term of the global loss: the
/// row-mean parts times share.fraction(), SIGReg divided by the world size (its gradient reaches
/// every rank through the all-reduce), so that the gradients summed over ranks are one process's.
PretrainLoss compute_pretrain_loss(model::LuMamba& model, const torch::Tensor& signal_zscored,
                                   const torch::Tensor& channel_locations, const torch::Tensor& channel_names,
                                   int64_t step, const PretrainObjectiveOptions& options,
                                   torch::Generator& generator, const BatchShare& share = {});

}  // namespace lumamba::train
