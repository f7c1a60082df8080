// lumamba/io/array_recording.h — a recording held in memory (channels × samples in µV, names, one
// sampling rate, optional positions) behind the RecordingReader interface, so arrays from Python
// (NumPy, MNE Raw) go through exactly the preprocessing a file does. Torch-free.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lumamba/io/recording.h"

namespace lumamba::io {

struct ArrayRecordingData {
  std::string name = "array";             ///< shown in messages in place of a file path
  std::vector<std::string> channel_names;  ///< (C,) as a file would label them ("EEG Fp1-REF", "Fc5.", "E23")
  double sfreq_hz = 0;
  int64_t n_samples = 0;
  std::vector<double> signal_uv;  ///< (C, T) row-major, µV
  /// (C, 3) metres, MNE head frame, or empty: positions then come from the preset's table by name.
  /// A NaN row leaves that channel unplaced (the table's position is used for it).
  std::vector<std::array<double, 3>> positions_m;
  std::vector<Annotation> annotations;  ///< events for event-locked presets
};

/// InputError naming `name` and the field for: no channels, names not matching the signal's rows, a
/// non-positive or non-finite rate, a non-finite sample (channel and time named), or positions of
/// the wrong count.
class ArrayRecordingReader final : public RecordingReader {
 public:
  explicit ArrayRecordingReader(ArrayRecordingData data);
  const RecordingHeader& header() const override { return header_; }
  std::vector<double> read_signal_uv(int64_t signal_idx) override;

 private:
  ArrayRecordingData data_;
  RecordingHeader header_;
};

}  // namespace lumamba::io
