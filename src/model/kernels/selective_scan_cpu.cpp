// Fused CPU selective scan (lumamba/model/kernels/selective_scan_cpu.h): argument checks, the work
// plan (rows split into tasks), and run-time choice between the AVX-512, AVX2+FMA and baseline builds
// of the loops in selective_scan_cpu_impl.h. Mirrors mamba_ssm's selective_scan_fwd/bwd CPU-free
// semantics (selective_scan_ref v2.3.2); derivation in docs/kernels/selective_scan.md.
// Legend: B batch, Di channels, L length, N d_state, Np = N padded to kLanes, K chunk size.
#include "lumamba/model/kernels/selective_scan_cpu.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace lumamba::model::kernels {
namespace {

/// State padding: Np is N rounded up to 8 lanes (one AVX2 float vector, two double vectors).
constexpr int kLanes = 8;
/// Work split: at least this many tasks when rows allow it, each of at least kMinRowsPerTask rows.
/// Fixed numbers (not the thread count) so the reduction order, hence the result, does not depend on
/// the number of threads.
constexpr int64_t kTargetTasks = 64;
constexpr int64_t kMinRowsPerTask = 32;
/// Time steps per task of the B/C packing and of the dB/dC reduction.
constexpr int64_t kPackTimeBlock = 256;
/// Channels gathered together per chunk (one 64-byte line of floats in a time-major buffer).
constexpr int64_t kRowGroup = 16;
static_assert(kRowGroup % 16 == 0 && kRowGroup % kLanes == 0, "the forward runs a row group as whole vectors of rows");

struct Plan {
  int np = 0;             ///< padded state width
  int64_t n_chunks = 0;   ///< ceil(L / K)
  int64_t n_blocks = 1;   ///< channel blocks per batch
  int64_t n_tasks = 0;    ///< B · n_blocks; task = (b, block of channels)
};

Plan make_plan(const ScanShape& s, int64_t chunk_size) {
  Plan p;
  p.np = static_cast<int>((s.d_state + kLanes - 1) / kLanes * kLanes);
  p.n_chunks = (s.seq_len + chunk_size - 1) / chunk_size;
  const int64_t want = (kTargetTasks + std::max<int64_t>(s.n_batch, 1) - 1) / std::max<int64_t>(s.n_batch, 1);
  const int64_t most = std::max<int64_t>(1, s.d_inner / kMinRowsPerTask);
  p.n_blocks = std::clamp<int64_t>(want, 1, most);
  p.n_tasks = s.n_batch * p.n_blocks;
  return p;
}

template <typename Fn>
void run_parallel(const ScanConfig& cfg, int64_t n, const Fn& fn) {
  if (n <= 0) return;
  if (cfg.parallel_for) {
    cfg.parallel_for(n, fn);
  } else {
    fn(int64_t{0}, n);
  }
}

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("selective_scan_cpu: " + what); }

template <typename T>
void check_common(const ScanShape& s, const ScanInputs<T>& in, const ScanConfig& cfg) {
  if (s.n_batch < 0 || s.d_inner < 0 || s.seq_len < 0) fail("negative size");
  if (s.d_state < 1 || s.d_state > kScanMaxState) {
    fail("d_state must be in [1, " + std::to_string(kScanMaxState) + "], got " + std::to_string(s.d_state));
  }
  if (cfg.chunk_size < 1) fail("chunk_size must be >= 1, got " + std::to_string(cfg.chunk_size));
  if (in.u.data == nullptr || in.delta.data == nullptr || in.A.data == nullptr || in.B.data == nullptr ||
      in.C.data == nullptr) {
    fail("u, delta, A, B and C are required");
  }
}

}  // namespace

// One copy of the loops per instruction set. GCC: push a target for the included definitions;
// clang: the equivalent attribute region. Elsewhere only the baseline copy exists. kRowLanes is the
// number of rows the forward runs per vector: one 256-bit float vector (8), or one 512-bit one (16).
#if defined(__x86_64__) && defined(__GNUC__)
#define LUMAMBA_SCAN_HAVE_X86_ISAS 1
namespace isa_avx2 {
constexpr int kRowLanes = 8;
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#include "selective_scan_cpu_math.h"
#include "selective_scan_cpu_impl.h"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
}  // namespace isa_avx2

// AVX-512: the same loops with 16 float lanes per vector (one d_state = 16 row of the state in one
// register, 16 rows per vector in the forward). prefer-vector-width=512: GCC's default tuning would
// otherwise keep 256-bit vectors.
namespace isa_avx512 {
constexpr int kRowLanes = 16;
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))), \
                             apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,prefer-vector-width=512")
