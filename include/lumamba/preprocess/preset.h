// lumamba/preprocess/preset.h — a preprocessing preset: which channels, which montage, which
// filters, window length and label source. Presets live in configs/preprocess/<name>.yaml (shipped
// inside the binary too), are overridden with dotted key=value pairs or --config FILE, and the
// resolved preset is stored as JSON with every dataset and checkpoint (docs/reference-model.md §14, §15).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lumamba::preprocess {

struct PreprocessPreset {
  std::string name = "generic";
  std::string description;
  /// Order of the steps; the only supported order is the reference's
  /// pick → montage → band_pass → notch → resample → window (kept explicit in every preset).
  std::vector<std::string> steps = {"pick", "montage", "band_pass", "notch", "resample", "window"};
  /// "tcp" (22 TCP derivations, or the 20 without A1/A2 for TUH `_a` montages / when `tcp_ears`
  /// is false), "unipolar" (the `channels` list), "all_eeg" (every channel of the file whose
  /// electrode has a position), or "bipolar" (the `derivations`).
  std::string montage = "unipolar";
  /// Electrode positions: a built-in table (lumamba/io/electrode_positions.h: standard_1005,
  /// biosemi64, GSN-HydroCel-129, ...) or a file (.elc .sfp .csd .txt .bvef .csv .tsv). Names are
  /// looked up in it; a channel without a position there is an error (or dropped, `missing: drop`).
  std::string positions = "standard_1005";
  /// A recording that gives its own electrode positions (BrainVision [Coordinates]): "use" them
  /// instead of the `positions` table (the recording's own win), or "ignore" them.
  std::string recording_positions = "use";
  /// File label -> electrode name, for names a device spells its own way (EXG1 -> M1, "EEG 1" -> Fp1);
  /// keys and values compared after normalisation (upper case, "EEG " prefix and -REF/-LE removed).
  std::map<std::string, std::string> channel_aliases;
  /// Re-referencing of unipolar channels: "none" (as recorded), "average", "linked_ears" (A1, A2),
  /// "linked_mastoids" (M1, M2), or electrode names ("CZ", "M1,M2": their mean is subtracted).
  std::string reference = "none";
  /// montage: bipolar — pairs "ANODE-CATHODE" (positions: midpoints) ...
  std::vector<std::string> derivations;
  /// ... or a file of pairs (lumamba/preprocess/montage.h read_derivations).
  std::string derivations_file;
  /// An electrode the montage needs that a recording lacks: "error" (the file fails; the TUH presets,
  /// as the reference) or "drop" (the channels that need it are left out, named in the log).
  std::string missing = "error";
  /// TCP: include A1-T3 and T4-A2 ("auto": unless the recording's folder is a TUH `_a` montage).
  std::string tcp_ears = "auto";
  /// Unipolar channel names (10-20/10-05, aliases allowed), output order.
  std::vector<std::string> channels;
  double l_freq_hz = 0.1;   ///< band-pass low edge; <= 0 disables
  double h_freq_hz = 75.0;  ///< band-pass high edge; <= 0 disables
  double notch_hz = 60.0;   ///< mains notch; <= 0 disables (60 TUH, 50 European sets)
  double resample_hz = 256.0;  ///< target rate (applied whenever the native rate differs)
  double window_s = 5.0;       ///< window length
  /// Hop between window starts; 0 = window_s (non-overlapping, the reference). Events: further
  /// windows at onset + k · hop while they end within the event (onset + duration).
  double window_hop_s = 0;
  /// What to do when h_freq_hz is at or above a recording's Nyquist frequency (e.g. 75 Hz on the
  /// 128 Hz eegmmidb subjects): "cap" (no low-pass for that file, the signal has nothing above
  /// Nyquist anyway; a warning names the file) or "fail" (the file fails, like MNE).
  std::string low_pass_above_nyquist = "cap";
  /// Regular expression searched in the file name (without extension) whose first group (or whole
  /// match) is the subject, e.g. 'S(\d{3})R' for eegmmidb. "" = the text before the first '_' (TUH
  /// names: aaaaaool_s001_t000 → aaaaaool). Splits drawn at random are by subject (TUAR: by file).
  std::string subject_pattern;
  /// "tuab_directory" (normal/abnormal from the path), "tusl_csv", "tuar_csv", "manifest",
  /// "events" (EDF+/BrainVision/EEGLAB annotations or BIDS events.tsv, event-locked windows),
  /// "participants:COLUMN" (a BIDS root: the subject's value in participants.tsv), "none".
  std::string labels = "none";
  std::string tuar_mode = "binary";            ///< binary | multi_binary | multi_label
  std::map<std::string, int64_t> event_labels;  ///< annotation text → class code (labels: events)
  /// participants.tsv value → class code (labels: participants:COLUMN). Empty: whole numbers are the
  /// codes as written; other values are numbered 0, 1, … in sorted order (the table is logged).
  std::map<std::string, int64_t> participant_labels;
  std::string storage_dtype = "float32";       ///< float32 | float16
  int64_t compression = 0;                     ///< gzip level of X (shuffle + gzip), 0 = none
  int64_t window_samples() const;
  int64_t hop_samples() const;  ///< window_hop_s in samples (window_samples() when 0)
};

/// Names of the presets shipped with lumamba (configs/preprocess/*.yaml).
std::vector<std::string> preset_names();
/// A shipped preset by name (InputError listing the names otherwise).
PreprocessPreset builtin_preset(const std::string& name);
/// A YAML file when `name_or_path` is an existing file, else the shipped preset of that name.
PreprocessPreset preset_from_name_or_file(const std::string& name_or_path);
/// Parses YAML/JSON text of a preset; `source` names it in errors. Unknown keys are errors.
PreprocessPreset preset_from_text(const std::string& text, const std::string& source);
/// Applies dotted key=value overrides ("notch_hz=50", "event_labels.T1=1", "channels=[C3,C4]").
void apply_preset_overrides(PreprocessPreset& preset, const std::vector<std::string>& key_values);
/// Checks values and their combination; InputError naming the field.
void validate(const PreprocessPreset& preset);
/// The resolved preset as JSON (stored in HDF5 `preprocess` and checkpoint `lumamba.preprocess`).
std::string preset_to_json(const PreprocessPreset& preset);

}  // namespace lumamba::preprocess
