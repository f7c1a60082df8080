// EDF/BDF → HDF5 window dataset (see lumamba/preprocess/dataset_builder.h).
#include "lumamba/preprocess/dataset_builder.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/core/output_lock.h"
#include "lumamba/core/progress.h"
#include "lumamba/io/bids.h"
#include "lumamba/io/channels.h"
#include "lumamba/io/recording.h"
#include "lumamba/io/tuh_csv.h"
#include "lumamba/preprocess/chain.h"
#include "lumamba/preprocess/montage.h"
#include "lumamba/preprocess/windows.h"

namespace lumamba::preprocess {
namespace fs = std::filesystem;
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The subject of a recording from its file name: the preset's subject_pattern (first group, or the
// whole match), else the TUH rule (names start with the patient id: aaaaaool_s001_t000 -> aaaaaool).
// A name the pattern does not match is an error: falling back to the file would put one person's
// runs on both sides of a split.
std::string subject_from_name(const fs::path& p, const PreprocessPreset& preset) {
  const auto stem = p.stem().string();
  if (preset.subject_pattern.empty()) return stem.substr(0, stem.find('_'));
  const std::regex re(preset.subject_pattern);
  std::smatch m;
  LUMAMBA_CHECK_INPUT(std::regex_search(stem, m, re),
                      "{}: subject_pattern '{}' does not match the file name '{}' (give the subject in a manifest "
                      "or change the pattern)",
                      p.string(), preset.subject_pattern, stem);
  return m.size() > 1 && m[1].matched ? m[1].str() : m[0].str();
}

bool path_has_component(const fs::path& p, const std::string& name) {
  for (const auto& part : p) {
    if (lower(part.string()) == name) return true;
  }
  return false;
}

// Deterministic shuffle-and-cut of `keys` into train/val/test by fractions.
std::map<std::string, std::string> split_keys(std::vector<std::string> keys, double val_fraction, double test_fraction,
                                              uint64_t seed) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::mt19937_64 rng(seed);
  std::shuffle(keys.begin(), keys.end(), rng);
  const auto n = keys.size();
  const auto n_val = static_cast<size_t>(std::llround(val_fraction * static_cast<double>(n)));
  const auto n_test = static_cast<size_t>(std::llround(test_fraction * static_cast<double>(n)));
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < n; ++i) out[keys[i]] = i < n_val ? "val" : (i < n_val + n_test ? "test" : "train");
  return out;
}

std::vector<RecordingJob> read_manifest(const fs::path& manifest) {
  std::ifstream in(manifest);
  LUMAMBA_CHECK_INPUT(in.good(), "{}: cannot open manifest", manifest.string());
  std::string line;
  std::vector<RecordingJob> jobs;
  size_t line_no = 0;
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string f;
    while (std::getline(ss, f, ',')) fields.push_back(f);
    if (!line.empty() && line.back() == ',') fields.emplace_back();
    if (header.empty()) {
      header = fields;
      LUMAMBA_CHECK_INPUT(header.size() >= 1 && header[0] == "file",
                          "{}:{}: manifest header must be 'file,label,subject,split', got '{}'", manifest.string(),
                          line_no, line);
      continue;
    }
    LUMAMBA_CHECK_INPUT(fields.size() == header.size(), "{}:{}: {} fields, header has {}", manifest.string(), line_no,
                        fields.size(), header.size());
    RecordingJob job;
    for (size_t i = 0; i < header.size(); ++i) {
      const auto& key = header[i];
      const auto& value = fields[i];
      if (key == "file") {
        job.path = (fs::path(value).is_absolute() ? fs::path(value) : manifest.parent_path() / value).string();
      } else if (key == "label") {
        if (!value.empty()) {
          try {
            job.label = std::stoll(value);
          } catch (...) {
            throw InputError(fmt::format("{}:{}: label '{}' is not an integer", manifest.string(), line_no, value));
          }
        }
      } else if (key == "subject") {
        job.subject = value;
      } else if (key == "split") {
        LUMAMBA_CHECK_INPUT(value.empty() || value == "train" || value == "val" || value == "test",
                            "{}:{}: split '{}' must be train, val, test or empty", manifest.string(), line_no, value);
        job.split = value;
      } else {
        throw InputError(fmt::format("{}: unknown manifest column '{}'", manifest.string(), key));
      }
    }
    jobs.push_back(job);
  }
  LUMAMBA_CHECK_INPUT(!jobs.empty(), "{}: the manifest lists no recordings", manifest.string());
  return jobs;
}

// The annotation file next to an EDF: same stem, .csv (TUAR/TUSL) or .csv_bi.
std::string find_annotation(const fs::path& edf) {
  for (const char* ext : {".csv", ".csv_bi"}) {
    auto p = edf;
    p.replace_extension(ext);
    if (fs::exists(p)) return p.string();
  }
  return "";
}

}  // namespace

