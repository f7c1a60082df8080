// lumamba/bench/bench_model.h — whole-model benchmark: inference windows/s (encoder + classification
// head, eval mode, no grad), one fine-tuning step (forward, cross-entropy, backward, AdamW step) and
// its peak resident memory, achieved GFLOP/s next to SGEMM GFLOP/s measured in the same run, and an
// optional stage-by-stage split of the forward. Backs `lumamba bench model` and bench/bench_model.cpp;
// numbers in docs/performance.md ("Whole model").
// Legend: B batch, C channels, T samples, P patch_size, S = T/P patches, E embed_dim, Q num_queries,
// D = Q·E, Di d_inner.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lumamba/bench/bench_harness.h"
#include "lumamba/model/flops.h"
#include "lumamba/model/lumamba.h"
#include "lumamba/model/options.h"

namespace lumamba::bench {

struct ModelBenchOptions {
  int64_t batch = 64;        ///< B, for inference and for the training step
  int64_t n_channels = 22;   ///< C (TCP-22 montage)
  int64_t n_samples = 1280;  ///< T: 5 s at 256 Hz (S = 32 patches of P = 40)
  /// The network: LuMamba-Tiny with the default 2-class LUNA classification head.
  model::LuMambaOptions model = model::LuMambaOptions().num_classes(2).classifier_option("luna");
  /// Square SGEMM size n of the roofline denominator (n×n times n×n, float32).
  int64_t sgemm_size = 1024;
  bool train = true;            ///< also time the training step and measure its peak RSS
  bool profile_stages = false;  ///< also time the forward stage by stage (patch_embed, ...)
  /// Inference: warm-up calls, then `repetitions` rounds interleaved with the SGEMMs; budget_s caps
  /// the forward's total timed seconds.
  BenchPlan inference_plan{1, 5, 60.0};
  /// Training steps: warm-up (the first AdamW step allocates its moments), then timed steps.
  BenchPlan train_plan{1, 3, 60.0};
  BenchPlan stage_plan{1, 3, 20.0};  ///< per stage of the forward profile
};

/// One stage of the forward profile.
struct StageTiming {
  std::string name;
  BenchTiming timing;
};

struct ModelBenchResult {
  ModelBenchOptions options;
  int n_threads = 0;
  std::string blas;  ///< BLAS library actually loaded (describe_blas)
  model::MacCount macs;     ///< per window (one sample), count_macs
  BenchTiming inference;         ///< one forward of the batch
  BenchTiming train_step;        ///< one training step on the batch
  BenchTiming sgemm;             ///< sgemm_size³ product
  BenchTiming sgemm_model_shape; ///< the model's largest GEMM: Mamba in_proj, (B·S, D) × (D, 2·Di)
  int64_t model_gemm_m = 0, model_gemm_k = 0, model_gemm_n = 0;
  /// Peak resident set of the training phase (VmHWM after resetting it, see run_model_bench) and
  /// the resident set right after the reset (weights, inputs, libraries), MiB; < 0 when not measured.
  double peak_rss_mib = -1.0;
  double rss_before_train_mib = -1.0;
  std::string peak_rss_method;
  double train_loss = 0.0;  ///< cross-entropy of the last step (finite: checked)
  /// max|logits[0] of the batch − logits of sample 0 alone| / max|logits alone| (checked before timing).
  double check_rel_err = 0.0;
  std::vector<StageTiming> stages;  ///< when profile_stages
};

/// Builds the model (fixed seed) and random inputs, checks that a batched forward agrees with a
/// single-sample one, then: the training phase (peak RSS reset before it), the inference forward
/// interleaved round by round with the SGEMMs (so their ratio survives machine drift), and the
/// optional stage profile. Uses the current intra-op thread count (the caller sets it).
ModelBenchResult run_model_bench(const ModelBenchOptions& options);

/// Times the forward of `model` (eval, no grad) stage by stage on (B, C, T) `signal` with (B, C, 3)
/// `locations`: patch_embed, freq_embed, location_embed, token_regroup, cross_attn, mamba_blocks,
/// classifier. The stages replay LuMambaImpl::encode without a mask; their sum is close to, not
/// equal to, one forward (each stage's inputs are precomputed).
std::vector<StageTiming> profile_forward_stages(model::LuMamba& model, const torch::Tensor& signal,
                                                const torch::Tensor& locations, const BenchPlan& plan);

/// One JSON object: windows_per_s, model_gflops_per_s, sgemm_gflops_per_s, train_samples_per_s,
/// peak_rss_mib and the details (forward_ms, train_step_ms, threads, blas, macs_per_window, ...).
std::string model_bench_to_json(const ModelBenchResult& result);
/// A small human-readable table of the same.
std::string model_bench_to_text(const ModelBenchResult& result);

}  // namespace lumamba::bench
