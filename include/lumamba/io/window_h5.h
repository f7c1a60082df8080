// lumamba/io/window_h5.h — EEG window datasets in HDF5, in the reference's group layout
// (docs/reference-model.md §14, §15), with the metadata the reference leaves out.
//
// File layout:  /                       attrs: preprocess (resolved preset, JSON), format_version
//               /data_group_{k}/X       (N, C, T) float32 µV (float16 when asked: 0.06 µV step at 100 µV),
//                                       one window per chunk, optionally shuffle + gzip
//               /data_group_{k}/y       (N,) int64 class codes, or (N, K) uint8 per-channel labels
//               /data_group_{k}/window_start_s  (N,) float64
//               group attrs: channel_names, channel_locations_m (C, 3), source_file, subject, split, sfreq_hz
// Reference-made files have only X and y (float16 X, no names): WindowH5Reader reports names as
// absent and the caller supplies the writer's channel order (see reference_channel_order()).
// Legend: N windows, C channels, T samples per window, K label columns.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lumamba::io {

inline constexpr const char* kWindowH5FormatVersion = "1";

/// One recording's windows, ready to store.
struct RecordingWindows {
  std::vector<std::string> channel_names;
  std::vector<std::array<double, 3>> channel_locations_m;  ///< (C, 3)
  std::string source_file, subject, split;
  double sfreq_hz = 0;
  int64_t n_windows = 0, n_channels = 0, n_samples = 0;
  std::vector<float> signal_uv;         ///< (N, C, T) row-major
  std::vector<int64_t> labels;          ///< (N,) class codes when n_label_columns == 0
  std::vector<std::uint8_t> multi_labels;  ///< (N, K) when n_label_columns == K > 0
  int64_t n_label_columns = 0;
  std::vector<double> window_start_s;   ///< (N,)
};

enum class StorageDType { kFloat32, kFloat16 };

/// Writes one recording as the single group `data_group_0` of a new file, atomically
/// (PATH.tmp-<pid> then rename). `gzip_level` 1-9 compresses X (shuffle + gzip), 0 = none.
/// Throws InputError naming the path and the bad field.
void write_recording_h5(const std::string& path, const RecordingWindows& recording, StorageDType storage,
                        const std::string& preprocess_json, int gzip_level = 0);

/// How an assembled dataset holds its recordings. kLinked: `out_path` holds an HDF5 external link
/// per recording to its part file (paths relative to `out_path`'s folder), so the parts are the
/// data and nothing is stored twice; the parts must stay beside it (move the folder as a whole).
/// kSingle: the groups are copied into one self-contained file (the reference's layout).
enum class DatasetLayout { kLinked, kSingle };

/// The groups of single-recording part files, in the given order, as data_group_0..n-1 of
/// `out_path` with the root attributes; atomic.
void assemble_window_h5(const std::vector<std::string>& part_paths, const std::string& out_path,
                        const std::string& preprocess_json, DatasetLayout layout = DatasetLayout::kLinked);

/// What a group holds (without reading X).
struct WindowGroupInfo {
  std::string name;  ///< "data_group_3"
  int64_t n_windows = 0, n_channels = 0, n_samples = 0;
  int64_t n_label_columns = 0;  ///< 0 = class codes (N,), K = (N, K), -1 = no y
  bool has_channel_names = false;
  std::vector<std::string> channel_names;
  std::vector<std::array<double, 3>> channel_locations_m;
  std::string source_file, subject, split;
  double sfreq_hz = 0;  ///< 0 when absent (reference files)
};

class WindowH5Reader {
 public:
  static WindowH5Reader open(const std::string& path);
  WindowH5Reader(WindowH5Reader&&) noexcept;
  WindowH5Reader& operator=(WindowH5Reader&&) noexcept;
  ~WindowH5Reader();

  const std::string& path() const;
  /// Root `preprocess` attribute ("" for reference files).
  const std::string& preprocess_json() const;
  const std::vector<WindowGroupInfo>& groups() const;
  /// Windows [start, start + count) of group `g` as float32 µV, (count, C, T).
  std::vector<float> read_signal(size_t g, int64_t start, int64_t count) const;
  /// Class codes (N,) (group must have n_label_columns == 0).
  std::vector<int64_t> read_labels(size_t g) const;
  /// Per-channel labels (N, K) (group must have n_label_columns > 0).
  std::vector<std::uint8_t> read_multi_labels(size_t g) const;
  /// Window start times; reference files have none: i · T / 256 Hz is returned then.
  std::vector<double> read_window_start_s(size_t g) const;

 private:
  struct State;
  explicit WindowH5Reader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// Channel order the reference writers use when a file carries no names: "tuh" (TUAB/TUAR/TUSL
/// scripts: A1-T3 at row 8 and T4-A2 at row 13), "tueg" (TCP order, A1-T3 and T4-A2 last; 20-channel
/// files drop those two). Throws InputError for other layouts or channel counts.
std::vector<std::string> reference_channel_order(const std::string& layout, int64_t n_channels);

}  // namespace lumamba::io