namespace {
// labels=participants:COLUMN: each recording's class is its subject's value in participants.tsv,
// through participant_labels, else whole numbers as written, else the sorted values numbered 0, 1, ….
void assign_participant_labels(std::vector<RecordingJob>& jobs, const std::string& root, const PreprocessPreset& preset) {
  const auto column = preset.labels.substr(std::string("participants:").size());
  const auto values = io::read_bids_participants(root, column);
  std::map<std::string, int64_t> codes = preset.participant_labels;
  if (codes.empty()) {
    std::set<std::string> distinct;
    bool all_whole = true;
    auto whole_number = [](const std::string& v) -> std::optional<int64_t> {
      if (v.empty() || v.size() > 9 || !std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
        return std::nullopt;
      }
      return std::stoll(v);
    };
    for (const auto& [id, v] : values) {
      if (v == "n/a" || v.empty()) continue;
      distinct.insert(v);
      all_whole = all_whole && whole_number(v).has_value();
    }
    int64_t next = 0;
    for (const auto& v : distinct) codes[v] = all_whole ? *whole_number(v) : next++;
    if (!all_whole) {
      std::vector<std::string> table;
      for (const auto& [v, code] : codes) table.push_back(fmt::format("{} → {}", v, code));
      log::info("participants.tsv '{}': classes {} (set participant_labels to choose)", column, fmt::join(table, ", "));
    }
  }
  for (auto& job : jobs) {
    const auto it = values.find(job.subject);
    if (it == values.end() || it->second == "n/a" || it->second.empty()) continue;  // no label: the file fails, named
    const auto code = codes.find(it->second);
    LUMAMBA_CHECK_INPUT(code != codes.end(), "{}/participants.tsv: {} has {} '{}', which participant_labels does not "
                        "map", root, job.subject, column, it->second);
    job.label = code->second;
  }
}

// An input that is a file but not an EDF/BDF recording is read as a manifest CSV.
bool is_manifest(const fs::path& input) { return fs::is_regular_file(input) && !io::is_recording_file(input.string()); }
}  // namespace

PreprocessPreset with_label_source_for(const std::string& input, PreprocessPreset preset) {
  if (preset.labels == "manifest" && !is_manifest(input)) {
    log::info("{} is not a manifest CSV (file,label,subject,split): its windows get no labels (labels=none); "
              "give a manifest for labelled windows", input);
    preset.labels = "none";
  }
  return preset;
}

std::vector<RecordingJob> discover_recordings(const std::string& input, const PreprocessPreset& preset, uint64_t seed) {
  const fs::path root(input);
  LUMAMBA_CHECK_INPUT(fs::exists(root), "{}: no such file or folder", input);
  LUMAMBA_CHECK_INPUT(preset.labels.rfind("participants:", 0) != 0 || io::is_bids_root(input),
                      "{}: labels={} reads participants.tsv of a BIDS root; this is not one", input, preset.labels);
  std::vector<RecordingJob> jobs;
  if (is_manifest(root)) {
    jobs = read_manifest(root);
    for (auto& job : jobs) {
      if (job.subject.empty()) job.subject = subject_from_name(job.path, preset);
    }
  } else if (fs::is_regular_file(root)) {
    jobs.push_back(RecordingJob{root.string(), subject_from_name(root, preset)});
  } else if (io::is_bids_root(root.string())) {
    for (const auto& r : io::find_bids_recordings(root.string())) {
      RecordingJob job{r.path, r.subject};
      job.channels_tsv = r.channels_tsv;
      job.electrodes_tsv = r.electrodes_tsv;
      job.events_tsv = r.events_tsv;
      jobs.push_back(std::move(job));
    }
    if (preset.labels.rfind("participants:", 0) == 0) assign_participant_labels(jobs, root.string(), preset);
  } else {
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied)) {
      if (entry.is_regular_file() && io::is_recording_file(entry.path().string())) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) jobs.push_back(RecordingJob{f.string(), subject_from_name(f, preset)});
  }
  const bool needs_csv = preset.labels == "tusl_csv" || preset.labels == "tuar_csv";
  for (auto& job : jobs) {
    if (needs_csv) job.annotation_path = find_annotation(job.path);
    if (preset.labels == "tuab_directory") {
      const fs::path p(job.path);
      if (path_has_component(p, "abnormal")) job.label = 1;
      else if (path_has_component(p, "normal")) job.label = 0;
      if (path_has_component(p, "eval")) job.split = "test";
      else if (path_has_component(p, "train")) job.split = "train";
    }
  }
  // Splits the reference draws at random (docs/reference-model.md §15), for jobs the tree/manifest left open.
  std::vector<std::string> keys;
  const bool by_file = preset.labels == "tuar_csv";
  for (const auto& job : jobs) {
    if (job.split.empty() || (preset.labels == "tuab_directory" && job.split == "train")) {
      keys.push_back(by_file ? job.path : job.subject);
    }
  }
  if (!keys.empty()) {
    // TUAB: train subjects 80/20 train/val; TUAR (files) and TUSL and others (subjects) 80/10/10.
    const bool tuab = preset.labels == "tuab_directory";
    const auto assignment = split_keys(keys, tuab ? 0.2 : 0.1, tuab ? 0.0 : 0.1, seed);
    for (auto& job : jobs) {
      const auto it = assignment.find(by_file ? job.path : job.subject);
      if (it != assignment.end() && (job.split.empty() || (tuab && job.split == "train"))) job.split = it->second;
    }
  }
  return jobs;
}

