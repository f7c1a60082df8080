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
};

/// Inspects the running process. Cheap (one read of /proc/self/maps).
BlasInfo detect_blas();

/// One line for logs and `lumamba info`: "BLAS: OpenBLAS 0.3.21 (...) [path]".
std::string describe_blas(const BlasInfo& info);

}  // namespace lumamba
