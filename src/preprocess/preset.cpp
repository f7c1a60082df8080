// Preprocessing presets (see lumamba/preprocess/preset.h). The shipped YAML files are embedded at
// build time (cmake/embed_file.cmake), so the binary needs no share/ folder.
#include "lumamba/preprocess/preset.h"

#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/key_value.h"

namespace lumamba::tables {
extern const char kPresetTuab[], kPresetTuar[], kPresetTusl[], kPresetTueg[], kPresetGeneric[], kPresetEvents[];
}

namespace lumamba::preprocess {
namespace {

const std::map<std::string, const char*>& builtin_texts() {
  static const std::map<std::string, const char*> kTexts = {
      {"tuab", tables::kPresetTuab},       {"tuar", tables::kPresetTuar}, {"tusl", tables::kPresetTusl},
      {"tueg", tables::kPresetTueg},       {"generic", tables::kPresetGeneric},
      {"events", tables::kPresetEvents}};
  return kTexts;
}

template <typename T>
T scalar(const YAML::Node& node, const std::string& key, const std::string& source) {
  try {
    return node.as<T>();
  } catch (const std::exception&) {
    throw InputError(fmt::format("{}: preset key '{}' has an invalid value '{}'", source, key,
                                 node.IsScalar() ? node.Scalar() : std::string("(not a scalar)")));
  }
}

std::vector<std::string> string_list(const YAML::Node& node, const std::string& key, const std::string& source) {
  LUMAMBA_CHECK_INPUT(node.IsSequence() || node.IsNull(), "{}: preset key '{}' must be a list", source, key);
  std::vector<std::string> out;
  for (const auto& item : node) out.push_back(scalar<std::string>(item, key, source));
  return out;
}

// Applies one top-level key (or "event_labels.<text>"); false when unknown.
bool apply_key(PreprocessPreset& p, const std::string& key, const YAML::Node& v, const std::string& src) {
  if (key == "name") p.name = scalar<std::string>(v, key, src);
  else if (key == "description") p.description = scalar<std::string>(v, key, src);
  else if (key == "steps") p.steps = string_list(v, key, src);
  else if (key == "montage") p.montage = scalar<std::string>(v, key, src);
  else if (key == "tcp_ears") p.tcp_ears = scalar<std::string>(v, key, src);
  else if (key == "positions") p.positions = scalar<std::string>(v, key, src);
  else if (key == "recording_positions") p.recording_positions = scalar<std::string>(v, key, src);
  else if (key == "missing") p.missing = scalar<std::string>(v, key, src);
  else if (key == "derivations_file") p.derivations_file = scalar<std::string>(v, key, src);
  else if (key == "derivations") {
    // A list of "A-B" pairs, or (a scalar) the path of a pairs file.
    if (v.IsScalar()) {
      p.derivations_file = scalar<std::string>(v, key, src);
      p.derivations.clear();
    } else {
      p.derivations = string_list(v, key, src);
    }
  } else if (key == "reference") {
    p.reference = v.IsSequence() ? fmt::format("{}", fmt::join(string_list(v, key, src), ","))
                                 : scalar<std::string>(v, key, src);
  } else if (key == "channel_aliases") {
    LUMAMBA_CHECK_INPUT(v.IsMap() || v.IsNull(), "{}: preset key 'channel_aliases' must be a mapping", src);
    p.channel_aliases.clear();
    for (const auto& kv : v) p.channel_aliases[kv.first.as<std::string>()] = scalar<std::string>(kv.second, key, src);
  } else if (key.rfind("channel_aliases.", 0) == 0) {
    p.channel_aliases[key.substr(std::string("channel_aliases.").size())] = scalar<std::string>(v, key, src);
  }
  else if (key == "channels") p.channels = string_list(v, key, src);
  else if (key == "l_freq_hz") p.l_freq_hz = scalar<double>(v, key, src);
  else if (key == "h_freq_hz") p.h_freq_hz = scalar<double>(v, key, src);
  else if (key == "notch_hz") p.notch_hz = scalar<double>(v, key, src);
  else if (key == "resample_hz") p.resample_hz = scalar<double>(v, key, src);
  else if (key == "window_s") p.window_s = scalar<double>(v, key, src);
  else if (key == "window_hop_s") p.window_hop_s = scalar<double>(v, key, src);
  else if (key == "low_pass_above_nyquist") p.low_pass_above_nyquist = scalar<std::string>(v, key, src);
  else if (key == "subject_pattern") p.subject_pattern = scalar<std::string>(v, key, src);
  else if (key == "labels") p.labels = scalar<std::string>(v, key, src);
  else if (key == "tuar_mode") p.tuar_mode = scalar<std::string>(v, key, src);
  else if (key == "storage_dtype") p.storage_dtype = scalar<std::string>(v, key, src);
  else if (key == "compression") p.compression = scalar<int64_t>(v, key, src);
  else if (key == "event_labels") {
    LUMAMBA_CHECK_INPUT(v.IsMap() || v.IsNull(), "{}: preset key 'event_labels' must be a mapping", src);
    p.event_labels.clear();
    for (const auto& kv : v) p.event_labels[kv.first.as<std::string>()] = scalar<int64_t>(kv.second, key, src);
  } else if (key.rfind("event_labels.", 0) == 0) {
    p.event_labels[key.substr(std::string("event_labels.").size())] = scalar<int64_t>(v, key, src);
  } else if (key == "participant_labels") {
    LUMAMBA_CHECK_INPUT(v.IsMap() || v.IsNull(), "{}: preset key 'participant_labels' must be a mapping", src);
    p.participant_labels.clear();
    for (const auto& kv : v) p.participant_labels[kv.first.as<std::string>()] = scalar<int64_t>(kv.second, key, src);
  } else if (key.rfind("participant_labels.", 0) == 0) {
    p.participant_labels[key.substr(std::string("participant_labels.").size())] = scalar<int64_t>(v, key, src);
  } else {
    return false;
  }
  return true;
}

}  // namespace

int64_t PreprocessPreset::window_samples() const { return static_cast<int64_t>(std::llround(window_s * resample_hz)); }
int64_t PreprocessPreset::hop_samples() const {
  return window_hop_s > 0 ? static_cast<int64_t>(std::llround(window_hop_s * resample_hz)) : window_samples();
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& kv : builtin_texts()) names.push_back(kv.first);
  return names;
}

