// Threads and runtime report (see lumamba/model/runtime.h).
#include "lumamba/model/runtime.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/cuda.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "lumamba/core/compat.h"
#include "lumamba/core/log.h"
#include "lumamba/model/selective_scan.h"

namespace lumamba::model {

int configure_threads(int n_threads) {
  const int n = n_threads > 0 ? n_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return n;
}

RuntimeReport runtime_report() {
  RuntimeReport r;
  r.torch_version = compat::torch_version();
  r.intra_op_threads = at::get_num_threads();
  r.inter_op_threads = at::get_num_interop_threads();
  r.hardware_threads = static_cast<int>(std::thread::hardware_concurrency());
  r.blas = detect_blas();
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("tcmalloc") != std::string::npos) {
      r.tcmalloc_loaded = true;
      break;
    }
  }
  if (const char* v = std::getenv("OPENBLAS_CORETYPE")) r.openblas_coretype = v;
  r.openblas_core_switch = openblas_core_switch();
  r.cuda_available = torch::cuda::is_available();
  r.scan_kernel_isa = fused_scan_isa();
  return r;
}

std::vector<std::string> describe(const RuntimeReport& r) {
  std::vector<std::string> lines;
  lines.push_back(describe_blas(r.blas));
  lines.push_back(fmt::format("intra-op threads: {} (hardware threads: {}, inter-op threads: {})",
                              r.intra_op_threads, r.hardware_threads, r.inter_op_threads));
  lines.push_back(fmt::format("LibTorch: {}, CUDA available: {}", r.torch_version, r.cuda_available ? "yes" : "no"));
  lines.push_back(fmt::format("allocator: {}", r.tcmalloc_loaded ? "tcmalloc_minimal" : "glibc malloc"));
  lines.push_back(fmt::format("CPU kernels: selective scan {} (LUMAMBA_SCAN_ISA overrides)", r.scan_kernel_isa));
  if (!r.openblas_core_switch.empty()) {
    lines.push_back(fmt::format("OPENBLAS_CORETYPE: {} (set by lumamba: OpenBLAS fell back to generic kernels, {}; "
                                "LUMAMBA_KEEP_BLAS_CORE=1 keeps them)",
                                r.openblas_coretype, r.openblas_core_switch));
  } else {
    lines.push_back(fmt::format("OPENBLAS_CORETYPE: {}", r.openblas_coretype.empty() ? "(unset)" : r.openblas_coretype));
  }
  return lines;
}

void log_runtime(const RuntimeReport& r) {
  for (const auto& line : describe(r)) log::info("{}", line);
  if (r.blas.is_reference) {
    log::warn("!!! the slow reference BLAS is loaded: matrix products run ~25x slower. Install "
              "libopenblas0-openmp (make deps) so libblas.so.3 points to OpenBLAS.");
  }
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

}  // namespace lumamba::model
