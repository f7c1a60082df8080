// lumamba/core/blas.h — which BLAS library this process actually loaded, detected at run time.
//
// Why: Debian's libtorch links libblas.so.3, an alternatives slot that may hold the netlib reference
// BLAS (~25x slower SGEMM) or OpenBLAS; at::show_config() says BLAS_INFO=generic for both. We read
// /proc/self/maps and, for OpenBLAS, ask openblas_get_config() through dlsym.
#pragma once

#include <string>

namespace lumamba {

struct BlasInfo {
  std::string name;     ///< "OpenBLAS", "reference BLAS (netlib)", "MKL", "BLIS", or "unknown"
  std::string version;  ///< e.g. "0.3.21" when the library reports it, else ""
  std::string detail;   ///< library-specific config string (OpenBLAS: openblas_get_config + core)
  std::string path;     ///< file the BLAS symbols come from, as mapped
  bool is_reference = false;  ///< true for the slow netlib reference implementation
  int n_threads = 0;          ///< the library's own thread count where it can be asked, else 0
  std::string core;           ///< OpenBLAS kernel set in use (openblas_get_corename), e.g. "SkylakeX"
};

/// Inspects the running process. Cheap (one read of /proc/self/maps).
BlasInfo detect_blas();

/// The OpenBLAS kernel set to ask for (through OPENBLAS_CORETYPE) when OpenBLAS's own CPU detection
/// fell back to a generic SSE3 core on a CPU it does not know: OpenBLAS 0.3.21 (Debian 12) picks
/// "Prescott" on Intel family 6 model 207 (Emerald Rapids), ~5x slower SGEMM than its SkylakeX kernels
/// (measured 48 vs 285 GFLOP/s at 2 threads, docs/performance.md). Returns "" when nothing should
/// change: a specific core was detected, or the CPU has neither AVX-512 (F/BW/DQ/VL) nor AVX2+FMA.
std::string openblas_core_override(const std::string& detected_core, bool has_avx512, bool has_avx2_fma);

/// For a program's main(), before anything else: when OPENBLAS_CORETYPE is unset and the loaded
/// OpenBLAS chose a fallback core (openblas_core_override), sets OPENBLAS_CORETYPE and re-executes
/// the program (OpenBLAS reads it once, when it is loaded). A preset OPENBLAS_CORETYPE is always
/// respected; LUMAMBA_KEEP_BLAS_CORE=1 turns this off. Returns only if no re-exec happened.
void reexec_with_fast_openblas_core(char** argv);

/// "" or, after reexec_with_fast_openblas_core switched cores, e.g. "Prescott -> SkylakeX".
std::string openblas_core_switch();

/// One line for logs and `lumamba info`: "BLAS: OpenBLAS 0.3.21 (...) [path]".
std::string describe_blas(const BlasInfo& info);

}  // namespace lumamba
