// lumamba/core/atomic_file.h — outputs appear whole or not at all (STYLE: never write partial
// outputs silently): write PATH.tmp-<pid>, flush, then rename over PATH.
#pragma once

#include <string>

namespace lumamba {

/// Writes `text` to `path` atomically; InputError naming the path when the folder is not writable
/// or the disk is full.
void write_text_file_atomic(const std::string& path, const std::string& text);

/// The temporary name used next to `path` (for writers that produce the file themselves, e.g. a
/// torch archive): write to it, then commit_atomic(path).
std::string atomic_temp_path(const std::string& path);
void commit_atomic(const std::string& path);

}  // namespace lumamba
