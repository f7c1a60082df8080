// lumamba/model/runtime.h — process-wide compute settings and what the process actually runs on.
//
// Why: LibTorch starts with 1 intra-op thread on these machines, the BLAS behind libblas.so.3 may
// be the slow reference one, and a preset OPENBLAS_CORETYPE can halve SGEMM speed. Only apps/
// calls configure_threads (docs/style.md §11); everything reports through runtime_report().
#pragma once

#include <string>
#include <vector>

#include "lumamba/core/blas.h"

namespace lumamba::model {

/// Sets LibTorch's intra-op threads; n <= 0 means the number of hardware cores. Returns the count set.
int configure_threads(int n_threads);

/// The CPU's model name from /proc/cpuinfo ("unknown" when absent); benchmarks report it.
std::string cpu_model_name();

struct RuntimeReport {
  std::string torch_version;
  int intra_op_threads = 0;
  int inter_op_threads = 0;
  int hardware_threads = 0;
  BlasInfo blas;
  bool tcmalloc_loaded = false;
  std::string openblas_coretype;  ///< value of OPENBLAS_CORETYPE, "" when unset
  std::string openblas_core_switch;  ///< "Prescott -> SkylakeX" when lumamba chose the core, else ""
  bool cuda_available = false;
  std::string scan_kernel_isa;  ///< build of the fused scan's loops: "avx512", "avx2+fma" or "baseline"
};

RuntimeReport runtime_report();
/// Human-readable lines ("BLAS: OpenBLAS 0.3.21 ...", "intra-op threads: 2", ...).
std::vector<std::string> describe(const RuntimeReport& report);
/// Logs the BLAS/threads lines at info level and a loud warning for the reference BLAS.
void log_runtime(const RuntimeReport& report);

}  // namespace lumamba::model
