// HDF5 window datasets (see lumamba/io/window_h5.h). HDF5 C API wrapped in one RAII handle type
// (docs/style.md §3): a raw hid_t never leaves the Handle that owns it.
#include "lumamba/io/window_h5.h"

#include <fmt/format.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/io/channels.h"

namespace lumamba::io {
namespace {

// HDF5 prints its own error stacks to stderr by default; we report through exceptions instead.
void silence_hdf5() {
  static std::once_flag once;
  std::call_once(once, [] {
    // No library shutdown at exit: after a failed write (full disk) HDF5 cannot close that file,
    // and its exit handler then crashes on it (seen with HDF5 1.10.8). The OS closes files anyway.
    // H5dont_atexit must come before any other HDF5 call to take effect.
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  });
}

class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  ~Handle() { reset(); }
  /// Closes now and returns the status (the destructor cannot report a failed final write).
  herr_t close() {
    const herr_t status = id_ >= 0 && closer_ != nullptr ? closer_(id_) : 0;
    id_ = H5I_INVALID_HID;
    return status;
  }
  void reset() {
    if (id_ >= 0 && closer_ != nullptr) closer_(id_);
    id_ = H5I_INVALID_HID;
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// HDF5's file driver leaves write(2)'s errno behind: a full disk is told apart from a bad file.
[[noreturn]] void hdf5_failure(const std::string& path, const std::string& what) {
  const int err = errno;
  if (is_disk_full_error(err)) throw DiskFullError(fmt::format("disk full: {} (cannot {}: {})", path, what, std::strerror(err)));
  throw InputError(fmt::format("{}: HDF5 error: cannot {}", path, what));
}

Handle checked(hid_t id, Handle::Closer closer, const std::string& path, const std::string& what) {
  if (id < 0) hdf5_failure(path, what);
  return Handle(id, closer);
}

void check_status(herr_t status, const std::string& path, const std::string& what) {
  if (status < 0) hdf5_failure(path, what);
}

// IEEE half precision as h5py stores numpy float16.
Handle make_float16_type() {
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(t, 15, 10, 5, 0, 10);
  H5Tset_size(t, 2);
  H5Tset_ebias(t, 15);
  return Handle(t, H5Tclose);
}

Handle string_type() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return Handle(t, H5Tclose);
}

void write_string_attr(hid_t obj, const std::string& name, const std::string& value, const std::string& path) {
  auto type = string_type();
  auto space = checked(H5Screate(H5S_SCALAR), H5Sclose, path, "create scalar space");
  auto attr = checked(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                      path, "create attribute " + name);
  const char* ptr = value.c_str();
  check_status(H5Awrite(attr.get(), type.get(), &ptr), path, "write attribute " + name);
}

void write_string_array_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values,
                             const std::string& path) {
  auto type = string_type();
  const hsize_t n = values.size();
  auto space = checked(H5Screate_simple(1, &n, nullptr), H5Sclose, path, "create space");
  auto attr = checked(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                      path, "create attribute " + name);
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  check_status(H5Awrite(attr.get(), type.get(), ptrs.data()), path, "write attribute " + name);
}

void write_double_attr(hid_t obj, const std::string& name, const std::vector<double>& values,
                       const std::vector<hsize_t>& dims, const std::string& path) {
  auto space = dims.empty() ? checked(H5Screate(H5S_SCALAR), H5Sclose, path, "create space")
                            : checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                                      H5Sclose, path, "create space");
  auto attr = checked(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                      H5Aclose, path, "create attribute " + name);
  check_status(H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, values.data()), path, "write attribute " + name);
}

