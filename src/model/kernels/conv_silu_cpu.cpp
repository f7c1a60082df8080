// Depthwise causal conv + bias + SiLU of the Mamba block (lumamba/model/kernels/conv_silu_cpu.h):
// one pass over (b, t) rows, vectorised over the contiguous channel dimension; SiLU(v) = v·σ(v)
// with σ from the scan's branch-free lane math. target_clones: AVX-512, AVX2, baseline copies.
#include "lumamba/model/kernels/conv_silu_cpu.h"

#include "cpu_clones.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace lumamba::model::kernels {
namespace {

// sigmoid_lane: σ without overflow, vectorisable (selective_scan_cpu_math.h).
#include "selective_scan_cpu_math.h"

template <typename T>
LUMAMBA_CPU_CLONES void conv_silu_rows(const T* __restrict x, int64_t sb, int64_t st, const T* __restrict wt,
                                        const T* __restrict bias, int64_t len, int64_t di, int64_t k, bool reverse,
                                        T* __restrict out, int64_t row_begin, int64_t row_end) {
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t b = r / len, t = r % len;
    T* __restrict o = out + r * di;
    if (bias != nullptr) {
      for (int64_t d = 0; d < di; ++d) o[d] = bias[d];
    } else {
      for (int64_t d = 0; d < di; ++d) o[d] = T(0);
    }
    for (int64_t j = 0; j < k; ++j) {
      // Tap j reads x at t − (K−1) + j (forward) or t + j with the taps reversed (reverse).
      const int64_t ts = reverse ? t + j : t - (k - 1) + j;
      if (ts < 0 || ts >= len) continue;
      const T* __restrict w = wt + (reverse ? k - 1 - j : j) * di;
      const T* __restrict xs = x + b * sb + ts * st;
      for (int64_t d = 0; d < di; ++d) o[d] += w[d] * xs[d];
    }
    for (int64_t d = 0; d < di; ++d) o[d] = o[d] * sigmoid_lane(o[d]);
  }
}

}  // namespace

template <typename T>
void depthwise_conv_silu(const T* x, int64_t x_stride_b, int64_t x_stride_t, const T* weight_t, const T* bias,
                         int64_t len, int64_t d_inner, int64_t kernel_size, bool reverse, T* out, int64_t row_begin,
                         int64_t row_end) {
  if (row_end <= row_begin || len <= 0 || d_inner <= 0) return;
  conv_silu_rows<T>(x, x_stride_b, x_stride_t, weight_t, bias, len, d_inner, kernel_size, reverse, out, row_begin,
                    row_end);
}

template void depthwise_conv_silu<float>(const float*, int64_t, int64_t, const float*, const float*, int64_t, int64_t,
                                         int64_t, bool, float*, int64_t, int64_t);
template void depthwise_conv_silu<double>(const double*, int64_t, int64_t, const double*, const double*, int64_t,
                                          int64_t, int64_t, bool, double*, int64_t, int64_t);

}  // namespace lumamba::model::kernels
