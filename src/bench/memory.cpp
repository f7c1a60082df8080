// Resident memory from /proc (see lumamba/bench/memory.h).
#include "lumamba/bench/memory.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace lumamba::bench {
namespace {

constexpr int64_t kBytesPerKiB = 1024;

int64_t status_field_bytes(const char* status, const char* field) {
  const char* line = std::strstr(status, field);
  if (line == nullptr) return -1;
  return std::strtoll(line + std::strlen(field), nullptr, 10) * kBytesPerKiB;  // "\nVmRSS:     1234 kB"
}

}  // namespace

ResidentMemory read_resident_memory(pid_t pid) {
  const std::string path = pid == 0 ? std::string("/proc/self/status") : "/proc/" + std::to_string(pid) + "/status";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::array<char, 8192> buffer{};
  size_t size = 0;
  while (size < buffer.size() - 1) {
    const ssize_t n = ::read(fd, buffer.data() + size, buffer.size() - 1 - size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  buffer[size] = '\0';
  return {status_field_bytes(buffer.data(), "\nVmRSS:"), status_field_bytes(buffer.data(), "\nVmHWM:")};
}

void release_free_memory() {
  using ReleaseFn = void (*)();
  if (auto* release = reinterpret_cast<ReleaseFn>(dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory"))) {
    release();
  }
  malloc_trim(0);
}

bool reset_peak_resident_memory() {
  release_free_memory();
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace lumamba::bench