namespace {

// TUH "_a" montage folders (03_tcp_ar_a, 04_tcp_le_a) have no A1/A2 electrodes.
bool is_tuh_a_montage(const fs::path& p) {
  for (const auto& part : p) {
    const auto s = lower(part.string());
    if (s.find("tcp_") != std::string::npos && s.size() >= 2 && s.compare(s.size() - 2, 2, "_a") == 0) return true;
  }
  return false;
}

// The recording's electrode names as the montage matches them (tuh_electrode_name of each label),
// with the preset's channel_aliases applied.
std::vector<std::string> recording_electrode_names(const PreprocessPreset& preset, const io::RecordingHeader& header) {
  std::map<std::string, std::string> aliases;
  for (const auto& [from, to] : preset.channel_aliases) {
    aliases[io::tuh_electrode_name(from)] = io::normalize_channel_label(to);
  }
  std::vector<std::string> names;
  for (const auto& s : header.signals) {
    const auto it = aliases.find(s.electrode);
    names.push_back(it == aliases.end() ? s.electrode : it->second);
  }
  return names;
}

std::vector<std::string> reference_electrodes(const std::string& reference) {
  if (reference == "none" || reference == "average") return {};
  if (reference == "linked_ears") return {"A1", "A2"};
  if (reference == "linked_mastoids") return {"M1", "M2"};
  std::vector<std::string> out;
  for (const auto& e : io::split_channel_list(reference)) out.push_back(io::normalize_channel_label(e));
  return out;
}

bool is_reference_electrode(const std::vector<std::string>& reference, const std::string& electrode) {
  const auto n = io::normalize_channel_label(electrode);
  const auto alias = io::electrode_alias(n);
  return std::any_of(reference.begin(), reference.end(),
                     [&](const std::string& r) { return r == n || (alias && r == *alias); });
}

// The preset's positions table with the recording's own positions laid over it (the recording's
// own win unless recording_positions=ignore): BrainVision [Coordinates], EEGLAB chanlocs, or a BIDS
// electrodes.tsv. Electrodes the recording does not place keep the table's positions, so a montage
// naming one that is absent from the file finds it missing, not unknown.
io::ElectrodePositions positions_for(const PreprocessPreset& preset, const RecordingJob& job,
                                     const io::RecordingHeader& header, const std::vector<std::string>& electrode_names) {
  auto table = io::electrode_positions(preset.positions);
  const bool use = preset.recording_positions == "use";
  std::optional<io::ElectrodePositions> bids;
  if (use && !job.electrodes_tsv.empty()) bids = io::electrode_positions(job.electrodes_tsv);
  const bool own = use && (bids || std::any_of(header.signals.begin(), header.signals.end(),
                                               [](const auto& s) { return s.position.has_value(); }));
  if (!own) return table;
  std::vector<std::string> names;
  std::vector<io::Position3> positions;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < header.signals.size(); ++i) {
    auto p = header.signals[i].position;
    if (!p && bids) p = bids->find(electrode_names[i]);
    if (p && seen.insert(io::normalize_channel_label(electrode_names[i])).second) {
      names.push_back(electrode_names[i]);
      positions.push_back(*p);
    }
  }
  for (std::size_t k = 0; k < table.size(); ++k) {
    if (seen.insert(io::normalize_channel_label(table.names()[k])).second) {
      names.push_back(table.names()[k]);
      positions.push_back(table.positions()[k]);
    }
  }
  return io::ElectrodePositions(fmt::format("{} ({}, then {})", header.path,
                                            bids ? "its BIDS electrodes.tsv" : "its own positions", table.source()),
                                std::move(names), std::move(positions));
}

Montage select_montage(const PreprocessPreset& preset, const RecordingJob& job, const io::RecordingHeader& header,
                       const std::vector<std::string>& electrode_names, const io::ElectrodePositions& positions,
                       const std::set<std::string>& non_eeg_labels) {
  const auto reference = reference_electrodes(preset.reference);
  Montage m;
  if (preset.montage == "tcp") {
    const bool ears = preset.tcp_ears == "true" || (preset.tcp_ears == "auto" && !is_tuh_a_montage(job.path));
    m = tcp_montage(ears ? TcpMontage::kAr : TcpMontage::kArA, positions);
  } else if (preset.montage == "unipolar") {
    for (const auto& c : preset.channels) {
      LUMAMBA_CHECK_INPUT(!is_reference_electrode(reference, c), "channel {} is the reference ({}): it would be flat; "
                          "leave it out of 'channels'", c, preset.reference);
    }
    m = unipolar_montage(preset.channels, positions);
  } else if (preset.montage == "bipolar") {
    std::vector<io::BipolarDerivation> derivations;
    if (!preset.derivations_file.empty()) {
      derivations = read_derivations(preset.derivations_file);
    } else {
      for (const auto& d : preset.derivations) derivations.push_back(parse_derivation(d));
    }
    m = bipolar_montage(derivations, positions);
  } else {
    // all_eeg: every voltage channel of the file whose electrode has a position, file order; the
    // reference electrodes are subtracted, not kept; the others are named, never skipped silently.
    std::vector<std::string> electrodes, unplaced, not_eeg;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < header.signals.size(); ++i) {
      const auto& name = electrode_names[i];
      if (name.empty()) continue;  // marked bad (BIDS channels.tsv), named when read
      if (is_reference_electrode(reference, name)) continue;  // read as the reference, no position needed
      if (non_eeg_labels.count(header.signals[i].label) > 0) {
        not_eeg.push_back(header.signals[i].label);
        continue;
      }
      const bool placed = header.signals[i].unit_is_voltage && name.find('-') == std::string::npos &&
                          positions.find(name).has_value();
      if (!placed) {
        unplaced.push_back(header.signals[i].label);
      } else if (seen.insert(name).second) {
        electrodes.push_back(name);
      }
    }
    LUMAMBA_CHECK_INPUT(!electrodes.empty(), "{}: no voltage channel with a position in '{}' (channels: {}); "
                        "set positions= or channel_aliases (docs/montages.md)", job.path, positions.source(),
                        fmt::join(unplaced, ", "));
    if (!unplaced.empty()) {
      log::info("{}: {} channel(s) without a position in '{}' are not used: {}", job.path, unplaced.size(),
                positions.source(), fmt::join(unplaced, ", "));
    }
    if (!not_eeg.empty()) {
      log::info("{}: {} channel(s) of a non-EEG type in {} are not used: {}", job.path, not_eeg.size(),
                job.channels_tsv, fmt::join(not_eeg, ", "));
    }
    m = unipolar_montage(electrodes, positions);
  }
  m.average_reference = preset.reference == "average";
  m.reference_electrodes = reference;
  if (preset.missing == "drop") {
    const auto dropped = drop_unavailable_channels(m, electrode_names);
    LUMAMBA_CHECK_INPUT(!m.channels.empty(), "{}: none of the montage's channels can be formed from this recording "
                        "(channels: {})", job.path, fmt::join(electrode_names, ", "));
    if (!dropped.empty()) {
      log::warn("{}: missing electrode(s): {} of {} channel(s) left out (missing: drop): {}", job.path, dropped.size(),
                dropped.size() + m.channels.size(), fmt::join(dropped, ", "));
    }
  }
  if (!m.reference_electrodes.empty() || m.average_reference) {
    m.name += fmt::format(", reference {}", preset.reference);
  }
  return m;
}

