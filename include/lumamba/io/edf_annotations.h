// lumamba/io/edf_annotations.h — an EDF+ file that holds only annotations (no signals), written with
// EDFlib: the form EDFbrowser imports as an annotation file and MNE reads with mne.read_annotations.
// Used for events found in predictions (lumamba/eval/events.h). Torch-free.
#pragma once

#include <string>
#include <vector>

#include "lumamba/io/recording.h"

namespace lumamba::io {

/// Writes `annotations` (onset and duration in s, 0.1 ms resolution; a duration < 0 = none; text as
/// UTF-8, EDFlib keeps the first 40 bytes) to `path` atomically. `start_datetime` is the recording's
/// ("2009-08-12T16:15:00", RecordingHeader::start_datetime) so that viewers line the annotations up
/// with the recording; "" or a year outside EDF's 1985–2084 leaves EDFlib's default. InputError naming
/// the path when it cannot be written.
void write_edf_annotations(const std::string& path, const std::vector<Annotation>& annotations,
                           const std::string& start_datetime);

}  // namespace lumamba::io
