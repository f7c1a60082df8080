// selective_scan_cpu_impl.h — body of the fused selective scan, private to selective_scan_cpu.cpp.
// NO include guard on purpose: the .cpp includes this file once per instruction set, inside a
// namespace and under `#pragma GCC target(...)`, so the same loops compile for baseline x86-64 and
// AVX2+FMA and are picked at run time. It must therefore include nothing itself (the .cpp includes
// the std headers first) and define only templates and inline functions.
//
// Legend: B batch, Di channels, L length, N d_state, Np = N rounded up to kLanes (padded states have
// A = B = C = 0, so they stay 0 and never reach an output), K chunk size, row = one (b, d) pair.
// Vectorisation: every inner loop runs over n (states) on contiguous arrays of compile-time length
// Np (8/16/32) or over a tile of K steps × 16 rows; exp/log1p/σ are the branch-free lane functions
// of selective_scan_cpu_math.h (included just before this file), not libm calls. The includer also
// defines kRowLanes, the rows the forward runs per vector (8 for 256-bit, 16 for 512-bit vectors).

// ----------------------------------------------------------------------- per-row chunk loops
// `GCC unroll 1` on the short n loops: unrolled early (before the vectoriser), the state array is
// split into scalars and the update comes out scalar; kept as loops, they vectorise and the state
// stays in vector registers across time steps (checked with -fopt-info-vec and objdump).
#ifndef LUMAMBA_SCAN_NO_EARLY_UNROLL
#define LUMAMBA_SCAN_NO_EARLY_UNROLL _Pragma("GCC unroll 1")
#endif
/// Sums np (multiple of kLanes) values: vertical adds into kLanes lanes, then a fixed tree (GCC does
/// not reassociate a scalar float reduction without -ffast-math; this order vectorises).
template <typename T, int kNp>
[[gnu::always_inline]] inline T lane_sum(T* __restrict pr, int np_rt) {
  const int np = kNp > 0 ? kNp : np_rt;
  for (int n = kLanes; n < np; n += kLanes) {
    LUMAMBA_SCAN_NO_EARLY_UNROLL
    for (int j = 0; j < kLanes; ++j) pr[j] += pr[n + j];
  }
  LUMAMBA_SCAN_NO_EARLY_UNROLL
  for (int j = 0; j < 4; ++j) pr[j] += pr[j + 4];
  LUMAMBA_SCAN_NO_EARLY_UNROLL
  for (int j = 0; j < 2; ++j) pr[j] += pr[j + 2];
  return pr[0] + pr[1];
}

// The chunk loops below are kept out of line ([[gnu::noinline]]) so that inlining into the
// drivers cannot undo the above; one call per row (or lane group) and chunk costs nothing next to K
// steps of work.

/// The forward of one chunk for kRowLanes rows at once, one row per vector lane: the state is (Np,
/// kRowLanes) and each step reads B_t[n], C_t[n] once for all lanes, so h·C needs no horizontal sum per
/// step (a per-row loop over the state spent most of a short chunk in that sum). at (Np, kRowLanes) = A of the lanes' rows; dt,
/// dtu, yc: the group tile (row stride ts), first lane at offset 0. Lanes beyond the group's rows
/// carry A = 0 and are never stored.
template <typename T, int kNp>
[[gnu::noinline]] void chunk_forward_lanes(int np_rt, int64_t len, int64_t ts, const T* __restrict at,
                                           const T* __restrict dt, const T* __restrict dtu, const T* __restrict bp,
                                           const T* __restrict cp, T* __restrict ht, T* __restrict yc) {
  const int np = kNp > 0 ? kNp : np_rt;
  for (int64_t i = 0; i < len; ++i) {
    T d[kRowLanes], du[kRowLanes], y[kRowLanes];
    for (int w = 0; w < kRowLanes; ++w) {
      d[w] = dt[i * ts + w];
      du[w] = dtu[i * ts + w];
      y[w] = T(0);
    }
    const T* __restrict b = bp + i * np;
    const T* __restrict c = cp + i * np;
    for (int n = 0; n < np; ++n) {
      const T bn = b[n], cn = c[n];
      T* __restrict hn = ht + n * kRowLanes;
      const T* __restrict an = at + n * kRowLanes;
      LUMAMBA_SCAN_NO_EARLY_UNROLL
      for (int w = 0; w < kRowLanes; ++w) {
        hn[w] = exp_lane(d[w] * an[w]) * hn[w] + du[w] * bn;
        y[w] += hn[w] * cn;
      }
    }
    for (int w = 0; w < kRowLanes; ++w) yc[i * ts + w] = y[w];
  }
}

