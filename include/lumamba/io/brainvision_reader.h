// lumamba/io/brainvision_reader.h — BrainVision (BrainProducts Core Data Format 1.0 / 2.0): a .vhdr
// header (INI text), a .vmrk marker file and binary .eeg data (INT_16, INT_32 or IEEE_FLOAT_32,
// little-endian, MULTIPLEXED or VECTORIZED), read the way MNE 1.3's mne.io.read_raw_brainvision
// reads them: sample × resolution in the channel's unit (µV when none is given), markers as
// annotations "Type/Description" at (position − 1) / sfreq lasting size / sfreq. Checked against
// MNE on files written by tools/mne_reference/brainvision_reference.py
// (tests/io/test_brainvision_reader.cpp). ASCII data files are not read (InputError). Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lumamba/io/recording.h"

namespace lumamba::io {

class BrainVisionReader : public RecordingReader {
 public:
  /// Parses the .vhdr and .vmrk and checks the .eeg's size; InputError naming the file, section and
  /// key for anything missing or malformed.
  static BrainVisionReader open(const std::string& vhdr_path);

  const RecordingHeader& header() const override { return header_; }
  std::vector<double> read_signal_uv(int64_t signal_idx) override;

  enum class SampleType { kInt16, kInt32, kFloat32 };

 private:
  BrainVisionReader() = default;

  RecordingHeader header_;
  std::string data_path_;
  SampleType sample_type_ = SampleType::kInt16;
  bool multiplexed_ = true;
  std::vector<double> resolution_;  // physical units per sample value, per channel
  int64_t n_samples_ = 0;
};

}  // namespace lumamba::io
