// lumamba/model/selective_scan.h — the Mamba-1 selective scan (docs/reference-model.md §3.6), mamba_ssm layout.
//
// Shapes: u, delta, z (B, Di, L); A (Di, N); Bm, Cm (B, N, L) (input-dependent B and C);
// D, delta_bias (Di). With Δ = softplus(delta + delta_bias):
//   h_t = exp(Δ_t ⊙ A) ⊙ h_{t-1} + (Δ_t ⊙ u_t) ⊗ B_t,  h_0 = 0
//   y_t = h_t · C_t + D ⊙ u_t;   y_t ⊙= SiLU(z_t)
// selective_scan_ref: LibTorch ops, autograd for free, = mamba_ssm selective_scan_ref; it stays as
// the check for any faster kernel (docs/style.md §10). selective_scan_fused: the CPU kernel behind a custom
// autograd Function. selective_scan picks one (docs/kernels/selective_scan.md). Beyond mamba_ssm:
// `reverse` (scan t = L-1 … 0, no flipped copies) and a carried state h (B, Di, N) in and out.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "lumamba/core/compat.h"

namespace lumamba::model {

struct SelectiveScanArgs {
  torch::Tensor u;       ///< (B, Di, L)
  torch::Tensor delta;   ///< (B, Di, L), before bias and softplus
  torch::Tensor A;       ///< (Di, N), negative
  torch::Tensor B;       ///< (B, N, L)
  torch::Tensor C;       ///< (B, N, L)
  torch::Tensor D;       ///< (Di) or undefined
  torch::Tensor z;       ///< (B, Di, L) or undefined (no gating)
  torch::Tensor delta_bias;  ///< (Di) or undefined
  bool delta_softplus = true;
  /// Scan in reverse time: equals flip(scan(flip(u, delta, z, B, C))) along L. Default: false.
  bool reverse = false;
  /// (B, Di, N) state before the first scanned step (t = 0, or t = L-1 when reverse); undefined = 0.
  torch::Tensor initial_state = {};
  /// Fused training path: hidden state stored every `chunk_size` steps and recomputed inside each
  /// chunk in the backward (O(L/K + K) state per row). No effect on results. Default: 64.
  int64_t chunk_size = 64;
};

/// y (B, Di, L) and the state after the last scanned step, final_state (B, Di, N).
struct SelectiveScanOutput {
  torch::Tensor y;
  torch::Tensor final_state;
};

/// Which implementation `selective_scan` runs.
enum class ScanImpl {
  kAuto,   ///< fused for CPU float32/float64, reference otherwise
  kRef,    ///< always the reference
  kFused,  ///< the fused kernel wherever it applies (CPU float32/float64), reference otherwise
};

/// Checks ranks and sizes of the arguments; throws InternalError naming the bad one.
void check_selective_scan_args(const SelectiveScanArgs& args);

/// Reference scan, (B, Di, L) output, in the dtype of u.
torch::Tensor selective_scan_ref(const SelectiveScanArgs& args);
SelectiveScanOutput selective_scan_ref_with_state(const SelectiveScanArgs& args);

/// True when the fused kernel handles these arguments: every tensor on CPU, one dtype, float32 or
/// float64, d_state <= 256.
bool fused_scan_supported(const SelectiveScanArgs& args);

/// Fused CPU scan with analytical backward (a torch::autograd::Function; final_state is
/// differentiable too). Without grad mode or inputs requiring grad it keeps O(N) state per row and
/// stores nothing. Throws InternalError when !fused_scan_supported(args).
torch::Tensor selective_scan_fused(const SelectiveScanArgs& args);
SelectiveScanOutput selective_scan_fused_with_state(const SelectiveScanArgs& args);

/// The build of the fused kernel's loops this process runs: "avx512", "avx2+fma" or "baseline" — the
/// widest the CPU has, or the one LUMAMBA_SCAN_ISA=baseline|avx2|avx512 asks for (read once; a build
/// the CPU cannot run throws InputError).
const char* fused_scan_isa();

/// Process-wide choice, read once from the environment variable LUMAMBA_SCAN=ref|fused (unset or
/// "auto": kAuto) and logged once at info level. An unknown value throws InputError.
ScanImpl scan_impl_from_env();

/// The scan used by the model: fused when scan_impl_from_env() allows it and
/// fused_scan_supported(args), the reference otherwise (CUDA under an upstream LibTorch, bf16, ...).
torch::Tensor selective_scan(const SelectiveScanArgs& args);
SelectiveScanOutput selective_scan_with_state(const SelectiveScanArgs& args);

}  // namespace lumamba::model
