// lumamba/data/window_dataset.h — windows of one or more HDF5 files (io/window_h5.h) as training
// and evaluation batches.
//
//   files ─ index (file, group, row; filtered by split) ─ BatchPlan (shuffled per epoch, one channel
//   count per batch) ─ read_batch ─ Batch{signal z-scored (B, C, T), locations (B, C, 3), …}
//   BackgroundLoader reads the next batches on a worker thread while the model trains.
//
// Files made by `lumamba preprocess` carry channel names, locations, splits and subjects per group;
// reference-made files (X, y only) need `layout` ("tuh" or "tueg", see reference_channel_order).
#pragma once

#include <torch/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lumamba/io/window_h5.h"

namespace lumamba::data {

/// One recording (= one HDF5 group) of the dataset.
struct RecordingInfo {
  std::string file;       ///< HDF5 path
  std::string name;       ///< source EDF file name, or "<h5>:<group>" for reference files
  std::string subject, split;
  int64_t n_channels = 0, n_samples = 0;
  double sfreq_hz = 256;  ///< reference files store none: their pipelines resample to 256 Hz
  int64_t first_window = 0, n_windows = 0;  ///< rows of this recording in the dataset's index
  std::vector<std::string> channel_names;
  std::vector<double> locations_m;  ///< (C, 3) row-major
  std::vector<int64_t> vocabulary;  ///< (C,) channel-name vocabulary indices (-1 = not in it)
};

struct DatasetOptions {
  std::vector<std::string> splits;  ///< keep groups whose split is one of these; empty = all
  std::string layout;               ///< channel order of name-less reference files: "tuh" | "tueg"
  bool require_labels = false;      ///< fail when a group has no y
};

/// Label kind of the dataset (all groups must agree).
enum class LabelKind { kNone, kClass, kMultiChannel };

struct Batch {
  torch::Tensor signal;         ///< (B, C, T) float32, per-window per-channel z-scored
  torch::Tensor signal_uv;      ///< (B, C, T) float32 µV as stored (only when asked)
  torch::Tensor locations;      ///< (B, C, 3) float32 metres
  torch::Tensor channel_names;  ///< (B, C) int64 vocabulary indices (0 where unknown)
  torch::Tensor labels;         ///< (B,) int64 class codes, (B, K) float32 0/1, or undefined
  std::vector<int64_t> windows;  ///< dataset window indices of the rows
};

class WindowDataset {
 public:
  /// Opens every file and indexes the windows of the groups the options keep. Throws InputError
  /// naming the file and group when channel counts/lengths/label kinds are inconsistent.
  static WindowDataset open(const std::vector<std::string>& paths, const DatasetOptions& options);

  int64_t size() const { return static_cast<int64_t>(window_recording_.size()); }
  const std::vector<RecordingInfo>& recordings() const { return recordings_; }
  const RecordingInfo& recording_of(int64_t window) const;
  int64_t recording_index(int64_t window) const { return window_recording_.at(static_cast<size_t>(window)); }
  LabelKind label_kind() const { return label_kind_; }
  int64_t n_label_columns() const { return n_label_columns_; }
  int64_t n_samples() const { return n_samples_; }  ///< T (the same in every group)
  /// Class codes (N,) of all windows (label kind kClass).
  const std::vector<int64_t>& class_labels() const { return class_labels_; }
  /// Per-channel labels (N, K) row-major (label kind kMultiChannel).
  const std::vector<std::uint8_t>& multi_labels() const { return multi_labels_; }
  /// Largest class code + 1 (0 without class labels).
  int64_t n_classes() const;
  std::vector<double> window_start_s() const;
  /// The root `preprocess` attribute of the first file ("" for reference files).
  const std::string& preprocess_json() const { return preprocess_json_; }

  /// Reads the given windows (all with the same channel count) into a batch. Thread-safe with
  /// respect to other calls (the HDF5 library is serialised inside).
  Batch read_batch(const std::vector<int64_t>& windows, bool keep_microvolts = false) const;

 private:
  std::vector<std::shared_ptr<io::WindowH5Reader>> readers_;
  std::vector<RecordingInfo> recordings_;
  std::vector<size_t> recording_reader_, recording_group_;
  std::vector<int64_t> window_recording_;  // window → recording
  std::vector<int64_t> window_row_;        // window → row within its group
  std::vector<int64_t> class_labels_;
  std::vector<std::uint8_t> multi_labels_;  // (N, K)
  LabelKind label_kind_ = LabelKind::kNone;
  int64_t n_label_columns_ = 0, n_samples_ = 0;
  std::string preprocess_json_;
  std::vector<double> window_start_s_;
};

/// The batches of one epoch: windows grouped by channel count (docs/reference-model.md §9: every batch has one
/// channel count), shuffled with (seed, epoch) when `shuffle`, in chunks of batch_size.
/// drop_last drops each channel group's incomplete last batch (training); otherwise it is kept.
std::vector<std::vector<int64_t>> plan_epoch(const WindowDataset& dataset, const std::vector<int64_t>& windows,
                                             int64_t batch_size, bool shuffle, uint64_t seed, int64_t epoch,
                                             bool drop_last);

/// Reads the batches of a plan in order on a worker thread, `depth` batches ahead, so the model
/// does not wait on disk. Errors on the worker are rethrown by next().
class BackgroundLoader {
 public:
  BackgroundLoader(const WindowDataset& dataset, std::vector<std::vector<int64_t>> plan, int depth = 2,
                   bool keep_microvolts = false);
  ~BackgroundLoader();
  BackgroundLoader(const BackgroundLoader&) = delete;
  BackgroundLoader& operator=(const BackgroundLoader&) = delete;

  /// The next batch in plan order; false when the plan is exhausted.
  bool next(Batch& batch);

 private:
  void work();
  const WindowDataset& dataset_;
  std::vector<std::vector<int64_t>> plan_;
  size_t depth_;
  bool keep_microvolts_;
  std::deque<Batch> ready_;
  size_t produced_ = 0, consumed_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread worker_;
};

}  // namespace lumamba::data