/// Backward recomputation of one chunk from its checkpoint h0: stores every state hs (len, Np),
/// every decay das = exp(Δ_t·A) (len, Np) and yc = h_t·C_t (len).
template <typename T, int kNp>
[[gnu::noinline]] void chunk_recompute(int np_rt, int64_t len, int64_t ts, const T* __restrict a,
                                       const T* __restrict dt, const T* __restrict dtu, const T* __restrict bp,
                                       const T* __restrict cp, const T* __restrict h0, T* __restrict hs,
                                       T* __restrict das, T* __restrict yc) {
  const int np = kNp > 0 ? kNp : np_rt;
  constexpr int kCap = kNp > 0 ? kNp : static_cast<int>(kScanMaxState);
  T hl[kCap], al[kCap], pr[kCap];
  for (int n = 0; n < np; ++n) {
    hl[n] = h0[n];
    al[n] = a[n];
  }
  for (int64_t i = 0; i < len; ++i) {
    const T d = dt[i * ts], du = dtu[i * ts];
    const T* __restrict b = bp + i * np;
    const T* __restrict c = cp + i * np;
    T* __restrict da = das + i * np;
    T* __restrict hi = hs + i * np;
    LUMAMBA_SCAN_NO_EARLY_UNROLL
    for (int n = 0; n < np; ++n) da[n] = exp_lane(d * al[n]);
    LUMAMBA_SCAN_NO_EARLY_UNROLL
    for (int n = 0; n < np; ++n) {
      hl[n] = da[n] * hl[n] + du * b[n];
      hi[n] = hl[n];
      pr[n] = hl[n] * c[n];
    }
    yc[i * ts] = lane_sum<T, kNp>(pr, np);
  }
}

/// Adjoint sweep of one chunk in reverse time (docs/kernels/selective_scan.md):
///   λ_t = gy_t·C_t + exp(Δ_{t+1}A)⊙λ_{t+1};  q_t = λ_t⊙exp(Δ_t A)⊙h_{t-1}
///   dC_t += gy_t·h_t,  dB_t += Δ_t u_t·λ_t,  dA += Δ_t·q_t,
///   dΔ_t = Σ_n q_t·A + u_t·Σ_n λ_t·B_t,  du_t(scan part) = Δ_t·Σ_n λ_t·B_t.
/// lam (Np) in: exp(Δ_{t1}A)⊙λ_{t1} of the step after the chunk; out: the same for the chunk's first
/// step (= dL/dh before the chunk). dacc (Np) accumulates dA of the row; dbp, dcp (len, Np) accumulate.
template <typename T, int kNp>
[[gnu::noinline]] void chunk_adjoint(int np_rt, int64_t len, int64_t ts, const T* __restrict a,
                                     const T* __restrict dt, const T* __restrict dtu, const T* __restrict u,
                                     const T* __restrict gy, const T* __restrict bp, const T* __restrict cp,
                                     const T* __restrict h0, const T* __restrict hs, const T* __restrict das,
                                     T* __restrict lam, T* __restrict dacc, T* __restrict dbp, T* __restrict dcp,
                                     T* __restrict ddt, T* __restrict dus) {
  const int np = kNp > 0 ? kNp : np_rt;
  constexpr int kCap = kNp > 0 ? kNp : static_cast<int>(kScanMaxState);
  T ll[kCap], acc[kCap], al[kCap], sa[kCap], sb[kCap];
  for (int n = 0; n < np; ++n) {
    ll[n] = lam[n];
    acc[n] = dacc[n];
    al[n] = a[n];
  }
  for (int64_t i = len - 1; i >= 0; --i) {
    const T g = gy[i * ts], dti = dt[i * ts], dtui = dtu[i * ts];
    const T* __restrict b = bp + i * np;
    const T* __restrict c = cp + i * np;
    const T* __restrict hi = hs + i * np;
    const T* __restrict hp = i > 0 ? hs + (i - 1) * np : h0;
    const T* __restrict da = das + i * np;
    T* __restrict db = dbp + i * np;
    T* __restrict dc = dcp + i * np;
    LUMAMBA_SCAN_NO_EARLY_UNROLL
    for (int n = 0; n < np; ++n) {
      const T l = ll[n] + g * c[n];
      const T q = l * da[n] * hp[n];
      dc[n] += g * hi[n];
      db[n] += l * dtui;
      acc[n] += q * dti;
      sa[n] = q * al[n];
      sb[n] = l * b[n];
      ll[n] = da[n] * l;
    }
    const T s_qa = lane_sum<T, kNp>(sa, np);
    const T s_lb = lane_sum<T, kNp>(sb, np);
    ddt[i * ts] = s_qa + u[i * ts] * s_lb;
    dus[i * ts] = dti * s_lb;
  }
  for (int n = 0; n < np; ++n) {
    lam[n] = ll[n];
    dacc[n] = acc[n];
  }
}

// ------------------------------------------------------------------------------ drivers
// Rows are processed in groups of kRowGroup consecutive channels. Per chunk, a group's (G, K) tile
// of each (B, Di, L) input is gathered once (and each output tile scattered once), walking memory
// in its contiguous direction: with the Mamba block's time-major buffers, 16 channels of one time
// step share a cache line, where a row-by-row gather would touch K lines (and pages) per row.

