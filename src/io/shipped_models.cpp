#include "lumamba/io/shipped_models.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <system_error>

#include "lumamba/core/error.h"

#ifndef LUMAMBA_SOURCE_MODELS_DIR
#define LUMAMBA_SOURCE_MODELS_DIR ""
#endif

namespace lumamba::io {
namespace fs = std::filesystem;

std::vector<std::string> shipped_model_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("LUMAMBA_MODELS"); env != nullptr) {
    std::string list = env;
    size_t start = 0;
    while (start <= list.size()) {
      const size_t end = std::min(list.find(':', start), list.size());
      if (end > start) dirs.push_back(list.substr(start, end - start));
      start = end + 1;
    }
  }
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back((exe.parent_path().parent_path() / "share" / "lumamba" / "models").string());
  // The install prefix's own folder: a program that is not lumamba's (python3 importing the module)
  // lives elsewhere.
  if (std::find(dirs.begin(), dirs.end(), LUMAMBA_INSTALL_MODELS_DIR) == dirs.end()) {
    dirs.emplace_back(LUMAMBA_INSTALL_MODELS_DIR);
  }
  if (std::string(LUMAMBA_SOURCE_MODELS_DIR).size() > 0) dirs.emplace_back(LUMAMBA_SOURCE_MODELS_DIR);
  return dirs;
}

std::vector<std::string> shipped_model_names() {
  std::set<std::string> names;
  for (const auto& dir : shipped_model_dirs()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".safetensors") names.insert(entry.path().stem().string());
    }
  }
  return {names.begin(), names.end()};
}

std::string resolve_checkpoint(const std::string& name_or_path) {
  LUMAMBA_CHECK_INPUT(!name_or_path.empty(), "empty checkpoint path or model name");
  std::error_code ec;
  if (fs::is_regular_file(name_or_path, ec)) return name_or_path;
  const bool bare_name = name_or_path.find('/') == std::string::npos && !fs::path(name_or_path).has_extension();
  if (bare_name) {
    for (const auto& dir : shipped_model_dirs()) {
      const auto candidate = fs::path(dir) / (name_or_path + ".safetensors");
      if (fs::is_regular_file(candidate, ec)) return candidate.string();
    }
  }
  const auto names = shipped_model_names();
  throw InputError(fmt::format("{}: no such checkpoint file{}; shipped models: {}", name_or_path,
                               bare_name ? fmt::format(" and no shipped model of that name (looked in {})",
                                                       fmt::join(shipped_model_dirs(), ", "))
                                         : "",
                               names.empty() ? "none found" : fmt::format("{}", fmt::join(names, ", "))));
}

}  // namespace lumamba::io
