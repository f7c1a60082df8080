// Progress line (see lumamba/core/progress.h).
#include "lumamba/core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

#include "lumamba/core/log.h"

namespace lumamba {
namespace {
constexpr double kTtyIntervalS = 0.2;   // redraw rate on a terminal
constexpr double kLogIntervalS = 10.0;  // one line per interval in logs

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e7) return "?";
  const auto total = static_cast<int64_t>(s + 0.5);
  if (total >= 3600) return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
  if (total >= 60) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}
}  // namespace

Progress::Progress(std::string what, int64_t total)
    : what_(std::move(what)), total_(total), start_(std::chrono::steady_clock::now()), last_print_(start_) {
  tty_ = isatty(fileno(stderr)) != 0;
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(int64_t n, const std::string& detail) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ += n;
  if (!detail.empty()) detail_ = detail;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  if (since >= (tty_ ? kTtyIntervalS : kLogIntervalS)) {
    last_print_ = now;
    print(false);
  }
}

void Progress::finish(const std::string& detail) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!detail.empty()) detail_ = detail;
  print(true);
}

void Progress::print(bool final_line) {
  if (log::level() > log::Level::kInfo) return;  // progress is info: --log-level warn (and ranks > 0) hide it
  const double t = elapsed_s();
  const double rate = t > 0 ? static_cast<double>(done_) / t : 0.0;
  std::string line = total_ > 0 ? fmt::format("{} {}/{} ({:.0f}%)", what_, done_, total_, 100.0 * done_ / total_)
                                : fmt::format("{} {}", what_, done_);
  if (!detail_.empty()) line += ", " + detail_;
  line += fmt::format(", {:.2f} {}/s", rate, what_);
  if (final_line) {
    line += fmt::format(", done in {}", format_duration(t));
  } else if (total_ > 0 && rate > 0) {
    line += fmt::format(", ETA {}", format_duration(static_cast<double>(total_ - done_) / rate));
  }
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace lumamba
