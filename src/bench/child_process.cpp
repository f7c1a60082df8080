// Child processes under a memory and a time limit (see lumamba/bench/child_process.h).
#include "lumamba/bench/child_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>

#include "lumamba/core/error.h"
#include "lumamba/bench/memory.h"

extern char** environ;  // NOLINT: POSIX, passed to posix_spawnp unchanged

namespace lumamba::bench {
namespace {

constexpr int64_t kBytesPerKiB = 1024;

/// Owns one file descriptor.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// Owns posix_spawn_file_actions_t.
class SpawnFileActions {
 public:
  SpawnFileActions() { posix_spawn_file_actions_init(&actions_); }
  SpawnFileActions(const SpawnFileActions&) = delete;
  SpawnFileActions& operator=(const SpawnFileActions&) = delete;
  ~SpawnFileActions() { posix_spawn_file_actions_destroy(&actions_); }
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_{};
};

void make_pipe(FileDescriptor& read_end, FileDescriptor& write_end) {
  int fds[2];
  // O_CLOEXEC: the child keeps only the ends dup2'ed onto its stdout/stderr (dup2 clears the flag).
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw InputError(fmt::format("cannot create a pipe for a child process: {}", std::strerror(errno)));
  }
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  ::fcntl(read_end.get(), F_SETFL, ::fcntl(read_end.get(), F_GETFL) | O_NONBLOCK);
}

/// Appends what can be read now; closes the descriptor at end of file.
void drain(FileDescriptor& fd, std::string& out) {
  std::array<char, 65536> buffer{};
  while (fd.get() >= 0) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n > 0) {
      out.append(buffer.data(), static_cast<size_t>(n));
    } else if (n == 0) {
      fd.reset();
    } else if (errno == EINTR) {
      continue;
    } else {
      if (errno != EAGAIN && errno != EWOULDBLOCK) fd.reset();
      return;
    }
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::string ChildResult::describe() const {
  if (killed_for_memory) {
    return fmt::format("killed: resident memory reached {} (above the limit)", format_byte_size(max_polled_rss_bytes));
  }
  if (timed_out) return fmt::format("killed: time limit reached after {:.1f} s", wall_s);
  if (exited) return fmt::format("exit status {}", exit_code);
  return fmt::format("killed by signal {} ({})", term_signal, ::strsignal(term_signal));
}

ChildResult run_child(const std::vector<std::string>& argv, const ChildLimits& limits) {
  LUMAMBA_CHECK(!argv.empty(), "run_child: empty argument list");
  FileDescriptor out_read, out_write, err_read, err_write;
  make_pipe(out_read, out_write);
  if (limits.capture_stderr) make_pipe(err_read, err_write);

  SpawnFileActions actions;
  posix_spawn_file_actions_adddup2(actions.get(), out_write.get(), STDOUT_FILENO);
  if (limits.capture_stderr) posix_spawn_file_actions_adddup2(actions.get(), err_write.get(), STDERR_FILENO);
  std::vector<char*> c_argv;
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);

  const auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  const int spawn_error = ::posix_spawnp(&pid, argv[0].c_str(), actions.get(), nullptr, c_argv.data(), environ);
  if (spawn_error != 0) {
    throw InputError(fmt::format("cannot start '{}': {}", argv[0], std::strerror(spawn_error)));
  }
  out_write.reset();  // the child holds its own copies; EOF arrives when it exits
  err_write.reset();

