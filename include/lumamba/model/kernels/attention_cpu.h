// lumamba/model/kernels/attention_cpu.h — multi-head scaled-dot-product attention over many short
// sequences (LUNA's queries over channels, the query self-attention), forward only, raw buffers.
//
// Torch-free on purpose (own CMake target and flags). LibTorch 1.13's CPU bmm makes one BLAS call
// per (row, head) matrix — 4,096 calls of a 6×32·32×22 product per layer at batch 64 — and the
// broadcast-multiply alternative materialises (N, h, L, M, hd) temporaries; here each (row, head)
// is scores, softmax and weighted sum in registers/L1. Used for inference (no autograd, no
// dropout); training keeps the LibTorch ops (layers.cpp).
#pragma once

#include <cstdint>

namespace lumamba::model::kernels {

/// Element (n, l, head·head_dim + d) at data[n·stride_n + l·stride_l + head·head_dim + d]: a
/// (N, L, heads·head_dim) tensor whose last dimension is contiguous. stride_n = 0 shares one
/// sequence between all rows (LUNA's learned queries).
template <typename T>
struct HeadsView {
  const T* data = nullptr;
  int64_t stride_n = 0;
  int64_t stride_l = 0;
};

struct AttentionShape {
  int64_t batch = 0;     ///< N rows (independent sequences)
  int64_t heads = 0;     ///< h
  int64_t len_q = 0;     ///< L queries per row
  int64_t len_k = 0;     ///< M keys/values per row
  int64_t head_dim = 0;  ///< hd
};

/// For rows [row_begin, row_end): out[n, l, head·hd + d] = Σ_m softmax_m(scale·q_l·k_m) v_m[d] per
/// head, out (N, L, h·hd) contiguous; weights (N, L, M) contiguous receives the softmax averaged
/// over heads (nullptr: not computed). Rows are independent: callers split them across threads.
template <typename T>
void attention_forward(const AttentionShape& shape, T scale, const HeadsView<T>& q, const HeadsView<T>& k,
                       const HeadsView<T>& v, T* out, T* weights, int64_t row_begin, int64_t row_end);

}  // namespace lumamba::model::kernels
