// EDF / EDF+ / BDF / BDF+ reading (see lumamba/io/edf_reader.h) over EDFlib 1.23 (Debian libedf).
//
// Every file first goes through lumamba's own header check (edf_header_check.cpp), because EDFlib
// only says "format error" without saying where: a bad file becomes one InputError naming the
// field and signal. When EDFlib rejects a file whose only defects are harmless for reading (EDF+
// metadata syntax, annotation-signal text fields, ...), it is read through a patched temporary
// copy (WARN, listed in RecordingHeader::repairs). Physical values come from edfread_physical_samples
// (double) and are scaled to µV once, per channel, from the physical dimension (docs/style.md §8).
#include "lumamba/io/edf_reader.h"

#include <edflib.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "edf_header_check_impl.h"
#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/io/channels.h"

namespace lumamba::io {
namespace {

using detail::EdfHeaderCheck;
using detail::EdfHeaderPatch;
using detail::kEdfFixedHeaderBytes;
using detail::kEdfSignalHeaderBytes;
using detail::kEdfTimeUnitsPerSecond;
using detail::trim_edf_text;

constexpr int kReadChunkSamples = 1 << 22;  // edfread_* take an int count
static_assert(kEdfTimeUnitsPerSecond == EDFLIB_TIME_DIMENSION && detail::kEdfMaxSignals == EDFLIB_MAXSIGNALS,
              "edf_header_check_impl.h disagrees with this EDFlib");

std::string edflib_error_text(int code) {
  switch (code) {
    case EDFLIB_MALLOC_ERROR:
      return "EDFlib ran out of memory";
    case EDFLIB_NO_SUCH_FILE_OR_DIRECTORY:
      return "EDFlib cannot open the file";
    case EDFLIB_FILE_CONTAINS_FORMAT_ERRORS:
      return "EDFlib reports format errors";
    case EDFLIB_MAXFILES_REACHED:
      return "too many EDF/BDF files are open at once (EDFlib allows 64 per process)";
    case EDFLIB_FILE_READ_ERROR:
      return "read error (the file is shorter than its header says, or unreadable)";
    case EDFLIB_FILE_ALREADY_OPENED:
      return "the file is already open in this process (EDFlib allows one handle per path; close "
             "the other EdfReader first)";
    case EDFLIB_FILETYPE_ERROR:
      return "EDFlib: unsupported file type";
    case EDFLIB_FILE_IS_DISCONTINUOUS:
      return "discontinuous EDF+D/BDF+D files are not supported (the data records are not "
             "contiguous in time); convert to EDF+C first";
    default:
      return fmt::format("EDFlib error code {}", code);
  }
}

// EDFlib keeps a global table of open files; its open and close are not thread-safe.
std::mutex& edflib_mutex() {
  static std::mutex m;
  return m;
}

// Canonical form for matching channel names: TUH name, each electrode replaced by the smaller of
// itself and its 10-20 alias (so T3 and T7 compare equal; bipolar order is kept).
std::string canonical_channel(std::string_view name) {
  const std::string n = tuh_electrode_name(name);
  std::string out;
  std::size_t start = 0;
  while (true) {
    const auto dash = n.find('-', start);
    std::string part = n.substr(start, dash == std::string::npos ? std::string::npos : dash - start);
    if (const auto alias = electrode_alias(part)) part = std::min(part, *alias);
    out += part;
    if (dash == std::string::npos) return out;
    out += '-';
    start = dash + 1;
  }
}

// A private copy of the file with `patches` applied; removed when this object goes away (after
// EDFlib has opened it, the open FILE* keeps the data readable).
class RepairedCopy {
 public:
  RepairedCopy(const std::string& source, const std::vector<EdfHeaderPatch>& patches) {
    std::error_code ec;
    auto dir = std::filesystem::temp_directory_path(ec);
    if (ec) dir = "/tmp";
    std::string name = (dir / "lumamba-edf-repair-XXXXXX").string();
    const int fd = ::mkstemp(name.data());
    LUMAMBA_CHECK_INPUT(fd >= 0, "{}: cannot create a temporary copy in {} to repair the header: {}", source,
                        dir.string(), std::strerror(errno));
    path_ = name;
    // Copied by hand, chunk by chunk with the patches applied, so that a failed write keeps its errno
    // (std::filesystem::copy_file reports a full disk as a generic I/O error).
    std::ifstream in(source, std::ios::binary);
    std::vector<char> chunk(std::size_t{1} << 20);
    int64_t offset = 0;
    int err = 0;
    while (err == 0 && in) {
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      const auto n = static_cast<int64_t>(in.gcount());
      if (n <= 0) break;
      for (const EdfHeaderPatch& p : patches) {
        for (int64_t i = 0; i < static_cast<int64_t>(p.bytes.size()); ++i) {
          const int64_t at = p.offset + i - offset;
          if (at >= 0 && at < n) chunk[static_cast<std::size_t>(at)] = p.bytes[static_cast<std::size_t>(i)];
        }
      }
      for (int64_t done = 0; done < n && err == 0;) {
        const ssize_t w = ::write(fd, chunk.data() + done, static_cast<std::size_t>(n - done));
        if (w < 0 && errno != EINTR) err = errno;
        if (w > 0) done += w;
      }
      offset += n;
    }
    if (err == 0 && !in.eof()) err = EIO;  // the source could not be read to its end
    ::close(fd);
    if (err == 0) return;
    std::filesystem::remove(path_, ec);  // the destructor does not run for a throwing constructor
    if (is_disk_full_error(err)) {
      throw DiskFullError(fmt::format("disk full: {} (a repaired temporary copy of {}: {})", path_, source,
                                      std::strerror(err)));
    }
    throw InputError(fmt::format("{}: cannot write a repaired temporary copy to {}: {}", source, path_,
                                 std::strerror(err)));
  }
  ~RepairedCopy() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove(path_, ec);
  }
  RepairedCopy(const RepairedCopy&) = delete;
  RepairedCopy& operator=(const RepairedCopy&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string start_datetime_iso(const edf_hdr_struct& h) {
  std::string s = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", h.startdate_year, h.startdate_month,
                              h.startdate_day, h.starttime_hour, h.starttime_minute, h.starttime_second);
  if (h.starttime_subsecond > 0) {
    std::string frac = fmt::format("{:07d}", h.starttime_subsecond);
    while (frac.back() == '0') frac.pop_back();
    s += "." + frac;
  }
  return s;
}

std::string joined(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : std::string(sep)) + item;
  return out;
}

}  // namespace

