// Leveled logging to stderr (see lumamba/core/log.h).
#include "lumamba/core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "lumamba/core/error.h"

namespace lumamba::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_write_mutex;
std::string g_tag;  // guarded by g_write_mutex
constexpr const char* kPrefix[] = {"debug", "info", "warning", "error"};
}  // namespace

void set_level(Level level) { g_level = static_cast<int>(level); }
Level level() { return static_cast<Level>(g_level.load()); }

Level parse_level(std::string_view name) {
  check_option("log-level", name, {"debug", "info", "warn", "error"});
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn") return Level::kWarn;
  return Level::kError;
}

void write(Level level, std::string_view message) {
  std::lock_guard<std::mutex> lock(g_write_mutex);
  std::fprintf(stderr, "[lumamba%s%s %s] %.*s\n", g_tag.empty() ? "" : " ", g_tag.c_str(),
               kPrefix[static_cast<int>(level)], static_cast<int>(message.size()), message.data());
}

void set_tag(std::string tag) {
  std::lock_guard<std::mutex> lock(g_write_mutex);
  g_tag = std::move(tag);
}
}  // namespace lumamba::log
