// EDF+ annotation files (see lumamba/io/edf_annotations.h).
#include "lumamba/io/edf_annotations.h"

#include <edflib.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"

namespace lumamba::io {

void write_edf_annotations(const std::string& path, const std::vector<Annotation>& annotations,
                           const std::string& start_datetime) {
  const auto tmp = atomic_temp_path(path);
  const int h = edfopen_file_writeonly(tmp.c_str(), EDFLIB_FILETYPE_EDFPLUS, 0);
  LUMAMBA_CHECK_INPUT(h >= 0, "{}: cannot write an EDF+ annotation file (EDFlib error {})", path, h);
  bool ok = true;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (std::sscanf(start_datetime.c_str(), "%d-%d-%dT%d:%d:%d", &year, &month, &day, &hour, &minute, &second) == 6 &&
      year >= 1985 && year <= 2084) {
    ok = edf_set_startdatetime(h, year, month, day, hour, minute, second) == 0;
  }
  // EDF+ needs at least one annotation channel long enough for the longest text; EDFlib sizes it.
  for (const auto& a : annotations) {
    if (!ok) break;
    const auto onset = static_cast<long long>(std::llround(a.onset_s * 10000));
    const auto duration = a.duration_s < 0 ? -1LL : static_cast<long long>(std::llround(a.duration_s * 10000));
    ok = onset >= 0 && edfwrite_annotation_utf8(h, onset, duration, a.text.c_str()) == 0;
  }
  const bool closed = edfclose_file(h) == 0;
  if (!ok || !closed) {
    std::remove(tmp.c_str());
    throw InputError(fmt::format("{}: EDFlib could not write the annotations (an onset before 0 s?)", path));
  }
  commit_atomic(path);
}

}  // namespace lumamba::io
