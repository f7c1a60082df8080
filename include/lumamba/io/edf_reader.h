// lumamba/io/edf_reader.h — EDF, EDF+ (continuous) and BDF/BDF+ (continuous) reading on top of
// EDFlib (Debian libedf-dev 1.23), plus the TUH-style channel-label normalisation.
//
// EDFlib does the parsing and the digital->physical scaling (gain * (offset + digital), double);
// this layer wraps its int handle in RAII, turns every EDFlib error into one InputError that names
// the file and the field, converts each channel's physical dimension to µV once (docs/style.md §8), and
// names channels the way the TUH/LuMamba pipeline does ("EEG FP1-REF" -> "FP1"). Annotation
// signals ("EDF Annotations") are not data signals here, as in EDFlib and MNE: their TALs are
// decoded into RecordingHeader::annotations. EDF+D/BDF+D (discontinuous) files are rejected.
// Reference checks: tests/io/test_edf_reader.cpp against MNE 1.3.0 (tools/mne_reference/).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lumamba/io/recording.h"

namespace lumamba::io {

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
  /// RecordingHeader::repairs), read it through a patched temporary copy of the file and log one WARN.
  /// Example: PhysioNet's eegmmidb files fill the annotation signal's prefilter field, which
  /// EDFlib 1.23 refuses. false: such files fail with an InputError listing the defects.
  /// Default: true.
  bool repair_header = true;
};

/// An open EDF/BDF file. Move-only; closes the EDFlib handle on destruction. Opening and closing
/// are serialised internally (EDFlib's open/close are not thread-safe); one EdfReader must not be
/// used from two threads at once (EDFlib keeps a read position per signal). EDFlib allows one
/// open handle per path and 64 open files per process.
class EdfReader : public RecordingReader {
 public:
  /// Opens and validates `path`; reads the header and all annotations. Throws InputError
  /// ("<path>: <reason>") for a missing, empty, truncated, non-EDF, discontinuous or malformed
  /// file, naming the offending header field and signal.
  static EdfReader open(const std::string& path, const EdfOpenOptions& options = {});

  EdfReader(EdfReader&&) noexcept;
  EdfReader& operator=(EdfReader&&) noexcept;
  EdfReader(const EdfReader&) = delete;
  EdfReader& operator=(const EdfReader&) = delete;
  ~EdfReader() override;

  const RecordingHeader& header() const override { return header_; }

  /// Index of the first signal whose label or electrode matches `name` (compared after
  /// tuh_electrode_name, with the T3/T7, T4/T8, T5/P7, T6/P8 aliases per electrode); -1 if none.
  int64_t find_signal(std::string_view name) const;

  /// The whole signal in µV (voltage channels) or in its own physical unit (others).
  std::vector<double> read_signal_uv(int64_t signal_idx) override;
  using RecordingReader::n_signals;
  /// Samples [start_sample, start_sample + n_samples) of one signal; InputError if out of range.
  std::vector<double> read_signal_uv(int64_t signal_idx, int64_t start_sample, int64_t n_samples);

 private:
  struct Handle;
  EdfReader(std::unique_ptr<Handle> handle, RecordingHeader header);

  std::unique_ptr<Handle> handle_;
  RecordingHeader header_;
};

/// Signals read into memory. Channels may have different sampling rates and lengths.
struct EdfRecording {
  RecordingHeader header;
  std::vector<int64_t> signal_indices;       ///< into header.signals, in the order requested
  std::vector<std::vector<double>> data_uv;  ///< (C, n_samples of that channel), µV
};

/// Opens `path` and reads the requested channels (all data signals when `channels` is empty).
/// Names are matched as in EdfReader::find_signal; a name matching several signals takes the
/// first and logs a WARN. Unknown names: one InputError listing all of them and the file's labels.
EdfRecording read_edf(const std::string& path, const std::vector<std::string>& channels = {},
                      const EdfOpenOptions& options = {});

}  // namespace lumamba::io
