// Events from window predictions (see lumamba/eval/events.h).
#include "lumamba/eval/events.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "lumamba/core/error.h"

namespace lumamba::eval {

std::vector<DetectedEvent> detect_events(const std::vector<double>& starts_s, double window_s,
                                         const std::vector<double>& probs, int64_t n_classes,
                                         const std::vector<std::string>& class_names, bool multilabel,
                                         const EventOptions& options) {
  const auto n = static_cast<int64_t>(starts_s.size());
  LUMAMBA_CHECK_INPUT(n_classes >= 1 && static_cast<int64_t>(probs.size()) == n * n_classes,
                      "events: {} probabilities for {} windows of {} classes", probs.size(), n, n_classes);
  LUMAMBA_CHECK_INPUT(window_s > 0, "events: window length {} s must be > 0", window_s);
  LUMAMBA_CHECK_INPUT(options.threshold > 0 && options.threshold <= 1, "invalid value for 'event threshold': {} "
                      "(a probability in (0, 1])", options.threshold);
  LUMAMBA_CHECK_INPUT(options.smoothing_windows >= 1 && options.smoothing_windows % 2 == 1,
                      "invalid value for 'event smoothing': {} windows (an odd count ≥ 1)", options.smoothing_windows);
  LUMAMBA_CHECK_INPUT(options.min_duration_s >= 0 && options.merge_gap_s >= 0,
                      "events: minimum duration and merge gap must be ≥ 0 s");
  for (int64_t i = 1; i < n; ++i) {
    LUMAMBA_CHECK_INPUT(starts_s[static_cast<size_t>(i)] >= starts_s[static_cast<size_t>(i - 1)],
                        "events: window starts are not in time order at window {}", i);
  }
  std::vector<int64_t> classes = options.classes;
  if (classes.empty()) {
    for (int64_t c = multilabel || n_classes == 1 ? 0 : 1; c < n_classes; ++c) classes.push_back(c);
  }
  const auto name_of = [&](int64_t c) {
    return static_cast<size_t>(c) < class_names.size() && !class_names[static_cast<size_t>(c)].empty()
               ? class_names[static_cast<size_t>(c)]
               : fmt::format("class_{}", c);
  };
  const int64_t half = options.smoothing_windows / 2;
  std::vector<DetectedEvent> out;
  for (const int64_t c : classes) {
    LUMAMBA_CHECK_INPUT(c >= 0 && c < n_classes, "events: class {} is not one of the task's {} classes", c, n_classes);
    const auto p = [&](int64_t i) { return probs[static_cast<size_t>(i * n_classes + c)]; };
    std::vector<DetectedEvent> track;
    int64_t previous_on = -2;  // index of the last window that counted
    for (int64_t i = 0; i < n; ++i) {
      double sum = 0;
      int64_t count = 0;
      for (int64_t j = std::max<int64_t>(0, i - half); j <= std::min(n - 1, i + half); ++j, ++count) sum += p(j);
      if (sum / static_cast<double>(count) < options.threshold) continue;
      const double start = starts_s[static_cast<size_t>(i)];
      const double end = start + window_s;
      // Consecutive: the window just before also counted and this one starts within the event.
      if (previous_on == i - 1 && start <= track.back().onset_s + track.back().duration_s + 1e-9) {
        auto& e = track.back();
        e.duration_s = std::max(e.duration_s, end - e.onset_s);
        e.mean_probability += p(i);  // a sum until the track is finished
        e.max_probability = std::max(e.max_probability, p(i));
        ++e.n_windows;
      } else {
        track.push_back({start, window_s, c, name_of(c), p(i), p(i), 1});
      }
      previous_on = i;
    }
    // Join events closer than the merge gap; then drop the short ones.
    std::vector<DetectedEvent> merged;
    for (auto& e : track) {
      if (!merged.empty() && e.onset_s - (merged.back().onset_s + merged.back().duration_s) <= options.merge_gap_s) {
        auto& m = merged.back();
        m.duration_s = std::max(m.duration_s, e.onset_s + e.duration_s - m.onset_s);
        m.mean_probability += e.mean_probability;
        m.max_probability = std::max(m.max_probability, e.max_probability);
        m.n_windows += e.n_windows;
      } else {
        merged.push_back(e);
      }
    }
    for (auto& e : merged) {
      e.mean_probability /= static_cast<double>(e.n_windows);
      if (e.duration_s >= options.min_duration_s - 1e-9) out.push_back(e);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const DetectedEvent& a, const DetectedEvent& b) {
    return a.onset_s != b.onset_s ? a.onset_s < b.onset_s : a.class_index < b.class_index;
  });
  return out;
}

std::string events_tsv(const std::vector<DetectedEvent>& events) {
  std::string out = "onset\tduration\ttrial_type\tmean_probability\tmax_probability\tn_windows\n";
  for (const auto& e : events) {
    out += fmt::format("{:.4f}\t{:.4f}\t{}\t{:.4f}\t{:.4f}\t{}\n", e.onset_s, e.duration_s, e.label,
                       e.mean_probability, e.max_probability, e.n_windows);
  }
  return out;
}

std::string events_csv_rows(const std::string& recording, const std::vector<DetectedEvent>& events) {
  std::string out;
  for (const auto& e : events) {
    out += fmt::format("{},{:.4f},{:.4f},{},{:.4f},{:.4f},{}\n", recording, e.onset_s, e.duration_s, e.label,
                       e.mean_probability, e.max_probability, e.n_windows);
  }
  return out;
}

std::string event_annotation_text(const DetectedEvent& event) {
  return fmt::format("{} p={:.2f}", event.label, event.mean_probability);
}

}  // namespace lumamba::eval
