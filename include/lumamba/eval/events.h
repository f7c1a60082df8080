// lumamba/eval/events.h — events from window predictions, for viewers clinicians already use: runs of
// consecutive windows whose (optionally smoothed) class probability reaches a threshold become one
// event (onset, duration, label, mean and max probability), one track per class; written as a BIDS
// *_events.tsv, a CSV and an EDF+ file holding only annotations (lumamba/io/edf_annotations.h), which
// EDFbrowser and MNE (mne.read_annotations) open. `lumamba predict --events` (docs/cli.md). Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lumamba::eval {

struct EventOptions {
  /// A window counts for a class when its (smoothed) probability is at least this.
  double threshold = 0.5;
  /// Centred moving average of each class's probability over this many consecutive windows (odd;
  /// 1 = none): one confident window in a quiet stretch is not an event, a short gap inside one is
  /// not a break.
  int64_t smoothing_windows = 1;
  /// Events shorter than this are dropped (0 = keep every run, even of one window).
  double min_duration_s = 0;
  /// Events of the same class whose gap is at most this are joined into one.
  double merge_gap_s = 0;
  /// Classes that give an event track. Empty: every class but 0 for a multiclass task (class 0 is
  /// the background class of every shipped task: normal, bckg, rest), every label for multilabel.
  std::vector<int64_t> classes;
};

struct DetectedEvent {
  double onset_s = 0, duration_s = 0;
  int64_t class_index = 0;
  std::string label;               ///< the class name (task class_names), else "class_<k>"
  double mean_probability = 0;     ///< mean of the windows' (unsmoothed) probability of the class
  double max_probability = 0;
  int64_t n_windows = 0;
};

/// Events of one recording. `starts_s` (N,) window starts in time order, each window lasting
/// `window_s`; `probs` (N, K) row-major. Windows overlapping or touching (start ≤ previous end) are
/// consecutive. Sorted by onset, then class. InputError for inconsistent sizes or options.
std::vector<DetectedEvent> detect_events(const std::vector<double>& starts_s, double window_s,
                                         const std::vector<double>& probs, int64_t n_classes,
                                         const std::vector<std::string>& class_names, bool multilabel,
                                         const EventOptions& options);

/// BIDS *_events.tsv: onset, duration, trial_type (the label), mean_probability, max_probability,
/// n_windows; seconds with 4 decimals.
std::string events_tsv(const std::vector<DetectedEvent>& events);

/// The same rows as CSV with a `recording` column first (one file for a whole run).
std::string events_csv_rows(const std::string& recording, const std::vector<DetectedEvent>& events);
inline constexpr const char* kEventsCsvHeader =
    "recording,onset_s,duration_s,label,mean_probability,max_probability,n_windows\n";

/// The EDF+ annotation text of an event: "label p=0.87" (label and mean probability), so a viewer's
/// annotation list shows both.
std::string event_annotation_text(const DetectedEvent& event);

}  // namespace lumamba::eval
