// lumamba/bench/bench_harness.h — the one timing harness of lumamba's benchmarks (docs/style.md §18):
// warm-up runs, then N timed repetitions with an untimed setup before each, reporting the median;
// measure_interleaved alternates several operations so their ratios survive machine drift.
// Used by `lumamba bench ...` (src/bench/bench_scan.cpp) and by the Google Benchmark binaries in
// bench/ (which hand each measured time to benchmark::State::SetIterationTime). whisper.cpp's
// examples/bench/bench.cpp is the model: warm up, measure, report. Torch-free on purpose.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace lumamba::bench {

/// Summary of the timed repetitions, milliseconds.
struct BenchTiming {
  double median_ms = 0.0;
  double min_ms = 0.0;
  double max_ms = 0.0;
  int repetitions = 0;
  /// True when a single warm-up run already exceeded the budget and is reported as the measurement
  /// (a cold run: it may include first-touch and allocator costs).
  bool from_warmup = false;
};

/// Wall time of one call of fn, milliseconds (steady clock).
inline double time_ms(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  const auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(stop - start).count();
}

inline BenchTiming summarize(std::vector<double> times_ms) {
  BenchTiming t;
  if (times_ms.empty()) return t;
  std::sort(times_ms.begin(), times_ms.end());
  const size_t n = times_ms.size();
  t.median_ms = n % 2 == 1 ? times_ms[n / 2] : 0.5 * (times_ms[n / 2 - 1] + times_ms[n / 2]);
  t.min_ms = times_ms.front();
  t.max_ms = times_ms.back();
  t.repetitions = static_cast<int>(n);
  return t;
}

struct BenchPlan {
  int warmup = 1;        ///< untimed runs first (caches, allocator, thread pool)
  int repetitions = 5;   ///< timed runs; the median is reported
  /// Cap on the total timed seconds: when the slowest warm-up run says `repetitions` runs would
  /// take longer, fewer are timed (at least 1); when one warm-up run alone exceeds it, that run is
  /// the measurement (from_warmup). <= 0: no cap.
  double budget_s = 0.0;
};

/// Runs setup() then fn() `warmup` times untimed, then `repetitions` times timing only fn().
inline BenchTiming measure(const std::function<void()>& fn, const BenchPlan& plan,
                           const std::function<void()>& setup = {}) {
  double slowest_ms = 0.0;
  for (int i = 0; i < plan.warmup; ++i) {
    if (setup) setup();
    const double ms = time_ms(fn);
    slowest_ms = std::max(slowest_ms, ms);
    if (plan.budget_s > 0.0 && ms > plan.budget_s * 1e3) {
      BenchTiming t = summarize({ms});
      t.from_warmup = true;
      return t;
    }
  }
  int reps = std::max(1, plan.repetitions);
  if (plan.budget_s > 0.0 && slowest_ms > 0.0) {
    reps = std::clamp(static_cast<int>(plan.budget_s * 1e3 / slowest_ms), 1, reps);
  }
  std::vector<double> times;
  times.reserve(static_cast<size_t>(reps));
  for (int i = 0; i < reps; ++i) {
    if (setup) setup();
    times.push_back(time_ms(fn));
  }
  return summarize(std::move(times));
}

/// One operation of an interleaved measurement.
struct BenchItem {
  std::function<void()> fn;     ///< the timed call
  std::function<void()> setup;  ///< untimed, before every call (may be empty)
  int per_round = 1;            ///< timed calls per round
  /// Stop timing this item once its timed calls add up to this many seconds (at least one call);
  /// a warm-up call above it is the measurement (from_warmup). <= 0: no cap.
  double budget_s = 0.0;
};

/// Warms every item up `warmup` times, then runs `rounds` rounds, each timing every item
/// `per_round` times in turn. Interleaving makes the ratios between items robust to the machine
/// getting slower or faster during the run (shared and virtual machines drift by tens of percent).
inline std::vector<BenchTiming> measure_interleaved(const std::vector<BenchItem>& items, int warmup, int rounds) {
  std::vector<std::vector<double>> times(items.size());
  std::vector<double> spent_ms(items.size(), 0.0);
  std::vector<bool> done(items.size(), false), from_warmup(items.size(), false);
  for (size_t k = 0; k < items.size(); ++k) {
    for (int i = 0; i < warmup && !done[k]; ++i) {
      if (items[k].setup) items[k].setup();
      const double ms = time_ms(items[k].fn);
      if (items[k].budget_s > 0.0 && ms > items[k].budget_s * 1e3) {
        times[k].push_back(ms);
        done[k] = from_warmup[k] = true;
      }
    }
  }
  for (int r = 0; r < std::max(1, rounds); ++r) {
    for (size_t k = 0; k < items.size(); ++k) {
      for (int i = 0; i < std::max(1, items[k].per_round) && !done[k]; ++i) {
        if (items[k].setup) items[k].setup();
        const double ms = time_ms(items[k].fn);
        times[k].push_back(ms);
        spent_ms[k] += ms;
        if (items[k].budget_s > 0.0 && spent_ms[k] > items[k].budget_s * 1e3) done[k] = true;
      }
    }
  }
  std::vector<BenchTiming> out;
  for (size_t k = 0; k < items.size(); ++k) {
    out.push_back(summarize(times[k]));
    out.back().from_warmup = from_warmup[k];
  }
  return out;
}

}  // namespace lumamba::bench
