// lumamba/core/progress.h — progress line for long jobs: items done/total, extra counters, rate and
// ETA, on stderr. Rewrites one line on a terminal; prints a line every few seconds otherwise (logs).
#pragma once

#include <chrono>
#include <mutex>
#include <string>

namespace lumamba {

class Progress {
 public:
  /// `what` names the items ("files"); `total` may be 0 when unknown.
  Progress(std::string what, int64_t total);
  /// Adds `n` finished items; `detail` replaces the free-text part ("windows 1234, 2.1 h of EEG").
  void advance(int64_t n, const std::string& detail = "");
  /// Prints the final line (always) with the total time.
  void finish(const std::string& detail = "");
  double elapsed_s() const;

 private:
  void print(bool final_line);
  std::string what_;
  int64_t total_ = 0, done_ = 0;
  std::string detail_;
  std::chrono::steady_clock::time_point start_, last_print_;
  bool tty_ = false;
  std::mutex mutex_;
};

}  // namespace lumamba