bool has_attr(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

// Reads a string attribute stored either as variable-length or fixed-length string(s).
std::vector<std::string> read_strings_attr(hid_t obj, const std::string& name, const std::string& path) {
  auto attr = checked(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose, path, "open attribute " + name);
  auto ftype = checked(H5Aget_type(attr.get()), H5Tclose, path, "type of attribute " + name);
  LUMAMBA_CHECK_INPUT(H5Tget_class(ftype.get()) == H5T_STRING, "{}: attribute '{}' is not a string", path, name);
  auto space = checked(H5Aget_space(attr.get()), H5Sclose, path, "space of attribute " + name);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  LUMAMBA_CHECK_INPUT(n >= 0 && n < (1 << 20), "{}: attribute '{}' has a bad size", path, name);
  std::vector<std::string> out;
  if (H5Tis_variable_str(ftype.get()) > 0) {
    auto mtype = string_type();
    std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
    check_status(H5Aread(attr.get(), mtype.get(), ptrs.data()), path, "read attribute " + name);
    for (auto* p : ptrs) out.emplace_back(p != nullptr ? p : "");
    H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, ptrs.data());
  } else {
    const size_t size = H5Tget_size(ftype.get());
    std::vector<char> buf(static_cast<size_t>(n) * size + 1, '\0');
    check_status(H5Aread(attr.get(), ftype.get(), buf.data()), path, "read attribute " + name);
    for (hssize_t i = 0; i < n; ++i) {
      std::string s(buf.data() + i * size, size);
      s.erase(s.find_last_not_of(std::string("\0 ", 2)) + 1);
      out.push_back(s);
    }
  }
  return out;
}

std::vector<double> read_doubles_attr(hid_t obj, const std::string& name, const std::string& path) {
  auto attr = checked(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose, path, "open attribute " + name);
  auto space = checked(H5Aget_space(attr.get()), H5Sclose, path, "space of attribute " + name);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  LUMAMBA_CHECK_INPUT(n >= 0 && n < (1 << 24), "{}: attribute '{}' has a bad size", path, name);
  std::vector<double> out(static_cast<size_t>(n));
  check_status(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, out.data()), path, "read attribute " + name);
  return out;
}

template <typename T>
void write_dataset(hid_t group, const std::string& name, hid_t file_type, hid_t mem_type, const std::vector<hsize_t>& dims,
                   const T* data, bool chunk_rows, int gzip_level, const std::string& path) {
  auto space = checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose, path,
                       "create space for " + name);
  auto plist = checked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, path, "create property list");
  bool nonempty = true;
  for (auto d : dims) nonempty = nonempty && d > 0;
  if (chunk_rows && nonempty) {
    // One window per chunk: random window access reads one chunk. Compression is optional: float32
    // EEG shrinks by only ~10-15 % under shuffle + gzip while writing takes ~2x longer (measured on
    // PhysioNet eegmmidb, docs/performance.md), so the default is none.
    std::vector<hsize_t> chunk = dims;
    chunk[0] = 1;
    check_status(H5Pset_chunk(plist.get(), static_cast<int>(chunk.size()), chunk.data()), path, "set chunking");
    if (gzip_level > 0) {
      check_status(H5Pset_shuffle(plist.get()), path, "set shuffle");
      check_status(H5Pset_deflate(plist.get(), static_cast<unsigned>(gzip_level)), path, "set gzip");
    }
  }
  auto ds = checked(H5Dcreate2(group, name.c_str(), file_type, space.get(), H5P_DEFAULT, plist.get(), H5P_DEFAULT),
                    H5Dclose, path, "create dataset " + name);
  if (nonempty) check_status(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path, "write " + name);
}

void write_root_attrs(hid_t file, const std::string& preprocess_json, const std::string& path) {
  write_string_attr(file, "preprocess", preprocess_json, path);
  write_string_attr(file, "format_version", kWindowH5FormatVersion, path);
}

void validate(const RecordingWindows& r, const std::string& path) {
  const auto n = r.n_windows, c = r.n_channels, t = r.n_samples;
  LUMAMBA_CHECK_INPUT(n >= 0 && c > 0 && t > 0, "{}: bad window shape N={} C={} T={}", path, n, c, t);
  LUMAMBA_CHECK_INPUT(static_cast<int64_t>(r.signal_uv.size()) == n * c * t,
                      "{}: signal has {} values, expected N·C·T = {}", path, r.signal_uv.size(), n * c * t);
  LUMAMBA_CHECK_INPUT(static_cast<int64_t>(r.channel_names.size()) == c, "{}: {} channel names for C = {}", path,
                      r.channel_names.size(), c);
  LUMAMBA_CHECK_INPUT(static_cast<int64_t>(r.channel_locations_m.size()) == c, "{}: {} channel locations for C = {}",
                      path, r.channel_locations_m.size(), c);
  LUMAMBA_CHECK_INPUT(static_cast<int64_t>(r.window_start_s.size()) == n, "{}: {} window starts for N = {}", path,
                      r.window_start_s.size(), n);
  if (r.n_label_columns == 0) {
    LUMAMBA_CHECK_INPUT(static_cast<int64_t>(r.labels.size()) == n, "{}: {} labels for N = {}", path, r.labels.size(), n);
  } else {
    LUMAMBA_CHECK_INPUT(static_cast<int64_t>(r.multi_labels.size()) == n * r.n_label_columns,
                        "{}: {} label values for N·K = {}", path, r.multi_labels.size(), n * r.n_label_columns);
  }
}

