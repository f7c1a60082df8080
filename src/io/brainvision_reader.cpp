// BrainVision reading (see lumamba/io/brainvision_reader.h). The rules follow MNE 1.3's
// mne/io/brainvision/brainvision.py (_aux_hdr_info, _get_hdr_info, _read_mrk); the format is
// small enough (INI text + raw little-endian samples) that no library is needed for it.
#include "lumamba/io/brainvision_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "text_fields.h"

namespace lumamba::io {
namespace {

namespace fs = std::filesystem;

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    if (c < 0x80) extra = 0;
    else if ((c >> 5) == 0x6) extra = 1;
    else if ((c >> 4) == 0xE) extra = 2;
    else if ((c >> 3) == 0x1E) extra = 3;
    else return false;
    if (i + extra >= s.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += extra + 1;
  }
  return true;
}

// Windows-1252/Latin-1 text to UTF-8 (BrainVision's "Codepage=ANSI", or a file that is not valid
// UTF-8, as MNE falls back to Latin-1). Bytes 0x80-0x9F are taken as Latin-1 controls; the
// characters that matter in headers (µ 0xB5, ° 0xB0) are the same in both.
std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The header/marker text as UTF-8 lines, after its version line was checked.
std::vector<std::string> decoded_lines(const std::string& path, const std::string& bytes, const char* kind) {
  const auto first_end = bytes.find('\n');
  const std::string first(text::trim(bytes.substr(0, first_end)));
  // MNE's _check_bv_version: "Brain Vision" / "BrainVision", optional "Core" / "V-Amp", optional
  // "Exchange", "Header"/"Marker" "File", optional comma, "Version 1.0" or "2.0".
  const auto l = lower(first);
  const bool brainvision = (l.rfind("brain vision", 0) == 0 || l.rfind("brainvision", 0) == 0) &&
                           l.find(" file") != std::string::npos &&
                           (l.find("version 1.0") != std::string::npos || l.find("version 2.0") != std::string::npos);
  LUMAMBA_CHECK_INPUT(brainvision, "{}: not a BrainVision {} file (first line '{}'; expected e.g. 'Brain Vision Data "
                      "Exchange {} File Version 1.0')", path, kind, first, kind == std::string("header") ? "Header" : "Marker");
  std::string rest = first_end == std::string::npos ? std::string() : bytes.substr(first_end + 1);
  const bool ansi = lower(rest).find("codepage=ansi") != std::string::npos;
  if (ansi || !is_valid_utf8(rest)) rest = latin1_to_utf8(rest);
  std::vector<std::string> out;
  for (const auto line : text::lines(rest)) out.emplace_back(line);
  return out;
}

// INI sections before "[Comment]": section -> (lower-case key -> value); ';' lines are comments.
using Ini = std::map<std::string, std::map<std::string, std::string>>;

Ini parse_ini(const std::vector<std::string>& lines) {
  Ini ini;
  std::string section;
  for (const auto& raw : lines) {
    const auto line = text::trim(raw);
    if (line.empty() || line.front() == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = std::string(line.substr(1, line.size() - 2));
      if (section == "Comment") break;  // free text follows
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    ini[section][lower(text::trim(line.substr(0, eq)))] = std::string(text::trim(line.substr(eq + 1)));
  }
  return ini;
}

std::string unescape_commas(std::string s) {
  for (std::size_t pos; (pos = s.find("\\1")) != std::string::npos;) s.replace(pos, 2, ",");
  return s;
}

// "20200102030405000000" (YYYYMMDDhhmmss + microseconds) -> "2020-01-02T03:04:05"; "" when absent.
std::string iso_datetime(const std::string& stamp) {
  if (stamp.size() < 14 || !std::all_of(stamp.begin(), stamp.begin() + 14, ::isdigit) ||
      stamp.find_first_not_of('0') == std::string::npos) {
    return "";
  }
  return fmt::format("{}-{}-{}T{}:{}:{}", stamp.substr(0, 4), stamp.substr(4, 2), stamp.substr(6, 2),
                     stamp.substr(8, 2), stamp.substr(10, 2), stamp.substr(12, 2));
}

std::vector<Annotation> read_markers(const std::string& path, double sfreq_hz, std::string& start_datetime) {
  const auto lines = decoded_lines(path, read_text_file(path, "the marker file"), "marker");
  std::vector<Annotation> out;
  bool in_markers = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto line = text::trim(lines[i]);
    if (!line.empty() && line.front() == '[') {
      in_markers = lower(line) == "[marker infos]";
      continue;
    }
    if (!in_markers || line.size() < 3 || line.substr(0, 2) != "Mk") continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const auto fields = text::split(line.substr(eq + 1), ',');
    LUMAMBA_CHECK_INPUT(fields.size() >= 4, "{}: line {}: a marker is Type,Description,Position,Size[,Channel[,Date]], "
                        "got '{}'", path, i + 2, line);
    const auto position = text::to_double(fields[2]);
    LUMAMBA_CHECK_INPUT(position && *position >= 1 && std::floor(*position) == *position,
                        "{}: line {}: marker position '{}' is not a sample number (1-based)", path, i + 2, fields[2]);
    const std::string type = unescape_commas(std::string(fields[0]));
    const std::string description = unescape_commas(std::string(fields[1]));
    const std::string size(text::trim(fields[3]));
    const bool size_is_count = !size.empty() && std::all_of(size.begin(), size.end(), ::isdigit);
    if (type == "New Segment" && fields.size() >= 6 && start_datetime.empty()) {
      start_datetime = iso_datetime(std::string(text::trim(fields[5])));
    }
    out.push_back({(*position - 1) / sfreq_hz, size_is_count ? std::stod(size) / sfreq_hz : 0.0,
                   type + "/" + description});
  }
  return out;
}

const std::string& require(const Ini& ini, const std::string& section, const std::string& key, const std::string& path) {
  const auto s = ini.find(section);
  LUMAMBA_CHECK_INPUT(s != ini.end(), "{}: no [{}] section", path, section);
  const auto k = s->second.find(lower(key));
  LUMAMBA_CHECK_INPUT(k != s->second.end() && !k->second.empty(), "{}: [{}] has no {}", path, section, key);
  return k->second;
}

std::size_t bytes_per_sample(BrainVisionReader::SampleType t) { return t == BrainVisionReader::SampleType::kInt16 ? 2 : 4; }

// Little-endian sample `k` of `bytes` as a double (the formats are little-endian by definition).
double sample_at(const unsigned char* p, BrainVisionReader::SampleType t) {
  switch (t) {
    case BrainVisionReader::SampleType::kInt16:
      return static_cast<double>(static_cast<int16_t>(static_cast<uint16_t>(p[0] | (p[1] << 8))));
    case BrainVisionReader::SampleType::kInt32:
      return static_cast<double>(static_cast<int32_t>(static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
                                                      (static_cast<uint32_t>(p[2]) << 16) |
                                                      (static_cast<uint32_t>(p[3]) << 24)));
    case BrainVisionReader::SampleType::kFloat32: {
      const uint32_t u = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
                         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
      float f = 0;
      std::memcpy(&f, &u, sizeof f);
      return static_cast<double>(f);
    }
  }
  return 0;
}

}  // namespace

