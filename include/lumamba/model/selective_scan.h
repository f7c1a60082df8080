// lumamba/model/selective_scan.h — the Mamba-1 selective scan (SPEC §3.6), mamba_ssm layout.
//
// Shapes: u, delta, z (B, Di, L); A (Di, N); Bm, Cm (B, N, L) (input-dependent B and C);
// D, delta_bias (Di). With Δ = softplus(delta + delta_bias):
//   h_t = exp(Δ_t ⊙ A) ⊙ h_{t-1} + (Δ_t ⊙ u_t) ⊗ B_t,  h_0 = 0
//   y_t = h_t · C_t + D ⊙ u_t;   y_t ⊙= SiLU(z_t)
// `selective_scan_ref` is the reference: plain LibTorch ops (autograd for free), a loop over L,
// equal to mamba_ssm's selective_scan_ref. It stays as the check for any faster kernel (STYLE §10).
#pragma once

#include <torch/types.h>

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
};

/// Checks ranks and sizes of the arguments; throws InternalError naming the bad one.
void check_selective_scan_args(const SelectiveScanArgs& args);

/// Reference scan, (B, Di, L) output, in the dtype of u.
torch::Tensor selective_scan_ref(const SelectiveScanArgs& args);

/// The scan used by the model (today: the reference; a fused CPU kernel plugs in here).
torch::Tensor selective_scan(const SelectiveScanArgs& args);

}  // namespace lumamba::model
