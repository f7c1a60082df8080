// lumamba/core/output_lock.h — one run per output: an exclusive lock on an output folder, held for
// the life of the run, and the removal of temporaries that earlier, killed runs left there.
//
// Two runs writing one output (two `preprocess` with different presets, two `finetune` into one
// folder) mixed their results silently. flock(2) is released by the kernel when the holder dies,
// so a kill -9 never leaves a stale lock behind.
#pragma once

#include <string>

namespace lumamba {

class OutputLock {
 public:
  /// Creates `folder` if needed and locks `folder/.lumamba.lock`. InputError at once, naming the
  /// folder and the holder's PID, when another process holds it. Then removes the `*.tmp-<pid>`
  /// files (core/atomic_file.h) in `folder` and its direct subfolders: only a dead run can have
  /// left them, since the lock excludes live ones.
  explicit OutputLock(const std::string& folder);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  /// Stale temporaries removed when the lock was taken.
  int removed_temporaries() const { return removed_; }

 private:
  int fd_ = -1;
  int removed_ = 0;
};

}  // namespace lumamba
