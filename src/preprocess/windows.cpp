// Windowing and window labels (see lumamba/preprocess/windows.h). Mirrors the reference's
// make_datasets/process_raw_eeg.py rules as recorded in docs/reference-model.md §15.
#include "lumamba/preprocess/windows.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "lumamba/core/error.h"

namespace lumamba::preprocess {
namespace {

constexpr double kTuarCoverageFraction = 0.3;  // docs/reference-model.md §15: "≥ 30 % of its samples"

// Writes `code` over the samples of each row on one time line (later rows overwrite).
template <typename Pred, typename CodeFn>
void paint(std::vector<int64_t>& line, const std::vector<io::TuhAnnotation>& rows, Pred keep, CodeFn code,
           double sfreq_hz) {
  const auto n = static_cast<int64_t>(line.size());
  for (const auto& r : rows) {
    if (!keep(r)) continue;
    const int64_t a = time_to_sample(r.start_s, sfreq_hz, n), b = time_to_sample(r.stop_s, sfreq_hz, n);
    std::fill(line.begin() + a, line.begin() + std::max(a, b), code(r));
  }
}

// Most frequent non-negative code in [start, start + w) (ties → smallest code).
int64_t majority(const std::vector<int64_t>& line, int64_t start, int64_t w) {
  std::map<int64_t, int64_t> counts;
  for (int64_t i = start; i < start + w; ++i) ++counts[line[i]];
  int64_t best = 0, best_count = -1;
  for (const auto& [code, count] : counts) {
    if (count > best_count) best = code, best_count = count;
  }
  return best;
}

}  // namespace

std::vector<int64_t> window_starts(int64_t n_samples, int64_t window_samples, int64_t hop_samples) {
  LUMAMBA_CHECK_INPUT(window_samples > 0, "invalid value for 'window_samples': got {}; must be > 0", window_samples);
  LUMAMBA_CHECK_INPUT(hop_samples >= 0, "invalid value for 'hop_samples': got {}; must be >= 0", hop_samples);
  const int64_t hop = hop_samples > 0 ? hop_samples : window_samples;
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + window_samples <= n_samples; s += hop) starts.push_back(s);
  return starts;
}

int64_t time_to_sample(double t_s, double sfreq_hz, int64_t n_samples) {
  const double idx = std::round(t_s * sfreq_hz);
  return static_cast<int64_t>(std::clamp(idx, 0.0, static_cast<double>(n_samples)));
}

int64_t tusl_code(const std::string& label) {
  if (label == "bckg") return 1;
  if (label == "seiz") return 2;
  if (label == "slow") return 3;
  return 0;
}

std::vector<int64_t> tusl_window_labels(const std::vector<io::TuhAnnotation>& rows, double sfreq_hz, int64_t n_samples,
                                        const std::vector<int64_t>& starts, int64_t window_samples) {
  std::vector<int64_t> line(static_cast<size_t>(n_samples), 0);
  paint(line, rows, [](const auto&) { return true; }, [](const auto& r) { return tusl_code(r.label); }, sfreq_hz);
  std::vector<int64_t> labels;
  for (auto s : starts) labels.push_back(majority(line, s, window_samples));
  return labels;
}

TuarMode parse_tuar_mode(const std::string& name) {
  check_option("tuar mode", name, {"binary", "multi_binary", "multi_label"});
  if (name == "binary") return TuarMode::kBinary;
  if (name == "multi_binary") return TuarMode::kMultiBinary;
  return TuarMode::kMultiLabel;
}

bool tuar_is_event(const std::string& label) {
  static const std::set<std::string> kEvents = {"chew", "chew_elec", "chew_musc", "cpsz", "elec", "elpp",
                                                "eyem", "eyem_chew", "eyem_elec", "eyem_musc", "eyem_shiv", "fnsz",
                                                "gnsz", "musc", "musc_elec", "shiv", "shiv_elec", "tcsz"};
  return kEvents.count(label) > 0;
}

