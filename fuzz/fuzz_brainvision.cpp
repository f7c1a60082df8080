// libFuzzer target for the BrainVision reader (src/io/brainvision_reader.cpp); build/run:
// fuzz/README.md. The reader opens a .vhdr by path and follows it to its .vmrk and .eeg, so each
// input is split at its first NUL byte into the header text and the marker text, written to
// /dev/shm/lumamba-fuzz-bv-<pid>/rec.vhdr and rec.vmrk beside a fixed rec.eeg (2,400 bytes of 0x01:
// finite as INT_16, INT_32 and IEEE_FLOAT_32).
//
// Properties checked on every input:
//  * open_recording either succeeds or throws lumamba::Error; anything else (another exception, a
//    crash, an ASan/UBSan report) is a finding.
//  * an accepted recording is self-consistent: a positive finite rate, every signal reads back
//    n_samples finite values, every annotation has a finite onset >= 0 and a duration >= 0.
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/io/recording.h"
#include "fuzz_input_files.h"

using lumamba::fuzz::require;
using lumamba::fuzz::write_file;

namespace {
const std::filesystem::path& input_dir() { return lumamba::fuzz::input_dir("bv"); }
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  lumamba::log::set_level(lumamba::log::Level::kError);
  const std::string eeg(2400, '\x01');
  write_file(input_dir() / "rec.eeg", eeg.data(), eeg.size());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto* text = reinterpret_cast<const char*>(data);
  std::size_t split = 0;
  while (split < size && text[split] != '\0') ++split;
  write_file(input_dir() / "rec.vhdr", text, split);
  const std::size_t marker_start = split < size ? split + 1 : size;
  write_file(input_dir() / "rec.vmrk", text + marker_start, size - marker_start);
  try {
    auto reader = lumamba::io::open_recording((input_dir() / "rec.vhdr").string());
    const auto& h = reader->header();
    for (const auto& a : h.annotations) require(std::isfinite(a.onset_s) && a.onset_s >= 0 && a.duration_s >= 0);
    for (int64_t i = 0; i < reader->n_signals(); ++i) {
      const auto& s = h.signals[static_cast<std::size_t>(i)];
      require(s.sfreq_hz > 0 && std::isfinite(s.sfreq_hz) && s.n_samples >= 1);
      const std::vector<double> x = reader->read_signal_uv(i);
      require(static_cast<int64_t>(x.size()) == s.n_samples);
      for (double v : x) require(std::isfinite(v) || !std::isfinite(s.uv_per_unit));
    }
  } catch (const lumamba::Error&) {
    // rejected cleanly
  }
  return 0;
}
