// Scratch files and folders for tests. ctest runs every GoogleTest case as its own process and runs
// several at once (`-j`), so a fixed name in /tmp is shared between cases that run side by side: the
// process id in every name keeps them apart (a shared stderr file once made a CLI test read another
// test's output).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace lumamba::test {

inline std::string scratch_prefix() { return "lumamba_" + std::to_string(::getpid()) + "_"; }

/// <temp dir>/lumamba_<pid>_<name>: unique to this test process, not created (the name comes last so
/// that its extension, which some commands read, stays).
inline std::string scratch_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (scratch_prefix() + name)).string();
}

/// An empty folder at scratch_path(name) (whatever was there before is removed).
inline std::filesystem::path fresh_scratch_dir(const std::string& name) {
  const std::filesystem::path dir = scratch_path(name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// Removes this process's scratch files and folders when the test process exits (one object per
/// test binary; a crash leaves them for inspection).
struct ScratchCleanup {
  ~ScratchCleanup() {
    std::error_code ec;
    const auto prefix = scratch_prefix();
    std::filesystem::directory_iterator it(std::filesystem::temp_directory_path(), ec), end;
    for (; !ec && it != end; it.increment(ec)) {  // never throws: this runs at exit
      if (it->path().filename().string().rfind(prefix, 0) == 0) std::filesystem::remove_all(it->path(), ec);
    }
  }
};
inline const ScratchCleanup scratch_cleanup;

}  // namespace lumamba::test