/// Tile (rows x0 … x0+g_count, logical times t0 … t0+len) of a (B, X, L) view <-> tile[i·kRowGroup + g],
/// walking the view in its contiguous direction. stage: scratch of g_count·len elements for gathers
/// (to_tile) of time-contiguous rows; unused otherwise (may be nullptr).
template <typename T, typename V>
inline void tile_walk(const View3<V>& v, int64_t b, int64_t x0, int64_t g_count, int64_t t0, int64_t len,
                      int64_t seq_len, bool reverse, T* __restrict tile, bool to_tile, T* __restrict stage) {
  const int64_t st = reverse ? -v.s2 : v.s2;
  V* base = v.data + b * v.s0 + x0 * v.s1 + (reverse ? seq_len - 1 - t0 : t0) * v.s2;
  const int64_t sx = v.s1;
  if (std::abs(sx) < std::abs(st)) {  // channels closer in memory than time steps: time outside
    for (int64_t i = 0; i < len; ++i) {
      V* p = base + i * st;
      T* row = tile + i * kRowGroup;
      // A full group of unit-stride channels is a fixed 16-element copy (vector moves, no memmove call).
      const bool full = sx == 1 && g_count == kRowGroup;
      if (to_tile) {
        if (full) {
          for (int64_t g = 0; g < kRowGroup; ++g) row[g] = p[g];
        } else {
          for (int64_t g = 0; g < g_count; ++g) row[g] = p[g * sx];
        }
      } else {
        T* q = const_cast<T*>(p);
        if (full) {
          for (int64_t g = 0; g < kRowGroup; ++g) q[g] = row[g];
        } else {
          for (int64_t g = 0; g < g_count; ++g) q[g * sx] = row[g];
        }
      }
    }
  } else if (to_tile && std::abs(st) == 1) {
    // Time-contiguous rows (e.g. mamba_ssm's contiguous (B, Di, L)): each row copied as one run into a
    // row-major stage (vector loads, one per cache line), then transposed into the tile in L1. Copied
    // element by element straight into the tile, each missing line held 16 loads and few lines were
    // in flight (kernel alone, contiguous inputs, L = 1024, B = 8, 1 thread: backward 122 -> 99 ms).
    // Staging the scatters gained nothing (stores do not stall).
    for (int64_t g = 0; g < g_count; ++g) {
      const V* __restrict p = base + g * sx;
      T* __restrict q = stage + g * len;
      if (st == 1) {
        for (int64_t i = 0; i < len; ++i) q[i] = p[i];
      } else {
        for (int64_t i = 0; i < len; ++i) q[i] = p[-i];
      }
    }
    for (int64_t i = 0; i < len; ++i) {
      for (int64_t g = 0; g < g_count; ++g) tile[i * kRowGroup + g] = stage[g * len + i];
    }
  } else {
    for (int64_t g = 0; g < g_count; ++g) {
      V* p = base + g * sx;
      if (to_tile) {
        for (int64_t i = 0; i < len; ++i) tile[i * kRowGroup + g] = p[i * st];
      } else {
        T* q = const_cast<T*>(p);
        for (int64_t i = 0; i < len; ++i) q[i * st] = tile[i * kRowGroup + g];
      }
    }
  }
}
/// Prefetches the cache lines of a tile (the next group's inputs while the current one is scanned:
/// the strided tile reads are otherwise exposed cache misses, ~10% of a short-sequence call).
template <typename V>
inline void prefetch_tile(const View3<V>& v, int64_t b, int64_t x0, int64_t g_count, int64_t t0, int64_t len,
                          int64_t seq_len, bool reverse) {
  if (v.data == nullptr || len <= 0 || g_count <= 0) return;
  constexpr int64_t kLine = 64 / static_cast<int64_t>(sizeof(V));
  const int64_t st = reverse ? -v.s2 : v.s2;
  const V* base = v.data + b * v.s0 + x0 * v.s1 + (reverse ? seq_len - 1 - t0 : t0) * v.s2;
  if (std::abs(v.s1) < std::abs(st)) {
    const int64_t lines = (std::abs(v.s1) * (g_count - 1)) / kLine + 1;
    for (int64_t i = 0; i < len; ++i) {
      for (int64_t l = 0; l < lines; ++l) __builtin_prefetch(base + i * st + (v.s1 < 0 ? -l : l) * kLine);
    }
  } else {
    const int64_t lines = (std::abs(st) * (len - 1)) / kLine + 1;
    for (int64_t g = 0; g < g_count; ++g) {
      for (int64_t l = 0; l < lines; ++l) __builtin_prefetch(base + g * v.s1 + (st < 0 ? -l : l) * kLine);
    }
  }
}