int64_t tuar_family(const std::string& label) {
  static const std::map<std::string, int64_t> kFamilies = {
      {"chew", 1}, {"chew_elec", 1}, {"chew_musc", 1}, {"elec", 2}, {"eyem", 3}, {"eyem_chew", 3},
      {"eyem_elec", 3}, {"eyem_musc", 3}, {"eyem_shiv", 3}, {"musc", 4}, {"musc_elec", 4}, {"shiv", 5},
      {"shiv_elec", 5}};
  auto it = kFamilies.find(label);
  return it == kFamilies.end() ? 0 : it->second;
}

TuarWindowLabels tuar_window_labels(const std::vector<io::TuhAnnotation>& rows,
                                    const std::vector<std::string>& channel_names, TuarMode mode, double sfreq_hz,
                                    int64_t n_samples, const std::vector<int64_t>& starts, int64_t window_samples) {
  const std::set<std::string> montage(channel_names.begin(), channel_names.end());
  const auto in_montage = [&](const io::TuhAnnotation& r) { return montage.count(r.channel) > 0; };
  const double needed = kTuarCoverageFraction * static_cast<double>(window_samples);
  TuarWindowLabels out;
  if (mode == TuarMode::kBinary) {
    std::vector<int64_t> line(static_cast<size_t>(n_samples), 0);
    paint(line, rows, [&](const auto& r) { return in_montage(r) && tuar_is_event(r.label); },
          [](const auto&) { return int64_t{1}; }, sfreq_hz);
    for (auto s : starts) {
      const auto covered = std::count(line.begin() + s, line.begin() + s + window_samples, 1);
      out.binary.push_back(static_cast<double>(covered) >= needed ? 1 : 0);
    }
    return out;
  }
  const auto c = static_cast<int64_t>(channel_names.size());
  out.n_columns = c;
  out.per_channel.assign(starts.size() * static_cast<size_t>(c), 0);
  for (int64_t ch = 0; ch < c; ++ch) {
    std::vector<int64_t> line(static_cast<size_t>(n_samples), 0);
    const auto on_channel = [&](const io::TuhAnnotation& r) { return r.channel == channel_names[ch]; };
    if (mode == TuarMode::kMultiBinary) {
      paint(line, rows, [&](const auto& r) { return on_channel(r) && tuar_is_event(r.label); },
            [](const auto&) { return int64_t{1}; }, sfreq_hz);
    } else {
      paint(line, rows, [&](const auto& r) { return on_channel(r) && tuar_family(r.label) > 0; },
            [](const auto& r) { return tuar_family(r.label); }, sfreq_hz);
    }
    for (size_t w = 0; w < starts.size(); ++w) {
      std::map<int64_t, int64_t> counts;
      for (int64_t i = starts[w]; i < starts[w] + window_samples; ++i) {
        if (line[i] > 0) ++counts[line[i]];
      }
      int64_t best = 0, best_count = 0;
      for (const auto& [code, count] : counts) {
        if (static_cast<double>(count) >= needed && count > best_count) best = code, best_count = count;
      }
      out.per_channel[w * static_cast<size_t>(c) + static_cast<size_t>(ch)] = static_cast<std::uint8_t>(best);
    }
  }
  return out;
}

std::vector<EventWindow> event_windows(const std::vector<TimedEvent>& events,
                                       const std::map<std::string, int64_t>& label_map, double sfreq_hz,
                                       int64_t n_samples, int64_t window_samples, int64_t hop_samples) {
  LUMAMBA_CHECK_INPUT(window_samples > 0, "invalid value for 'window_samples': got {}; must be > 0", window_samples);
  LUMAMBA_CHECK_INPUT(hop_samples >= 0, "invalid value for 'hop_samples': got {}; must be >= 0", hop_samples);
  std::vector<EventWindow> out;
  for (const auto& e : events) {
    auto it = label_map.find(e.text);
    if (it == label_map.end()) continue;
    const int64_t start = time_to_sample(e.onset_s, sfreq_hz, n_samples);
    if (start + window_samples > n_samples) continue;
    out.push_back({start, it->second, e.text});
    if (hop_samples <= 0) continue;
    const int64_t event_end = std::min(n_samples, time_to_sample(e.onset_s + e.duration_s, sfreq_hz, n_samples));
    for (int64_t s = start + hop_samples; s + window_samples <= event_end; s += hop_samples) {
      out.push_back({s, it->second, e.text});
    }
  }
  return out;
}

}  // namespace lumamba::preprocess