// Copies the first group of `part` into `dst` under `name` (H5Ocopy keeps data, chunks, filters, attrs).
void copy_group(const std::string& part, hid_t dst, const std::string& name) {
  auto src = checked(H5Fopen(part.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, part, "open part file");
  check_status(H5Ocopy(src.get(), "data_group_0", dst, name.c_str(), H5P_DEFAULT, H5P_DEFAULT), part,
               "copy group data_group_0");
}

}  // namespace

void write_recording_h5(const std::string& path, const RecordingWindows& r, StorageDType storage,
                        const std::string& preprocess_json, int gzip_level) {
  silence_hdf5();
  validate(r, path);
  LUMAMBA_CHECK_INPUT(gzip_level >= 0 && gzip_level <= 9, "invalid value for 'compression': got {}; must be 0-9",
                      gzip_level);
  const auto tmp = atomic_temp_path(path);
  try {
    {
      auto file = checked(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, tmp, "create file");
      write_root_attrs(file.get(), preprocess_json, path);
      auto group = checked(H5Gcreate2(file.get(), "data_group_0", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
                           path, "create group");
      const auto n = static_cast<hsize_t>(r.n_windows), c = static_cast<hsize_t>(r.n_channels),
                 t = static_cast<hsize_t>(r.n_samples);
      auto half = make_float16_type();
      const hid_t x_type = storage == StorageDType::kFloat16 ? half.get() : H5T_IEEE_F32LE;
      write_dataset(group.get(), "X", x_type, H5T_NATIVE_FLOAT, {n, c, t}, r.signal_uv.data(), true, gzip_level, path);
      if (r.n_label_columns == 0) {
        write_dataset(group.get(), "y", H5T_STD_I64LE, H5T_NATIVE_INT64, {n}, r.labels.data(), false, 0, path);
      } else {
        write_dataset(group.get(), "y", H5T_STD_U8LE, H5T_NATIVE_UINT8, {n, static_cast<hsize_t>(r.n_label_columns)},
                      r.multi_labels.data(), false, 0, path);
      }
      write_dataset(group.get(), "window_start_s", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {n}, r.window_start_s.data(),
                    false, 0, path);
      write_string_array_attr(group.get(), "channel_names", r.channel_names, path);
      std::vector<double> locs;
      for (const auto& l : r.channel_locations_m) locs.insert(locs.end(), l.begin(), l.end());
      write_double_attr(group.get(), "channel_locations_m", locs, {c, 3}, path);
      write_string_attr(group.get(), "source_file", r.source_file, path);
      write_string_attr(group.get(), "subject", r.subject, path);
      write_string_attr(group.get(), "split", r.split, path);
      write_double_attr(group.get(), "sfreq_hz", {r.sfreq_hz}, {}, path);
      check_status(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), path, "flush");
      check_status(group.close(), path, "close group");
      check_status(file.close(), path, "close");
    }
    commit_atomic(path);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

void assemble_window_h5(const std::vector<std::string>& part_paths, const std::string& out_path,
                        const std::string& preprocess_json, DatasetLayout layout) {
  silence_hdf5();
  const bool linked = layout == DatasetLayout::kLinked;
  if (!linked) {
    // The assembled file holds the parts' chunks as they are: about their total size. HDF5's group
    // copy crashes when the disk fills during it, so make sure of the space first.
    std::uint64_t part_bytes = 0;
    for (const auto& part : part_paths) part_bytes += std::filesystem::file_size(part);
    require_space_for(out_path, part_bytes + part_bytes / 20 + (1u << 20));
  }
  const auto folder = std::filesystem::absolute(out_path).parent_path();
  const auto tmp = atomic_temp_path(out_path);
  try {
    {
      auto file = checked(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, tmp, "create file");
      write_root_attrs(file.get(), preprocess_json, out_path);
      for (size_t k = 0; k < part_paths.size(); ++k) {
        const auto name = "data_group_" + std::to_string(k);
        if (linked) {
          // Relative to the dataset's folder, where HDF5 looks for a relative link target.
          const auto target = std::filesystem::relative(std::filesystem::absolute(part_paths[k]), folder).string();
          check_status(H5Lcreate_external(target.c_str(), "data_group_0", file.get(), name.c_str(), H5P_DEFAULT,
                                          H5P_DEFAULT),
                       out_path, "link " + target);
        } else {
          copy_group(part_paths[k], file.get(), name);
        }
      }
      check_status(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), out_path, "flush");
      check_status(file.close(), out_path, "close");
    }
    commit_atomic(out_path);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

// ------------------------------------------------------------------------------- reader
struct WindowH5Reader::State {
  std::string path;
  Handle file;
  std::string preprocess_json;
  std::vector<WindowGroupInfo> groups;
};

WindowH5Reader::WindowH5Reader(std::unique_ptr<State> state) : state_(std::move(state)) {}
WindowH5Reader::WindowH5Reader(WindowH5Reader&&) noexcept = default;
WindowH5Reader& WindowH5Reader::operator=(WindowH5Reader&&) noexcept = default;
WindowH5Reader::~WindowH5Reader() = default;

namespace {
std::vector<hsize_t> dataset_dims(hid_t group, const std::string& name, const std::string& where) {
  auto ds = checked(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose, where, "open dataset " + name);
  auto space = checked(H5Dget_space(ds.get()), H5Sclose, where, "space of " + name);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  LUMAMBA_CHECK_INPUT(rank >= 0 && rank <= 8, "{}: dataset '{}' has a bad rank", where, name);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

// Group names in creation-independent numeric order (data_group_2 before data_group_10).
std::vector<std::string> list_groups(hid_t file, const std::string& path) {
  H5G_info_t info;
  check_status(H5Gget_info(file, &info), path, "list groups");
  std::vector<std::pair<long, std::string>> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len = H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len <= 0) continue;
    std::string name(static_cast<size_t>(len), '\0');
    H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT);
    static const std::string kPrefix = "data_group_";
    if (name.rfind(kPrefix, 0) != 0) continue;
    long k = -1;
    try {
      k = std::stol(name.substr(kPrefix.size()));
    } catch (...) {
    }
    names.emplace_back(k, name);
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> out;
  for (auto& n : names) out.push_back(n.second);
  return out;
}
}  // namespace

WindowH5Reader WindowH5Reader::open(const std::string& path) {
  silence_hdf5();
  auto state = std::make_unique<State>();
  state->path = path;
  LUMAMBA_CHECK_INPUT(std::filesystem::is_regular_file(path), "{}: no such file", path);
  LUMAMBA_CHECK_INPUT(H5Fis_hdf5(path.c_str()) > 0, "{}: not an HDF5 file", path);
  // A linked dataset (DatasetLayout::kLinked) reaches each recording through an external link: keep
  // the part files open between reads instead of reopening one per batch.
  auto access = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path, "file access properties");
  check_status(H5Pset_elink_file_cache_size(access.get(), 1024), path, "external link cache");
  state->file = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, access.get()), H5Fclose, path, "open file");
  const hid_t file = state->file.get();
  if (has_attr(file, "preprocess")) state->preprocess_json = read_strings_attr(file, "preprocess", path).at(0);
  for (const auto& name : list_groups(file, path)) {
    const std::string where = path + ":/" + name;
    auto group = checked(H5Gopen2(file, name.c_str(), H5P_DEFAULT), H5Gclose, where, "open group");
    WindowGroupInfo g;
    g.name = name;
    const auto x = dataset_dims(group.get(), "X", where);
    LUMAMBA_CHECK_INPUT(x.size() == 3, "{}: X must be (N, C, T), has rank {}", where, x.size());
    g.n_windows = static_cast<int64_t>(x[0]);
    g.n_channels = static_cast<int64_t>(x[1]);
    g.n_samples = static_cast<int64_t>(x[2]);
    if (H5Lexists(group.get(), "y", H5P_DEFAULT) > 0) {
      const auto y = dataset_dims(group.get(), "y", where);
      LUMAMBA_CHECK_INPUT(!y.empty() && y.size() <= 2 && static_cast<int64_t>(y[0]) == g.n_windows,
                          "{}: y must be (N,) or (N, K) with N = {}", where, g.n_windows);
      g.n_label_columns = y.size() == 1 ? 0 : static_cast<int64_t>(y[1]);
    } else {
      g.n_label_columns = -1;
    }
    if (has_attr(group.get(), "channel_names")) {
      g.channel_names = read_strings_attr(group.get(), "channel_names", where);
      g.has_channel_names = true;
      LUMAMBA_CHECK_INPUT(static_cast<int64_t>(g.channel_names.size()) == g.n_channels,
                          "{}: {} channel names for C = {}", where, g.channel_names.size(), g.n_channels);
    }
    if (has_attr(group.get(), "channel_locations_m")) {
      const auto v = read_doubles_attr(group.get(), "channel_locations_m", where);
      LUMAMBA_CHECK_INPUT(static_cast<int64_t>(v.size()) == 3 * g.n_channels,
                          "{}: channel_locations_m has {} values, expected {}", where, v.size(), 3 * g.n_channels);
      for (int64_t c = 0; c < g.n_channels; ++c) g.channel_locations_m.push_back({v[3 * c], v[3 * c + 1], v[3 * c + 2]});
    }
    for (auto [attr, field] : {std::pair<const char*, std::string*>{"source_file", &g.source_file},
                               {"subject", &g.subject}, {"split", &g.split}}) {
      if (has_attr(group.get(), attr)) *field = read_strings_attr(group.get(), attr, where).at(0);
    }
    if (has_attr(group.get(), "sfreq_hz")) g.sfreq_hz = read_doubles_attr(group.get(), "sfreq_hz", where).at(0);
    state->groups.push_back(std::move(g));
  }
  LUMAMBA_CHECK_INPUT(!state->groups.empty(), "{}: not a lumamba window dataset (no groups of windows; make one "
                      "with `lumamba preprocess`)", path);
  return WindowH5Reader(std::move(state));
}