template <typename T>
inline void gather_tile(const View3<const T>& v, int64_t b, int64_t x0, int64_t g_count, int64_t t0, int64_t len,
                        int64_t seq_len, bool reverse, T* tile, T* stage) {
  tile_walk<T, const T>(v, b, x0, g_count, t0, len, seq_len, reverse, tile, true, stage);
}
template <typename T>
inline void scatter_tile(const View3<T>& v, int64_t b, int64_t x0, int64_t g_count, int64_t t0, int64_t len,
                         int64_t seq_len, bool reverse, T* tile) {
  tile_walk<T, T>(v, b, x0, g_count, t0, len, seq_len, reverse, tile, false, nullptr);
}

/// Per-call data shared by all rows: A padded to (Di, Np); B and C of each batch packed to
/// (B, L, Np) in logical time (one transposing copy, so the state loops read contiguous n).
template <typename T>
struct Packed {
  std::vector<T> a, b, c;
};

template <typename T>
Packed<T> pack_inputs(const ScanShape& s, const ScanInputs<T>& in, const Plan& plan, const ScanConfig& cfg) {
  const int np = plan.np;
  const int64_t seq_len = s.seq_len;
  Packed<T> p;
  p.a.assign(static_cast<size_t>(s.d_inner * np), T(0));
  for (int64_t d = 0; d < s.d_inner; ++d) {
    for (int64_t n = 0; n < s.d_state; ++n) p.a[d * np + n] = in.A.data[d * in.A.s0 + n * in.A.s1];
  }
  p.b.resize(static_cast<size_t>(s.n_batch * seq_len * np));
  p.c.resize(p.b.size());
  const int64_t n_tblk = (seq_len + kPackTimeBlock - 1) / kPackTimeBlock;
  run_parallel(cfg, s.n_batch * n_tblk, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / n_tblk, t0 = (task % n_tblk) * kPackTimeBlock;
      const int64_t t1 = std::min(seq_len, t0 + kPackTimeBlock);
      for (int64_t t = t0; t < t1; ++t) {
        T* pb = p.b.data() + (b * seq_len + t) * np;
        T* pc = p.c.data() + (b * seq_len + t) * np;
        const int64_t tp = cfg.reverse ? seq_len - 1 - t : t;
        for (int64_t n = 0; n < s.d_state; ++n) {
          pb[n] = in.B.data[b * in.B.s0 + n * in.B.s1 + tp * in.B.s2];
          pc[n] = in.C.data[b * in.C.s0 + n * in.C.s1 + tp * in.C.s2];
        }
        for (int n = static_cast<int>(s.d_state); n < np; ++n) pb[n] = pc[n] = T(0);
      }
    }
  });
  return p;
}


/// Per-chunk tiles of one row group, time-major: element (step i, row g) at [i·kRowGroup + g], so
/// the per-step elementwise work (softplus, gates, outputs) runs over contiguous K·G arrays and
/// each row's scan reads its column with stride kRowGroup. 16 rows × K = 64 steps × 4 B = 4 KB a tile.
template <typename T>
struct GroupBuffers {
  explicit GroupBuffers(int64_t k) {
    for (auto* v : {&u, &x, &z, &g, &dt, &dtu, &spg, &sz, &gy, &yc, &ddt, &dus, &out, &out2, &out3, &stage}) {
      v->assign(static_cast<size_t>(k * kRowGroup), T(0));
    }
  }
  // spg: dΔ/dδ, sz: σ(z), stage: gather_tile's scratch
  std::vector<T> u, x, z, g, dt, dtu, spg, sz, gy, yc, ddt, dus, out, out2, out3, stage;
  T bias[kRowGroup] = {}, dd[kRowGroup] = {};  // delta_bias and D of the group's rows
};

/// Gathers the u, δ, z tiles of rows d0 … d0+gc for one chunk and computes over the whole tile
/// Δ = softplus(δ + bias), Δ·u, and for the backward (with_grad) dΔ/dδ and σ(z).
template <typename T>
inline void load_group(const ScanShape& s, const ScanInputs<T>& in, const ScanConfig& cfg, int64_t b, int64_t d0,
                       int64_t gc, int64_t t0, int64_t len, bool with_grad, GroupBuffers<T>& r) {
  gather_tile(in.u, b, d0, gc, t0, len, s.seq_len, cfg.reverse, r.u.data(), r.stage.data());
  gather_tile(in.delta, b, d0, gc, t0, len, s.seq_len, cfg.reverse, r.x.data(), r.stage.data());
  if (in.z.data != nullptr) gather_tile(in.z, b, d0, gc, t0, len, s.seq_len, cfg.reverse, r.z.data(), r.stage.data());
  for (int64_t g = 0; g < kRowGroup; ++g) {
    const bool row = g < gc;
    r.bias[g] = row && in.delta_bias.data != nullptr ? in.delta_bias.data[(d0 + g) * in.delta_bias.stride] : T(0);
    r.dd[g] = row && in.D.data != nullptr ? in.D.data[(d0 + g) * in.D.stride] : T(0);
  }
  const int64_t m = len * kRowGroup;
  T* __restrict x = r.x.data();
  T* __restrict dt = r.dt.data();
  T* __restrict dtu = r.dtu.data();
  const T* __restrict u = r.u.data();
  for (int64_t i = 0; i < len; ++i) {
    for (int64_t g = 0; g < kRowGroup; ++g) x[i * kRowGroup + g] += r.bias[g];
  }
  if (cfg.delta_softplus && with_grad) {
    T* __restrict spg = r.spg.data();
    for (int64_t e = 0; e < m; ++e) softplus_and_grad_lane(x[e], dt[e], spg[e]);
  } else if (cfg.delta_softplus) {
    for (int64_t e = 0; e < m; ++e) dt[e] = softplus_lane(x[e]);
  } else {
    for (int64_t e = 0; e < m; ++e) dt[e] = x[e];
  }
  for (int64_t e = 0; e < m; ++e) dtu[e] = dt[e] * u[e];
  if (with_grad && in.z.data != nullptr) {
    const T* __restrict z = r.z.data();
    T* __restrict sz = r.sz.data();
    for (int64_t e = 0; e < m; ++e) sz[e] = sigmoid_lane(z[e]);
  }
}