BrainVisionReader BrainVisionReader::open(const std::string& vhdr_path) {
  const auto lines = decoded_lines(vhdr_path, read_text_file(vhdr_path, "the header file"), "header");
  const Ini ini = parse_ini(lines);
  // NeurOne exports spell the section "Common infos" (MNE's workaround).
  const std::string common = ini.count("Common Infos") ? "Common Infos" : "Common infos";
  BrainVisionReader r;
  RecordingHeader& h = r.header_;
  h.path = vhdr_path;
  h.format = RecordingFormat::kBrainVision;

  const auto& data_format = require(ini, common, "DataFormat", vhdr_path);
  LUMAMBA_CHECK_INPUT(data_format == "BINARY", "{}: DataFormat={} is not read (lumamba reads BINARY data files)",
                      vhdr_path, data_format);
  const auto orientation = ini.at(common).count("dataorientation") ? ini.at(common).at("dataorientation") : "MULTIPLEXED";
  LUMAMBA_CHECK_INPUT(orientation == "MULTIPLEXED" || orientation == "VECTORIZED",
                      "{}: DataOrientation={} is neither MULTIPLEXED nor VECTORIZED", vhdr_path, orientation);
  r.multiplexed_ = orientation == "MULTIPLEXED";
  if (ini.at(common).count("datatype")) {
    LUMAMBA_CHECK_INPUT(ini.at(common).at("datatype") == "TIMEDOMAIN", "{}: DataType={} is not read (TIMEDOMAIN only)",
                        vhdr_path, ini.at(common).at("datatype"));
  }
  const auto& binary_format = require(ini, "Binary Infos", "BinaryFormat", vhdr_path);
  if (binary_format == "INT_16") r.sample_type_ = SampleType::kInt16;
  else if (binary_format == "INT_32") r.sample_type_ = SampleType::kInt32;
  else if (binary_format == "IEEE_FLOAT_32") r.sample_type_ = SampleType::kFloat32;
  else throw InputError(fmt::format("{}: BinaryFormat={} is not read (INT_16, INT_32 or IEEE_FLOAT_32)", vhdr_path, binary_format));

  const auto n_channels = text::to_double(require(ini, common, "NumberOfChannels", vhdr_path));
  LUMAMBA_CHECK_INPUT(n_channels && *n_channels >= 1 && *n_channels <= 65536 && std::floor(*n_channels) == *n_channels,
                      "{}: NumberOfChannels={} is not a channel count", vhdr_path, require(ini, common, "NumberOfChannels", vhdr_path));
  const auto interval_us = text::to_double(require(ini, common, "SamplingInterval", vhdr_path));
  LUMAMBA_CHECK_INPUT(interval_us && *interval_us > 0 && std::isfinite(*interval_us),
                      "{}: SamplingInterval={} is not a positive number of microseconds", vhdr_path,
                      require(ini, common, "SamplingInterval", vhdr_path));
  const double sfreq_hz = 1e6 / *interval_us;
  const auto n = static_cast<std::size_t>(*n_channels);

  // Data file: named in the header, relative to the header's folder.
  const fs::path folder = fs::path(vhdr_path).parent_path();
  r.data_path_ = (folder / require(ini, common, "DataFile", vhdr_path)).string();
  std::error_code ec;
  const auto data_bytes = fs::file_size(r.data_path_, ec);
  LUMAMBA_CHECK_INPUT(!ec, "{}: data file '{}' (DataFile) cannot be read: {}", vhdr_path, r.data_path_, ec.message());
  const std::size_t frame = n * bytes_per_sample(r.sample_type_);
  r.n_samples_ = static_cast<int64_t>(data_bytes / frame);
  LUMAMBA_CHECK_INPUT(data_bytes % frame == 0 || r.multiplexed_,
                      "{}: data file '{}' has {} bytes, not a whole number of {} channels x {}-byte samples "
                      "(truncated?)", vhdr_path, r.data_path_, data_bytes, n, bytes_per_sample(r.sample_type_));
  if (data_bytes % frame != 0) {
    log::warn("{}: data file '{}' ends with {} bytes of an incomplete sample frame (truncated?); they are ignored, "
              "as MNE does", vhdr_path, r.data_path_, data_bytes % frame);
  }
  LUMAMBA_CHECK_INPUT(r.n_samples_ > 0, "{}: data file '{}' holds no samples", vhdr_path, r.data_path_);

  // Channels: Ch<k>=<Name>,<Reference>,<Resolution>,<Unit>; unit µV and resolution 1 by default.
  const auto channels = ini.find("Channel Infos");
  LUMAMBA_CHECK_INPUT(channels != ini.end(), "{}: no [Channel Infos] section", vhdr_path);
  h.signals.resize(n);
  r.resolution_.assign(n, 1.0);
  std::vector<bool> seen(n, false);
  for (const auto& [key, value] : channels->second) {
    LUMAMBA_CHECK_INPUT(key.size() > 2 && key.substr(0, 2) == "ch" &&
                        std::all_of(key.begin() + 2, key.end(), ::isdigit),
                        "{}: [Channel Infos] key '{}' is not Ch<number>", vhdr_path, key);
    const std::size_t k = std::stoul(key.substr(2));
    LUMAMBA_CHECK_INPUT(k >= 1 && k <= n, "{}: [Channel Infos] Ch{} is outside NumberOfChannels={}", vhdr_path, k, n);
    const auto props = text::split(value, ',');
    std::string unit = props.size() >= 4 ? std::string(text::trim(props[3])) : "";
    if (unit.empty()) unit = "\xc2\xb5V";  // µV
    const std::string resolution = props.size() >= 3 ? std::string(text::trim(props[2])) : "";
    double res = 1.0;
    if (!resolution.empty()) {
      const auto v = text::to_double(resolution);
      LUMAMBA_CHECK_INPUT(v && std::isfinite(*v), "{}: Ch{}: resolution '{}' is not a number", vhdr_path, k, resolution);
      res = *v;
    }
    SignalInfo& s = h.signals[k - 1];
    s.label = unescape_commas(std::string(text::trim(props[0])));
    s.electrode = tuh_electrode_name(s.label);
    s.is_eeg = is_eeg_electrode_name(s.electrode);
    s.physical_dimension = unit;
    const auto uv = microvolts_per_unit(unit);
    s.unit_is_voltage = uv.has_value();
    s.uv_per_unit = uv.value_or(1.0);
    r.resolution_[k - 1] = res;
    // Clipping limits of the stored values (none for float data).
    if (r.sample_type_ == SampleType::kInt16 || r.sample_type_ == SampleType::kInt32) {
      const bool i16 = r.sample_type_ == SampleType::kInt16;
      s.digital_min = i16 ? std::numeric_limits<int16_t>::min() : std::numeric_limits<int32_t>::min();
      s.digital_max = i16 ? std::numeric_limits<int16_t>::max() : std::numeric_limits<int32_t>::max();
      s.physical_min = std::min(s.digital_min * res, s.digital_max * res);
      s.physical_max = std::max(s.digital_min * res, s.digital_max * res);
    } else {
      s.physical_min = -std::numeric_limits<double>::infinity();
      s.physical_max = std::numeric_limits<double>::infinity();
    }
    s.sfreq_hz = sfreq_hz;
    s.n_samples = r.n_samples_;
    s.n_samples_per_record = static_cast<int32_t>(std::min<int64_t>(r.n_samples_, std::numeric_limits<int32_t>::max()));
    seen[k - 1] = true;
  }
  for (std::size_t k = 0; k < n; ++k) {
    LUMAMBA_CHECK_INPUT(seen[k], "{}: [Channel Infos] has no Ch{} (NumberOfChannels={})", vhdr_path, k + 1, n);
  }
  // The recording's own positions, as MNE reads them: Ch<k>=radius (mm; 1 = idealised sphere of MNE's
  // 95 mm head), theta, phi (degrees) in the head frame; a channel at the origin has none.
  if (const auto coords = ini.find("Coordinates"); coords != ini.end()) {
    constexpr double kPi = 3.14159265358979323846;
    for (const auto& [key, value] : coords->second) {
      const std::size_t k = key.size() > 2 && key.substr(0, 2) == "ch" &&
                                    std::all_of(key.begin() + 2, key.end(), ::isdigit)
                                ? std::stoul(key.substr(2))
                                : 0;
      LUMAMBA_CHECK_INPUT(k >= 1 && k <= n, "{}: [Coordinates] key '{}' is not Ch1..Ch{}", vhdr_path, key, n);
      const auto parts = text::split(value, ',');
      std::optional<double> v[3];
      for (std::size_t i = 0; i < 3 && i < parts.size(); ++i) v[i] = text::to_double(parts[i]);
      LUMAMBA_CHECK_INPUT(parts.size() == 3 && v[0] && v[1] && v[2], "{}: [Coordinates] Ch{}={} is not radius,theta,phi",
                          vhdr_path, k, value);
      const double radius_mm = *v[0] == 1 ? 95.0 : *v[0];
      const double theta = *v[1] * kPi / 180, phi = *v[2] * kPi / 180;
      const Position3 p{radius_mm * std::sin(theta) * std::cos(phi) / 1e3, radius_mm * std::sin(theta) * std::sin(phi) / 1e3,
                        radius_mm * std::cos(theta) / 1e3};
      if (p.x_m != 0 || p.y_m != 0 || p.z_m != 0) h.signals[k - 1].position = p;
    }
  }
  h.n_records = 1;
  h.record_duration_s = static_cast<double>(r.n_samples_) / sfreq_hz;
  h.duration_s = h.record_duration_s;

  const auto marker = ini.at(common).find("markerfile");
  if (marker != ini.at(common).end() && !marker->second.empty()) {
    h.annotations = read_markers((folder / marker->second).string(), sfreq_hz, h.start_datetime);
  }
  return r;
}

