// Recording files of any supported format (see lumamba/io/recording.h).
#include "lumamba/io/recording.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "lumamba/core/error.h"
#include "lumamba/io/brainvision_reader.h"
#include "lumamba/io/edf_reader.h"
#include "lumamba/io/eeglab_reader.h"
#include "text_fields.h"

namespace lumamba::io {
namespace {

std::string extension_of(std::string_view path) {
  std::string ext = std::filesystem::path(std::string(path)).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

}  // namespace

std::optional<double> microvolts_per_unit(std::string_view unit) {
  std::string d(text::trim(unit));
  std::transform(d.begin(), d.end(), d.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (d == "uv" || d == "\xc2\xb5v" || d == "\xb5v" || d == "\xce\xbcv") return 1.0;  // u, µ (UTF-8, Latin-1), μ
  if (d == "mv") return 1e3;
  if (d == "v") return 1e6;
  if (d == "nv") return 1e-3;
  return std::nullopt;
}

bool is_recording_file(std::string_view path) {
  const auto ext = extension_of(path);
  return ext == ".edf" || ext == ".bdf" || ext == ".vhdr" || ext == ".set";
}

std::unique_ptr<RecordingReader> open_recording(const std::string& path) {
  const auto ext = extension_of(path);
  if (ext == ".edf" || ext == ".bdf") return std::make_unique<EdfReader>(EdfReader::open(path));
  if (ext == ".vhdr") return std::make_unique<BrainVisionReader>(BrainVisionReader::open(path));
  if (ext == ".set") return std::make_unique<EeglabReader>(EeglabReader::open(path));
  throw InputError(fmt::format("{}: not a recording lumamba reads (extension '{}'; it reads .edf, .bdf, "
                               "BrainVision .vhdr and EEGLAB .set)", path, ext));
}

}  // namespace lumamba::io
