// lumamba/model/kernels/conv_silu_cpu.h — the Mamba block's depthwise causal convolution, its bias
// and SiLU in one pass, reading the in_proj output in place and writing the time-major (B, L, Di)
// activations that x_proj and the scan read. Inference only (no autograd); raw buffers, torch-free.
//
// Why: as LibTorch ops the same step is a contiguous copy of the strided x half of in_proj's
// output, the convolution into a padded (B, Di, L+K−1) buffer, SiLU, and a transposing copy:
// five passes over (B, Di, L) per direction where one suffices.
#pragma once

#include <cstdint>

namespace lumamba::model::kernels {

/// For the (b, t) rows [row_begin, row_end) of a (B, L) grid (row = b·L + t), with x element
/// (b, t, d) at x[b·x_stride_b + t·x_stride_t + d] and weight_t (K, Di) = the conv1d weight
/// (Di, 1, K) transposed:
///   forward:  out[b, t, d] = SiLU(bias[d] + Σ_j weight_t[j, d] · x[b, t − (K−1) + j, d])
///   reverse:  out[b, t, d] = SiLU(bias[d] + Σ_j weight_t[K−1−j, d] · x[b, t + j, d])
/// with x = 0 outside [0, L) (the zero padding of the conv; reverse = flip ∘ causal conv ∘ flip).
/// out is (B, L, Di) contiguous. bias may be nullptr (0).
template <typename T>
void depthwise_conv_silu(const T* x, int64_t x_stride_b, int64_t x_stride_t, const T* weight_t, const T* bias,
                         int64_t len, int64_t d_inner, int64_t kernel_size, bool reverse, T* out, int64_t row_begin,
                         int64_t row_end);

}  // namespace lumamba::model::kernels
