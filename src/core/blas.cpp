// Run-time BLAS detection (see lumamba/core/blas.h).
#include "lumamba/core/blas.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
      info.core = get_core();
      info.detail += fmt::format(" core={}", info.core);
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

// Env var that carries "detected -> chosen" across the re-exec (for the report, and so that a
// second start never re-executes again).
constexpr const char* kCoreSwitchEnv = "LUMAMBA_OPENBLAS_CORE_SWITCH";

std::string openblas_core_override(const std::string& detected_core, bool has_avx512, bool has_avx2_fma) {
  // OpenBLAS's generic x86-64 kernel sets: what DYNAMIC_ARCH falls back to for an unknown CPU.
  static constexpr std::array<const char*, 6> kGeneric = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom"};
  bool generic = false;
  for (const char* g : kGeneric) generic = generic || detected_core == g;
  if (!generic) return "";
  if (has_avx512) return "SkylakeX";
  if (has_avx2_fma) return "Haswell";
  return "";
}

void reexec_with_fast_openblas_core(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || std::getenv(kCoreSwitchEnv) != nullptr) return;
  if (const char* keep = std::getenv("LUMAMBA_KEEP_BLAS_CORE"); keep != nullptr && std::strcmp(keep, "0") != 0) return;
  const BlasInfo info = detect_blas();
  if (info.name != "OpenBLAS" || info.core.empty()) return;
#if defined(__x86_64__) && defined(__GNUC__)
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  const bool avx512 = false, avx2 = false;
#endif
  const std::string core = openblas_core_override(info.core, avx512, avx2);
  if (core.empty()) return;
  setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  setenv(kCoreSwitchEnv, (info.core + " -> " + core).c_str(), 1);
  execv("/proc/self/exe", argv);
  // Still here: exec failed; carry on with the slow kernels, and say so.
  std::fprintf(stderr, "[lumamba warn] could not re-execute with OPENBLAS_CORETYPE=%s (%s); OpenBLAS keeps its %s kernels\n",
               core.c_str(), std::strerror(errno), info.core.c_str());
  unsetenv("OPENBLAS_CORETYPE");
}

std::string openblas_core_switch() {
  const char* v = std::getenv(kCoreSwitchEnv);
  return v != nullptr ? v : "";
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