// ---- labels ----

std::string tuh_electrode_name(std::string_view label) {
  std::string s = normalize_channel_label(label);
  constexpr std::string_view kEegPrefix = "EEG ";
  if (s.size() > kEegPrefix.size() && s.compare(0, kEegPrefix.size(), kEegPrefix) == 0) {
    s = normalize_channel_label(std::string_view(s).substr(kEegPrefix.size()));
  }
  for (std::string_view suffix : {std::string_view("-REF"), std::string_view("-LE")}) {
    if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
      s.erase(s.size() - suffix.size());
      break;
    }
  }
  return s;
}

bool is_eeg_electrode_name(std::string_view name) {
  if (name.empty()) return false;
  if (find_electrode(name)) return true;
  const auto dash = name.find('-');
  if (dash == std::string_view::npos || name.find('-', dash + 1) != std::string_view::npos) {
    return false;
  }
  const auto a = name.substr(0, dash), b = name.substr(dash + 1);
  return !a.empty() && !b.empty() && find_electrode(a) && find_electrode(b);
}

std::string_view recording_format_name(RecordingFormat type) {
  switch (type) {
    case RecordingFormat::kEdf:
      return "EDF";
    case RecordingFormat::kEdfPlus:
      return "EDF+C";
    case RecordingFormat::kBdf:
      return "BDF";
    case RecordingFormat::kBdfPlus:
      return "BDF+C";
    case RecordingFormat::kBrainVision:
      return "BrainVision";
    case RecordingFormat::kEeglab:
      return "EEGLAB";
  }
  return "?";
}

// ---- the reader ----

