// BIDS layout and tables (see lumamba/io/bids.h).
#include "lumamba/io/bids.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <optional>
#include <set>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "text_fields.h"

namespace lumamba::io {
namespace {

namespace fs = std::filesystem;

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool has_eeg_folder(const fs::path& subject_dir) {
  std::error_code ec;
  if (fs::is_directory(subject_dir / "eeg", ec)) return true;
  for (const auto& entry : fs::directory_iterator(subject_dir, fs::directory_options::skip_permission_denied, ec)) {
    if (entry.is_directory() && starts_with(entry.path().filename().string(), "ses-") &&
        fs::is_directory(entry.path() / "eeg", ec)) {
      return true;
    }
  }
  return false;
}

// A BIDS file name: entities (key → value) and suffix ("eeg", "channels", ...); the extension apart.
struct BidsName {
  std::map<std::string, std::string> entities;
  std::string suffix;
};

std::optional<BidsName> parse_bids_name(const std::string& file_name) {
  const auto dot = file_name.find('.');
  const auto stem = file_name.substr(0, dot);
  const auto parts = text::split(stem, '_');
  if (parts.size() < 2) return std::nullopt;
  BidsName name;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const auto dash = parts[i].find('-');
    if (dash == std::string_view::npos || dash == 0) return std::nullopt;
    name.entities[std::string(parts[i].substr(0, dash))] = std::string(parts[i].substr(dash + 1));
  }
  name.suffix = std::string(parts.back());
  return name;
}

// The most specific `<entities>_<suffix><extension>` whose entities (but `space`, which only
// electrodes have) are all the recording's, searched from the recording's folder up to the root.
std::string find_sidecar(const fs::path& recording, const BidsName& rec, const fs::path& root, const std::string& suffix,
                         const std::string& extension) {
  std::error_code ec;
  for (fs::path dir = recording.parent_path();; dir = dir.parent_path()) {
    std::string best;
    std::size_t best_matches = 0;
    std::vector<fs::path> entries;
    for (const auto& entry : fs::directory_iterator(dir, fs::directory_options::skip_permission_denied, ec)) {
      entries.push_back(entry.path());
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& p : entries) {
      const auto file = p.filename().string();
      if (file.size() <= suffix.size() + extension.size() + 1 ||
          file.compare(file.size() - extension.size(), extension.size(), extension) != 0) {
        continue;
      }
      const auto name = parse_bids_name(file);
      if (!name || name->suffix != suffix) continue;
      std::size_t matches = 0;
      bool applies = true;
      for (const auto& [key, value] : name->entities) {
        if (key == "space") continue;
        const auto it = rec.entities.find(key);
        if (it == rec.entities.end() || it->second != value) {
          applies = false;
          break;
        }
        ++matches;
      }
      if (applies && (best.empty() || matches > best_matches)) {
        best = p.string();
        best_matches = matches;
      }
    }
    if (!best.empty()) return best;
    if (dir == root || dir.string().size() <= root.string().size() || dir.parent_path() == dir) return "";
  }
}

// A BIDS TSV table: header names and rows, every row as wide as the header.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> line_numbers;

  std::optional<std::size_t> column(const std::string& name) const {
    const auto it = std::find(columns.begin(), columns.end(), name);
    if (it == columns.end()) return std::nullopt;
    return static_cast<std::size_t>(it - columns.begin());
  }
};

Table read_table(const std::string& path, const std::string& what) {
  const auto content = read_text_file(path, what);
  Table t;
  std::size_t line_no = 0;
  for (auto line : text::lines(content)) {
    ++line_no;
    if (text::trim(line).empty()) continue;
    std::vector<std::string> fields;
    for (const auto f : text::split(line, '\t')) fields.emplace_back(text::trim(f));
    if (t.columns.empty()) {
      if (!fields.empty() && fields[0].size() >= 3 && fields[0].compare(0, 3, "\xEF\xBB\xBF") == 0) {
        fields[0].erase(0, 3);  // UTF-8 byte-order mark
      }
      t.columns = std::move(fields);
      continue;
    }
    LUMAMBA_CHECK_INPUT(fields.size() == t.columns.size(), "{}:{}: {} tab-separated fields, the header has {} ({})",
                        path, line_no, fields.size(), t.columns.size(), fmt::join(t.columns, ", "));
    t.rows.push_back(std::move(fields));
    t.line_numbers.push_back(line_no);
  }
  LUMAMBA_CHECK_INPUT(!t.columns.empty(), "{}: empty {}", path, what);
  return t;
}

std::size_t required_column(const Table& t, const std::string& name, const std::string& path) {
  const auto c = t.column(name);
  LUMAMBA_CHECK_INPUT(c.has_value(), "{}: no '{}' column (columns: {})", path, name, fmt::join(t.columns, ", "));
  return *c;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

}  // namespace

bool is_bids_root(const std::string& folder) {
  std::error_code ec;
  const fs::path root(folder);
  if (!fs::is_directory(root, ec)) return false;
  if (fs::is_regular_file(root / "dataset_description.json", ec)) return true;
  for (const auto& entry : fs::directory_iterator(root, fs::directory_options::skip_permission_denied, ec)) {
    if (entry.is_directory() && starts_with(entry.path().filename().string(), "sub-") && has_eeg_folder(entry.path())) {
      return true;
    }
  }
  return false;
}