const std::string& WindowH5Reader::path() const { return state_->path; }
const std::string& WindowH5Reader::preprocess_json() const { return state_->preprocess_json; }
const std::vector<WindowGroupInfo>& WindowH5Reader::groups() const { return state_->groups; }

namespace {
template <typename T>
std::vector<T> read_rows(hid_t file, const WindowGroupInfo& g, const std::string& dataset, hid_t mem_type,
                         int64_t start, int64_t count, int64_t row_size, const std::string& path) {
  const std::string where = path + ":/" + g.name + "/" + dataset;
  LUMAMBA_CHECK_INPUT(start >= 0 && count >= 0 && start + count <= g.n_windows,
                      "{}: rows [{}, {}) outside [0, {})", where, start, start + count, g.n_windows);
  std::vector<T> out(static_cast<size_t>(count * row_size));
  if (count == 0) return out;
  auto ds = checked(H5Dopen2(file, (g.name + "/" + dataset).c_str(), H5P_DEFAULT), H5Dclose, where, "open");
  auto fspace = checked(H5Dget_space(ds.get()), H5Sclose, where, "get space");
  const int rank = H5Sget_simple_extent_ndims(fspace.get());
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(fspace.get(), dims.data(), nullptr);
  std::vector<hsize_t> offset(dims.size(), 0), extent = dims;
  offset[0] = static_cast<hsize_t>(start);
  extent[0] = static_cast<hsize_t>(count);
  check_status(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, offset.data(), nullptr, extent.data(), nullptr),
               where, "select rows");
  auto mspace = checked(H5Screate_simple(rank, extent.data(), nullptr), H5Sclose, where, "memory space");
  check_status(H5Dread(ds.get(), mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, out.data()), where, "read");
  return out;
}
}  // namespace

