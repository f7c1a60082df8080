#include "lumamba/core/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <limits>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "lumamba/core/error.h"

namespace lumamba {

namespace {

// Test hook (docs/reliability.md): LUMAMBA_KILL_AFTER_COMMITS=N kills this process with SIGKILL
// right after its N-th atomic rename, where a crash exposes any inconsistency between files. The
// kill/resume tests use it; unset (the normal case) it costs one static read.
void kill_after_commits_hook() {
  static const long limit = [] {
    const char* value = std::getenv("LUMAMBA_KILL_AFTER_COMMITS");
    return value == nullptr ? 0L : std::atol(value);
  }();
  static std::atomic<long> commits{0};
  if (limit > 0 && ++commits == limit) ::raise(SIGKILL);
}

}  // namespace

std::string atomic_temp_path(const std::string& path) { return fmt::format("{}.tmp-{}", path, ::getpid()); }

void commit_atomic(const std::string& path) {
  std::error_code ec;
  std::filesystem::rename(atomic_temp_path(path), path, ec);
  LUMAMBA_CHECK_INPUT(!ec, "{}: cannot move the finished file into place: {}", path, ec.message());
  kill_after_commits_hook();
}

int remove_atomic_temporaries(const std::string& folder, const std::string& of_name) {
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    const auto at = name.rfind(".tmp-");
    if (at == std::string::npos || at + 5 == name.size()) continue;
    if (name.find_first_not_of("0123456789", at + 5) != std::string::npos) continue;
    if (!of_name.empty() && name.compare(0, at, of_name) != 0) continue;
    if (!of_name.empty() && at != of_name.size()) continue;
    if (entry.is_regular_file(ec) && std::filesystem::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

bool is_disk_full_error(int err) { return err == ENOSPC || err == EDQUOT || err == EFBIG; }

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)), tmp_(atomic_temp_path(path_)) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("create", errno);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void AtomicFileWriter::fail(const char* step, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  if (is_disk_full_error(err)) {
    throw DiskFullError(fmt::format("disk full: {} ({} failed: {}); the previous file, if any, is unchanged", path_, step,
                                 std::strerror(err)));
  }
  throw InputError(fmt::format("{}: cannot write ({} of {} failed: {}; does the folder exist, is it writable?)", path_,
                               step, tmp_, std::strerror(err)));
}

void AtomicFileWriter::write(const void* data, std::size_t n) {
  LUMAMBA_CHECK(fd_ >= 0, "{}: write after commit or failure", path_);
  const auto* p = static_cast<const unsigned char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, std::min<std::size_t>(n, std::size_t{1} << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write", errno);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void AtomicFileWriter::commit() {
  LUMAMBA_CHECK(fd_ >= 0, "{}: commit after commit or failure", path_);
  // fsync before rename: otherwise a crash can leave PATH naming a file without its data.
  if (::fsync(fd_) != 0) fail("fsync", errno);
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    fd_ = -1;
    fail("close", err);
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    fail("rename", err);
  }
  kill_after_commits_hook();
}

void require_space_for(const std::string& path, std::uint64_t bytes) {
  const auto folder = std::filesystem::path(path).parent_path();
  struct statvfs fs_info {};
  double available = std::numeric_limits<double>::infinity();
  if (::statvfs(folder.empty() ? "." : folder.c_str(), &fs_info) == 0) {
    available = static_cast<double>(fs_info.f_bavail) * static_cast<double>(fs_info.f_frsize);
  }
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    available = std::min(available, static_cast<double>(limit.rlim_cur));
  }
  if (static_cast<double>(bytes) > available) {
    throw DiskFullError(fmt::format("disk full: {} needs about {:.1f} MB, {:.1f} MB are free (or allowed per file)",
                                    path, static_cast<double>(bytes) / 1e6, available / 1e6));
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  AtomicFileWriter out(path);
  out.write(bytes.data(), bytes.size());
  out.commit();
}

void write_text_file_atomic(const std::string& path, const std::string& text) { write_file_atomic(path, text); }

std::string read_text_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  LUMAMBA_CHECK_INPUT(in.good(), "{}: cannot open {}", path, what);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace lumamba
