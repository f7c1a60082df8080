// lumamba/bench/memory.h — resident memory of processes (Linux /proc), for the benchmarks' peak-memory
// figures and the efficiency study's memory budget: one reader instead of one per benchmark.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace lumamba::bench {

/// VmRSS and VmHWM (the kernel's resident high-water mark) of a process, bytes; -1 when they
/// cannot be read (no /proc, the process is gone or a zombie).
struct ResidentMemory {
  int64_t rss_bytes = -1;
  int64_t peak_bytes = -1;
  double rss_mib() const { return static_cast<double>(rss_bytes) / (1024.0 * 1024.0); }
  double peak_mib() const { return static_cast<double>(peak_bytes) / (1024.0 * 1024.0); }
};

/// From /proc/<pid>/status; pid 0 = this process. Reads with plain open/read (no allocation beyond
/// a stack buffer), so it can be polled every few milliseconds.
ResidentMemory read_resident_memory(pid_t pid = 0);

/// Hands the allocator's cached free pages back to the kernel, so that the resident set a peak
/// starts from holds live memory only: tcmalloc (when loaded) keeps freed spans resident otherwise,
/// glibc keeps its top-of-heap and arena slack.
void release_free_memory();

/// release_free_memory(), then resets this process's VmHWM to its current RSS: writing "5" to
/// /proc/self/clear_refs does exactly that (Documentation/filesystems/proc.rst, Linux >= 4.0).
/// Cheaper and safer than forking a child (LibTorch's OpenMP pool does not survive fork).
/// False when clear_refs is not writable (the peak then counts from process start).
bool reset_peak_resident_memory();

}  // namespace lumamba::bench
