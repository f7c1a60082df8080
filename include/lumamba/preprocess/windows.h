// lumamba/preprocess/windows.h — cutting a preprocessed recording into windows and labelling them
// the way the reference's dataset scripts do (docs/reference-model.md §15: TUSL, TUAR; §14), plus
// event-locked windows from EDF+ annotations. All sample indices refer to the final (resampled) signal.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lumamba/io/tuh_csv.h"

namespace lumamba::preprocess {

/// Starts of windows of `window_samples` every `hop_samples` (0 = window_samples: non-overlapping,
/// the reference); the remainder is dropped. A recording shorter than one window gives none.
std::vector<int64_t> window_starts(int64_t n_samples, int64_t window_samples, int64_t hop_samples = 0);

/// round(t · sfreq), clipped to [0, n_samples] (the reference's `round(t * 256)`).
int64_t time_to_sample(double t_s, double sfreq_hz, int64_t n_samples);

/// TUSL codes: bckg → 1, seiz → 2, slow → 3, anything else 0.
int64_t tusl_code(const std::string& label);
/// TUSL: one time line (later rows overwrite), window label = most frequent code (ties → smallest).
std::vector<int64_t> tusl_window_labels(const std::vector<io::TuhAnnotation>& rows, double sfreq_hz, int64_t n_samples,
                                        const std::vector<int64_t>& starts, int64_t window_samples);

enum class TuarMode { kBinary, kMultiBinary, kMultiLabel };
/// Parses "binary" | "multi_binary" | "multi_label" (InputError otherwise).
TuarMode parse_tuar_mode(const std::string& name);

/// TUAR artifact family of a label for the multi-label mode: chew 1, elec 2, eyem 3, musc 4, shiv 5, else 0.
int64_t tuar_family(const std::string& label);
/// Whether a label counts as "artifact or seizure" for the binary modes.
bool tuar_is_event(const std::string& label);

struct TuarWindowLabels {
  std::vector<int64_t> binary;        ///< (N,) for kBinary
  std::vector<std::uint8_t> per_channel;  ///< (N, C) for kMultiBinary (0/1) and kMultiLabel (family codes)
  int64_t n_columns = 0;              ///< C for the per-channel modes, 0 for kBinary
};
/// TUAR: rows whose channel is not in `channel_names` (the montage's derivations) are skipped; a
/// window (or channel-window) is positive when ≥ 30 % of its samples are covered (docs/reference-model.md §15).
TuarWindowLabels tuar_window_labels(const std::vector<io::TuhAnnotation>& rows,
                                    const std::vector<std::string>& channel_names, TuarMode mode, double sfreq_hz,
                                    int64_t n_samples, const std::vector<int64_t>& starts, int64_t window_samples);

/// An annotation of a recording (EDF+ TAL): onset and duration in seconds, text.
struct TimedEvent {
  double onset_s = 0, duration_s = 0;
  std::string text;
};
struct EventWindow {
  int64_t start = 0;  ///< first sample
  int64_t label = 0;
  std::string text;
};
/// One window of `window_samples` per annotated event whose text is in `label_map`, starting at the
/// event onset; events whose window would run past the end are dropped. Unmapped texts are skipped.
/// With `hop_samples` > 0, further windows start at onset + k · hop while they end within the
/// event (onset + duration): overlapping crops of long events.
std::vector<EventWindow> event_windows(const std::vector<TimedEvent>& events,
                                       const std::map<std::string, int64_t>& label_map, double sfreq_hz,
                                       int64_t n_samples, int64_t window_samples, int64_t hop_samples = 0);

}  // namespace lumamba::preprocess