std::vector<int64_t> recording_labels(const RecordingJob& job, const PreprocessPreset& preset, size_t n_windows) {
  if (preset.labels == "none") return std::vector<int64_t>(n_windows, -1);
  LUMAMBA_CHECK_INPUT(job.label >= 0, "{}: no recording label ({}: {})", job.path, preset.labels,
                      preset.labels == "tuab_directory"         ? "no 'normal' or 'abnormal' folder in the path"
                      : preset.labels.rfind("participants:", 0) == 0 ? "the subject has no value in participants.tsv"
                                                                     : "empty label in the manifest");
  return std::vector<int64_t>(n_windows, job.label);
}

}  // namespace

std::string channel_quality_problem(const std::vector<double>& uv, double min_uv, double max_uv, double step_uv) {
  if (uv.empty()) return "";
  const auto [lo, hi] = std::minmax_element(uv.begin(), uv.end());
  if (*lo == *hi) return fmt::format("flat (every sample {:.4g} µV)", *lo);
  const double tolerance = std::max(step_uv / 2, 1e-9);
  int64_t at_limits = 0;
  for (const double v : uv) at_limits += (v <= min_uv + tolerance || v >= max_uv - tolerance) ? 1 : 0;
  const double fraction = static_cast<double>(at_limits) / static_cast<double>(uv.size());
  // 1 %: an amplifier in saturation for a second in a minute; the rails are hardly ever reached otherwise.
  if (fraction > 0.01) {
    return fmt::format("clipped ({:.1f} % of samples at the physical limits {:.6g} / {:.6g} µV)", 100 * fraction,
                       min_uv, max_uv);
  }
  return "";
}