  ChildResult result;
  const int poll_ms = std::max(1, static_cast<int>(std::lround(limits.poll_interval_s * 1e3)));
  // posix_spawn returns once the child has exec'd (vfork semantics), so this first read is of the
  // child's own image even when it exits before the first poll interval ends.
  int64_t polled_peak = std::max<int64_t>(0, read_resident_memory(pid).peak_bytes);
  int status = 0;
  struct rusage usage {};
  bool killed = false;
  for (;;) {
    std::array<pollfd, 2> fds{};
    nfds_t n_fds = 0;
    if (out_read.get() >= 0) fds[n_fds++] = {out_read.get(), POLLIN, 0};
    if (err_read.get() >= 0) fds[n_fds++] = {err_read.get(), POLLIN, 0};
    ::poll(n_fds > 0 ? fds.data() : nullptr, n_fds, poll_ms);  // also the poll interval's sleep
    drain(out_read, result.stdout_text);
    drain(err_read, result.stderr_text);

    const pid_t waited = ::wait4(pid, &status, WNOHANG, &usage);
    if (waited == pid) break;
    if (waited < 0 && errno != EINTR) {
      throw InternalError(fmt::format("wait4({}) failed: {}", pid, std::strerror(errno)));
    }
    if (killed) continue;  // wait for the kernel to reap it
    const ResidentMemory resident = read_resident_memory(pid);
    const int64_t rss = resident.rss_bytes;
    result.max_polled_rss_bytes = std::max(result.max_polled_rss_bytes, rss);
    polled_peak = std::max(polled_peak, resident.peak_bytes);
    if (limits.memory_bytes > 0 && rss > limits.memory_bytes) {
      result.killed_for_memory = killed = true;
      ::kill(pid, SIGKILL);
    } else if (limits.timeout_s > 0.0 && seconds_since(start) > limits.timeout_s) {
      result.timed_out = killed = true;
      ::kill(pid, SIGKILL);
    }
  }
  result.wall_s = seconds_since(start);
  // What the child wrote just before exiting (a grandchild still holding the pipe is not waited for).
  drain(out_read, result.stdout_text);
  drain(err_read, result.stderr_text);

  // ru_maxrss of a spawned child also counts our resident set at spawn time: Linux keeps the larger
  // of the pre-exec and the new image's peaks (fs/exec.c, setmax_mm_hiwater_rss), and before exec the
  // posix_spawn child runs in our address space. So it is the child's own peak only when it is above
  // our own high-water mark (read now: it only grows, so it bounds the one at spawn time); otherwise
  // the polled VmHWM of the child is.
  const int64_t parent_peak = read_resident_memory().peak_bytes;
  result.rusage_maxrss_bytes = static_cast<int64_t>(usage.ru_maxrss) * kBytesPerKiB;  // Linux: KiB
  result.peak_rss_bytes =
      std::max(polled_peak, result.rusage_maxrss_bytes > parent_peak ? result.rusage_maxrss_bytes : 0);
  if (WIFEXITED(status)) {
    result.exited = true;
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  return result;
}

std::string self_executable_path() {
  std::array<char, 4096> buffer{};
  const ssize_t n = ::readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
  if (n <= 0) throw InternalError(fmt::format("cannot read /proc/self/exe: {}", std::strerror(errno)));
  return std::string(buffer.data(), static_cast<size_t>(n));
}

int64_t parse_byte_size(std::string_view text, std::string_view what) {
  const auto bad = [&] {
    return InputError(fmt::format(
        "invalid {}: got '{}'; expected a number with an optional unit (B, KiB, MiB, GiB, TiB, kB, MB, GB, TB), "
        "e.g. 4GiB or 512MiB",
        what, text));
  };
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  const size_t number_begin = i;
  int dots = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    dots += text[i] == '.';
    ++i;
  }
  const std::string number(text.substr(number_begin, i - number_begin));
  if (number.empty() || number == "." || dots > 1) throw bad();
  std::string unit;
  for (; i < text.size(); ++i) {
    if (!std::isspace(static_cast<unsigned char>(text[i]))) unit += static_cast<char>(std::tolower(text[i]));
  }
  double multiplier = 0.0;
  if (unit.empty() || unit == "b")
    multiplier = 1.0;
  else if (unit == "k" || unit == "kib")
    multiplier = 0x1p10;
  else if (unit == "m" || unit == "mib")
    multiplier = 0x1p20;
  else if (unit == "g" || unit == "gib")
    multiplier = 0x1p30;
  else if (unit == "t" || unit == "tib")
    multiplier = 0x1p40;
  else if (unit == "kb")
    multiplier = 1e3;
  else if (unit == "mb")
    multiplier = 1e6;
  else if (unit == "gb")
    multiplier = 1e9;
  else if (unit == "tb")
    multiplier = 1e12;
  else
    throw bad();
  const double bytes = std::strtod(number.c_str(), nullptr) * multiplier;
  if (!(bytes >= 0.0) || bytes > 0x1p62) throw bad();
  return static_cast<int64_t>(std::llround(bytes));
}

std::string format_byte_size(int64_t bytes) {
  static constexpr std::array<const char*, 5> kUnits = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (unit + 1 < kUnits.size() && std::fabs(value) >= 1024.0) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.4g} {}", value, kUnits[unit]);
}

}  // namespace lumamba::bench
