// Channel knowledge (see lumamba/io/channels.h): parses the embedded vocabulary and TCP tables once
// and answers position (through lumamba/io/electrode_positions.h) / vocabulary / montage look-ups.
//
// Tables (data/, embedded by cmake/embed_file.cmake as lumamba::tables::k*Tsv): vocabulary =
// data/channels/channel_vocabulary.tsv, montage = data/montages/tcp22.tsv. They are ours, so a malformed row is an InternalError; a name
// the user gives that is not in them is an InputError. Behaviour mirrors BioFoundation
// models/modules/channel_embeddings.py (get_channel_locations, CHANNEL_NAMES_TO_IDX), docs/reference-model.md §8.
#include "lumamba/io/channels.h"

#include <fmt/format.h>

#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "lumamba/core/error.h"
#include "text_fields.h"

namespace lumamba::tables {
extern const char kChannelVocabularyTsv[];
extern const char kTcp22Tsv[];
}  // namespace lumamba::tables

namespace lumamba::io {
namespace {

using text::split;
using text::trim;

constexpr char kBipolarSeparator = '-';
constexpr char kListSeparator = ',';

struct NamePair {
  std::string_view first, second;
};

// Old (10-20) and new (10-10) names of the same four temporal/parietal electrodes; symmetric.
constexpr NamePair kTenTwentyAliases[] = {{"T3", "T7"}, {"T4", "T8"}, {"T5", "P7"}, {"T6", "P8"}};

// ---- embedded TSV parsing ----

struct TsvRow {
  int line_no = 0;  // 1-based line in the table file, for error messages
  std::vector<std::string_view> fields;
};

// Skips blank and '#' lines, checks the header, checks every row's field count. The views point
// into the embedded text, which has static storage duration.
std::vector<TsvRow> parse_tsv(std::string_view text, std::string_view table,
                              const std::vector<std::string_view>& expected_header) {
  std::vector<TsvRow> rows;
  bool header_seen = false;
  int line_no = 0;
  for (std::string_view line : split(text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty() || line.front() == '#') continue;
    auto fields = split(line, '\t');
    if (!header_seen) {
      LUMAMBA_CHECK(fields == expected_header, "{}: line {}: header '{}' does not match '{}'",
                    table, line_no, line, fmt::join(expected_header, "\t"));
      header_seen = true;
      continue;
    }
    LUMAMBA_CHECK(fields.size() == expected_header.size(),
                  "{}: line {}: expected {} tab-separated fields, got {}: '{}'", table, line_no,
                  expected_header.size(), fields.size(), line);
    for (const auto& f : fields) {
      LUMAMBA_CHECK(!f.empty() && trim(f) == f, "{}: line {}: empty or padded field in '{}'", table,
                    line_no, line);
    }
    rows.push_back({line_no, std::move(fields)});
  }
  LUMAMBA_CHECK(header_seen, "{}: no header line", table);
  return rows;
}

int64_t parse_int(std::string_view field, std::string_view table, int line_no) {
  int64_t value = 0;
  const auto* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, value);
  LUMAMBA_CHECK(ec == std::errc{} && ptr == end, "{}: line {}: '{}' is not an integer", table,
                line_no, field);
  return value;
}

// ---- the three tables ----

constexpr std::string_view kVocabularyTableName = "data/channels/channel_vocabulary.tsv";
constexpr std::string_view kTcp22TableName = "data/montages/tcp22.tsv";

struct Vocabulary {
  std::vector<std::string> names;
  std::unordered_map<std::string, int64_t> index_of;
};

Vocabulary parse_vocabulary() {
  const auto rows =
      parse_tsv(tables::kChannelVocabularyTsv, kVocabularyTableName, {"index", "name"});
  Vocabulary v;
  for (const auto& row : rows) {
    const auto index = parse_int(row.fields[0], kVocabularyTableName, row.line_no);
    const auto expected = static_cast<int64_t>(v.names.size());
    LUMAMBA_CHECK(index == expected, "{}: line {}: index {} but row position {}",
                  kVocabularyTableName, row.line_no, index, expected);
    std::string name(row.fields[1]);
    LUMAMBA_CHECK(normalize_channel_label(name) == name, "{}: line {}: name '{}' is not normalized",
                  kVocabularyTableName, row.line_no, name);
    const bool inserted = v.index_of.emplace(name, index).second;
    LUMAMBA_CHECK(inserted, "{}: line {}: duplicate name '{}'", kVocabularyTableName, row.line_no,
                  name);
    v.names.push_back(std::move(name));
  }
  return v;
}

const Vocabulary& vocabulary() {
  static const Vocabulary v = parse_vocabulary();  // thread-safe static init
  return v;
}

std::vector<BipolarDerivation> parse_tcp22() {
  const auto rows = parse_tsv(tables::kTcp22Tsv, kTcp22TableName, {"name", "anode", "cathode"});
  std::vector<BipolarDerivation> montage;
  for (const auto& row : rows) {
    BipolarDerivation d{std::string(row.fields[0]), std::string(row.fields[1]),
                        std::string(row.fields[2])};
    LUMAMBA_CHECK(d.name == d.anode + kBipolarSeparator + d.cathode,
                  "{}: line {}: name '{}' is not anode-cathode ('{}', '{}')", kTcp22TableName,
                  row.line_no, d.name, d.anode, d.cathode);
    montage.push_back(std::move(d));
  }
  return montage;
}

// ---- look-ups ----

std::string known_electrodes_hint(const ElectrodePositions& table) {
  if (&table == &reference_electrode_positions()) {
    return fmt::format(
        "known electrodes come from standard_1005 ({} names, MNE head frame; old 10-20 names "
        "T3/T4/T5/T6 and new T7/T8/P7/P8 are interchangeable); a bipolar channel is written "
        "ANODE-CATHODE; another cap's positions: preset key positions= (docs/montages.md)",
        table.size());
  }
  return fmt::format("known electrodes come from the positions '{}' ({} names); a bipolar channel is written "
                     "ANODE-CATHODE; names a file spells differently: preset key channel_aliases (docs/montages.md)",
                     table.source(), table.size());
}

// Locates one channel; on failure returns nullopt and sets `problem` (without the channel name).
// `problem` stays empty when the channel is simply an unknown single electrode.
std::optional<Position3> locate_channel(std::string_view channel, const ElectrodePositions& table,
                                        std::string& problem) {
  const auto normalized = normalize_channel_label(channel);
  if (normalized.empty()) {
    problem = "empty channel name";
    return std::nullopt;
  }
  const auto parts = split(normalized, kBipolarSeparator);
  if (parts.size() > 2) {
    problem = "malformed name: expected ELECTRODE or ANODE-CATHODE";
    return std::nullopt;
  }
  std::vector<Position3> found;
  std::vector<std::string> unknown;
  for (const auto part : parts) {
    const auto electrode = trim(part);
    if (electrode.empty()) {
      problem = "malformed name: expected ELECTRODE or ANODE-CATHODE";
      return std::nullopt;
    }
    if (auto p = table.find(electrode)) {
      found.push_back(*p);
    } else {
      unknown.emplace_back(electrode);
    }
  }
  if (unknown.size() == 1 && parts.size() == 1) {
    problem.clear();
    return std::nullopt;
  }
  if (!unknown.empty()) {
    problem = fmt::format("unknown electrode{} '{}'", unknown.size() > 1 ? "s" : "",
                          fmt::join(unknown, "', '"));
    return std::nullopt;
  }
  if (found.size() == 1) return found[0];
  // Same arithmetic as the reference's (loc1 + loc2) / 2 in float64.
  return Position3{(found[0].x_m + found[1].x_m) / 2, (found[0].y_m + found[1].y_m) / 2,
                   (found[0].z_m + found[1].z_m) / 2};
}

std::optional<int64_t> lookup_vocabulary(const std::string& name) {
  const auto& v = vocabulary();
  const auto it = v.index_of.find(name);
  if (it == v.index_of.end()) return std::nullopt;
  return it->second;
}

}  // namespace

