// lumamba/core/log.h — minimal leveled logging to stderr (stdout is reserved for command output).
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace lumamba::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_level(Level level);
Level level();
/// Parses "debug|info|warn|error"; throws InputError otherwise.
Level parse_level(std::string_view name);
void write(Level level, std::string_view message);
/// A tag after "lumamba" on every line ("rank 1"), so the lines of several processes can be told apart.
void set_tag(std::string tag);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kDebug) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kInfo) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (level() <= Level::kWarn) write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace lumamba::log
