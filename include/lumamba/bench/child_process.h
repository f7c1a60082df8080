// lumamba/bench/child_process.h — run a program as a child process under a resident-memory limit and
// a wall-clock limit, capturing its output. `lumamba bench efficiency` runs every measurement in a
// child so that a trial killed for exceeding the memory budget ends only that trial, and so that each
// trial's peak resident set is its own (wait4's ru_maxrss), not the high-water mark of the whole run.
//
// Why posix_spawn and not fork: the parent has OpenMP/LibTorch threads, and fork() in a threaded
// process may copy a lock held by another thread (POSIX allows only async-signal-safe calls between
// fork and exec). posix_spawn does the fork+exec pair inside libc.
//
// The limit is enforced by polling /proc/<pid>/status (VmRSS) every few milliseconds and sending
// SIGKILL when it is exceeded; an allocation burst between two polls can overshoot it, which the
// caller sees in peak_rss_bytes. Only the direct child is measured and killed (a shell
// that forks its command is not followed: run the program itself, or `exec` it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lumamba::bench {

struct ChildLimits {
  /// Kill the child (SIGKILL) when its resident set (VmRSS) exceeds this many bytes. 0: no limit.
  int64_t memory_bytes = 0;
  /// Kill the child when it runs longer than this, seconds. <= 0: no limit.
  double timeout_s = 0.0;
  /// How often /proc/<pid>/status is read and the clock checked, seconds. Default: 0.01.
  double poll_interval_s = 0.01;
  /// Capture stderr into ChildResult::stderr_text; false passes it through to ours. Default: false.
  bool capture_stderr = false;
};

struct ChildResult {
  bool exited = false;  ///< ended by exit() (then exit_code is valid)
  int exit_code = -1;
  int term_signal = 0;             ///< signal that ended it, 0 when it exited
  bool killed_for_memory = false;  ///< we killed it: VmRSS > ChildLimits::memory_bytes
  bool timed_out = false;          ///< we killed it: ChildLimits::timeout_s passed
  /// The child's peak resident set: wait4's ru_maxrss when it is above the parent's own high-water
  /// mark (below it, ru_maxrss may be the parent's: see run_child), else the largest VmHWM polled
  /// (which misses growth in the child's last poll interval).
  int64_t peak_rss_bytes = 0;
  int64_t rusage_maxrss_bytes = 0;   ///< ru_maxrss from wait4, as the kernel reports it
  int64_t max_polled_rss_bytes = 0;  ///< largest VmRSS the poller saw
  double wall_s = 0.0;
  std::string stdout_text;
  std::string stderr_text;  ///< only when capture_stderr

  /// Exited with status 0 and was not killed.
  bool ok() const { return exited && exit_code == 0 && !killed_for_memory && !timed_out; }
  /// "exit status 0", "killed: resident memory above the limit (…)", "killed by signal 11 (…)", …
  std::string describe() const;
};

/// Runs argv[0] (looked up in PATH when it has no '/') with arguments argv[1..] and our environment,
/// reads its stdout (and stderr when captured) to the end, and waits for it. Throws InputError when
/// the program cannot be started (the message names it and the reason).
ChildResult run_child(const std::vector<std::string>& argv, const ChildLimits& limits);

/// Absolute path of the running executable (readlink /proc/self/exe); InternalError when unreadable.
std::string self_executable_path();

/// Parses a memory size: a number (fractions allowed) with an optional unit, case-insensitive:
/// B, K/KiB, M/MiB, G/GiB, T/TiB (powers of 1024) or kB, MB, GB, TB (powers of 1000); no unit
/// means bytes. "4GiB" -> 4294967296, "512MiB", "1.5G", "800MB". InputError naming `what` otherwise.
int64_t parse_byte_size(std::string_view text, std::string_view what = "memory size");
/// "4 GiB", "512 MiB", "1.5 GiB", "800 B" (binary units, at most 3 significant decimals).
std::string format_byte_size(int64_t bytes);

}  // namespace lumamba::bench