std::string normalize_channel_label(std::string_view label) {
  auto s = trim(label);
  while (!s.empty() && s.back() == '.') s.remove_suffix(1);
  s = trim(s);
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::optional<std::string> electrode_alias(std::string_view name) {
  const auto n = normalize_channel_label(name);
  for (const auto& pair : kTenTwentyAliases) {
    if (n == pair.first) return std::string(pair.second);
    if (n == pair.second) return std::string(pair.first);
  }
  return std::nullopt;
}

std::optional<Position3> find_electrode(std::string_view name) { return reference_electrode_positions().find(name); }

Position3 channel_position(std::string_view channel, const ElectrodePositions& table) {
  std::string problem;
  const auto p = locate_channel(channel, table, problem);
  LUMAMBA_CHECK_INPUT(p.has_value(), "channel '{}': {}; {}", channel,
                      problem.empty() ? "unknown electrode" : problem, known_electrodes_hint(table));
  return *p;
}

std::vector<Position3> channel_positions(const std::vector<std::string>& channels, const ElectrodePositions& table) {
  std::vector<Position3> positions;
  positions.reserve(channels.size());
  std::vector<std::string> unknown;
  for (const auto& channel : channels) {
    std::string problem;
    if (auto p = locate_channel(channel, table, problem)) {
      positions.push_back(*p);
    } else {
      const auto shown = channel.empty() ? std::string("''") : channel;
      unknown.push_back(problem.empty() ? shown : fmt::format("{} ({})", shown, problem));
    }
  }
  LUMAMBA_CHECK_INPUT(unknown.empty(), "unknown channel(s): {}; {}", fmt::join(unknown, ", "),
                      known_electrodes_hint(table));
  return positions;
}

const std::vector<std::string>& channel_vocabulary() { return vocabulary().names; }

std::optional<int64_t> find_vocabulary_index(std::string_view channel) {
  const auto normalized = normalize_channel_label(channel);
  if (auto index = lookup_vocabulary(normalized)) return index;
  const auto parts = split(normalized, kBipolarSeparator);
  if (parts.size() > 2) return std::nullopt;
  // Every combination of "as written" / "aliased" per electrode, the as-written one first; the
  // pair order is kept because swapping it would flip the signal's sign.
  std::vector<std::vector<std::string>> choices;
  for (const auto part : parts) {
    std::vector<std::string> options{std::string(trim(part))};
    if (auto alias = electrode_alias(part)) options.push_back(std::move(*alias));
    choices.push_back(std::move(options));
  }
  const auto n_combinations = std::size_t{1} << parts.size();
  for (std::size_t mask = 1; mask < n_combinations; ++mask) {
    std::string candidate;
    bool valid = true;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const bool aliased = ((mask >> i) & 1U) != 0;
      if (aliased && choices[i].size() < 2) {
        valid = false;
        break;
      }
      if (i > 0) candidate += kBipolarSeparator;
      candidate += choices[i][aliased ? 1 : 0];
    }
    if (!valid) continue;
    if (auto index = lookup_vocabulary(candidate)) return index;
  }
  return std::nullopt;
}