namespace {

// pick → montage → band-pass → notch → resample: the continuous signal both modes start from.
struct FilteredRecording {
  MontageSignals signals;
  double rate_hz = 0;
  std::vector<io::Annotation> annotations;
};

// BIDS channels.tsv: a channel marked bad gets no electrode name (the montage cannot use it; named
// here); the labels of non-EEG types (EOG, ECG, MISC, TRIG, …) are returned, for all_eeg to leave out.
std::set<std::string> apply_bids_channels(const RecordingJob& job, const io::RecordingHeader& header,
                                          std::vector<std::string>& electrode_names) {
  std::set<std::string> non_eeg;
  if (job.channels_tsv.empty()) return non_eeg;
  std::map<std::string, io::BidsChannel> by_name;
  for (auto& c : io::read_bids_channels(job.channels_tsv)) by_name[io::normalize_channel_label(c.name)] = c;
  std::vector<std::string> bad;
  for (std::size_t i = 0; i < header.signals.size(); ++i) {
    const auto it = by_name.find(io::normalize_channel_label(header.signals[i].label));
    if (it == by_name.end()) continue;
    if (it->second.status == "bad") {
      bad.push_back(it->second.status_description.empty()
                        ? header.signals[i].label
                        : fmt::format("{} ({})", header.signals[i].label, it->second.status_description));
      electrode_names[i].clear();
    } else if (!it->second.type.empty() && it->second.type != "EEG") {
      non_eeg.insert(header.signals[i].label);
    }
  }
  if (!bad.empty()) {
    log::info("{}: {} channel(s) marked bad in {} are not used: {}", job.path, bad.size(), job.channels_tsv,
              fmt::join(bad, ", "));
  }
  return non_eeg;
}

FilteredRecording read_and_filter(io::RecordingReader& reader, const RecordingJob& job, const PreprocessPreset& preset,
                                  int n_threads) {
  validate(preset);
  const auto& header = reader.header();
  // pick: only the electrodes the montage reads.
  auto file_electrodes = recording_electrode_names(preset, header);
  const auto positions = positions_for(preset, job, header, file_electrodes);
  const auto non_eeg = apply_bids_channels(job, header, file_electrodes);
  const auto montage = select_montage(preset, job, header, file_electrodes, positions, non_eeg);
  const auto electrodes = montage.required_electrodes();
  const auto indices = resolve_electrodes(electrodes, file_electrodes, job.path);
  std::vector<std::vector<double>> picked;
  const double sfreq_hz = header.signals.at(indices.front()).sfreq_hz;
  for (size_t i = 0; i < indices.size(); ++i) {
    const auto& info = header.signals[indices[i]];
    LUMAMBA_CHECK_INPUT(info.sfreq_hz == sfreq_hz, "{}: channel '{}' is sampled at {} Hz but '{}' at {} Hz", job.path,
                        info.label, info.sfreq_hz, header.signals[indices.front()].label, sfreq_hz);
    LUMAMBA_CHECK_INPUT(info.unit_is_voltage, "{}: channel '{}' has physical dimension '{}', not a voltage", job.path,
                        info.label, info.physical_dimension);
    picked.push_back(reader.read_signal_uv(static_cast<int64_t>(indices[i])));
    const double digital_range = std::max(1, info.digital_max - info.digital_min);
    const double step_uv = std::abs(info.physical_max - info.physical_min) * info.uv_per_unit / digital_range;
    const auto problem = channel_quality_problem(picked.back(), std::min(info.physical_min, info.physical_max) * info.uv_per_unit,
                                                 std::max(info.physical_min, info.physical_max) * info.uv_per_unit, step_uv);
    if (!problem.empty()) log::warn("{}: channel '{}' is {}", job.path, info.label, problem);
  }
  // montage
  auto signals = apply_montage(montage, electrodes, picked, job.path, n_threads);
  picked.clear();
  auto& data = signals.data_uv;
  // band-pass → notch → resample (MNE defaults, float64 like MNE), resampling whenever the native
  // rate differs, upward too, like the reference scripts.
  FilterChainOptions chain;
  chain.l_freq_hz = std::max(preset.l_freq_hz, 0.0);
  chain.h_freq_hz = std::max(preset.h_freq_hz, 0.0);
  if (chain.h_freq_hz >= sfreq_hz / 2) {
    LUMAMBA_CHECK_INPUT(preset.low_pass_above_nyquist == "cap",
                        "{}: low-pass at h_freq_hz {} Hz is not below the Nyquist frequency {} Hz of this {} Hz "
                        "recording (set low_pass_above_nyquist=cap to band-limit by the sampling rate instead)",
                        job.path, chain.h_freq_hz, sfreq_hz / 2, sfreq_hz);
    // The recording holds nothing above its Nyquist frequency, so a low-pass there is a no-op in
    // intent: keep the high-pass, skip the low-pass, and say so for this file.
    log::warn("{}: sampled at {} Hz, so h_freq_hz {} Hz is above its Nyquist frequency: no low-pass for this "
              "file (low_pass_above_nyquist=cap)", job.path, sfreq_hz, chain.h_freq_hz);
    chain.h_freq_hz = 0;
  }
  chain.notch_hz.clear();
  if (preset.notch_hz > 0) {
    LUMAMBA_CHECK_INPUT(preset.notch_hz < sfreq_hz / 2, "{}: notch at {} Hz is above the Nyquist frequency {} Hz",
                        job.path, preset.notch_hz, sfreq_hz / 2);
    chain.notch_hz.push_back(preset.notch_hz);
  }
  chain.target_sfreq_hz = preset.resample_hz;
  chain.n_threads = n_threads;
  const double rate_hz = run_filter_chain(data, sfreq_hz, chain).sfreq_hz;
  return {std::move(signals), rate_hz, job.events_tsv.empty() ? header.annotations : io::read_bids_events(job.events_tsv)};
}

}  // namespace

ContinuousRecording process_recording_continuous(const RecordingJob& job, const PreprocessPreset& preset,
                                                 int n_threads) {
  return process_recording_continuous(*io::open_recording(job.path), job, preset, n_threads);
}

ContinuousRecording process_recording_continuous(io::RecordingReader& reader, const RecordingJob& job,
                                                 const PreprocessPreset& preset, int n_threads) {
  auto filtered = read_and_filter(reader, job, preset, n_threads);
  const auto& data = filtered.signals.data_uv;
  ContinuousRecording out;
  out.channel_names = filtered.signals.names;
  for (const auto& p : filtered.signals.positions) out.channel_locations_m.push_back({p.x_m, p.y_m, p.z_m});
  out.source_file = job.path;
  out.sfreq_hz = filtered.rate_hz;
  out.n_channels = static_cast<int64_t>(data.size());
  out.n_samples = static_cast<int64_t>(data.front().size());
  out.signal_uv.resize(static_cast<size_t>(out.n_channels * out.n_samples));
  for (size_t c = 0; c < data.size(); ++c) {
    float* dst = out.signal_uv.data() + c * static_cast<size_t>(out.n_samples);
    for (int64_t t = 0; t < out.n_samples; ++t) {
      const double v = data[c][static_cast<size_t>(t)];
      LUMAMBA_CHECK_INPUT(std::isfinite(v), "{}: non-finite sample in channel '{}' at {:.3f} s", job.path,
                          filtered.signals.names[c], static_cast<double>(t) / filtered.rate_hz);
      dst[t] = static_cast<float>(v);
    }
  }
  return out;
}

io::RecordingWindows process_recording(const RecordingJob& job, const PreprocessPreset& preset, int n_threads,
                                       double* recording_s) {
  return process_recording(*io::open_recording(job.path), job, preset, n_threads, recording_s);
}