std::vector<float> WindowH5Reader::read_signal(size_t g, int64_t start, int64_t count) const {
  LUMAMBA_CHECK_INPUT(g < state_->groups.size(), "{}: no group #{}", state_->path, g);
  const auto& info = state_->groups[g];
  return read_rows<float>(state_->file.get(), info, "X", H5T_NATIVE_FLOAT, start, count,
                          info.n_channels * info.n_samples, state_->path);
}

std::vector<int64_t> WindowH5Reader::read_labels(size_t g) const {
  LUMAMBA_CHECK_INPUT(g < state_->groups.size(), "{}: no group #{}", state_->path, g);
  const auto& info = state_->groups[g];
  LUMAMBA_CHECK_INPUT(info.n_label_columns == 0, "{}:/{}: y is not a (N,) class vector", state_->path, info.name);
  return read_rows<int64_t>(state_->file.get(), info, "y", H5T_NATIVE_INT64, 0, info.n_windows, 1, state_->path);
}

std::vector<std::uint8_t> WindowH5Reader::read_multi_labels(size_t g) const {
  LUMAMBA_CHECK_INPUT(g < state_->groups.size(), "{}: no group #{}", state_->path, g);
  const auto& info = state_->groups[g];
  LUMAMBA_CHECK_INPUT(info.n_label_columns > 0, "{}:/{}: y is not a (N, K) label matrix", state_->path, info.name);
  return read_rows<std::uint8_t>(state_->file.get(), info, "y", H5T_NATIVE_UINT8, 0, info.n_windows,
                                 info.n_label_columns, state_->path);
}