PreprocessPreset builtin_preset(const std::string& name) {
  check_option("preset", name, preset_names());
  return preset_from_text(builtin_texts().at(name), "configs/preprocess/" + name + ".yaml");
}

PreprocessPreset preset_from_name_or_file(const std::string& name_or_path) {
  if (std::filesystem::is_regular_file(name_or_path)) {
    return preset_from_text(read_text_file(name_or_path, "preset file"), name_or_path);
  }
  return builtin_preset(name_or_path);
}

PreprocessPreset preset_from_text(const std::string& text, const std::string& source) {
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: cannot parse preset: {}", source, e.what()));
  }
  LUMAMBA_CHECK_INPUT(doc.IsMap(), "{}: a preset must be a mapping of keys to values", source);
  PreprocessPreset preset;
  std::vector<std::string> unknown;
  for (const auto& kv : doc) {
    const auto key = kv.first.as<std::string>();
    if (!apply_key(preset, key, kv.second, source)) unknown.push_back(key);
  }
  LUMAMBA_CHECK_INPUT(unknown.empty(), "{}: unknown preset key(s): {}", source, fmt::join(unknown, ", "));
  validate(preset);
  return preset;
}

void apply_preset_overrides(PreprocessPreset& preset, const std::vector<std::string>& key_values) {
  for (const auto& kv : key_values) {
    const auto [key, text] = split_key_value(kv);
    YAML::Node value;
    try {
      value = YAML::Load(text);
    } catch (const std::exception& e) {
      throw InputError(fmt::format("override '{}': {}", kv, e.what()));
    }
    LUMAMBA_CHECK_INPUT(apply_key(preset, key, value, "override"), "unknown preset key in override '{}'",
                        kv);
  }
  validate(preset);
}

