// EEGLAB reading (see lumamba/io/eeglab_reader.h). The rules follow MNE 1.3's
// mne/io/eeglab/eeglab.py (_check_load_mat, _get_montage_information, _read_annotations_eeglab,
// _check_eeglab_fname). MATLAB files are parsed by libmatio (v5 with zlib, and v7.3 through HDF5):
// a MAT parser is too large and too easy to get wrong to write here.
#include "lumamba/io/eeglab_reader.h"

#include <fmt/format.h>
#include <matio.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "lumamba/core/error.h"
#include "lumamba/core/log.h"

namespace lumamba::io {
namespace {

namespace fs = std::filesystem;

// matio reports problems through a process-wide log function; the last message of this thread is
// kept so that an error can say what matio found, and nothing is printed behind the caller's back.
thread_local std::string g_matio_message;

void keep_matio_message(int /*level*/, char* message) { g_matio_message = message != nullptr ? message : ""; }

void init_matio_log() {
  static std::once_flag once;
  std::call_once(once, [] { Mat_LogInitFunc("lumamba", keep_matio_message); });
}

struct MatFileCloser {
  void operator()(mat_t* m) const { Mat_Close(m); }
};
struct MatVarFreer {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using MatFile = std::unique_ptr<mat_t, MatFileCloser>;
using MatVar = std::unique_ptr<matvar_t, MatVarFreer>;

// Number of elements, 0 for a variable without dimensions; nullopt when the product overflows.
std::optional<std::size_t> numel(const matvar_t* v);

// Field `name` of element `index` of a struct, or nullptr. Looked up here rather than with
// Mat_VarGetStructFieldByName, which dereferences the field table of a damaged struct unchecked
// (fuzz_eeglab found one with elements but no field table: tests/fixtures/eeglab/broken).
matvar_t* struct_field(const matvar_t* s, const char* name, std::size_t index) {
  if (s == nullptr || s->class_type != MAT_C_STRUCT || s->data == nullptr) return nullptr;
  const std::size_t n_fields = Mat_VarGetNumberOfFields(const_cast<matvar_t*>(s));
  char* const* names = Mat_VarGetStructFieldnames(s);
  const auto n = numel(s);
  if (n_fields == 0 || names == nullptr || !n || index >= *n || *n > s->nbytes / sizeof(matvar_t*) / n_fields) {
    return nullptr;
  }
  for (std::size_t f = 0; f < n_fields; ++f) {
    if (names[f] != nullptr && std::strcmp(names[f], name) == 0) {
      return static_cast<matvar_t**>(s->data)[index * n_fields + f];
    }
  }
  return nullptr;
}

std::optional<std::size_t> numel(const matvar_t* v) {
  if (v == nullptr || v->rank <= 0 || v->dims == nullptr) return 0;
  std::size_t n = 1;
  for (int d = 0; d < v->rank; ++d) {
    if (v->dims[d] != 0 && n > std::numeric_limits<std::size_t>::max() / v->dims[d]) return std::nullopt;
    n *= v->dims[d];
  }
  return n;
}

bool is_numeric(const matvar_t* v) {
  switch (v->class_type) {
    case MAT_C_DOUBLE: case MAT_C_SINGLE: case MAT_C_INT8: case MAT_C_UINT8: case MAT_C_INT16:
    case MAT_C_UINT16: case MAT_C_INT32: case MAT_C_UINT32: case MAT_C_INT64: case MAT_C_UINT64:
      return true;
    default:
      return false;
  }
}

// Element `i` of a real numeric variable as a double; nullopt for other classes, complex or sparse
// data, an element past the end, or data whose stored size does not match its class.
std::optional<double> number_at(const matvar_t* v, std::size_t i) {
  if (v == nullptr || !is_numeric(v) || v->isComplex || v->data == nullptr) return std::nullopt;
  const auto n = numel(v);
  if (!n || i >= *n) return std::nullopt;
  auto read = [&](auto sample) -> std::optional<double> {
    using T = decltype(sample);
    if (v->data_size != static_cast<int>(sizeof(T)) || v->nbytes < (i + 1) * sizeof(T)) return std::nullopt;
    T x;
    std::memcpy(&x, static_cast<const char*>(v->data) + i * sizeof(T), sizeof(T));
    return static_cast<double>(x);
  };
  switch (v->class_type) {
    case MAT_C_DOUBLE: return read(double{});
    case MAT_C_SINGLE: return read(float{});
    case MAT_C_INT8: return read(int8_t{});
    case MAT_C_UINT8: return read(uint8_t{});
    case MAT_C_INT16: return read(int16_t{});
    case MAT_C_UINT16: return read(uint16_t{});
    case MAT_C_INT32: return read(int32_t{});
    case MAT_C_UINT32: return read(uint32_t{});
    case MAT_C_INT64: return read(int64_t{});
    case MAT_C_UINT64: return read(uint64_t{});
    default: return std::nullopt;
  }
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A MATLAB char row as UTF-8 (MATLAB stores UTF-16 code units; matio hands them over as 8- or
// 16-bit units). nullopt for a variable that is not text or is a char matrix of several rows.
std::optional<std::string> text_of(const matvar_t* v) {
  if (v == nullptr || v->class_type != MAT_C_CHAR) return std::nullopt;
  const auto n = numel(v);
  if (!n) return std::nullopt;
  if (*n == 0 || v->data == nullptr) return std::string();
  if (v->rank != 2 || v->dims[0] != 1) return std::nullopt;
  const auto* bytes = static_cast<const unsigned char*>(v->data);
  std::string out;
  if (v->data_size == 1 && v->nbytes >= *n) {
    out.assign(reinterpret_cast<const char*>(bytes), *n);
  } else if (v->data_size == 2 && v->nbytes >= 2 * *n) {
    for (std::size_t i = 0; i < *n; ++i) {
      uint16_t unit;
      std::memcpy(&unit, bytes + 2 * i, 2);
      uint32_t cp = unit;
      if (unit >= 0xD800 && unit < 0xDC00 && i + 1 < *n) {  // surrogate pair
        uint16_t low;
        std::memcpy(&low, bytes + 2 * (i + 1), 2);
        if (low >= 0xDC00 && low < 0xE000) {
          cp = 0x10000 + ((static_cast<uint32_t>(unit) - 0xD800) << 10) + (low - 0xDC00);
          ++i;
        }
      }
      append_utf8(out, cp);
    }
  } else {
    return std::nullopt;
  }
  while (!out.empty() && (out.back() == '\0' || out.back() == ' ')) out.pop_back();  // MATLAB pads char matrices
  return out;
}

// Python's str() of a MATLAB number as MNE's annotation text shows it: floats with a ".0" when whole
// ("2.0"), integers without.
std::string number_text(const matvar_t* v, double x) {
  const bool integer_class = v->class_type != MAT_C_DOUBLE && v->class_type != MAT_C_SINGLE;
  if (integer_class) return fmt::format("{}", static_cast<int64_t>(x));
  if (std::isfinite(x) && x == std::floor(x) && std::abs(x) < 1e16) return fmt::format("{:.1f}", x);
  return fmt::format("{}", x);
}

// Bytes a variable's data will take once read, from its header alone (matio allocates what a header
// declares before it reads): nullopt when the count overflows. Structs and cells count their elements.
std::optional<std::size_t> declared_bytes(matvar_t* info, int depth = 0) {
  if (info == nullptr) return 0;
  const auto n = numel(info);
  if (!n || depth > 32) return std::nullopt;
  std::size_t total = 0;
  auto add = [&](std::optional<std::size_t> b) {
    if (!b || total > std::numeric_limits<std::size_t>::max() - *b) return false;
    total += *b;
    return true;
  };
  if (info->class_type == MAT_C_STRUCT) {
    const std::size_t n_fields = Mat_VarGetNumberOfFields(info);
    if (info->data == nullptr || n_fields == 0) return 0;
    if (*n > info->nbytes / sizeof(matvar_t*) / n_fields) return std::nullopt;  // fewer field slots than elements
    for (std::size_t i = 0; i < *n * n_fields; ++i) {
      if (!add(declared_bytes(static_cast<matvar_t**>(info->data)[i], depth + 1))) return std::nullopt;
    }
    return total;
  }
  if (info->class_type == MAT_C_CELL) {
    if (info->data == nullptr) return 0;
    if (*n > info->nbytes / sizeof(matvar_t*)) return std::nullopt;
    for (std::size_t i = 0; i < *n; ++i) {
      if (!add(declared_bytes(static_cast<matvar_t**>(info->data)[i], depth + 1))) return std::nullopt;
    }
    return total;
  }
  const std::size_t element = std::max<std::size_t>(Mat_SizeOfClass(info->class_type), 1) * (info->isComplex ? 2 : 1);
  if (*n > std::numeric_limits<std::size_t>::max() / element) return std::nullopt;
  return *n * element;
}

// Reads a variable after checking that its header does not declare more data than the file can
// hold (zlib inflates at most ~1032×): a corrupt header would otherwise make matio allocate
// gigabytes for a file of kilobytes.
matvar_t* read_checked(mat_t* mat, const char* name, const std::string& path) {
  MatVar info(Mat_VarReadInfo(mat, name));
  if (info == nullptr) return nullptr;
  std::error_code ec;
  const auto file_bytes = static_cast<std::size_t>(fs::file_size(path, ec));
  const std::size_t ratio = info->compression == MAT_COMPRESSION_NONE ? 1 : 1100;
  const auto bytes = declared_bytes(info.get());
  LUMAMBA_CHECK_INPUT(bytes.has_value() && *bytes / ratio <= file_bytes + 4096, "{}: variable '{}' declares {} of "
                      "data in a file of {} bytes (a damaged file)", path, name,
                      bytes ? fmt::format("{} bytes", *bytes) : std::string("more than 2^64 bytes"), file_bytes);
  return Mat_VarRead(mat, name);
}

// The EEG structure's fields, from an `EEG` struct variable (EEG.EEG nested too) or from the
// file's top-level variables.
class EegFields {
 public:
  EegFields(mat_t* mat, std::string path) : mat_(mat), path_(std::move(path)) {
    MatVar info(Mat_VarReadInfo(mat_, "ALLEEG"));
    LUMAMBA_CHECK_INPUT(info == nullptr, "{}: holds an ALLEEG array of datasets; save one dataset (EEG) with "
                        "EEGLAB's pop_saveset", path_);
    info.reset(Mat_VarReadInfo(mat_, "EEG"));
    if (info != nullptr) {
      eeg_.reset(read_checked(mat_, "EEG", path_));
      LUMAMBA_CHECK_INPUT(eeg_ != nullptr && eeg_->class_type == MAT_C_STRUCT && numel(eeg_.get()).value_or(0) >= 1,
                          "{}: variable 'EEG' is not a struct{}", path_, matio_detail());
      struct_ = eeg_.get();
      if (matvar_t* nested = struct_field(struct_, "EEG", 0);
          nested != nullptr && nested->class_type == MAT_C_STRUCT && numel(nested).value_or(0) >= 1) {
        struct_ = nested;
      }
    }
  }

  /// The field, or nullptr when absent.
  const matvar_t* find(const char* name) {
    if (struct_ != nullptr) return struct_field(struct_, name, 0);
    auto it = top_level_.find(name);
    if (it == top_level_.end()) {
      it = top_level_.emplace(name, MatVar(read_checked(mat_, name, path_))).first;
    }
    return it->second.get();
  }

  double required_number(const char* name) {
    const auto* v = find(name);
    LUMAMBA_CHECK_INPUT(v != nullptr, "{}: no field '{}' (not an EEGLAB dataset?){}", path_, name, matio_detail());
    const auto x = number_at(v, 0);
    LUMAMBA_CHECK_INPUT(x.has_value() && numel(v).value_or(0) == 1 && std::isfinite(*x),
                        "{}: field '{}' must be one finite number", path_, name);
    return *x;
  }

  std::string optional_text(const char* name) {
    const auto t = text_of(find(name));
    return t.value_or("");
  }

  std::string matio_detail() const { return g_matio_message.empty() ? "" : fmt::format(" (matio: {})", g_matio_message); }

 private:
  mat_t* mat_;
  std::string path_;
  MatVar eeg_;
  matvar_t* struct_ = nullptr;
  std::map<std::string, MatVar> top_level_;
};

int64_t whole_count(double x, const std::string& path, const char* field) {
  LUMAMBA_CHECK_INPUT(x >= 1 && x == std::floor(x) && x < 1e15, "{}: field '{}' must be a whole number ≥ 1, got {}",
                      path, field, x);
  return static_cast<int64_t>(x);
}

// MNE's channel types other than EEG (mne/io/pick.py _PICK_TYPES_KEYS): such channels get no position.
bool is_non_eeg_type(std::string type) {
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const std::set<std::string> kTypes = {
      "mag", "grad", "csd", "stim", "eog", "emg", "ecg", "resp", "misc", "exci", "ias", "syst", "seeg", "dbs",
      "bio", "chpi", "dipole", "gof", "ecog", "hbo", "hbr", "temperature", "gsr", "ref_meg", "fnirs_cw_amplitude",
      "fnirs_fd_ac_amplitude", "fnirs_fd_phase", "fnirs_od"};
  const auto first = type.find_first_not_of(" \t");
  const auto last = type.find_last_not_of(" \t");
  return first != std::string::npos && kTypes.count(type.substr(first, last - first + 1)) > 0;
}

// The data file EEG.data names, as MNE's _check_eeglab_fname finds it.
std::string fdt_path_for(const std::string& set_path, const std::string& data_name) {
  const fs::path set(set_path);
  std::string ext = fs::path(data_name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  LUMAMBA_CHECK_INPUT(ext != ".dat", "{}: the samples are in the old .dat format ('{}'); resave the dataset in "
                      "EEGLAB (pop_saveset) to get a .fdt", set_path, data_name);
  LUMAMBA_CHECK_INPUT(ext == ".fdt", "{}: field 'data' names '{}', expected a .fdt file", set_path, data_name);
  const auto named = set.parent_path() / fs::path(data_name).filename();
  if (fs::exists(named)) return named.string();
  auto beside = set;
  beside.replace_extension(".fdt");
  LUMAMBA_CHECK_INPUT(fs::exists(beside), "{}: the samples' file '{}' does not exist (tried {} and {})", set_path,
                      data_name, named.string(), beside.string());
  log::warn("{}: field 'data' names '{}', which does not exist; reading {} (as MNE does)", set_path, data_name,
            beside.string());
  return beside.string();
}

}  // namespace

EeglabReader EeglabReader::open(const std::string& set_path) {
  init_matio_log();
  g_matio_message.clear();
  LUMAMBA_CHECK_INPUT(fs::is_regular_file(set_path), "{}: no such file", set_path);
  MatFile mat(Mat_Open(set_path.c_str(), MAT_ACC_RDONLY));
  LUMAMBA_CHECK_INPUT(mat != nullptr, "{}: not a MATLAB file (EEGLAB .set files are MATLAB v5 or v7.3){}", set_path,
                      g_matio_message.empty() ? "" : fmt::format(" (matio: {})", g_matio_message));
  EegFields eeg(mat.get(), set_path);

  EeglabReader r;
  const double srate = eeg.required_number("srate");
  LUMAMBA_CHECK_INPUT(srate > 0, "{}: field 'srate' must be > 0, got {}", set_path, srate);
  r.n_channels_ = whole_count(eeg.required_number("nbchan"), set_path, "nbchan");
  r.n_samples_ = whole_count(eeg.required_number("pnts"), set_path, "pnts");
  const double trials = eeg.required_number("trials");
  LUMAMBA_CHECK_INPUT(trials == 1, "{}: an epoched dataset ({} trials); lumamba reads continuous recordings "
                      "(trials = 1)", set_path, trials);
  const auto n_values = static_cast<std::size_t>(r.n_channels_) * static_cast<std::size_t>(r.n_samples_);

  // Samples: a numeric (nbchan, pnts) matrix in the .set, or the name of a .fdt beside it.
  const auto* data = eeg.find("data");
  LUMAMBA_CHECK_INPUT(data != nullptr, "{}: no field 'data'", set_path);
  if (const auto name = text_of(data)) {
    r.fdt_path_ = fdt_path_for(set_path, *name);
    const auto bytes = fs::file_size(r.fdt_path_);
    LUMAMBA_CHECK_INPUT(bytes >= n_values * sizeof(float), "{}: its samples' file {} has {} bytes, {} channels × {} "
                        "samples of float32 need {}", set_path, r.fdt_path_, bytes, r.n_channels_, r.n_samples_,
                        n_values * sizeof(float));
  } else {
    LUMAMBA_CHECK_INPUT(is_numeric(data) && !data->isComplex, "{}: field 'data' is neither a numeric matrix nor "
                        "the name of a .fdt file", set_path);
    const auto n = numel(data).value_or(0);
    const bool shape_ok = n == n_values && (data->rank == 2 && (data->dims[0] == static_cast<std::size_t>(r.n_channels_) ||
                                                                 r.n_channels_ == 1));
    LUMAMBA_CHECK_INPUT(shape_ok, "{}: field 'data' is {}, expected {} channels × {} samples (nbchan × pnts)", set_path,
                        data->rank == 2 ? fmt::format("{} × {}", data->dims[0], data->dims[1])
                                        : fmt::format("{} values in {} dimensions", n, data->rank),
                        r.n_channels_, r.n_samples_);
    r.embedded_uv_.resize(n_values);
    for (int64_t t = 0; t < r.n_samples_; ++t) {  // column-major (nbchan, pnts) → (C, T)
      for (int64_t c = 0; c < r.n_channels_; ++c) {
        const auto x = number_at(data, static_cast<std::size_t>(t * r.n_channels_ + c));
        LUMAMBA_CHECK_INPUT(x.has_value(), "{}: field 'data' could not be read{}", set_path, eeg.matio_detail());
        r.embedded_uv_[static_cast<std::size_t>(c * r.n_samples_ + t)] = *x;
      }
    }
  }

  auto& h = r.header_;
  h.path = set_path;
  h.format = RecordingFormat::kEeglab;
  h.record_duration_s = static_cast<double>(r.n_samples_) / srate;
  h.n_records = 1;
  h.duration_s = h.record_duration_s;
  h.patient = eeg.optional_text("subject");
  h.recording = eeg.optional_text("setname");

  // Channels: chanlocs (one entry per channel) or, without it, MNE's names "EEG 000"…
  const auto* chanlocs = eeg.find("chanlocs");
  const auto n_locs = chanlocs != nullptr && chanlocs->class_type == MAT_C_STRUCT ? numel(chanlocs).value_or(0) : 0;
  LUMAMBA_CHECK_INPUT(n_locs == 0 || n_locs == static_cast<std::size_t>(r.n_channels_),
                      "{}: field 'chanlocs' has {} entries for {} channels (nbchan)", set_path, n_locs, r.n_channels_);
  const auto* locs = chanlocs;
  std::vector<std::optional<Position3>> positions;
  for (int64_t c = 0; c < r.n_channels_; ++c) {
    SignalInfo s;
    std::string type;
    std::optional<Position3> position;
    if (n_locs > 0) {
      const auto idx = static_cast<std::size_t>(c);
      const auto label = text_of(struct_field(locs, "labels", idx));
      LUMAMBA_CHECK_INPUT(label.has_value() && !label->empty(), "{}: chanlocs({}).labels is not a name", set_path, c + 1);
      s.label = *label;
      type = text_of(struct_field(locs, "type", idx)).value_or("");
      const auto x = number_at(struct_field(locs, "X", idx), 0);
      const auto y = number_at(struct_field(locs, "Y", idx), 0);
      const auto z = number_at(struct_field(locs, "Z", idx), 0);
      if (x && y && z && std::isfinite(*x) && std::isfinite(*y) && std::isfinite(*z) && !is_non_eeg_type(type)) {
        position = Position3{-*y / 1000, *x / 1000, *z / 1000};  // EEGLAB (X nose, Y left, Z up) mm → head frame m
      }
    } else {
      s.label = fmt::format("EEG {:03d}", c);
    }
    s.electrode = tuh_electrode_name(s.label);
    s.is_eeg = is_eeg_electrode_name(s.electrode);
    s.physical_dimension = "uV";
    s.physical_min = -std::numeric_limits<double>::infinity();  // float samples: no digital range
    s.physical_max = std::numeric_limits<double>::infinity();
    s.n_samples_per_record = static_cast<int32_t>(std::min<int64_t>(r.n_samples_, std::numeric_limits<int32_t>::max()));
    s.sfreq_hz = srate;
    s.n_samples = r.n_samples_;
    s.unit_is_voltage = true;
    s.uv_per_unit = 1;
    h.signals.push_back(std::move(s));
    positions.push_back(position);
  }
  // A head is 4–15 cm in radius (MNE warns outside 5–10.85 cm): positions read as millimetres that are
  // not that size are in other units (a unit sphere, EEGLAB's default for .loc files), which would
  // mislead the model; they are left out and the preset's table places the channels by name.
  double radius_sum = 0;
  int n_placed = 0;
  for (const auto& p : positions) {
    if (!p) continue;
    radius_sum += std::sqrt(p->x_m * p->x_m + p->y_m * p->y_m + p->z_m * p->z_m);
    ++n_placed;
  }
  const double mean_radius_m = n_placed > 0 ? radius_sum / n_placed : 0;
  if (n_placed > 0 && (mean_radius_m < 0.04 || mean_radius_m > 0.15)) {
    log::warn("{}: chanlocs positions have a mean radius of {:.4g} m read as millimetres, not a head's 4-15 cm "
              "(another unit, e.g. a unit sphere?): not used; the channels are placed by name from the preset's "
              "positions table", set_path, mean_radius_m);
  } else {
    for (std::size_t c = 0; c < positions.size(); ++c) h.signals[c].position = positions[c];
  }

  // Events: type, latency (1-based samples), duration (samples; empty = unknown, absent = 0).
  const auto* events = eeg.find("event");
  if (events != nullptr && events->class_type == MAT_C_STRUCT) {
    const auto* ev = events;
    const auto n_events = numel(events).value_or(0);
    for (std::size_t k = 0; k < n_events; ++k) {
      Annotation a;
      const auto* type = struct_field(ev, "type", k);
      if (const auto t = text_of(type)) {
        a.text = *t;
      } else if (const auto x = number_at(type, 0)) {
        a.text = number_text(type, *x);
      } else {
        throw InputError(fmt::format("{}: event({}).type is neither text nor a number", set_path, k + 1));
      }
      const auto latency = number_at(struct_field(ev, "latency", k), 0);
      LUMAMBA_CHECK_INPUT(latency.has_value() && std::isfinite(*latency), "{}: event({}).latency ('{}') is not a "
                          "number", set_path, k + 1, a.text);
      a.onset_s = (*latency - 1) / srate;
      const auto* duration = struct_field(ev, "duration", k);
      a.duration_s = 0;
      if (duration != nullptr) {
        const auto d = number_at(duration, 0);
        LUMAMBA_CHECK_INPUT(!d || (std::isfinite(*d) && *d >= 0), "{}: event({}).duration ('{}') is {}, not a "
                            "length in samples", set_path, k + 1, a.text, *d);
        a.duration_s = d ? *d / srate : kNoDuration;
      }
      h.annotations.push_back(std::move(a));
    }
  }
  return r;
}

std::vector<double> EeglabReader::read_signal_uv(int64_t signal_idx) {
  LUMAMBA_CHECK_INPUT(signal_idx >= 0 && signal_idx < n_channels_, "{}: no signal {} (the file has {})", header_.path,
                      signal_idx, n_channels_);
  const auto t_count = static_cast<std::size_t>(n_samples_);
  const auto first = static_cast<std::size_t>(signal_idx) * t_count;
  if (fdt_path_.empty()) {
    return {embedded_uv_.begin() + static_cast<std::ptrdiff_t>(first),
            embedded_uv_.begin() + static_cast<std::ptrdiff_t>(first + t_count)};
  }
  if (fdt_uv_.empty()) {
    // The .fdt is (pnts, nbchan) little-endian float32, channels fastest: read once, kept channel-major.
    const auto c_count = static_cast<std::size_t>(n_channels_);
    std::ifstream in(fdt_path_, std::ios::binary);
    LUMAMBA_CHECK_INPUT(in.good(), "{}: cannot open", fdt_path_);
    std::vector<float> block(c_count * 65536);
    fdt_uv_.resize(c_count * t_count);
    for (std::size_t t0 = 0; t0 < t_count; t0 += 65536) {
      const auto n_t = std::min<std::size_t>(65536, t_count - t0);
      in.read(reinterpret_cast<char*>(block.data()), static_cast<std::streamsize>(n_t * c_count * sizeof(float)));
      LUMAMBA_CHECK_INPUT(in.good(), "{}: ends before sample {} of {}", fdt_path_, t0 + n_t, t_count);
      for (std::size_t t = 0; t < n_t; ++t) {
        for (std::size_t c = 0; c < c_count; ++c) fdt_uv_[c * t_count + t0 + t] = block[t * c_count + c];
      }
    }
  }
  return {fdt_uv_.begin() + static_cast<std::ptrdiff_t>(first),
          fdt_uv_.begin() + static_cast<std::ptrdiff_t>(first + t_count)};
}

}  // namespace lumamba::io
