// libFuzzer target for the TUH annotation CSV parser (src/io/tuh_csv.cpp); build/run: fuzz/README.md.
// Property: parse either succeeds or throws lumamba::Error; every accepted row has finite times
// with 0 <= start <= stop and a non-empty label.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lumamba/core/error.h"
#include "lumamba/io/tuh_csv.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    for (const auto& row : lumamba::io::parse_tuh_csv(text, "fuzz")) {
      if (!(std::isfinite(row.start_s) && std::isfinite(row.stop_s) && row.start_s >= 0 && row.stop_s >= row.start_s &&
            !row.label.empty())) {
        __builtin_trap();
      }
    }
  } catch (const lumamba::Error&) {
  }
  return 0;
}
