// lumamba/io/recording.h — what every recording reader gives: the header (signals with names,
// units and rates; annotations) and each signal in µV. Readers: EDF/EDF+/BDF/BDF+ through EDFlib
// (lumamba/io/edf_reader.h), BrainVision .vhdr/.vmrk/.eeg (lumamba/io/brainvision_reader.h) and
// EEGLAB .set/.fdt (lumamba/io/eeglab_reader.h); open_recording picks one by the file's extension.
// Torch-free.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lumamba/io/electrode_positions.h"

namespace lumamba::io {

/// TUH/PhysioNet label -> 10-20 electrode name, upper-case: normalize_channel_label (trim, upper
/// case, trailing dots: "Fc5." -> "FC5"), then a leading "EEG " and a trailing TUH reference
/// suffix "-REF" or "-LE" are removed: "EEG FP1-REF" -> "FP1", "EEG T3-LE" -> "T3",
/// "EEG A1-REF" -> "A1". Other labels keep their normalised form ("EEG EKG1-REF" -> "EKG1",
/// "PHOTIC-REF" -> "PHOTIC", "FP1-F7" -> "FP1-F7"); aliases (T3/T7) are not applied.
std::string tuh_electrode_name(std::string_view label);

/// True if `name` (a tuh_electrode_name result) is a standard_1005 electrode (aliases included,
/// via find_electrode) or a bipolar "A-B" of two such electrodes.
bool is_eeg_electrode_name(std::string_view name);

/// Kind of file. The first four are EDFlib's file types (its numbering), from the version and
/// reserved header fields.
enum class RecordingFormat { kEdf, kEdfPlus, kBdf, kBdfPlus, kBrainVision, kEeglab };

/// "EDF", "EDF+C", "BDF", "BDF+C" (only continuous files are opened), "BrainVision", "EEGLAB".
std::string_view recording_format_name(RecordingFormat type);

/// µV per unit of a physical dimension (uV, µV, mV, V, nV; case-insensitive, Latin-1 or UTF-8 µ);
/// nullopt for a unit that is not a voltage.
std::optional<double> microvolts_per_unit(std::string_view unit);

/// One data signal (EDF annotation signals are not listed; EDFlib hides them).
struct SignalInfo {
  std::string label;               ///< as in the file, trailing blanks removed ("EEG FP1-REF")
  std::string electrode;           ///< tuh_electrode_name(label) ("FP1")
  bool is_eeg = false;             ///< is_eeg_electrode_name(electrode)
  std::string physical_dimension;  ///< as in the file, trimmed ("uV")
  std::string transducer;          ///< trimmed
  std::string prefilter;           ///< trimmed ("HP:0.1Hz LP:75Hz")
  double physical_min = 0;         ///< in physical_dimension units
  double physical_max = 0;
  int32_t digital_min = 0;
  int32_t digital_max = 0;
  int32_t n_samples_per_record = 0;
  double sfreq_hz = 0;           ///< n_samples_per_record / record_duration_s (per channel)
  int64_t n_samples = 0;         ///< in the whole file = n_samples_per_record * n_records
  bool unit_is_voltage = false;  ///< physical_dimension is uV/µV/mV/V/nV (case-insensitive)
  double uv_per_unit = 1;        ///< physical value * uv_per_unit = µV (1 when not a voltage)
  /// The electrode's position as the recording itself gives it (BrainVision [Coordinates], EEGLAB
  /// chanlocs), MNE head frame, metres; none for EDF. Used instead of the preset's table (preset key
  /// recording_positions).
  std::optional<Position3> position;
};

/// One EDF+/BDF+ annotation (time-keeping TALs excluded) or BrainVision marker ("Type/Description",
/// MNE's annotation text).
struct Annotation {
  double onset_s = 0;      ///< from the start of the recording (EDFlib: 100 ns resolution)
  double duration_s = -1;  ///< kNoDuration when the TAL has no duration field
  std::string text;        ///< UTF-8; EDFlib keeps at most 512 bytes
};
inline constexpr double kNoDuration = -1.0;

struct RecordingHeader {
  std::string path;
  RecordingFormat format = RecordingFormat::kEdf;
  /// Local start date-time as written in the file, ISO 8601 without zone
  /// ("2009-08-12T16:15:00"; EDF+ sub-seconds appended: "...T16:15:00.25"). Two-digit header
  /// years are 1985-2084 (EDF spec clipping); EDF+ takes the 4-digit year of the recording field.
  std::string start_datetime;
  double record_duration_s = 0;  ///< EDF data-record length (BrainVision: the whole recording, one record)
  int64_t n_records = 0;
  double duration_s = 0;  ///< n_records * record_duration_s
  std::string patient;    ///< EDF: raw 80-byte patient field, trimmed
  std::string recording;  ///< EDF: raw 80-byte recording field, trimmed
  std::vector<SignalInfo> signals;
  int32_t n_annotation_signals = 0;
  std::vector<Annotation> annotations;  ///< in file order
  /// What was patched to let EDFlib read the file (EdfOpenOptions::repair_header); empty for a
  /// conforming file. One human-readable line per patched field.
  std::vector<std::string> repairs;
};

/// An open recording. One reader must not be used from two threads at once.
class RecordingReader {
 public:
  virtual ~RecordingReader() = default;
  virtual const RecordingHeader& header() const = 0;
  int64_t n_signals() const { return static_cast<int64_t>(header().signals.size()); }
  /// The whole signal in µV (voltage channels) or in its own physical unit (others).
  virtual std::vector<double> read_signal_uv(int64_t signal_idx) = 0;
};

/// The file extensions open_recording reads (lower case): .edf, .bdf, .vhdr, .set.
bool is_recording_file(std::string_view path);

/// Opens a recording by its extension (case-insensitive): .edf/.bdf (EdfReader, default options),
/// .vhdr (BrainVisionReader), .set (EeglabReader). InputError naming the file for any other extension or a bad file.
std::unique_ptr<RecordingReader> open_recording(const std::string& path);

}  // namespace lumamba::io
