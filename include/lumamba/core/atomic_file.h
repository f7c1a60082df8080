// lumamba/core/atomic_file.h — whole text files: outputs appear whole or not at all (STYLE: never
// write partial outputs silently): write PATH.tmp-<pid>, flush, then rename over PATH; and reading a
// file whole.
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

/// The whole content of a file; InputError "<path>: cannot open <what>" when it cannot be read.
std::string read_text_file(const std::string& path, const std::string& what = "file");

}  // namespace lumamba
