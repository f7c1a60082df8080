// libFuzzer target for the EDF/BDF reader (src/io/edf_reader.cpp over EDFlib); build/run:
// fuzz/README.md. EDFlib reads from a path, so each input is written to a file in /dev/shm first
// (one per process; header repairs make their temporary copies there too, via TMPDIR).
//
// Properties checked on every input:
//  * EdfReader::open either succeeds or throws lumamba::Error; anything else (another exception,
//    a crash, an ASan/UBSan report in lumamba's header check, TAL diagnosis or repair) is a finding.
//  * an accepted file is self-consistent: n_samples = samples per record x records, every signal
//    reads back completely (whole and the last sample alone, identical), every sample is finite,
//    every annotation onset is finite and every repair is described.
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/io/edf_reader.h"

namespace {

// A property violation: crash so libFuzzer records the input.
void require(bool ok) {
  if (!ok) __builtin_trap();
}

const std::string& input_path() {
  static const std::string path = "/dev/shm/lumamba-fuzz-edf-" + std::to_string(::getpid()) + ".edf";
  return path;
}

void remove_input() { std::remove(input_path().c_str()); }

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  lumamba::log::set_level(lumamba::log::Level::kError);  // repairs and unit notes are WARNs
  ::setenv("TMPDIR", "/dev/shm", 1);
  (void)input_path();         // constructed first, so destroyed after remove_input has run
  std::atexit(remove_input);  // libFuzzer ends with exit(); a crash leaves the file (it is the input)
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = input_path();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    require(f != nullptr);
    require(size == 0 || std::fwrite(data, 1, size, f) == size);
    std::fclose(f);
  }
  try {
    lumamba::io::EdfReader reader = lumamba::io::EdfReader::open(path);
    const lumamba::io::RecordingHeader& h = reader.header();
    require(h.n_records >= 1 && h.record_duration_s >= 0);
    for (const auto& r : h.repairs) require(!r.empty());
    for (const auto& a : h.annotations) {
      require(std::isfinite(a.onset_s));
      require(a.duration_s == lumamba::io::kNoDuration || a.duration_s >= 0);
    }
    for (int64_t i = 0; i < reader.n_signals(); ++i) {
      const auto& s = h.signals[static_cast<std::size_t>(i)];
      require(s.n_samples_per_record >= 1);
      require(s.n_samples == int64_t{s.n_samples_per_record} * h.n_records);
      require(s.sfreq_hz > 0 && std::isfinite(s.sfreq_hz));
      const std::vector<double> x = reader.read_signal_uv(i);
      require(static_cast<int64_t>(x.size()) == s.n_samples);
      for (double v : x) require(std::isfinite(v));
      const std::vector<double> last = reader.read_signal_uv(i, s.n_samples - 1, 1);
      require(last.size() == 1 && last[0] == x.back());
    }
  } catch (const lumamba::Error&) {
    // rejected cleanly: the expected outcome for most inputs
  }
  return 0;
}
