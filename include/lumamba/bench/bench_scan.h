// lumamba/bench/bench_scan.h — selective-scan benchmark: the fused CPU kernel against the reference
// loop (selective_scan_ref), forward and backward, on Mamba-block-shaped inputs. Backs
// `lumamba bench scan` and bench/bench_scan.cpp; numbers in docs/performance.md.
// Legend: B batch, Di d_inner, L sequence length, N d_state.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "lumamba/bench/bench_harness.h"
#include "lumamba/model/selective_scan.h"

namespace lumamba::bench {

struct ScanBenchOptions {
  int64_t seq_len = 1024;   ///< L
  int64_t batch = 8;        ///< B
  int64_t d_inner = 768;    ///< Di (LuMamba-Tiny: 768)
  int64_t d_state = 16;     ///< N
  int64_t chunk_size = 64;  ///< fused checkpoint interval K
  bool float64 = false;
  /// Inputs as the Mamba block hands them over: u, z, delta, B, C and grad_y time-major ((B, L, ·)
  /// memory). false: contiguous mamba_ssm (B, Di, L) / (B, N, L) tensors.
  bool time_major = true;
  bool loop = true;          ///< also time the reference loop
  /// Fused calls: warm-up and total timed repetitions (spread over the rounds, see run_scan_bench).
  BenchPlan fused_plan{1, 5, 0.0};
  /// Loop calls: one per round, `repetitions` rounds; a call type stops once its timed calls exceed
  /// budget_s (the loop backward is quadratic in L: minutes at L = 1024).
  BenchPlan loop_plan{1, 3, 60.0};
};

struct ScanBenchResult {
  ScanBenchOptions options;
  int n_threads = 0;
  std::string isa;  ///< kernel instruction set
  BenchTiming fused_forward, fused_backward, fused_inference, loop_forward, loop_backward;
  double check_rel_err = 0.0;  ///< max|fused − loop| / max|loop| of y and du (checked before timing)
};

/// Inputs and timed operations of one case (Google Benchmark drives these one by one).
class ScanBenchCase {
 public:
  explicit ScanBenchCase(const ScanBenchOptions& options);
  /// Training forward (inputs require grad, graph kept for backward()).
  void forward(bool fused);
  /// Backward of the last forward(): sum(y ⊙ g) w.r.t. all inputs. Call forward() first.
  void backward();
  /// Forward without autograd (the inference path; the fused one keeps O(N) state per row).
  void inference(bool fused);
  /// Drops the last graph and the accumulated gradients (untimed setup between repetitions).
  void reset();
  /// max|fused − loop| / max|loop| over y and the gradient of u.
  double check_against_loop();

 private:
  model::SelectiveScanArgs args_;
  torch::Tensor grad_y_, y_;
};

/// Checks fused against the loop on a cut of the case, then times fused and loop calls interleaved
/// round by round (measure_interleaved) with the current intra-op thread count (the caller sets it).
ScanBenchResult run_scan_bench(const ScanBenchOptions& options);
/// One JSON object: fused_forward_ms, fused_backward_ms, loop_forward_ms, loop_backward_ms (medians)
/// plus ratios, threads, shapes, ISA, CPU model, LibTorch version and the check error.
std::string scan_bench_to_json(const ScanBenchResult& result);
/// A few human-readable lines of the same.
std::string scan_bench_to_text(const ScanBenchResult& result);

}  // namespace lumamba::bench
