// Inputs written as files for the fuzz targets of readers that open paths (fuzz_brainvision,
// fuzz_eeglab): a folder in /dev/shm per target and process, removed at exit.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace lumamba::fuzz {

inline void require(bool ok) {
  if (!ok) __builtin_trap();
}

/// /dev/shm/lumamba-fuzz-<name>-<pid>, created on first use and removed when the process exits.
inline const std::filesystem::path& input_dir(const char* name) {
  static const std::filesystem::path dir = [name] {
    std::filesystem::path d = std::string("/dev/shm/lumamba-fuzz-") + name + "-" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(input_dir(""), ec);
    });
    return d;
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& p, const char* data, std::size_t size) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(size));
  require(out.good());
}

}  // namespace lumamba::fuzz
