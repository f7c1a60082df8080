// Error helpers (see lumamba/core/error.h).
#include "lumamba/core/error.h"

#include <fmt/ranges.h>

namespace lumamba {
namespace detail {
void throw_internal(const char* file, int line, const char* func, const std::string& msg) {
  throw InternalError(fmt::format("{}:{} ({}): {}", file, line, func, msg));
}
}  // namespace detail

void check_option(std::string_view name, std::string_view value,
                  const std::vector<std::string>& allowed) {
  for (const auto& a : allowed) {
    if (a == value) return;
  }
  throw InputError(fmt::format("invalid value for '{}': got '{}'; must be one of {}", name, value,
                               fmt::join(allowed, ", ")));
}

void check_range(std::string_view name, double value, double lo, double hi) {
  if (!(value >= lo && value <= hi)) {
    throw InputError(
        fmt::format("invalid value for '{}': got {}; must be in [{}, {}]", name, value, lo, hi));
  }
}
}  // namespace lumamba