std::vector<double> BrainVisionReader::read_signal_uv(int64_t signal_idx) {
  LUMAMBA_CHECK_INPUT(signal_idx >= 0 && signal_idx < n_signals(), "{}: signal index {} out of range [0, {})",
                      header_.path, signal_idx, n_signals());
  const auto c = static_cast<std::size_t>(signal_idx);
  const std::size_t width = bytes_per_sample(sample_type_);
  const std::size_t n_channels = header_.signals.size();
  const auto n = static_cast<std::size_t>(n_samples_);
  std::ifstream in(data_path_, std::ios::binary);
  LUMAMBA_CHECK_INPUT(in.good(), "{}: cannot open the data file '{}'", header_.path, data_path_);
  std::vector<double> out(n);
  const double scale = resolution_[c] * header_.signals[c].uv_per_unit;
  if (!multiplexed_) {
    // VECTORIZED: each channel's samples are one block.
    std::vector<unsigned char> block(n * width);
    in.seekg(static_cast<std::streamoff>(c * n * width));
    in.read(reinterpret_cast<char*>(block.data()), static_cast<std::streamsize>(block.size()));
    LUMAMBA_CHECK_INPUT(in.gcount() == static_cast<std::streamsize>(block.size()), "{}: data file '{}' is shorter "
                        "than its header says", header_.path, data_path_);
    for (std::size_t i = 0; i < n; ++i) out[i] = sample_at(block.data() + i * width, sample_type_) * scale;
    return out;
  }
  // MULTIPLEXED: sample frames of all channels; read in chunks of frames and keep channel c.
  const std::size_t frame = n_channels * width;
  const std::size_t frames_per_chunk = std::max<std::size_t>(1, (std::size_t{4} << 20) / frame);
  std::vector<unsigned char> chunk(frames_per_chunk * frame);
  for (std::size_t start = 0; start < n; start += frames_per_chunk) {
    const std::size_t count = std::min(frames_per_chunk, n - start);
    in.read(reinterpret_cast<char*>(chunk.data()), static_cast<std::streamsize>(count * frame));
    LUMAMBA_CHECK_INPUT(in.gcount() == static_cast<std::streamsize>(count * frame), "{}: data file '{}' is shorter "
                        "than its header says", header_.path, data_path_);
    for (std::size_t i = 0; i < count; ++i) {
      out[start + i] = sample_at(chunk.data() + i * frame + c * width, sample_type_) * scale;
    }
  }
  return out;
}

}  // namespace lumamba::io
