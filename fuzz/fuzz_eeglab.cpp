// libFuzzer target for the EEGLAB reader (src/io/eeglab_reader.cpp, MATLAB parsing by libmatio);
// build/run: fuzz/README.md. Each input is written to /dev/shm/lumamba-fuzz-eeglab-<pid>/rec.set
// beside a fixed rec.fdt (4,096 float32 values of 1.0), so inputs that name "rec.fdt" reach the
// .fdt path as well as the samples-inside-the-.set path. libmatio is Debian's uninstrumented
// library: ASan sees its heap use, not its reads.
//
// Properties checked on every input:
//  * open_recording either succeeds or throws lumamba::Error; anything else (another exception, a
//    crash, an ASan/UBSan report) is a finding.
//  * an accepted recording is self-consistent: a positive finite rate, every signal reads back
//    n_samples values, every annotation onset is finite and a duration is >= 0 or kNoDuration.
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
const std::filesystem::path& input_dir() { return lumamba::fuzz::input_dir("eeglab"); }
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  lumamba::log::set_level(lumamba::log::Level::kError);
  const std::vector<float> fdt(4096, 1.0F);
  write_file(input_dir() / "rec.fdt", reinterpret_cast<const char*>(fdt.data()), fdt.size() * sizeof(float));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  write_file(input_dir() / "rec.set", reinterpret_cast<const char*>(data), size);
  try {
    auto reader = lumamba::io::open_recording((input_dir() / "rec.set").string());
    const auto& h = reader->header();
    for (const auto& a : h.annotations) {
      require(std::isfinite(a.onset_s) && ((std::isfinite(a.duration_s) && a.duration_s >= 0) ||
                                           a.duration_s == lumamba::io::kNoDuration));
    }
    for (int64_t i = 0; i < reader->n_signals(); ++i) {
      const auto& s = h.signals[static_cast<std::size_t>(i)];
      require(s.sfreq_hz > 0 && std::isfinite(s.sfreq_hz) && s.n_samples >= 1);
      const std::vector<double> x = reader->read_signal_uv(i);
      require(static_cast<int64_t>(x.size()) == s.n_samples);
    }
  } catch (const lumamba::Error&) {
    // rejected cleanly
  }
  return 0;
}