/// Prefetches the inputs of the group after (g0, chunk k): the next group of the task's rows, or
/// the first group of chunk k_next (the next chunk in scan order; < 0 or >= n_chunks: none).
template <typename T>
inline void prefetch_next_group(const ScanShape& s, const ScanInputs<T>& in, const View3<const T>& grad_y,
                                const ScanConfig& cfg, int64_t b, int64_t d0, int64_t d1, int64_t g0, int64_t k_next,
                                int64_t n_chunks, int64_t t0, int64_t len) {
  int64_t next = g0 + kRowGroup;
  if (next >= d1) {
    if (k_next < 0 || k_next >= n_chunks) return;
    next = d0;
    t0 = k_next * cfg.chunk_size;
    len = std::min(cfg.chunk_size, s.seq_len - t0);
  }
  const int64_t gc = std::min<int64_t>(kRowGroup, d1 - next);
  for (const auto* v : {&in.u, &in.delta, &in.z, &grad_y}) prefetch_tile(*v, b, next, gc, t0, len, s.seq_len, cfg.reverse);
}

/// (b, block) of a task: rows [d0, d1) of batch b.
struct TaskRows {
  int64_t b, d0, d1;
};
inline TaskRows task_rows(const Plan& plan, int64_t d_inner, int64_t task) {
  const int64_t b = task / plan.n_blocks, blk = task % plan.n_blocks;
  return {b, blk * d_inner / plan.n_blocks, (blk + 1) * d_inner / plan.n_blocks};
}