void validate(const PreprocessPreset& p) {
  const std::vector<std::string> kSteps = {"pick", "montage", "band_pass", "notch", "resample", "window"};
  LUMAMBA_CHECK_INPUT(p.steps == kSteps, "invalid value for 'steps': got [{}]; the supported order is [{}]",
                      fmt::join(p.steps, ", "), fmt::join(kSteps, ", "));
  check_option("montage", p.montage, {"tcp", "unipolar", "all_eeg", "bipolar"});
  check_option("missing", p.missing, {"error", "drop"});
  check_option("recording_positions", p.recording_positions, {"use", "ignore"});
  LUMAMBA_CHECK_INPUT(!p.positions.empty(), "invalid value for 'positions': empty (a built-in name such as standard_1005, "
                      "or a file)");
  LUMAMBA_CHECK_INPUT(!p.reference.empty(), "invalid value for 'reference': empty (none, average, linked_ears, "
                      "linked_mastoids or electrode names)");
  LUMAMBA_CHECK_INPUT(p.reference == "none" || p.montage == "unipolar" || p.montage == "all_eeg",
                      "reference: {} applies to unipolar channels; montage {} is bipolar (a reference cancels in "
                      "ANODE-CATHODE)", p.reference, p.montage);
  LUMAMBA_CHECK_INPUT(p.montage != "bipolar" || (p.derivations.empty() != p.derivations_file.empty()),
                      "montage: bipolar needs either 'derivations' (a list such as [FP1-F7, F7-T3]) or a pairs file "
                      "(derivations=PATH), not both");
  check_option("tcp_ears", p.tcp_ears, {"auto", "true", "false"});
  if (p.labels.rfind("participants:", 0) != 0) {
    check_option("labels", p.labels, {"tuab_directory", "tusl_csv", "tuar_csv", "manifest", "events", "none",
                                      "participants:COLUMN"});
  }
  LUMAMBA_CHECK_INPUT(p.labels != "participants:", "labels: participants: needs a participants.tsv column "
                      "(labels=participants:group)");
  check_option("tuar_mode", p.tuar_mode, {"binary", "multi_binary", "multi_label"});
  check_option("storage_dtype", p.storage_dtype, {"float32", "float16"});
  check_range("resample_hz", p.resample_hz, 1, 1e5);
  check_range("compression", static_cast<double>(p.compression), 0, 9);
  check_range("window_s", p.window_s, 1.0 / p.resample_hz, 1e6);
  if (p.window_hop_s != 0) check_range("window_hop_s", p.window_hop_s, 1.0 / p.resample_hz, 1e6);
  check_option("low_pass_above_nyquist", p.low_pass_above_nyquist, {"cap", "fail"});
  if (!p.subject_pattern.empty()) {
    try {
      const std::regex re(p.subject_pattern);
      (void)re;
    } catch (const std::regex_error& e) {
      throw InputError(fmt::format("invalid value for 'subject_pattern': '{}' is not a regular expression ({})",
                                   p.subject_pattern, e.what()));
    }
  }
  if (p.l_freq_hz > 0 && p.h_freq_hz > 0) {
    LUMAMBA_CHECK_INPUT(p.l_freq_hz < p.h_freq_hz, "invalid band-pass: l_freq_hz {} >= h_freq_hz {}", p.l_freq_hz,
                        p.h_freq_hz);
  }
  LUMAMBA_CHECK_INPUT(p.montage != "unipolar" || !p.channels.empty(),
                      "a unipolar preset needs a 'channels' list (e.g. channels=[FP1,FP2,C3,C4])");
  LUMAMBA_CHECK_INPUT(p.labels != "events" || !p.event_labels.empty(),
                      "labels: events needs an 'event_labels' mapping (e.g. event_labels={{T0: 0, T1: 1}})");
}

std::string preset_to_json(const PreprocessPreset& p) {
  nlohmann::json j = {{"name", p.name},
                      {"description", p.description},
                      {"steps", p.steps},
                      {"montage", p.montage},
                      {"tcp_ears", p.tcp_ears},
                      {"channels", p.channels},
                      {"positions", p.positions},
                      {"recording_positions", p.recording_positions},
                      {"channel_aliases", p.channel_aliases},
                      {"reference", p.reference},
                      {"derivations", p.derivations},
                      {"derivations_file", p.derivations_file},
                      {"missing", p.missing},
                      {"l_freq_hz", p.l_freq_hz},
                      {"h_freq_hz", p.h_freq_hz},
                      {"notch_hz", p.notch_hz},
                      {"resample_hz", p.resample_hz},
                      {"window_s", p.window_s},
                      {"window_samples", p.window_samples()},
                      {"window_hop_s", p.window_hop_s},
                      {"low_pass_above_nyquist", p.low_pass_above_nyquist},
                      {"subject_pattern", p.subject_pattern},
                      {"labels", p.labels},
                      {"tuar_mode", p.tuar_mode},
                      {"event_labels", p.event_labels},
                      {"participant_labels", p.participant_labels},
                      {"storage_dtype", p.storage_dtype},
                      {"compression", p.compression}};
  return j.dump();
}

}  // namespace lumamba::preprocess
