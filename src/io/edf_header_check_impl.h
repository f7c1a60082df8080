// src/io/edf_header_check_impl.h — lumamba's own check of an EDF/BDF header (private to io).
//
// EDFlib 1.23 validates a header strictly but only reports "format error" (-3). This check mirrors
// its rules field by field so that edf_reader.cpp can (a) reject a bad file with a message naming
// the field and signal, and (b) know which defects are harmless for reading and how to patch them
// in a temporary copy (EdfOpenOptions::repair_header). It reads bytes only; EDFlib is not called.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lumamba::io::detail {

inline constexpr int64_t kEdfFixedHeaderBytes = 256;  // then 256 bytes per signal
inline constexpr int64_t kEdfSignalHeaderBytes = 256;
inline constexpr int64_t kEdfTimeUnitsPerSecond = 10000000;  // EDFlib's EDFLIB_TIME_DIMENSION
inline constexpr int kEdfMaxSignals = 640;                   // EDFlib's EDFLIB_MAXSIGNALS

/// Bytes to write at `offset` of a copy of the file.
struct EdfHeaderPatch {
  int64_t offset;
  std::string bytes;
};

struct EdfHeaderCheck {
  std::vector<std::string> fatal;       ///< the file cannot be read; one line per defect
  std::vector<std::string> repairable;  ///< harmless for reading; fixed by `patches`
  std::vector<EdfHeaderPatch> patches;
  // Layout, valid when `fatal` is empty (used by the TAL diagnosis).
  bool bdf = false;
  bool plus = false;      ///< EDF+/BDF+
  int64_t n_signals = 0;  ///< including annotation signals
  int64_t n_records = 0;
  int64_t record_bytes = 0;
  int64_t record_duration_100ns = 0;
  std::vector<std::pair<int64_t, int64_t>> annotation_spans;  ///< (offset in record, bytes)
  std::string patient, recording;                             ///< printable copies of the raw fields, trimmed
};

/// Checks `bytes` (the start of the file: at least the whole header when the file has one) of a
/// file of `file_size` bytes. Never throws for any input.
EdfHeaderCheck check_edf_header(const std::string& bytes, int64_t file_size);

/// For a file whose header passed but which EDFlib still calls malformed: the first data record
/// whose time-keeping annotation (TAL) is broken, or a generic sentence.
std::string diagnose_edf_records(const std::string& path, const EdfHeaderCheck& check);

/// Blanks trimmed from both ends (EDF text fields are blank-padded).
std::string trim_edf_text(std::string_view s);

}  // namespace lumamba::io::detail