template <typename T, int kNp>
void forward_impl(const ScanShape& s, const ScanInputs<T>& in, const ScanForwardOutputs<T>& out,
                  const ScanConfig& cfg, const Plan& plan) {
  const int np = plan.np;
  const int64_t seq_len = s.seq_len, k_chunk = cfg.chunk_size, n_chunks = plan.n_chunks;
  const bool gated = in.z.data != nullptr;
  const Packed<T> pk = pack_inputs(s, in, plan, cfg);
  run_parallel(cfg, plan.n_tasks, [&](int64_t begin, int64_t end) {
    GroupBuffers<T> r(k_chunk);
    std::vector<T> state;
    std::vector<T> lane_a(static_cast<size_t>(np * kRowLanes)), lane_h(lane_a.size());  // (Np, kRowLanes)
    for (int64_t task = begin; task < end; ++task) {
      const auto [b, d0, d1] = task_rows(plan, s.d_inner, task);
      state.assign(static_cast<size_t>((d1 - d0) * np), T(0));  // (rows, Np)
      if (in.initial_state.data != nullptr) {
        const auto& h0 = in.initial_state;
        for (int64_t d = d0; d < d1; ++d) {
          for (int64_t n = 0; n < s.d_state; ++n) state[(d - d0) * np + n] = h0.data[b * h0.s0 + d * h0.s1 + n * h0.s2];
        }
      }
      // Chunk-major over the task's rows: B/C of the chunk stay in L1 across the rows.
      for (int64_t k = 0; k < n_chunks; ++k) {
        const int64_t t0 = k * k_chunk, len = std::min(k_chunk, seq_len - t0);
        const T* bp = pk.b.data() + (b * seq_len + t0) * np;
        const T* cp = pk.c.data() + (b * seq_len + t0) * np;
        for (int64_t g0 = d0; g0 < d1; g0 += kRowGroup) {
          const int64_t gc = std::min<int64_t>(kRowGroup, d1 - g0);
          load_group(s, in, cfg, b, g0, gc, t0, len, /*with_grad=*/false, r);
          prefetch_next_group(s, in, View3<const T>{}, cfg, b, d0, d1, g0, k + 1, n_chunks, t0, len);
          for (int64_t w0 = 0; w0 < gc; w0 += kRowLanes) {
            // kRowLanes rows per call, transposed to (Np, kRowLanes) and back (np·kRowLanes copies per chunk).
            const int64_t wc = std::min<int64_t>(kRowLanes, gc - w0);
            for (int64_t w = 0; w < kRowLanes; ++w) {
              const T* a_row = pk.a.data() + (g0 + w0 + w) * np;
              const T* h_row = state.data() + (g0 + w0 + w - d0) * np;
              for (int n = 0; n < np; ++n) {
                lane_a[n * kRowLanes + w] = w < wc ? a_row[n] : T(0);
                lane_h[n * kRowLanes + w] = w < wc ? h_row[n] : T(0);
              }
              if (w < wc && out.checkpoints != nullptr) {
                std::copy(h_row, h_row + np, out.checkpoints + ((b * s.d_inner + g0 + w0 + w) * n_chunks + k) * np);
              }
            }
            chunk_forward_lanes<T, kNp>(np, len, kRowGroup, lane_a.data(), r.dt.data() + w0, r.dtu.data() + w0, bp,
                                        cp, lane_h.data(), r.yc.data() + w0);
            for (int64_t w = 0; w < wc; ++w) {
              T* h_row = state.data() + (g0 + w0 + w - d0) * np;
              for (int n = 0; n < np; ++n) h_row[n] = lane_h[n * kRowLanes + w];
            }
          }
          // y = (h·C + D·u) · SiLU(z) over the tile.
          const T* __restrict u = r.u.data();
          const T* __restrict yc = r.yc.data();
          const T* __restrict z = r.z.data();
          T* __restrict o = r.out.data();
          for (int64_t i = 0; i < len; ++i) {
            for (int64_t g = 0; g < kRowGroup; ++g) o[i * kRowGroup + g] = yc[i * kRowGroup + g] + r.dd[g] * u[i * kRowGroup + g];
          }
          if (gated) {
            for (int64_t e = 0; e < len * kRowGroup; ++e) o[e] *= z[e] * sigmoid_lane(z[e]);
          }
          scatter_tile(out.y, b, g0, gc, t0, len, seq_len, cfg.reverse, r.out.data());
        }
      }
      if (out.final_state.data != nullptr) {
        const auto& hf = out.final_state;
        for (int64_t d = d0; d < d1; ++d) {
          for (int64_t n = 0; n < s.d_state; ++n) hf.data[b * hf.s0 + d * hf.s1 + n * hf.s2] = state[(d - d0) * np + n];
        }
      }
    }
  });
}