io::RecordingWindows process_recording(io::RecordingReader& reader, const RecordingJob& job,
                                       const PreprocessPreset& preset, int n_threads, double* recording_s) {
  auto filtered = read_and_filter(reader, job, preset, n_threads);
  const auto& signals = filtered.signals;
  const auto& data = signals.data_uv;
  const double rate_hz = filtered.rate_hz;
  const auto n_samples = static_cast<int64_t>(data.front().size());
  if (recording_s != nullptr) *recording_s = rate_hz > 0 ? static_cast<double>(n_samples) / rate_hz : 0;
  const int64_t w = preset.window_samples();

  // window + labels
  io::RecordingWindows out;
  std::vector<int64_t> starts;
  if (preset.labels == "events") {
    std::vector<TimedEvent> events;
    for (const auto& a : filtered.annotations) events.push_back({a.onset_s, a.duration_s, a.text});
    const int64_t hop = preset.window_hop_s > 0 ? preset.hop_samples() : 0;
    for (const auto& ew : event_windows(events, preset.event_labels, rate_hz, n_samples, w, hop)) {
      starts.push_back(ew.start);
      out.labels.push_back(ew.label);
    }
  } else {
    starts = window_starts(n_samples, w, preset.hop_samples());
    if (preset.labels == "tusl_csv" || preset.labels == "tuar_csv") {
      LUMAMBA_CHECK_INPUT(!job.annotation_path.empty(), "{}: no annotation file (.csv) next to the recording",
                          job.path);
      const auto rows = io::read_tuh_csv(job.annotation_path);
      if (preset.labels == "tusl_csv") {
        out.labels = tusl_window_labels(rows, rate_hz, n_samples, starts, w);
      } else {
        auto tuar = tuar_window_labels(rows, signals.names, parse_tuar_mode(preset.tuar_mode), rate_hz, n_samples,
                                       starts, w);
        out.labels = std::move(tuar.binary);
        out.multi_labels = std::move(tuar.per_channel);
        out.n_label_columns = tuar.n_columns;
      }
    } else {
      out.labels = recording_labels(job, preset, starts.size());
    }
  }
  out.channel_names = signals.names;
  for (const auto& p : signals.positions) out.channel_locations_m.push_back({p.x_m, p.y_m, p.z_m});
  out.source_file = job.path;
  out.subject = job.subject;
  out.split = job.split;
  out.sfreq_hz = rate_hz;
  out.n_windows = static_cast<int64_t>(starts.size());
  out.n_channels = static_cast<int64_t>(data.size());
  out.n_samples = w;
  out.signal_uv.resize(static_cast<size_t>(out.n_windows * out.n_channels * w));
  for (size_t i = 0; i < starts.size(); ++i) {
    out.window_start_s.push_back(static_cast<double>(starts[i]) / rate_hz);
    for (size_t c = 0; c < data.size(); ++c) {
      const double* src = data[c].data() + starts[i];
      float* dst = out.signal_uv.data() + (i * data.size() + c) * static_cast<size_t>(w);
      for (int64_t t = 0; t < w; ++t) {
        LUMAMBA_CHECK_INPUT(std::isfinite(src[t]), "{}: non-finite sample in channel '{}' at {:.3f} s", job.path,
                            signals.names[c], static_cast<double>(starts[i] + t) / rate_hz);
        dst[t] = static_cast<float>(src[t]);
      }
    }
  }
  return out;
}

namespace {

// A stable part-file name per source path: index order is not stable across runs with a changed
// tree, the path is. FNV-1a of the path plus the readable stem.
std::string part_name(const std::string& source) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : source) h = (h ^ c) * 1099511628211ull;
  return fmt::format("{}-{:016x}.h5", fs::path(source).stem().string(), h);
}

// Everything that determines a part's content. A part is reused only when the key stored beside
// it (PART.key.json, written after the part) equals this one; otherwise it is redone and the
// summary names the fields that changed. Bump kPartFormat when the way windows are made changes.
constexpr int kPartFormat = 1;

nlohmann::json file_stamp(const std::string& path) {
  if (path.empty()) return nullptr;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return nullptr;
  const auto mtime = fs::last_write_time(path, ec);
  return {{"size", size}, {"mtime_ns", ec ? 0 : static_cast<int64_t>(mtime.time_since_epoch().count())}};
}

nlohmann::json part_key(const RecordingJob& job, const std::string& preset_json) {
  return {{"part_format", kPartFormat}, {"preset", preset_json},   {"source", job.path},
          {"source_file", file_stamp(job.path)}, {"subject", job.subject}, {"split", job.split},
          {"label", job.label},           {"annotation", job.annotation_path},
          {"annotation_file", file_stamp(job.annotation_path)},
          {"bids_tables", {job.channels_tsv, job.electrodes_tsv, job.events_tsv}},
          {"bids_table_files", {file_stamp(job.channels_tsv), file_stamp(job.electrodes_tsv), file_stamp(job.events_tsv)}}};
}

// Why a stored key does not match ("" = it matches).
std::string stale_reason(const std::string& key_path, const nlohmann::json& key) {
  if (!fs::exists(key_path)) return "no key stored beside the part (interrupted or made by an older lumamba)";
  std::ifstream in(key_path);
  const auto stored = nlohmann::json::parse(in, nullptr, false);
  if (stored.is_discarded() || !stored.is_object()) return "unreadable key";
  std::vector<std::string> changed;
  for (const auto& [field, value] : key.items()) {
    if (!stored.contains(field) || stored[field] != value) changed.push_back(field);
  }
  return changed.empty() ? "" : fmt::format("changed: {}", fmt::join(changed, ", "));
}