std::vector<int64_t> vocabulary_indices(const std::vector<std::string>& channels) {
  std::vector<int64_t> indices;
  indices.reserve(channels.size());
  std::vector<std::string_view> missing;
  for (const auto& channel : channels) {
    if (const auto index = find_vocabulary_index(channel)) {
      indices.push_back(*index);
    } else {
      missing.push_back(channel);
    }
  }
  LUMAMBA_CHECK_INPUT(missing.empty(),
                      "channel(s) not in the {}-name channel vocabulary of the reconstruction "
                      "decoder (docs/reference-model.md §8): {}; names match case-insensitively and with "
                      "old/new 10-20 aliases, and bipolar pairs only in the TUEG order (e.g. FP1-F7)",
                      vocabulary().names.size(), fmt::join(missing, ", "));
  return indices;
}

const std::vector<BipolarDerivation>& tcp22_montage() {
  static const std::vector<BipolarDerivation> montage = parse_tcp22();  // thread-safe static init
  return montage;
}

std::vector<std::string> split_channel_list(std::string_view comma_separated) {
  std::vector<std::string> names;
  const auto parts = split(comma_separated, kListSeparator);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto name = trim(parts[i]);
    LUMAMBA_CHECK_INPUT(!name.empty(), "channel list '{}': entry {} of {} is empty",
                        comma_separated, i + 1, parts.size());
    names.emplace_back(name);
  }
  return names;
}

}  // namespace lumamba::io
