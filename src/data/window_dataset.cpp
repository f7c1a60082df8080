#include "lumamba/data/window_dataset.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>

#include "lumamba/core/error.h"
#include "lumamba/io/channels.h"
#include "lumamba/data/normalize.h"

namespace lumamba::data {
namespace {

// Debian's libhdf5 is built without its thread-safety option: every HDF5 call of this area goes
// through this lock (the background loader and the caller may read at the same time).
std::mutex& hdf5_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

WindowDataset WindowDataset::open(const std::vector<std::string>& paths, const DatasetOptions& options) {
  LUMAMBA_CHECK_INPUT(!paths.empty(), "no HDF5 window files given");
  WindowDataset ds;
  std::lock_guard<std::mutex> lock(hdf5_mutex());
  bool label_kind_set = false;
  for (const auto& path : paths) {
    auto reader = std::make_shared<io::WindowH5Reader>(io::WindowH5Reader::open(path));
    if (ds.readers_.empty()) ds.preprocess_json_ = reader->preprocess_json();
    const size_t reader_index = ds.readers_.size();
    ds.readers_.push_back(reader);
    const auto& groups = reader->groups();
    for (size_t g = 0; g < groups.size(); ++g) {
      const auto& info = groups[g];
      if (!options.splits.empty() && info.has_channel_names &&
          std::find(options.splits.begin(), options.splits.end(), info.split) == options.splits.end()) {
        continue;
      }
      if (!options.splits.empty() && !info.has_channel_names) {
        throw InputError(fmt::format("{}: {} has no split attribute (a reference-made file): give its "
                                     "windows as a separate file list instead of a split name",
                                     path, info.name));
      }
      if (info.n_windows == 0) continue;
      if (ds.n_samples_ == 0) ds.n_samples_ = info.n_samples;
      LUMAMBA_CHECK_INPUT(info.n_samples == ds.n_samples_,
                          "{}: {} has windows of {} samples, earlier groups {} (one window length per dataset)",
                          path, info.name, info.n_samples, ds.n_samples_);
      const LabelKind kind = info.n_label_columns < 0   ? LabelKind::kNone
                             : info.n_label_columns == 0 ? LabelKind::kClass
                                                         : LabelKind::kMultiChannel;
      if (!label_kind_set) {
        ds.label_kind_ = kind;
        ds.n_label_columns_ = std::max<int64_t>(0, info.n_label_columns);
        label_kind_set = true;
      }
      LUMAMBA_CHECK_INPUT(kind == ds.label_kind_ && std::max<int64_t>(0, info.n_label_columns) == ds.n_label_columns_,
                          "{}: {} has a different label layout (y columns {}) than earlier groups", path,
                          info.name, info.n_label_columns);
      LUMAMBA_CHECK_INPUT(!options.require_labels || kind != LabelKind::kNone,
                          "{}: {} has no labels (y); training and evaluation need them", path, info.name);

      RecordingInfo rec;
      rec.file = path;
      rec.subject = info.subject;
      rec.split = info.split;
      rec.n_channels = info.n_channels;
      rec.n_samples = info.n_samples;
      if (info.sfreq_hz > 0) rec.sfreq_hz = info.sfreq_hz;
      rec.first_window = ds.size();
      rec.n_windows = info.n_windows;
      if (info.has_channel_names) {
        rec.name = info.source_file.empty() ? fmt::format("{}:{}", path, info.name)
                                            : std::filesystem::path(info.source_file).filename().string();
        rec.channel_names = info.channel_names;
        for (const auto& p : info.channel_locations_m) rec.locations_m.insert(rec.locations_m.end(), p.begin(), p.end());
      } else {
        LUMAMBA_CHECK_INPUT(!options.layout.empty(),
                            "{}: {} stores no channel names (a reference-made file); pass the writer's "
                            "channel order with layout=tuh or layout=tueg",
                            path, info.name);
        rec.name = fmt::format("{}:{}", path, info.name);
        rec.channel_names = io::reference_channel_order(options.layout, info.n_channels);
        for (const auto& p : io::channel_positions(rec.channel_names)) {
          rec.locations_m.insert(rec.locations_m.end(), {p.x_m, p.y_m, p.z_m});
        }
      }
      LUMAMBA_CHECK_INPUT(static_cast<int64_t>(rec.locations_m.size()) == 3 * rec.n_channels,
                          "{}: {} has {} channel locations for {} channels", path, info.name,
                          rec.locations_m.size() / 3, rec.n_channels);
      for (const auto& name : rec.channel_names) {
        rec.vocabulary.push_back(io::find_vocabulary_index(name).value_or(-1));
      }

      const size_t rec_index = ds.recordings_.size();
      for (int64_t r = 0; r < info.n_windows; ++r) {
        ds.window_recording_.push_back(static_cast<int64_t>(rec_index));
        ds.window_row_.push_back(r);
      }
      if (kind == LabelKind::kClass) {
        const auto y = reader->read_labels(g);
        ds.class_labels_.insert(ds.class_labels_.end(), y.begin(), y.end());
      } else if (kind == LabelKind::kMultiChannel) {
        const auto y = reader->read_multi_labels(g);
        ds.multi_labels_.insert(ds.multi_labels_.end(), y.begin(), y.end());
      }
      const auto starts = reader->read_window_start_s(g);
      ds.window_start_s_.insert(ds.window_start_s_.end(), starts.begin(), starts.end());
      ds.recordings_.push_back(std::move(rec));
      ds.recording_reader_.push_back(reader_index);
      ds.recording_group_.push_back(g);
    }
  }
  return ds;
}

const RecordingInfo& WindowDataset::recording_of(int64_t window) const {
  return recordings_.at(static_cast<size_t>(window_recording_.at(static_cast<size_t>(window))));
}

int64_t WindowDataset::n_classes() const {
  if (class_labels_.empty()) return 0;
  return *std::max_element(class_labels_.begin(), class_labels_.end()) + 1;
}

std::vector<double> WindowDataset::window_start_s() const { return window_start_s_; }

Batch WindowDataset::read_batch(const std::vector<int64_t>& windows, bool keep_microvolts) const {
  LUMAMBA_CHECK(!windows.empty(), "empty batch");
  const int64_t b = static_cast<int64_t>(windows.size());
  const int64_t c = recording_of(windows.front()).n_channels;
  const int64_t t = n_samples_;
  auto signal = torch::empty({b, c, t}, torch::kFloat32);
  auto locations = torch::empty({b, c, 3}, torch::kFloat32);
  auto names = torch::empty({b, c}, torch::kInt64);
  float* sig = signal.data_ptr<float>();
  float* loc = locations.data_ptr<float>();
  int64_t* nam = names.data_ptr<int64_t>();
  for (int64_t i = 0; i < b; ++i) {
    const int64_t w = windows[static_cast<size_t>(i)];
    const size_t rec_index = static_cast<size_t>(window_recording_.at(static_cast<size_t>(w)));
    const auto& rec = recordings_[rec_index];
    LUMAMBA_CHECK_INPUT(rec.n_channels == c, "batch mixes {} and {} channels (window {} of {})", c, rec.n_channels,
                        w, rec.name);
    std::vector<float> x;
    {
      std::lock_guard<std::mutex> lock(hdf5_mutex());
      x = readers_[recording_reader_[rec_index]]->read_signal(recording_group_[rec_index],
                                                              window_row_[static_cast<size_t>(w)], 1);
    }
    // One NaN would make the z-score, the loss and every later weight NaN without an error.
    const auto n_bad = std::count_if(x.begin(), x.end(), [](float v) { return !std::isfinite(v); });
    LUMAMBA_CHECK_INPUT(n_bad == 0, "{}: recording {}, window row {}: {} non-finite sample(s) (NaN/Inf); "
                        "windows must be finite (rebuild the file with `lumamba preprocess`)", rec.file, rec.name,
                        window_row_[static_cast<size_t>(w)], n_bad);
    std::copy(x.begin(), x.end(), sig + i * c * t);
    for (int64_t k = 0; k < 3 * c; ++k) loc[i * 3 * c + k] = static_cast<float>(rec.locations_m[static_cast<size_t>(k)]);
    for (int64_t k = 0; k < c; ++k) nam[i * c + k] = std::max<int64_t>(0, rec.vocabulary[static_cast<size_t>(k)]);
  }
  Batch batch;
  if (keep_microvolts) batch.signal_uv = signal.clone();
  batch.signal = data::zscore_channels(signal);
  batch.locations = locations;
  batch.channel_names = names;
  batch.windows = windows;
  if (label_kind_ == LabelKind::kClass) {
    auto y = torch::empty({b}, torch::kInt64);
    for (int64_t i = 0; i < b; ++i) y[i] = class_labels_[static_cast<size_t>(windows[static_cast<size_t>(i)])];
    batch.labels = y;
  } else if (label_kind_ == LabelKind::kMultiChannel) {
    auto y = torch::empty({b, n_label_columns_}, torch::kFloat32);
    float* yp = y.data_ptr<float>();
    for (int64_t i = 0; i < b; ++i) {
      const auto row = static_cast<size_t>(windows[static_cast<size_t>(i)] * n_label_columns_);
      for (int64_t k = 0; k < n_label_columns_; ++k) yp[i * n_label_columns_ + k] = multi_labels_[row + static_cast<size_t>(k)];
    }
    batch.labels = y;
  }
  return batch;
}

std::vector<std::vector<int64_t>> plan_epoch(const WindowDataset& dataset, const std::vector<int64_t>& windows,
                                             int64_t batch_size, bool shuffle, uint64_t seed, int64_t epoch,
                                             bool drop_last) {
  LUMAMBA_CHECK_INPUT(batch_size > 0, "batch_size must be positive, got {}", batch_size);
  std::map<int64_t, std::vector<int64_t>> by_channels;  // ordered: channel groups in a fixed order
  for (const int64_t w : windows) by_channels[dataset.recording_of(w).n_channels].push_back(w);
  // One engine per (seed, epoch): an epoch's order does not depend on how many epochs ran before
  // it in this process, so a resumed run draws the same batches.
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch));
  std::vector<std::vector<int64_t>> plan;
  for (auto& [channels, ws] : by_channels) {
    if (shuffle) std::shuffle(ws.begin(), ws.end(), rng);
    for (size_t start = 0; start < ws.size(); start += static_cast<size_t>(batch_size)) {
      const size_t stop = std::min(ws.size(), start + static_cast<size_t>(batch_size));
      if (drop_last && stop - start < static_cast<size_t>(batch_size)) break;
      plan.emplace_back(ws.begin() + static_cast<std::ptrdiff_t>(start), ws.begin() + static_cast<std::ptrdiff_t>(stop));
    }
  }
  // Homogeneous batches, but channel groups interleaved in random order (the reference runs them
  // one loader after another; interleaving avoids an epoch ending on one montage only).
  if (shuffle) std::shuffle(plan.begin(), plan.end(), rng);
  return plan;
}

BackgroundLoader::BackgroundLoader(const WindowDataset& dataset, std::vector<std::vector<int64_t>> plan, int depth,
                                   bool keep_microvolts)
    : dataset_(dataset),
      plan_(std::move(plan)),
      depth_(static_cast<size_t>(std::max(1, depth))),
      keep_microvolts_(keep_microvolts),
      worker_([this] { work(); }) {}

BackgroundLoader::~BackgroundLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void BackgroundLoader::work() {
  for (size_t i = 0; i < plan_.size(); ++i) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stop_ || ready_.size() < depth_; });
      if (stop_) return;
    }
    Batch batch;
    try {
      batch = dataset_.read_batch(plan_[i], keep_microvolts_);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      cv_.notify_all();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.push_back(std::move(batch));
      ++produced_;
    }
    cv_.notify_all();
  }
}

bool BackgroundLoader::next(Batch& batch) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (consumed_ == plan_.size()) return false;
  cv_.wait(lock, [this] { return !ready_.empty() || error_; });
  if (ready_.empty() && error_) std::rethrow_exception(error_);
  batch = std::move(ready_.front());
  ready_.pop_front();
  ++consumed_;
  lock.unlock();
  cv_.notify_all();
  return true;
}

}  // namespace lumamba::data