std::string label_key(const io::RecordingWindows& r, size_t w) {
  return r.n_label_columns == 0 ? std::to_string(r.labels[w]) : "per-channel";
}

}  // namespace

BuildSummary build_window_dataset(const std::vector<RecordingJob>& jobs, const PreprocessPreset& preset,
                                  const BuildOptions& options) {
  LUMAMBA_CHECK_INPUT(!options.output_path.empty(), "preprocess: --output is required");
  LUMAMBA_CHECK_INPUT(options.n_jobs >= 1, "invalid value for 'jobs': got {}; must be >= 1", options.n_jobs);
  LUMAMBA_CHECK_INPUT(options.shard_count >= 1 && options.shard_index >= 0 && options.shard_index < options.shard_count,
                      "preprocess: shard {}/{} is not a shard (0 <= I < N)", options.shard_index, options.shard_count);
  LUMAMBA_CHECK_INPUT(!(options.merge_only && options.shard_count > 1), "preprocess: --merge assembles all shards' "
                      "parts; give it without --shard");
  const bool sharded = options.shard_count > 1;
  const fs::path parts_dir = options.output_path + ".parts";
  // The parts folder is the run's workspace: one preprocess per output; the lock also clears what
  // a killed run left (stale parts' temporaries here, the assembled file's next to OUT.h5). Shards
  // of one output run together, each under its own lock, and leave that clearing to the merge.
  fs::create_directories(parts_dir);
  const OutputLock lock(sharded ? (parts_dir / "shards" / fmt::format("{}-of-{}", options.shard_index,
                                                                      options.shard_count)).string()
                                : parts_dir.string());
  const fs::path output_folder = fs::path(options.output_path).parent_path();
  if (!sharded) {
    remove_atomic_temporaries(output_folder.empty() ? "." : output_folder.string(),
                              fs::path(options.output_path).filename().string());
  }
  std::vector<size_t> mine;  // indices into jobs: this shard's recordings
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (static_cast<int>(i % static_cast<size_t>(options.shard_count)) == options.shard_index) mine.push_back(i);
  }
  const std::string preset_json = preset_to_json(preset);
  const auto storage = preset.storage_dtype == "float16" ? io::StorageDType::kFloat16 : io::StorageDType::kFloat32;

  BuildSummary summary;
  summary.n_recordings = static_cast<int64_t>(mine.size());
  summary.shard_index = options.shard_index;
  summary.shard_count = options.shard_count;
  std::vector<std::string> part_paths(jobs.size());
  std::vector<char> has_part(jobs.size(), 0);
  std::mutex mutex;
  std::string fatal;  // a DiskFullError of any worker
  Progress progress("files", static_cast<int64_t>(mine.size()));
  std::atomic<size_t> next{0};
  // With several jobs each recording runs single-threaded; with one job the channels run in parallel.
  const int threads_per_job = options.n_jobs > 1 ? 1 : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  auto worker = [&] {
    while (true) {
      const size_t k = next.fetch_add(1);
      if (k >= mine.size()) return;
      const size_t i = mine[k];
      const auto& job = jobs[i];
      const auto part = (parts_dir / part_name(job.path)).string();
      const auto key_path = part + ".key.json";
      const auto key = part_key(job, preset_json);
      std::string failure, stale;
      int64_t n_windows = 0;
      double seconds = 0, recording_s = -1;
      std::map<std::string, int64_t> per_label;
      bool reused = false;
      if (fs::exists(part)) {
        stale = stale_reason(key_path, key);
      }
      if (fs::exists(part) && stale.empty()) {
        // Finished in an earlier run from the same source with the same settings: reuse it.
        try {
          auto reader = io::WindowH5Reader::open(part);
          if (reader.preprocess_json() == preset_json && reader.groups().size() == 1) {
            reused = true;
            const auto& g = reader.groups()[0];
            n_windows = g.n_windows;
            if (g.n_label_columns == 0) {
              for (auto y : reader.read_labels(0)) ++per_label[std::to_string(y)];
            } else if (g.n_label_columns > 0) {
              per_label["per-channel"] += n_windows;
            }
          }
        } catch (const Error&) {
          reused = false;  // unreadable part (e.g. from an older format): redo it
        }
      }
      if (!reused && options.merge_only) {
        std::lock_guard<std::mutex> lock(mutex);
        summary.not_in_parts.emplace_back(job.path, stale.empty() ? "no part (failed, no windows or not processed)"
                                                                  : "part made with other settings: " + stale);
        if (options.show_progress) progress.advance(1);
        continue;
      }
      if (!reused) {
        try {
          auto windows = process_recording(job, preset, threads_per_job, &recording_s);
          n_windows = windows.n_windows;
          seconds = windows.sfreq_hz > 0 ? static_cast<double>(windows.n_windows * windows.n_samples) / windows.sfreq_hz : 0;
          for (int64_t w = 0; w < windows.n_windows; ++w) ++per_label[label_key(windows, static_cast<size_t>(w))];
          fs::remove(key_path);  // the old key must not vouch for a new part
          if (windows.n_windows > 0) {
            io::write_recording_h5(part, windows, storage, preset_json, static_cast<int>(preset.compression));
            write_text_file_atomic(key_path, key.dump() + "\n");
          }
        } catch (const DiskFullError& e) {
          // Not this recording's fault: stop every worker and fail the run (the parts done so far stay).
          std::lock_guard<std::mutex> lock(mutex);
          if (fatal.empty()) fatal = e.what();
          next = mine.size();
          return;
        } catch (const InputError& e) {
          failure = e.what();
        } catch (const std::exception& e) {
          failure = fmt::format("{}: unexpected error: {}", job.path, e.what());
        }
      }
      std::lock_guard<std::mutex> lock(mutex);
      if (!stale.empty() && !reused) {
        log::warn("{}: its finished part is stale ({}); redone", job.path, stale);
        summary.redone_stale.emplace_back(job.path, stale);
      }
      if (!failure.empty()) {
        summary.failures.emplace_back(job.path, failure);
      } else {
        (reused ? summary.n_reused : summary.n_processed) += 1;
        if (n_windows == 0) {
          ++summary.n_without_windows;
          summary.without_windows.emplace_back(job.path, recording_s);
          log::warn("{}: no windows: the recording is {:.1f} s, a window {:.2f} s{}", job.path, recording_s,
                    preset.window_s, preset.labels == "events" ? " (or no event maps to a label)" : "");
        }
        summary.n_windows += n_windows;
        summary.eeg_seconds += seconds;
        for (const auto& [k, v] : per_label) summary.windows_per_label[k] += v;
        if (n_windows > 0) {
          part_paths[i] = part;
          has_part[i] = 1;
        }
      }
      if (options.show_progress) {
        progress.advance(1, fmt::format("windows {}, failed {}", summary.n_windows, summary.failures.size()));
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < options.n_jobs; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (!fatal.empty()) throw DiskFullError(fatal);
  if (options.show_progress) progress.finish(fmt::format("windows {}, failed {}", summary.n_windows, summary.failures.size()));

  std::vector<std::string> ordered;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (has_part[i]) ordered.push_back(part_paths[i]);
  }
  if (!summary.not_in_parts.empty()) {
    log::warn("--merge: {} of {} recordings have no current part and are not in {} (first: {}: {})",
              summary.not_in_parts.size(), jobs.size(), options.output_path, summary.not_in_parts[0].first,
              summary.not_in_parts[0].second);
  }
  if (!ordered.empty() && !sharded) io::assemble_window_h5(ordered, options.output_path, preset_json, options.layout);
  summary.wall_s = progress.elapsed_s();
  return summary;
}

std::pair<int, int> parse_shard(const std::string& text) {
  const auto as_int = [](const std::string& value, const std::string& what) {
    size_t used = 0;
    int x = -1;
    try {
      x = std::stoi(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    LUMAMBA_CHECK_INPUT(!value.empty() && used == value.size(), "--shard: {} '{}' is not an integer", what, value);
    return x;
  };
  int index = 0, count = 1;
  if (text == "slurm") {
    const char* id = std::getenv("SLURM_ARRAY_TASK_ID");
    const char* n = std::getenv("SLURM_ARRAY_TASK_COUNT");
    LUMAMBA_CHECK_INPUT(id != nullptr && n != nullptr, "--shard slurm: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT "
                        "are not set (run it in a Slurm job array, sbatch --array=0-N)");
    const char* first = std::getenv("SLURM_ARRAY_TASK_MIN");
    index = as_int(id, "SLURM_ARRAY_TASK_ID") - (first != nullptr ? as_int(first, "SLURM_ARRAY_TASK_MIN") : 0);
    count = as_int(n, "SLURM_ARRAY_TASK_COUNT");
  } else {
    const auto slash = text.find('/');
    LUMAMBA_CHECK_INPUT(slash != std::string::npos, "--shard must be I/N (e.g. 0/4) or slurm, got '{}'", text);
    index = as_int(text.substr(0, slash), "I");
    count = as_int(text.substr(slash + 1), "N");
  }
  LUMAMBA_CHECK_INPUT(count >= 1 && index >= 0 && index < count, "--shard {}: needs 0 <= I < N, got I = {}, N = {}",
                      text, index, count);
  return {index, count};
}

std::string summary_to_json(const BuildSummary& s) {
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& [file, reason] : s.failures) failures.push_back({{"file", file}, {"reason", reason}});
  nlohmann::json redone = nlohmann::json::array();
  for (const auto& [file, reason] : s.redone_stale) redone.push_back({{"file", file}, {"reason", reason}});
  nlohmann::json without = nlohmann::json::array();
  for (const auto& [file, length_s] : s.without_windows) without.push_back({{"file", file}, {"recording_s", length_s}});
  nlohmann::json j = {{"recordings", s.n_recordings},
                            {"processed", s.n_processed},
                            {"reused_from_parts", s.n_reused},
                            {"redone_stale_parts", redone},
                            {"without_windows", s.n_without_windows},
                            {"without_windows_files", without},
                            {"failed", s.failures.size()},
                            {"windows", s.n_windows},
                            {"windows_per_label", s.windows_per_label},
                            {"eeg_seconds_in_windows", s.eeg_seconds},
                            {"wall_s", s.wall_s},
                            {"failures", failures}};
  if (s.shard_count > 1) j["shard"] = fmt::format("{}/{}", s.shard_index, s.shard_count);
  if (!s.not_in_parts.empty()) {
    nlohmann::json missing = nlohmann::json::array();
    for (const auto& [file, why] : s.not_in_parts) missing.push_back({{"file", file}, {"reason", why}});
    j["not_in_parts"] = missing;
  }
  return j.dump(2);
}

}  // namespace lumamba::preprocess
