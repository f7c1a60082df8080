#include "lumamba/core/output_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"

namespace lumamba {
namespace fs = std::filesystem;


OutputLock::OutputLock(const std::string& folder) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  LUMAMBA_CHECK_INPUT(!ec, "{}: cannot create the output folder: {}", folder, ec.message());
  const std::string path = (fs::path(folder) / ".lumamba.lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  LUMAMBA_CHECK_INPUT(fd_ >= 0, "{}: cannot create the lock file: {} (is the folder writable?)", path,
                      std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char pid[32] = {0};
    const ssize_t n = ::pread(fd_, pid, sizeof(pid) - 1, 0);
    ::close(fd_);
    fd_ = -1;
    LUMAMBA_CHECK_INPUT(err != EWOULDBLOCK,
                        "{}: in use by another lumamba run (PID {}); wait for it to end or choose another output",
                        folder, n > 0 ? std::string(pid, static_cast<size_t>(n)) : std::string("unknown"));
    throw InputError(fmt::format("{}: cannot lock: {}", path, std::strerror(err)));
  }
  const std::string me = std::to_string(::getpid());
  // The PID is only a hint for the message above; the lock itself is the flock.
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, me.data(), me.size(), 0);
  removed_ = remove_atomic_temporaries(folder);
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (entry.is_directory(ec)) removed_ += remove_atomic_temporaries(entry.path().string());
  }
  if (removed_ > 0) log::info("{}: removed {} temporary file(s) left by an interrupted run", folder, removed_);
}

OutputLock::~OutputLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace lumamba