std::vector<BidsRecording> find_bids_recordings(const std::string& root) {
  auto root_path = fs::path(root).lexically_normal();
  if (root_path.filename().empty()) root_path = root_path.parent_path();  // "root/" → "root"
  std::vector<fs::path> eeg_dirs;
  std::error_code ec;
  for (const auto& sub : fs::directory_iterator(root_path, fs::directory_options::skip_permission_denied, ec)) {
    if (!sub.is_directory() || !starts_with(sub.path().filename().string(), "sub-")) continue;
    if (fs::is_directory(sub.path() / "eeg", ec)) eeg_dirs.push_back(sub.path() / "eeg");
    for (const auto& ses : fs::directory_iterator(sub.path(), fs::directory_options::skip_permission_denied, ec)) {
      if (ses.is_directory() && starts_with(ses.path().filename().string(), "ses-") &&
          fs::is_directory(ses.path() / "eeg", ec)) {
        eeg_dirs.push_back(ses.path() / "eeg");
      }
    }
  }
  std::vector<BidsRecording> out;
  for (const auto& dir : eeg_dirs) {
    for (const auto& entry : fs::directory_iterator(dir, fs::directory_options::skip_permission_denied, ec)) {
      if (!entry.is_regular_file() || !is_recording_file(entry.path().string())) continue;
      const auto name = parse_bids_name(entry.path().filename().string());
      if (!name || name->suffix != "eeg" || name->entities.count("sub") == 0) continue;
      BidsRecording r;
      r.path = entry.path().string();
      r.subject = "sub-" + name->entities.at("sub");
      if (const auto ses = name->entities.find("ses"); ses != name->entities.end()) r.session = "ses-" + ses->second;
      r.channels_tsv = find_sidecar(entry.path(), *name, root_path, "channels", ".tsv");
      r.electrodes_tsv = find_sidecar(entry.path(), *name, root_path, "electrodes", ".tsv");
      r.events_tsv = find_sidecar(entry.path(), *name, root_path, "events", ".tsv");
      out.push_back(std::move(r));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  LUMAMBA_CHECK_INPUT(!out.empty(), "{}: a BIDS folder without EEG recordings (looked for sub-*/[ses-*/]eeg/"
                      "*_eeg.edf|.bdf|.vhdr|.set)", root);
  return out;
}

std::vector<BidsChannel> read_bids_channels(const std::string& tsv) {
  const auto t = read_table(tsv, "BIDS channels table");
  const auto name = required_column(t, "name", tsv);
  const auto type = t.column("type");
  const auto status = t.column("status");
  const auto description = t.column("status_description");
  std::vector<BidsChannel> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    BidsChannel c;
    c.name = row[name];
    LUMAMBA_CHECK_INPUT(!c.name.empty() && c.name != "n/a", "{}:{}: a channel without a name", tsv, t.line_numbers[r]);
    if (type) c.type = upper(row[*type]);
    if (status) {
      c.status = row[*status] == "n/a" ? "" : row[*status];
      LUMAMBA_CHECK_INPUT(c.status.empty() || c.status == "good" || c.status == "bad",
                          "{}:{}: status '{}' of channel {} must be good, bad or n/a", tsv, t.line_numbers[r], c.status,
                          c.name);
    }
    if (description && row[*description] != "n/a") c.status_description = row[*description];
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Annotation> read_bids_events(const std::string& tsv) {
  const auto t = read_table(tsv, "BIDS events table");
  const auto onset = required_column(t, "onset", tsv);
  const auto duration = required_column(t, "duration", tsv);
  const auto trial_type = t.column("trial_type");
  const auto value = t.column("value");
  std::vector<Annotation> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    if (row[onset] == "n/a") continue;
    const auto o = text::to_double(row[onset]);
    LUMAMBA_CHECK_INPUT(o && std::isfinite(*o), "{}:{}: onset '{}' is not a number of seconds", tsv, t.line_numbers[r],
                        row[onset]);
    Annotation a;
    a.onset_s = *o;
    if (row[duration] == "n/a") {
      a.duration_s = kNoDuration;
    } else {
      const auto d = text::to_double(row[duration]);
      LUMAMBA_CHECK_INPUT(d && std::isfinite(*d) && *d >= 0, "{}:{}: duration '{}' is not a length in seconds", tsv,
                          t.line_numbers[r], row[duration]);
      a.duration_s = *d;
    }
    if (trial_type && row[*trial_type] != "n/a") a.text = row[*trial_type];
    else if (value && row[*value] != "n/a") a.text = row[*value];
    else a.text = "n/a";
    out.push_back(std::move(a));
  }
  return out;
}

std::map<std::string, std::string> read_bids_participants(const std::string& root, const std::string& column) {
  const auto path = (fs::path(root) / "participants.tsv").string();
  LUMAMBA_CHECK_INPUT(fs::exists(path), "{}: no participants.tsv (labels from participants need one)", root);
  const auto t = read_table(path, "BIDS participants table");
  const auto id = required_column(t, "participant_id", path);
  const auto wanted = required_column(t, column, path);
  std::map<std::string, std::string> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    LUMAMBA_CHECK_INPUT(out.emplace(row[id], row[wanted]).second, "{}:{}: participant {} is listed twice", path,
                        t.line_numbers[r], row[id]);
  }
  return out;
}

}  // namespace lumamba::io