struct EdfReader::Handle {
  int id = -1;
  explicit Handle(int handle_id) : id(handle_id) {}
  ~Handle() {
    std::lock_guard<std::mutex> lock(edflib_mutex());
    edfclose_file(id);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

EdfReader::EdfReader(std::unique_ptr<Handle> handle, RecordingHeader header)
    : handle_(std::move(handle)), header_(std::move(header)) {}
EdfReader::EdfReader(EdfReader&&) noexcept = default;
EdfReader& EdfReader::operator=(EdfReader&&) noexcept = default;
EdfReader::~EdfReader() = default;

EdfReader EdfReader::open(const std::string& path, const EdfOpenOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  LUMAMBA_CHECK_INPUT(fs::exists(status), "{}: no such file", path);
  LUMAMBA_CHECK_INPUT(fs::is_regular_file(status), "{}: not a regular file", path);
  const auto file_size = static_cast<int64_t>(fs::file_size(path, ec));
  LUMAMBA_CHECK_INPUT(!ec, "{}: cannot get the file size: {}", path, ec.message());

  std::string head(static_cast<std::size_t>(
                       std::min<int64_t>(file_size, kEdfFixedHeaderBytes + EDFLIB_MAXSIGNALS * kEdfSignalHeaderBytes)),
                   '\0');
  {
    std::ifstream in(path, std::ios::binary);
    LUMAMBA_CHECK_INPUT(in && in.read(head.data(), static_cast<std::streamsize>(head.size())),
                        "{}: cannot read the file: {}", path, std::strerror(errno));
  }
  const EdfHeaderCheck check = detail::check_edf_header(head, file_size);
  LUMAMBA_CHECK_INPUT(check.fatal.empty(), "{}: {}", path, joined(check.fatal, "; "));

  // Open as is; only if EDFlib refuses a file whose defects we know how to patch, retry on a
  // patched copy. (A newer EDFlib may accept some of these defects; then nothing is copied.)
  auto hdr = std::make_unique<edf_hdr_struct>();
  std::unique_ptr<Handle> handle;
  auto try_open = [&](const std::string& p) {
    std::memset(hdr.get(), 0, sizeof(edf_hdr_struct));
    std::lock_guard<std::mutex> lock(edflib_mutex());
    if (edfopen_file_readonly(p.c_str(), hdr.get(), EDFLIB_READ_ALL_ANNOTATIONS) != 0) {
      return hdr->filetype;
    }
    handle = std::make_unique<Handle>(hdr->handle);
    return 0;
  };
  int code = try_open(path);
  std::vector<std::string> repairs;
  if (code == EDFLIB_FILE_CONTAINS_FORMAT_ERRORS && !check.patches.empty()) {
    LUMAMBA_CHECK_INPUT(options.repair_header,
                        "{}: EDFlib refuses the file; its defects would be repaired with "
                        "EdfOpenOptions::repair_header: {}",
                        path, joined(check.repairable, "; "));
    const RepairedCopy copy(path, check.patches);
    code = try_open(copy.path());
    if (code == 0) {
      repairs = check.repairable;
      log::warn("{}: header repaired for reading ({} fix(es)): {}", path, repairs.size(), joined(repairs, "; "));
    } else if (code == EDFLIB_FILE_CONTAINS_FORMAT_ERRORS) {
      throw InputError(fmt::format("{}: {} (after repairing: {})", path, detail::diagnose_edf_records(path, check),
                                   joined(check.repairable, "; ")));
    }
  }
  if (code == EDFLIB_FILE_CONTAINS_FORMAT_ERRORS) {
    throw InputError(fmt::format("{}: {}", path, detail::diagnose_edf_records(path, check)));
  }
  LUMAMBA_CHECK_INPUT(code == 0, "{}: {}", path, edflib_error_text(code));

  RecordingHeader h;
  h.path = path;
  h.format = static_cast<RecordingFormat>(hdr->filetype);
  h.start_datetime = start_datetime_iso(*hdr);
  h.record_duration_s = static_cast<double>(hdr->datarecord_duration) / kEdfTimeUnitsPerSecond;
  h.n_records = hdr->datarecords_in_file;
  h.duration_s = h.record_duration_s * static_cast<double>(h.n_records);
  h.patient = check.patient;
  h.recording = check.recording;
  h.n_annotation_signals = static_cast<int32_t>(check.annotation_spans.size());
  h.repairs = std::move(repairs);

  std::vector<std::string> unknown_unit_eeg;
  for (int i = 0; i < hdr->edfsignals; ++i) {
    const edf_param_struct& p = hdr->signalparam[i];
    SignalInfo s;
    s.label = trim_edf_text(p.label);
    s.electrode = tuh_electrode_name(s.label);
    s.is_eeg = is_eeg_electrode_name(s.electrode);
    s.physical_dimension = trim_edf_text(p.physdimension);
    s.transducer = trim_edf_text(p.transducer);
    s.prefilter = trim_edf_text(p.prefilter);
    s.physical_min = p.phys_min;
    s.physical_max = p.phys_max;
    s.digital_min = p.dig_min;
    s.digital_max = p.dig_max;
    s.n_samples_per_record = p.smp_in_datarecord;
    s.n_samples = p.smp_in_file;
    s.sfreq_hz = hdr->datarecord_duration > 0 ? static_cast<double>(p.smp_in_datarecord) * kEdfTimeUnitsPerSecond /
                                                    static_cast<double>(hdr->datarecord_duration)
                                              : 0.0;
    // EDFlib computes gain = (pmax - pmin) / (dmax - dmin); it must be a usable number.
    const double gain = (s.physical_max - s.physical_min) / (static_cast<double>(s.digital_max) - s.digital_min);
    LUMAMBA_CHECK_INPUT(std::isfinite(gain) && gain != 0,
                        "{}: signal {} '{}': physical range [{}, {}] over digital range [{}, {}] "
                        "gives an unusable scale factor {}",
                        path, i, s.label, s.physical_min, s.physical_max, s.digital_min, s.digital_max, gain);
    if (const auto factor = microvolts_per_unit(s.physical_dimension)) {
      s.unit_is_voltage = true;
      s.uv_per_unit = *factor;
      // "1e307" V is a valid header number but no µV double; catch it here, not as inf samples.
      LUMAMBA_CHECK_INPUT(std::isfinite(std::max(std::abs(s.physical_min), std::abs(s.physical_max)) * s.uv_per_unit),
                          "{}: signal {} '{}': physical range [{}, {}] {} overflows in µV", path, i, s.label,
                          s.physical_min, s.physical_max, s.physical_dimension);
    } else if (s.is_eeg) {
      unknown_unit_eeg.push_back(fmt::format("{} ('{}')", s.label, s.physical_dimension));
    }
    h.signals.push_back(std::move(s));
  }
  if (!unknown_unit_eeg.empty()) {
    LUMAMBA_CHECK_INPUT(options.unknown_eeg_unit != UnknownUnitPolicy::kError,
                        "{}: EEG channel(s) whose physical dimension is not uV/mV/V/nV: {}", path,
                        joined(unknown_unit_eeg, ", "));
    log::warn(
        "{}: EEG channel(s) whose physical dimension is not uV/mV/V/nV, values kept as µV: "
        "{}",
        path, joined(unknown_unit_eeg, ", "));
  }

  edf_annotation_struct a;
  for (long long k = 0; k < hdr->annotations_in_file; ++k) {
    LUMAMBA_CHECK_INPUT(edf_get_annotation(handle->id, static_cast<int>(k), &a) == 0,
                        "{}: EDFlib cannot return annotation {}", path, k);
    Annotation ann;
    ann.onset_s = static_cast<double>(a.onset) / kEdfTimeUnitsPerSecond;
    ann.duration_s =
        a.duration[0] == '\0' ? kNoDuration : static_cast<double>(a.duration_l) / kEdfTimeUnitsPerSecond;
    ann.text = a.annotation;
    h.annotations.push_back(std::move(ann));
  }
  return EdfReader(std::move(handle), std::move(h));
}

int64_t EdfReader::find_signal(std::string_view name) const {
  const std::string wanted = canonical_channel(name);
  for (std::size_t i = 0; i < header_.signals.size(); ++i) {
    if (canonical_channel(header_.signals[i].label) == wanted) return static_cast<int64_t>(i);
  }
  return -1;
}

std::vector<double> EdfReader::read_signal_uv(int64_t signal_idx) {
  LUMAMBA_CHECK_INPUT(signal_idx >= 0 && signal_idx < n_signals(), "{}: signal index {} out of range [0, {})",
                      header_.path, signal_idx, n_signals());
  return read_signal_uv(signal_idx, 0, header_.signals[static_cast<std::size_t>(signal_idx)].n_samples);
}

std::vector<double> EdfReader::read_signal_uv(int64_t signal_idx, int64_t start_sample, int64_t n_samples) {
  LUMAMBA_CHECK_INPUT(signal_idx >= 0 && signal_idx < n_signals(), "{}: signal index {} out of range [0, {})",
                      header_.path, signal_idx, n_signals());
  const SignalInfo& s = header_.signals[static_cast<std::size_t>(signal_idx)];
  LUMAMBA_CHECK_INPUT(
      start_sample >= 0 && n_samples >= 0 && start_sample <= s.n_samples && n_samples <= s.n_samples - start_sample,
      "{}: samples [{}, {}+{}) requested from signal {} '{}', which has {}", header_.path, start_sample, start_sample,
      n_samples, signal_idx, s.label, s.n_samples);
  std::vector<double> out(static_cast<std::size_t>(n_samples));
  if (n_samples == 0) return out;
  const int sig = static_cast<int>(signal_idx);
  LUMAMBA_CHECK_INPUT(edfseek(handle_->id, sig, start_sample, EDFSEEK_SET) == start_sample,
                      "{}: cannot seek to sample {} of signal '{}'", header_.path, start_sample, s.label);
  for (int64_t done = 0; done < n_samples;) {
    const int chunk = static_cast<int>(std::min<int64_t>(n_samples - done, kReadChunkSamples));
    const int got = edfread_physical_samples(handle_->id, sig, chunk, out.data() + done);
    LUMAMBA_CHECK_INPUT(got == chunk,
                        "{}: read error in signal {} '{}' at sample {} (got {} of {} samples; "
                        "was the file truncated or changed while open?)",
                        header_.path, signal_idx, s.label, start_sample + done, got, chunk);
    done += got;
  }
  if (s.uv_per_unit != 1.0) {
    for (double& v : out) v *= s.uv_per_unit;
  }
  return out;
}

EdfRecording read_edf(const std::string& path, const std::vector<std::string>& channels,
                      const EdfOpenOptions& options) {
  EdfReader reader = EdfReader::open(path, options);
  EdfRecording rec;
  if (channels.empty()) {
    for (int64_t i = 0; i < reader.n_signals(); ++i) rec.signal_indices.push_back(i);
  } else {
    std::vector<std::string> missing;
    for (const std::string& name : channels) {
      const std::string wanted = canonical_channel(name);
      std::vector<int64_t> matches;
      for (int64_t i = 0; i < reader.n_signals(); ++i) {
        if (canonical_channel(reader.header().signals[static_cast<std::size_t>(i)].label) == wanted) {
          matches.push_back(i);
        }
      }
      if (matches.empty()) {
        missing.push_back(name);
        continue;
      }
      if (matches.size() > 1) {
        log::warn("{}: channel '{}' matches {} signals; using the first (signal {})", path, name, matches.size(),
                  matches.front());
      }
      rec.signal_indices.push_back(matches.front());
    }
    if (!missing.empty()) {
      std::vector<std::string> labels;
      for (const auto& s : reader.header().signals) labels.push_back(s.label);
      throw InputError(fmt::format("{}: channel(s) not in the file: {}; the file has: {}", path, joined(missing, ", "),
                                   joined(labels, ", ")));
    }
  }
  for (int64_t i : rec.signal_indices) rec.data_uv.push_back(reader.read_signal_uv(i));
  rec.header = reader.header();
  return rec;
}

}  // namespace lumamba::io
