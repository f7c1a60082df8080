// lumamba/io/tuh_csv.h — TUH annotation files (`.csv` / `.csv_bi`, csv_v1.0.0): `#` comment lines,
// then the header `channel,start_time,stop_time,label,confidence`, one event per row, times in s.
// Used for TUAR and TUSL window labels (docs/reference-model.md §15).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lumamba::io {

struct TuhAnnotation {
  std::string channel;  ///< e.g. "FP1-F7", or "TERM" for whole-recording rows
  double start_s = 0, stop_s = 0;
  std::string label;    ///< e.g. "bckg", "seiz", "eyem_musc"
  double confidence = 1;
};

/// Parses the text of an annotation file; `source` names it in errors (InputError with line number).
std::vector<TuhAnnotation> parse_tuh_csv(std::string_view text, const std::string& source);
/// Reads and parses a file.
std::vector<TuhAnnotation> read_tuh_csv(const std::string& path);

}  // namespace lumamba::io
