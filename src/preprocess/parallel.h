// Private: run one job per channel on a few std::threads (no pool, no torch).
//
// Channels are independent in every preprocess step, so a static interleaved split is enough;
// the first exception thrown by any job is rethrown in the caller after all threads joined.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace lumamba::preprocess::detail {

/// Worker count for n_items jobs: n_threads <= 0 means all hardware threads; never more than
/// n_items, at least 1.
inline int resolve_threads(int n_threads, std::size_t n_items) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const auto cap = static_cast<int>(std::max<std::size_t>(n_items, 1));
  return std::max(1, std::min(n_threads, cap));
}

/// Calls job(item) for item in [0, n_items), on resolve_threads(n_threads, n_items) threads.
template <typename Job>
void parallel_for(std::size_t n_items, int n_threads, Job job) {
  const int workers = resolve_threads(n_threads, n_items);
  if (workers == 1) {
    for (std::size_t i = 0; i < n_items; ++i) job(i);
    return;
  }
  std::exception_ptr first_error;
  std::mutex error_mutex;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(workers));
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      try {
        for (std::size_t i = static_cast<std::size_t>(w); i < n_items; i += static_cast<std::size_t>(workers)) {
          job(i);
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace lumamba::preprocess::detail