template <typename T, int kNp>
void backward_impl(const ScanShape& s, const ScanInputs<T>& in, const ScanBackward<T>& gr, const ScanConfig& cfg,
                   const Plan& plan) {
  const int np = plan.np;
  const int64_t seq_len = s.seq_len, k_chunk = cfg.chunk_size, n_chunks = plan.n_chunks;
  const int64_t di = s.d_inner;
  const bool gated = in.z.data != nullptr;
  const Packed<T> pk = pack_inputs(s, in, plan, cfg);
  // Partial sums, one slab per task so no two threads write the same element and the result does
  // not depend on the thread count: dB, dC (tasks, L, Np) in logical time; dA (B, Di, Np); dD, dbias (B, Di).
  std::vector<T> part_db(static_cast<size_t>(plan.n_tasks * seq_len * np));
  std::vector<T> part_dc(part_db.size());
  std::vector<T> part_da(static_cast<size_t>(s.n_batch * di * np));
  std::vector<double> part_dd(static_cast<size_t>(s.n_batch * di)), part_dbias(part_dd.size());
  run_parallel(cfg, plan.n_tasks, [&](int64_t begin, int64_t end) {
    GroupBuffers<T> r(k_chunk);
    std::vector<T> hs(static_cast<size_t>(k_chunk * np)), das(hs.size());
    std::vector<T> lam, dacc;
    std::vector<double> dd_acc, dbias_acc;
    for (int64_t task = begin; task < end; ++task) {
      const auto [b, d0, d1] = task_rows(plan, di, task);
      const int64_t rows = d1 - d0;
      T* task_db = part_db.data() + task * seq_len * np;
      T* task_dc = part_dc.data() + task * seq_len * np;
      std::fill(task_db, task_db + seq_len * np, T(0));
      std::fill(task_dc, task_dc + seq_len * np, T(0));
      lam.assign(static_cast<size_t>(rows * np), T(0));  // (rows, Np): dL/dh after the current chunk
      dacc.assign(lam.size(), T(0));
      dd_acc.assign(static_cast<size_t>(rows), 0.0);
      dbias_acc.assign(static_cast<size_t>(rows), 0.0);
      if (gr.grad_final_state.data != nullptr) {
        const auto& gf = gr.grad_final_state;
        for (int64_t d = d0; d < d1; ++d) {
          for (int64_t n = 0; n < s.d_state; ++n) lam[(d - d0) * np + n] = gf.data[b * gf.s0 + d * gf.s1 + n * gf.s2];
        }
      }
      for (int64_t k = n_chunks - 1; k >= 0; --k) {
        const int64_t t0 = k * k_chunk, len = std::min(k_chunk, seq_len - t0), m = len * kRowGroup;
        const T* bp = pk.b.data() + (b * seq_len + t0) * np;
        const T* cp = pk.c.data() + (b * seq_len + t0) * np;
        for (int64_t g0 = d0; g0 < d1; g0 += kRowGroup) {
          const int64_t gc = std::min<int64_t>(kRowGroup, d1 - g0);
          load_group(s, in, cfg, b, g0, gc, t0, len, /*with_grad=*/true, r);
          gather_tile(gr.grad_y, b, g0, gc, t0, len, seq_len, cfg.reverse, r.g.data(), r.stage.data());
          prefetch_next_group(s, in, gr.grad_y, cfg, b, d0, d1, g0, k - 1, n_chunks, t0, len);
          const T* __restrict g = r.g.data();
          const T* __restrict z = r.z.data();
          const T* __restrict u = r.u.data();
          const T* __restrict sz = r.sz.data();
          T* __restrict gy = r.gy.data();
          if (gated) {
            for (int64_t e = 0; e < m; ++e) gy[e] = g[e] * z[e] * sz[e];
          } else {
            for (int64_t e = 0; e < m; ++e) gy[e] = g[e];
          }
          for (int64_t gi = 0; gi < gc; ++gi) {
            const int64_t d = g0 + gi, row = d - d0;
            const T* a = pk.a.data() + d * np;
            const T* h0 = gr.checkpoints + ((b * di + d) * n_chunks + k) * np;
            chunk_recompute<T, kNp>(np, len, kRowGroup, a, r.dt.data() + gi, r.dtu.data() + gi, bp, cp, h0, hs.data(),
                                    das.data(), r.yc.data() + gi);
            chunk_adjoint<T, kNp>(np, len, kRowGroup, a, r.dt.data() + gi, r.dtu.data() + gi, u + gi, gy + gi, bp, cp,
                                  h0, hs.data(), das.data(), lam.data() + row * np, dacc.data() + row * np,
                                  task_db + t0 * np, task_dc + t0 * np, r.ddt.data() + gi, r.dus.data() + gi);
          }
          // Per-step outputs over the tile: du, dδ, dz; dD and dbias summed per row.
          const T* __restrict yc = r.yc.data();
          const T* __restrict dus = r.dus.data();
          const T* __restrict ddt = r.ddt.data();
          T* __restrict du = r.out.data();
          T* __restrict ddelta = r.out2.data();
          T* __restrict dz = r.out3.data();
          for (int64_t i = 0; i < len; ++i) {
            for (int64_t gi = 0; gi < kRowGroup; ++gi) {
              const int64_t e = i * kRowGroup + gi;
              du[e] = dus[e] + gy[e] * r.dd[gi];
            }
          }
          if (gated) {
            for (int64_t i = 0; i < len; ++i) {
              for (int64_t gi = 0; gi < kRowGroup; ++gi) {
                const int64_t e = i * kRowGroup + gi;
                dz[e] = g[e] * (yc[e] + r.dd[gi] * u[e]) * (sz[e] * (T(1) + z[e] * (T(1) - sz[e])));
              }
            }
          }
          if (cfg.delta_softplus) {
            const T* __restrict spg = r.spg.data();
            for (int64_t e = 0; e < m; ++e) ddelta[e] = ddt[e] * spg[e];
          } else {
            for (int64_t e = 0; e < m; ++e) ddelta[e] = ddt[e];
          }
          double sum_dd[kRowGroup] = {}, sum_db[kRowGroup] = {};
          for (int64_t i = 0; i < len; ++i) {
            for (int64_t gi = 0; gi < kRowGroup; ++gi) {
              const int64_t e = i * kRowGroup + gi;
              sum_dd[gi] += static_cast<double>(gy[e] * u[e]);
              sum_db[gi] += static_cast<double>(ddelta[e]);
            }
          }
          for (int64_t gi = 0; gi < gc; ++gi) {
            dd_acc[g0 + gi - d0] += sum_dd[gi];
            dbias_acc[g0 + gi - d0] += sum_db[gi];
          }
          if (gr.du.data != nullptr) scatter_tile(gr.du, b, g0, gc, t0, len, seq_len, cfg.reverse, du);
          if (gr.ddelta.data != nullptr) scatter_tile(gr.ddelta, b, g0, gc, t0, len, seq_len, cfg.reverse, ddelta);
          if (gated && gr.dz.data != nullptr) scatter_tile(gr.dz, b, g0, gc, t0, len, seq_len, cfg.reverse, dz);
        }
      }
      for (int64_t d = d0; d < d1; ++d) {
        const int64_t row = d - d0;
        if (gr.dinitial_state.data != nullptr) {
          const auto& v = gr.dinitial_state;
          for (int64_t n = 0; n < s.d_state; ++n) v.data[b * v.s0 + d * v.s1 + n * v.s2] = lam[row * np + n];
        }
        std::copy(dacc.begin() + row * np, dacc.begin() + (row + 1) * np, part_da.begin() + (b * di + d) * np);
        part_dd[b * di + d] = dd_acc[row];
        part_dbias[b * di + d] = dbias_acc[row];
      }
    }
  });
  // Reductions: dB, dC over the channel blocks of each batch; dA, dD, dbias over the batch.
  const int64_t n_tblk = (seq_len + kPackTimeBlock - 1) / kPackTimeBlock;
  run_parallel(cfg, s.n_batch * n_tblk, [&](int64_t begin, int64_t end) {
    std::vector<T> sum_b(static_cast<size_t>(np)), sum_c(static_cast<size_t>(np));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / n_tblk, t0 = (task % n_tblk) * kPackTimeBlock;
      const int64_t t1 = std::min(seq_len, t0 + kPackTimeBlock);
      for (int64_t t = t0; t < t1; ++t) {
        std::fill(sum_b.begin(), sum_b.end(), T(0));
        std::fill(sum_c.begin(), sum_c.end(), T(0));
        for (int64_t blk = 0; blk < plan.n_blocks; ++blk) {
          const T* pb = part_db.data() + ((b * plan.n_blocks + blk) * seq_len + t) * np;
          const T* pc = part_dc.data() + ((b * plan.n_blocks + blk) * seq_len + t) * np;
          for (int n = 0; n < np; ++n) {
            sum_b[n] += pb[n];
            sum_c[n] += pc[n];
          }
        }
        const int64_t tp = cfg.reverse ? seq_len - 1 - t : t;
        for (int64_t n = 0; n < s.d_state; ++n) {
          if (gr.dB.data != nullptr) gr.dB.data[b * gr.dB.s0 + n * gr.dB.s1 + tp * gr.dB.s2] = sum_b[n];
          if (gr.dC.data != nullptr) gr.dC.data[b * gr.dC.s0 + n * gr.dC.s1 + tp * gr.dC.s2] = sum_c[n];
        }
      }
    }
  });
  for (int64_t d = 0; d < di; ++d) {
    double dd = 0.0, dbias = 0.0;
    for (int64_t n = 0; n < s.d_state; ++n) {
      T sum = T(0);
      for (int64_t b = 0; b < s.n_batch; ++b) sum += part_da[(b * di + d) * np + n];
      if (gr.dA.data != nullptr) gr.dA.data[d * gr.dA.s0 + n * gr.dA.s1] = sum;
    }
    for (int64_t b = 0; b < s.n_batch; ++b) {
      dd += part_dd[b * di + d];
      dbias += part_dbias[b * di + d];
    }
    if (gr.dD.data != nullptr) gr.dD.data[d * gr.dD.stride] = static_cast<T>(dd);
    if (gr.ddelta_bias.data != nullptr) gr.ddelta_bias.data[d * gr.ddelta_bias.stride] = static_cast<T>(dbias);
  }
}

