// lumamba/model/kernels/selective_scan_cpu.h — the fused Mamba-1 selective scan on raw float/double
// buffers: forward, analytical backward (adjoint scan in reverse time), chunked recomputation.
// Torch-free on purpose (own CMake target, own optimisation flags); the autograd wrapper is
// src/model/kernels/selective_scan_fused.cpp and the reference it must match is selective_scan_ref
// (mamba_ssm selective_scan_ref v2.3.2). Derivation: docs/kernels/selective_scan.md.
//
// Legend: B batch, Di d_inner (channels), L sequence length, N d_state. A "row" is one (b, d) pair.
// Every array is a strided view (element strides, any sign, 0 allowed for inputs), so the Mamba
// block's time-major (B, L, Di) buffers and mamba_ssm's (B, Di, L) layout both feed the kernel
// without copies. Logical time t reads physical index t, or L-1-t when ScanConfig::reverse is set.
#pragma once

#include <cstdint>
#include <functional>

namespace lumamba::model::kernels {

/// Largest d_state the kernel accepts (state lives in fixed-size per-row scratch).
inline constexpr int64_t kScanMaxState = 256;
/// Default checkpoint interval K of the training forward (hidden state stored every K steps).
inline constexpr int64_t kScanDefaultChunk = 64;

/// Element (i) of a strided 1-D array; data == nullptr means "absent".
template <typename T>
struct View1 {
  T* data = nullptr;
  int64_t stride = 1;
};

/// Element (i, j) at data[i·s0 + j·s1]; data == nullptr means "absent".
template <typename T>
struct View2 {
  T* data = nullptr;
  int64_t s0 = 0, s1 = 0;
};

/// Element (b, x, t) at data[b·s0 + x·s1 + t·s2] (x = channel or state); nullptr means "absent".
template <typename T>
struct View3 {
  T* data = nullptr;
  int64_t s0 = 0, s1 = 0, s2 = 0;
};

struct ScanShape {
  int64_t n_batch = 0;  ///< B
  int64_t d_inner = 0;  ///< Di
  int64_t seq_len = 0;  ///< L
  int64_t d_state = 0;  ///< N, 1..kScanMaxState
};

/// Runs fn(begin, end) over disjoint sub-ranges covering [0, n), possibly concurrently.
using ScanParallelFor = std::function<void(int64_t n, const std::function<void(int64_t, int64_t)>& fn)>;

/// Instruction set of the kernel body: kAuto picks the widest build the CPU runs (AVX-512, then
/// AVX2+FMA, then baseline); the others force one build (tests compare them; a build the CPU cannot
/// run throws std::invalid_argument).
enum class ScanIsa { kAuto, kBaseline, kAvx2, kAvx512 };

/// True when this CPU (and this compiler's build) can run the given build of the loops.
bool scan_isa_available(ScanIsa isa);
/// "baseline", "avx2+fma", "avx512" or "auto".
const char* scan_isa_name(ScanIsa isa);

struct ScanConfig {
  bool delta_softplus = true;   ///< Δ = softplus(delta + bias) (torch threshold 20), else delta + bias
  bool reverse = false;         ///< scan from t = L-1 down to 0 (time index t reads L-1-t)
  int64_t chunk_size = kScanDefaultChunk;  ///< K: checkpoint interval and time tile, >= 1
  ScanParallelFor parallel_for;  ///< empty: run serially in the calling thread
  ScanIsa isa = ScanIsa::kAuto;
};

/// Read-only inputs, mamba_ssm names. Optional views (D, z, delta_bias, initial_state) may be absent.
template <typename T>
struct ScanInputs {
  View3<const T> u;              ///< (B, Di, L)
  View3<const T> delta;          ///< (B, Di, L), before bias and softplus
  View2<const T> A;              ///< (Di, N)
  View3<const T> B;              ///< (B, N, L)
  View3<const T> C;              ///< (B, N, L)
  View1<const T> D;              ///< (Di); absent: 0
  View3<const T> z;              ///< (B, Di, L); absent: no SiLU(z) gate
  View1<const T> delta_bias;     ///< (Di); absent: 0
  View3<const T> initial_state;  ///< (B, Di, N) state before the first scanned step; absent: 0
};

template <typename T>
struct ScanForwardOutputs {
  View3<T> y;            ///< (B, Di, L), required
  View3<T> final_state;  ///< (B, Di, N) state after the last scanned step; optional
  /// Training only: scan_checkpoint_numel() elements receiving h every K steps (the backward's
  /// input). nullptr for inference: the scan then keeps O(N) state per row and stores nothing.
  T* checkpoints = nullptr;
};

/// Backward inputs and outputs. Output views that are absent are not written (their work is still done).
template <typename T>
struct ScanBackward {
  View3<const T> grad_y;            ///< (B, Di, L), required
  View3<const T> grad_final_state;  ///< (B, Di, N); absent: 0
  const T* checkpoints = nullptr;   ///< written by the training forward with the same shape/config
  View3<T> du, ddelta, dz;          ///< (B, Di, L)
  View2<T> dA;                      ///< (Di, N)
  View3<T> dB, dC;                  ///< (B, N, L)
  View1<T> dD, ddelta_bias;         ///< (Di)
  View3<T> dinitial_state;          ///< (B, Di, N)
};

/// Elements of the checkpoint buffer: B·Di·ceil(L/K)·Np, Np = N rounded up to 8.
int64_t scan_checkpoint_numel(const ScanShape& shape, int64_t chunk_size);

/// y_t = (h_t·C_t + D·u_t)·SiLU(z_t), h_t = exp(Δ_t·A)⊙h_{t-1} + Δ_t·u_t·B_t (see selective_scan.h).
/// Throws std::invalid_argument on bad sizes or a missing required view.
template <typename T>
void selective_scan_forward(const ScanShape& shape, const ScanInputs<T>& in, const ScanForwardOutputs<T>& out,
                            const ScanConfig& config);

/// Gradients of sum(grad_y ⊙ y) + sum(grad_final_state ⊙ final_state) w.r.t. all inputs, recomputing
/// the hidden states chunk by chunk from the checkpoints (O(L/K + K) state per row).
template <typename T>
void selective_scan_backward(const ScanShape& shape, const ScanInputs<T>& in, const ScanBackward<T>& grad,
                             const ScanConfig& config);

/// Instruction set the kernel runs with on this CPU under kAuto ("avx512", "avx2+fma" or "baseline").
const char* scan_kernel_isa();

extern template void selective_scan_forward<float>(const ScanShape&, const ScanInputs<float>&,
                                                   const ScanForwardOutputs<float>&, const ScanConfig&);
extern template void selective_scan_forward<double>(const ScanShape&, const ScanInputs<double>&,
                                                    const ScanForwardOutputs<double>&, const ScanConfig&);
extern template void selective_scan_backward<float>(const ScanShape&, const ScanInputs<float>&,
                                                    const ScanBackward<float>&, const ScanConfig&);
extern template void selective_scan_backward<double>(const ScanShape&, const ScanInputs<double>&,
                                                     const ScanBackward<double>&, const ScanConfig&);

}  // namespace lumamba::model::kernels
