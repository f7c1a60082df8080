// libFuzzer target for the safetensors parser (src/io/safetensors.cpp); build/run: fuzz/README.md.
//
// Properties checked on every input:
//  * parse() either succeeds or throws lumamba::Error; anything else (another exception, a crash,
//    an ASan/UBSan report) is a finding. Only lumamba::Error is caught on purpose.
//  * every accepted tensor's bytes are readable (summed, so ASan sees each byte; the input is
//    copied into an exactly-sized heap buffer so a read past the end is caught) and its size
//    agrees with shape x dtype;
//  * what the reader accepts the writer can write, and reading that back gives the same tensors
//    and metadata; writing it again gives the same bytes (the writer is deterministic).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/io/safetensors.h"

namespace {

using lumamba::io::SafetensorsFile;
using lumamba::io::TensorToWrite;
using lumamba::io::TensorView;

// A property violation: crash so libFuzzer records the input.
void require(bool ok) {
  if (!ok) __builtin_trap();
}

std::vector<TensorToWrite> to_write(const SafetensorsFile& file) {
  std::vector<TensorToWrite> out;
  for (const TensorView& t : file.tensors()) {
    out.push_back({t.name, t.dtype, t.shape, t.data, t.n_bytes});
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::optional<SafetensorsFile> file;
  try {
    file.emplace(SafetensorsFile::parse(std::vector<std::uint8_t>(data, data + size), "fuzz"));
  } catch (const lumamba::Error&) {
    return 0;  // rejected cleanly: the expected outcome for most inputs
  }

  std::uint64_t sum = 0;
  std::size_t total = 0;
  for (const TensorView& t : file->tensors()) {
    require(!t.name.empty());
    require(file->contains(t.name) && &file->at(t.name) == &t);
    require(t.numel() >= 0 &&
            static_cast<std::uint64_t>(t.numel()) * lumamba::io::dtype_size(t.dtype) == t.n_bytes);
    for (std::size_t i = 0; i < t.n_bytes; ++i) sum += t.data[i];
    total += t.n_bytes;
  }
  require(total <= size);  // tensors do not overlap, so they fit in the input

  const std::vector<std::uint8_t> bytes =
      lumamba::io::serialize_safetensors(to_write(*file), file->metadata());
  const SafetensorsFile again = SafetensorsFile::parse(bytes, "fuzz-reserialized");
  require(again.metadata() == file->metadata());
  require(again.tensors().size() == file->tensors().size());
  for (const TensorView& t : file->tensors()) {
    const TensorView& u = again.at(t.name);
    require(u.dtype == t.dtype && u.shape == t.shape && u.n_bytes == t.n_bytes);
    require(t.n_bytes == 0 || std::memcmp(u.data, t.data, t.n_bytes) == 0);
  }
  require(lumamba::io::serialize_safetensors(to_write(again), again.metadata()) == bytes);

  // Keep the byte sum observable so the reads are not optimised away.
  volatile std::uint64_t sink = sum;
  (void)sink;
  return 0;
}