/// Entry points of this instruction set: pick the compile-time state width.
template <typename T>
void forward_entry(const ScanShape& s, const ScanInputs<T>& in, const ScanForwardOutputs<T>& out,
                   const ScanConfig& cfg, const Plan& plan) {
  switch (plan.np) {
    case 8: return forward_impl<T, 8>(s, in, out, cfg, plan);
    case 16: return forward_impl<T, 16>(s, in, out, cfg, plan);
    case 32: return forward_impl<T, 32>(s, in, out, cfg, plan);
    default: return forward_impl<T, 0>(s, in, out, cfg, plan);
  }
}

template <typename T>
void backward_entry(const ScanShape& s, const ScanInputs<T>& in, const ScanBackward<T>& gr, const ScanConfig& cfg,
                    const Plan& plan) {
  switch (plan.np) {
    case 8: return backward_impl<T, 8>(s, in, gr, cfg, plan);
    case 16: return backward_impl<T, 16>(s, in, gr, cfg, plan);
    case 32: return backward_impl<T, 32>(s, in, gr, cfg, plan);
    default: return backward_impl<T, 0>(s, in, gr, cfg, plan);
  }
}

template void forward_entry<float>(const ScanShape&, const ScanInputs<float>&, const ScanForwardOutputs<float>&,
                                   const ScanConfig&, const Plan&);
template void forward_entry<double>(const ScanShape&, const ScanInputs<double>&, const ScanForwardOutputs<double>&,
                                    const ScanConfig&, const Plan&);
template void backward_entry<float>(const ScanShape&, const ScanInputs<float>&, const ScanBackward<float>&,
                                    const ScanConfig&, const Plan&);
template void backward_entry<double>(const ScanShape&, const ScanInputs<double>&, const ScanBackward<double>&,
                                     const ScanConfig&, const Plan&);
