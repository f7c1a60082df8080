// lumamba/io/eeglab_reader.h — EEGLAB datasets: a .set file (MATLAB v5, or v7.3 = HDF5, read through
// Debian's libmatio) holding the EEG structure — as one `EEG` struct or as top-level variables, as
// EEGLAB's pop_saveset writes either — with the samples inside it or in a float32 .fdt file beside
// it. Read the way MNE 1.3's mne.io.read_raw_eeglab reads them: data in µV; channel names from
// chanlocs.labels ("EEG 000"… when there are none); events as annotations at (latency − 1) / srate
// lasting duration / srate, text = the event type (numbers as Python prints them: 2 → "2.0"); channel
// positions from chanlocs X/Y/Z, EEGLAB's frame (X nose, Y left, Z up) in millimetres, turned to MNE's
// head frame in metres: (−Y, X, Z) / 1000. Differences from MNE, on purpose: positions whose mean
// radius is not that of a head (4–15 cm, e.g. a unit sphere) are not used (warning; the preset's table
// places those channels by name), and channels typed as non-EEG (EOG, ECG, …) get no position, as MNE's
// set_montage leaves them. Epoched files (trials > 1) are refused. Checked against MNE on files written
// by tools/mne_reference/eeglab_reference.py (tests/io/test_eeglab_reader.cpp). Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lumamba/io/recording.h"

namespace lumamba::io {

class EeglabReader : public RecordingReader {
 public:
  /// Reads the .set (the samples too when they are inside it) and checks the .fdt's size;
  /// InputError naming the file and the field for anything missing or malformed.
  static EeglabReader open(const std::string& set_path);

  const RecordingHeader& header() const override { return header_; }
  std::vector<double> read_signal_uv(int64_t signal_idx) override;

 private:
  EeglabReader() = default;

  RecordingHeader header_;
  int64_t n_channels_ = 0, n_samples_ = 0;
  std::vector<double> embedded_uv_;  // (C, T): the samples stored in the .set
  std::string fdt_path_;             // the .fdt holding the samples, "" when they are in the .set
  std::vector<float> fdt_uv_;        // (C, T): the .fdt, read on first use
};

}  // namespace lumamba::io
