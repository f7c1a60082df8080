// lumamba/core/atomic_file.h — whole text files: outputs appear whole or not at all (a half-written
// file must never pass for a whole one): write PATH.tmp-<pid>, flush, then rename over PATH; and reading a
// file whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lumamba {

/// A file that appears whole or not at all: bytes go to PATH.tmp-<pid>; commit() fsyncs and renames
/// it over PATH. On any failure (and when destroyed uncommitted) the temporary is removed and PATH
/// keeps its previous content. A full disk (ENOSPC, EDQUOT, or EFBIG past a file-size limit) is an
/// InputError "disk full: PATH", never a crash or a half-written file.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  void write(const void* data, std::size_t n);
  void commit();

 private:
  [[noreturn]] void fail(const char* step, int err);
  std::string path_, tmp_;
  int fd_ = -1;
};

/// Whether an errno means the disk (or the quota, or the file-size limit) is full.
bool is_disk_full_error(int err);

/// DiskFullError ("disk full: PATH needs about N MB, M MB are free") when a file of `bytes` cannot be
/// written at `path`: for writers that cannot fail safely half-way (HDF5's object copy crashes when
/// the disk fills under it). Counts the free space of path's filesystem and the file-size limit.
void require_space_for(const std::string& path, std::uint64_t bytes);

/// Writes `bytes` to `path` with AtomicFileWriter.
void write_file_atomic(const std::string& path, const std::string& bytes);

/// Writes `text` to `path` atomically; InputError naming the path when the folder is not writable
/// or the disk is full.
void write_text_file_atomic(const std::string& path, const std::string& text);

/// The temporary name used next to `path` (for writers that produce the file themselves, e.g.
/// HDF5): write to it, then commit_atomic(path).
std::string atomic_temp_path(const std::string& path);
void commit_atomic(const std::string& path);

/// Removes the temporaries `NAME.tmp-<pid>` in `folder` (of any NAME, or only of `of_name`) and
/// returns how many. Only for callers that own the folder (OutputLock): a live writer's temporary
/// would be lost.
int remove_atomic_temporaries(const std::string& folder, const std::string& of_name = "");

/// The whole content of a file; InputError "<path>: cannot open <what>" when it cannot be read.
std::string read_text_file(const std::string& path, const std::string& what = "file");

}  // namespace lumamba
