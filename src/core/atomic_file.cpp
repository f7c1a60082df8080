#include "lumamba/core/atomic_file.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "lumamba/core/error.h"

namespace lumamba {

std::string atomic_temp_path(const std::string& path) { return fmt::format("{}.tmp-{}", path, ::getpid()); }

void commit_atomic(const std::string& path) {
  std::error_code ec;
  std::filesystem::rename(atomic_temp_path(path), path, ec);
  LUMAMBA_CHECK_INPUT(!ec, "{}: cannot move the finished file into place: {}", path, ec.message());
}

void write_text_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = atomic_temp_path(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    LUMAMBA_CHECK_INPUT(out.good(), "{}: cannot write (does the folder exist?)", tmp);
    out << text;
    out.flush();
    LUMAMBA_CHECK_INPUT(out.good(), "{}: write failed (disk full?)", tmp);
  }
  commit_atomic(path);
}

std::string read_text_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  LUMAMBA_CHECK_INPUT(in.good(), "{}: cannot open {}", path, what);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace lumamba
