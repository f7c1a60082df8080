// Run-time BLAS detection (see lumamba/core/blas.h).
#include "lumamba/core/blas.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <fstream>
#include <regex>
#include <string>

namespace lumamba {
namespace {

bool contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

template <typename Fn>
Fn find_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

BlasInfo detect_blas() {
  BlasInfo info;
  info.name = "unknown";
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::string openblas_path, netlib_path, mkl_path, blis_path;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    if (contains(path, "openblas")) {
      if (openblas_path.empty()) openblas_path = path;
    } else if (contains(path, "libmkl")) {
      if (mkl_path.empty()) mkl_path = path;
    } else if (contains(path, "libblis")) {
      if (blis_path.empty()) blis_path = path;
    } else if (contains(path, "/blas/libblas.so") || contains(path, "libblas.so")) {
      // Debian's netlib reference BLAS lives in .../blas/libblas.so.3 (alternatives slot target).
      if (netlib_path.empty()) netlib_path = path;
    }
  }
  if (!openblas_path.empty()) {
    info.name = "OpenBLAS";
    info.path = openblas_path;
    using ConfigFn = char* (*)();
    using ThreadsFn = int (*)();
    if (auto get_config = find_symbol<ConfigFn>("openblas_get_config")) {
      const std::string config = get_config();
      info.detail = config;
      std::smatch m;
      if (std::regex_search(config, m, std::regex(R"(OpenBLAS\s+([0-9][0-9.]*))"))) {
        info.version = m[1];
      }
    }
    if (auto get_core = find_symbol<ConfigFn>("openblas_get_corename")) {
      info.detail += fmt::format(" core={}", get_core());
    }
    if (auto get_threads = find_symbol<ThreadsFn>("openblas_get_num_threads")) {
      info.n_threads = get_threads();
    }
    if (info.version.empty()) {
      std::smatch m;
      if (std::regex_search(openblas_path, m, std::regex(R"(r([0-9][0-9.]*[0-9])\.so)"))) {
        info.version = m[1];
      }
    }
  } else if (!mkl_path.empty()) {
    info.name = "MKL";
    info.path = mkl_path;
  } else if (!blis_path.empty()) {
    info.name = "BLIS";
    info.path = blis_path;
  } else if (!netlib_path.empty()) {
    info.name = "reference BLAS (netlib)";
    info.path = netlib_path;
    info.is_reference = true;
  }
  return info;
}

std::string describe_blas(const BlasInfo& info) {
  std::string s = fmt::format("BLAS: {}", info.name);
  if (!info.version.empty()) s += " " + info.version;
  if (!info.detail.empty()) s += fmt::format(" ({})", info.detail);
  if (info.n_threads > 0) s += fmt::format(", blas threads {}", info.n_threads);
  if (!info.path.empty()) s += fmt::format(" [{}]", info.path);
  return s;
}

}  // namespace lumamba