#endif
#include "selective_scan_cpu_math.h"
#include "selective_scan_cpu_impl.h"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
}  // namespace isa_avx512
#endif

namespace isa_base {
constexpr int kRowLanes = 8;
#include "selective_scan_cpu_math.h"
#include "selective_scan_cpu_impl.h"
}  // namespace isa_base

namespace {

bool cpu_has(ScanIsa isa) {
#if defined(LUMAMBA_SCAN_HAVE_X86_ISAS)
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  static const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
  switch (isa) {
    case ScanIsa::kAvx2: return avx2;
    case ScanIsa::kAvx512: return avx512;
    default: return true;
  }
#else
  return isa == ScanIsa::kBaseline || isa == ScanIsa::kAuto;
#endif
}

/// The build of the loops a call runs: kAuto = the widest the CPU has; an explicit one must exist.
ScanIsa resolve_isa(ScanIsa wanted) {
  if (wanted == ScanIsa::kAuto) {
    for (auto isa : {ScanIsa::kAvx512, ScanIsa::kAvx2}) {
      if (cpu_has(isa)) return isa;
    }
    return ScanIsa::kBaseline;
  }
  if (!cpu_has(wanted)) fail(std::string("this CPU cannot run the ") + scan_isa_name(wanted) + " build of the kernel");
  return wanted;
}

}  // namespace

bool scan_isa_available(ScanIsa isa) { return cpu_has(isa); }

const char* scan_isa_name(ScanIsa isa) {
  switch (isa) {
    case ScanIsa::kBaseline: return "baseline";
    case ScanIsa::kAvx2: return "avx2+fma";
    case ScanIsa::kAvx512: return "avx512";
    default: return "auto";
  }
}

const char* scan_kernel_isa() { return scan_isa_name(resolve_isa(ScanIsa::kAuto)); }

int64_t scan_checkpoint_numel(const ScanShape& shape, int64_t chunk_size) {
  if (chunk_size < 1) fail("chunk_size must be >= 1");
  const Plan p = make_plan(shape, chunk_size);
  return shape.n_batch * shape.d_inner * p.n_chunks * p.np;
}

template <typename T>
void selective_scan_forward(const ScanShape& shape, const ScanInputs<T>& in, const ScanForwardOutputs<T>& out,
                            const ScanConfig& config) {
  check_common(shape, in, config);
  if (out.y.data == nullptr) fail("forward needs an output y");
  const Plan plan = make_plan(shape, config.chunk_size);
#if defined(LUMAMBA_SCAN_HAVE_X86_ISAS)
  switch (resolve_isa(config.isa)) {
    case ScanIsa::kAvx512: return isa_avx512::forward_entry<T>(shape, in, out, config, plan);
    case ScanIsa::kAvx2: return isa_avx2::forward_entry<T>(shape, in, out, config, plan);
    default: break;
  }
#endif
  isa_base::forward_entry<T>(shape, in, out, config, plan);
}

template <typename T>
void selective_scan_backward(const ScanShape& shape, const ScanInputs<T>& in, const ScanBackward<T>& grad,
                             const ScanConfig& config) {
  check_common(shape, in, config);
  if (grad.grad_y.data == nullptr) fail("backward needs grad_y");
  const Plan plan = make_plan(shape, config.chunk_size);
  if (grad.checkpoints == nullptr && plan.n_chunks > 0 && shape.n_batch * shape.d_inner > 0) {
    fail("backward needs the checkpoints of a training forward");
  }
#if defined(LUMAMBA_SCAN_HAVE_X86_ISAS)
  switch (resolve_isa(config.isa)) {
    case ScanIsa::kAvx512: return isa_avx512::backward_entry<T>(shape, in, grad, config, plan);
    case ScanIsa::kAvx2: return isa_avx2::backward_entry<T>(shape, in, grad, config, plan);
    default: break;
  }
#endif
  isa_base::backward_entry<T>(shape, in, grad, config, plan);
}

template void selective_scan_forward<float>(const ScanShape&, const ScanInputs<float>&,
                                            const ScanForwardOutputs<float>&, const ScanConfig&);
template void selective_scan_forward<double>(const ScanShape&, const ScanInputs<double>&,
                                             const ScanForwardOutputs<double>&, const ScanConfig&);
template void selective_scan_backward<float>(const ScanShape&, const ScanInputs<float>&, const ScanBackward<float>&,
                                             const ScanConfig&);
template void selective_scan_backward<double>(const ScanShape&, const ScanInputs<double>&,
                                              const ScanBackward<double>&, const ScanConfig&);

}  // namespace lumamba::model::kernels
