// Multi-head attention over many short sequences, forward (lumamba/model/kernels/attention_cpu.h).
// Per (row, head): the M keys are transposed once into a (hd, Mp) tile (Mp = M rounded up to
// kLanes, zero padded), so each query's M scores are hd broadcast-FMAs over contiguous lanes with
// no horizontal sums; softmax as torch computes it (exp(s − max) · 1/Σ, exp from the scan's lane
// math); then the weighted sum of values, contiguous over head_dim. target_clones builds AVX-512,
// AVX2 and baseline copies picked at load time.
#include "lumamba/model/kernels/attention_cpu.h"

#include "cpu_clones.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace lumamba::model::kernels {
namespace {

// exp_lane: the branch-free exp of the selective scan (≤ 1 ulp float), vectorisable.
#include "selective_scan_cpu_math.h"

constexpr int64_t kLanes = 16;
// Keep the fixed-length lane loops as loops until the vectoriser sees them (unrolled early, the
// accumulator is split into scalars; see selective_scan_cpu_impl.h).
#define LUMAMBA_NO_EARLY_UNROLL _Pragma("GCC unroll 1")

template <typename T>
LUMAMBA_CPU_CLONES void attention_rows(const AttentionShape& s, T scale, const HeadsView<T>& q,
                                             const HeadsView<T>& k, const HeadsView<T>& v, T* __restrict out,
                                             T* __restrict weights, int64_t row_begin, int64_t row_end) {
  const int64_t hd = s.head_dim, m_len = s.len_k, e = s.heads * hd;
  const int64_t mp = (m_len + kLanes - 1) / kLanes * kLanes;
  std::vector<T> kt_buf(static_cast<size_t>(hd * mp), T(0)), score_buf(static_cast<size_t>(mp)),
      q_buf(static_cast<size_t>(hd));
  T* __restrict qs = q_buf.data();  // one query, scaled
  T* __restrict kt = kt_buf.data();  // (hd, Mp): keys of one (row, head), transposed; padding stays 0
  T* __restrict sc = score_buf.data();
  const T inv_heads = T(1) / static_cast<T>(s.heads);
  for (int64_t n = row_begin; n < row_end; ++n) {
    T* w_row = weights != nullptr ? weights + n * s.len_q * m_len : nullptr;
    if (w_row != nullptr) std::fill(w_row, w_row + s.len_q * m_len, T(0));
    for (int64_t h = 0; h < s.heads; ++h) {
      const T* kh = k.data + n * k.stride_n + h * hd;
      const T* vh = v.data + n * v.stride_n + h * hd;
      for (int64_t m = 0; m < m_len; ++m) {
        const T* km = kh + m * k.stride_l;
        for (int64_t d = 0; d < hd; ++d) kt[d * mp + m] = km[d];
      }
      for (int64_t l = 0; l < s.len_q; ++l) {
        const T* ql = q.data + n * q.stride_n + l * q.stride_l + h * hd;
        // Scores, kLanes keys at a time in a register accumulator (a runtime-length array would
        // round-trip through memory every d). torch scales q before the product; so do we.
        for (int64_t d = 0; d < hd; ++d) qs[d] = ql[d] * scale;
        for (int64_t mb = 0; mb < mp; mb += kLanes) {
          // Two independent FMA chains over d (even, odd): half the latency of one.
          T a0[kLanes] = {}, a1[kLanes] = {};
          int64_t d = 0;
          for (; d + 2 <= hd; d += 2) {
            const T q0 = qs[d], q1 = qs[d + 1];
            const T* __restrict k0 = kt + d * mp + mb;
            const T* __restrict k1 = k0 + mp;
            LUMAMBA_NO_EARLY_UNROLL
            for (int64_t j = 0; j < kLanes; ++j) {
              a0[j] += q0 * k0[j];
              a1[j] += q1 * k1[j];
            }
          }
          for (; d < hd; ++d) {
            const T qd = qs[d];
            const T* __restrict kd = kt + d * mp + mb;
            LUMAMBA_NO_EARLY_UNROLL
            for (int64_t j = 0; j < kLanes; ++j) a0[j] += qd * kd[j];
          }
          for (int64_t j = 0; j < kLanes; ++j) sc[mb + j] = a0[j] + a1[j];
        }
        T mx = sc[0];
        for (int64_t m = 1; m < m_len; ++m) mx = sc[m] > mx ? sc[m] : mx;
        for (int64_t m = 0; m < mp; ++m) sc[m] = exp_lane(sc[m] - mx);
        T sum = T(0);
        for (int64_t m = 0; m < m_len; ++m) sum += sc[m];
        const T inv = T(1) / sum;
        for (int64_t m = 0; m < m_len; ++m) sc[m] *= inv;
        if (w_row != nullptr) {
          for (int64_t m = 0; m < m_len; ++m) w_row[l * m_len + m] += sc[m];
        }
        // Output, kLanes of head_dim at a time in a register accumulator; a scalar tail when
        // head_dim is not a multiple of kLanes.
        T* __restrict o = out + (n * s.len_q + l) * e + h * hd;
        int64_t db = 0;
        for (; db + kLanes <= hd; db += kLanes) {
          T a0[kLanes] = {}, a1[kLanes] = {};
          int64_t m = 0;
          for (; m + 2 <= m_len; m += 2) {
            const T p0 = sc[m], p1 = sc[m + 1];
            const T* __restrict v0 = vh + m * v.stride_l + db;
            const T* __restrict v1 = v0 + v.stride_l;
            LUMAMBA_NO_EARLY_UNROLL
            for (int64_t j = 0; j < kLanes; ++j) {
              a0[j] += p0 * v0[j];
              a1[j] += p1 * v1[j];
            }
          }
          for (; m < m_len; ++m) {
            const T pm = sc[m];
            const T* __restrict vm = vh + m * v.stride_l + db;
            LUMAMBA_NO_EARLY_UNROLL
            for (int64_t j = 0; j < kLanes; ++j) a0[j] += pm * vm[j];
          }
          for (int64_t j = 0; j < kLanes; ++j) o[db + j] = a0[j] + a1[j];
        }
        for (; db < hd; ++db) {
          T acc = T(0);
          for (int64_t m = 0; m < m_len; ++m) acc += sc[m] * vh[m * v.stride_l + db];
          o[db] = acc;
        }
      }
    }
    if (w_row != nullptr) {
      for (int64_t i = 0; i < s.len_q * m_len; ++i) w_row[i] *= inv_heads;
    }
  }
}

}  // namespace

template <typename T>
void attention_forward(const AttentionShape& shape, T scale, const HeadsView<T>& q, const HeadsView<T>& k,
                       const HeadsView<T>& v, T* out, T* weights, int64_t row_begin, int64_t row_end) {
  if (row_end <= row_begin || shape.heads <= 0 || shape.len_q <= 0 || shape.head_dim <= 0) return;
  attention_rows<T>(shape, scale, q, k, v, out, weights, row_begin, row_end);
}

template void attention_forward<float>(const AttentionShape&, float, const HeadsView<float>&, const HeadsView<float>&,
                                       const HeadsView<float>&, float*, float*, int64_t, int64_t);
template void attention_forward<double>(const AttentionShape&, double, const HeadsView<double>&,
                                        const HeadsView<double>&, const HeadsView<double>&, double*, double*, int64_t,
                                        int64_t);

}  // namespace lumamba::model::kernels
