// lumamba/io/edf_reader.h — EDF, EDF+ (continuous) and BDF/BDF+ (continuous) reading on top of
// EDFlib (Debian libedf-dev 1.23), plus the TUH-style channel-label normalisation.
//
// EDFlib does the parsing and the digital->physical scaling (gain * (offset + digital), double);
// this layer wraps its int handle in RAII, turns every EDFlib error into one InputError that names
// the file and the field, converts each channel's physical dimension to µV once (docs/style.md §8), and
// names channels the way the TUH/LuMamba pipeline does ("EEG FP1-REF" -> "FP1"). Annotation
// signals ("EDF Annotations") are not data signals here, as in EDFlib and MNE: their TALs are
// decoded into EdfHeader::annotations. EDF+D/BDF+D (discontinuous) files are rejected.
// Reference checks: tests/io/test_edf_reader.cpp against MNE 1.3.0 (tools/mne_reference/).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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

/// Kind of file, from the version and reserved header fields.
enum class EdfFileType { kEdf, kEdfPlus, kBdf, kBdfPlus };

/// "EDF", "EDF+C", "BDF", "BDF+C" (only continuous files are opened).
std::string_view edf_file_type_name(EdfFileType type);

/// What to do when an EEG channel (is_eeg) has a physical dimension that is not a voltage unit.
enum class UnknownUnitPolicy {
  kWarnAssumeMicrovolts,  ///< keep the values as they are (scale 1, i.e. taken as µV); one WARN
  kError,                 ///< InputError naming the channels and their dimensions
};

struct EdfOpenOptions {
  /// Handling of EEG channels whose physical dimension is not uV/µV/mV/V/nV (case-insensitive).
  /// Non-EEG channels (EKG, PHOTIC, SpO2 ...) in other units are always kept unscaled, silently.
  /// Default: kWarnAssumeMicrovolts.
  UnknownUnitPolicy unknown_eeg_unit = UnknownUnitPolicy::kWarnAssumeMicrovolts;
  /// When EDFlib rejects a file whose only defects are ones lumamba knows to be harmless (see
  /// EdfHeader::repairs), read it through a patched temporary copy of the file and log one WARN.
  /// Example: PhysioNet's eegmmidb files fill the annotation signal's prefilter field, which
  /// EDFlib 1.23 refuses. false: such files fail with an InputError listing the defects.
  /// Default: true.
  bool repair_header = true;
};

/// One data signal (annotation signals are not listed; EDFlib hides them).
struct EdfSignalInfo {
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
};

/// One EDF+/BDF+ annotation (time-keeping TALs excluded).
struct EdfAnnotation {
  double onset_s = 0;      ///< from the start of the recording (EDFlib: 100 ns resolution)
  double duration_s = -1;  ///< kEdfNoDuration when the TAL has no duration field
  std::string text;        ///< UTF-8; EDFlib keeps at most 512 bytes
};
inline constexpr double kEdfNoDuration = -1.0;

struct EdfHeader {
  std::string path;
  EdfFileType file_type = EdfFileType::kEdf;
  /// Local start date-time as written in the file, ISO 8601 without zone
  /// ("2009-08-12T16:15:00"; EDF+ sub-seconds appended: "...T16:15:00.25"). Two-digit header
  /// years are 1985-2084 (EDF spec clipping); EDF+ takes the 4-digit year of the recording field.
  std::string start_datetime;
  double record_duration_s = 0;
  int64_t n_records = 0;
  double duration_s = 0;  ///< n_records * record_duration_s
  std::string patient;    ///< raw 80-byte patient field, trimmed
  std::string recording;  ///< raw 80-byte recording field, trimmed
  std::vector<EdfSignalInfo> signals;
  int32_t n_annotation_signals = 0;
  std::vector<EdfAnnotation> annotations;  ///< in file order
  /// What was patched to let EDFlib read the file (EdfOpenOptions::repair_header); empty for a
  /// conforming file. One human-readable line per patched field.
  std::vector<std::string> repairs;
};

/// An open EDF/BDF file. Move-only; closes the EDFlib handle on destruction. Opening and closing
/// are serialised internally (EDFlib's open/close are not thread-safe); one EdfReader must not be
/// used from two threads at once (EDFlib keeps a read position per signal). EDFlib allows one
/// open handle per path and 64 open files per process.
class EdfReader {
 public:
  /// Opens and validates `path`; reads the header and all annotations. Throws InputError
  /// ("<path>: <reason>") for a missing, empty, truncated, non-EDF, discontinuous or malformed
  /// file, naming the offending header field and signal.
  static EdfReader open(const std::string& path, const EdfOpenOptions& options = {});

  EdfReader(EdfReader&&) noexcept;
  EdfReader& operator=(EdfReader&&) noexcept;
  EdfReader(const EdfReader&) = delete;
  EdfReader& operator=(const EdfReader&) = delete;
  ~EdfReader();

  const EdfHeader& header() const { return header_; }
  int64_t n_signals() const { return static_cast<int64_t>(header_.signals.size()); }

  /// Index of the first signal whose label or electrode matches `name` (compared after
  /// tuh_electrode_name, with the T3/T7, T4/T8, T5/P7, T6/P8 aliases per electrode); -1 if none.
  int64_t find_signal(std::string_view name) const;

  /// The whole signal in µV (voltage channels) or in its own physical unit (others).
  std::vector<double> read_signal_uv(int64_t signal_idx);
  /// Samples [start_sample, start_sample + n_samples) of one signal; InputError if out of range.
  std::vector<double> read_signal_uv(int64_t signal_idx, int64_t start_sample, int64_t n_samples);

 private:
  struct Handle;
  EdfReader(std::unique_ptr<Handle> handle, EdfHeader header);

  std::unique_ptr<Handle> handle_;
  EdfHeader header_;
};

/// Signals read into memory. Channels may have different sampling rates and lengths.
struct EdfRecording {
  EdfHeader header;
  std::vector<int64_t> signal_indices;       ///< into header.signals, in the order requested
  std::vector<std::vector<double>> data_uv;  ///< (C, n_samples of that channel), µV
};

/// Opens `path` and reads the requested channels (all data signals when `channels` is empty).
/// Names are matched as in EdfReader::find_signal; a name matching several signals takes the
/// first and logs a WARN. Unknown names: one InputError listing all of them and the file's labels.
EdfRecording read_edf(const std::string& path, const std::vector<std::string>& channels = {},
                      const EdfOpenOptions& options = {});

}  // namespace lumamba::io