std::vector<double> WindowH5Reader::read_window_start_s(size_t g) const {
  LUMAMBA_CHECK_INPUT(g < state_->groups.size(), "{}: no group #{}", state_->path, g);
  const auto& info = state_->groups[g];
  if (H5Lexists(state_->file.get(), (info.name + "/window_start_s").c_str(), H5P_DEFAULT) > 0) {
    return read_rows<double>(state_->file.get(), info, "window_start_s", H5T_NATIVE_DOUBLE, 0, info.n_windows, 1,
                             state_->path);
  }
  // Reference files: consecutive non-overlapping windows at 256 Hz.
  constexpr double kReferenceSfreqHz = 256.0;
  std::vector<double> starts(static_cast<size_t>(info.n_windows));
  for (int64_t i = 0; i < info.n_windows; ++i) starts[i] = static_cast<double>(i * info.n_samples) / kReferenceSfreqHz;
  return starts;
}

std::vector<std::string> reference_channel_order(const std::string& layout, int64_t n_channels) {
  check_option("reference channel layout", layout, {"tuh", "tueg"});
  std::vector<std::string> tcp;
  for (const auto& d : tcp22_montage()) tcp.push_back(d.name);  // TUEG order: A1-T3, T4-A2 last
  const size_t n_tcp = tcp.size();
  const auto without_ears = std::vector<std::string>(tcp.begin(), tcp.end() - 2);
  if (layout == "tueg") {
    if (n_channels == static_cast<int64_t>(n_tcp)) return tcp;
    if (n_channels == static_cast<int64_t>(n_tcp) - 2) return without_ears;
  } else if (n_channels == static_cast<int64_t>(n_tcp)) {
    // process_raw_eeg.py writes A1-T3 right after the left temporal chain (T6-O2) and T4-A2 right
    // after the central chain (C4-T4) (docs/reference-model.md §15, TCP row order).
    const std::string& a1 = tcp[n_tcp - 2];
    const std::string& a2 = tcp[n_tcp - 1];
    std::vector<std::string> order;
    for (const auto& name : without_ears) {
      order.push_back(name);
      if (name == "T6-O2") order.push_back(a1);
      if (name == "C4-T4") order.push_back(a2);
    }
    LUMAMBA_CHECK(order.size() == n_tcp, "TCP table lacks T6-O2 or C4-T4");
    return order;
  }
  throw InputError(fmt::format("no known reference channel order for layout '{}' with {} channels", layout, n_channels));
}

}  // namespace lumamba::io
