// Electrode-position tables (see lumamba/io/electrode_positions.h).
//
// Every reader returns positions in the file's own frame plus, where the format has them, the
// fiducials; finish() then scales and moves them to MNE's head frame exactly as MNE 1.3 does for
// the same file (mne/channels/_standard_montage_utils.py, montage.py: read_custom_montage,
// make_standard_montage, transform_to_head). The comparison with MNE's own numbers is
// tests/io/test_electrode_positions.cpp against tools/mne_reference/montage_reference.py.
#include "lumamba/io/electrode_positions.h"

#include <fmt/format.h>
#include <tinyxml2.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/io/channels.h"
#include "text_fields.h"

namespace lumamba::tables {
extern const char kStandard1005Tsv[];
struct EmbeddedFile {
  const char* name;
  const char* text;
};
extern const EmbeddedFile kMneMontageFiles[];
extern const std::size_t kMneMontageFilesCount;
}  // namespace lumamba::tables

namespace lumamba::io {
namespace {

namespace fs = std::filesystem;

// MNE's HEAD_SIZE_DEFAULT: the radius spherical and custom montages are scaled to (metres).
constexpr double kHeadRadiusM = 0.095;
constexpr double kPi = 3.14159265358979323846;

// fsaverage's MNI fiducials (mne._freesurfer.get_mni_fiducials('fsaverage'), float32 in MNE): the
// standard_*, mgh* and artinis* montages are in fsaverage MRI coordinates and MNE replaces their
// own Nz/LPA/RPA rows by these before moving them to the head frame.
constexpr Fiducials kFsaverageFiducials{{0.0014676303835585713, 0.08506715297698975, -0.03483611345291138},
                                        {-0.08061611652374268, -0.02908875234425068, -0.04131076857447624},
                                        {0.08436284959316254, -0.02850276418030262, -0.041277434676885605}};

// Old and new 10-20 names of the same electrodes; the SEED cap's cerebellar electrodes the
// reference places at POO7/POO8 (set_montage(match_alias={'cb1': 'POO7', 'cb2': 'POO8'})).
constexpr std::pair<std::string_view, std::string_view> kPositionStandIns[] = {{"CB1", "POO7"}, {"CB2", "POO8"}};

Position3 operator-(const Position3& a, const Position3& b) { return {a.x_m - b.x_m, a.y_m - b.y_m, a.z_m - b.z_m}; }
Position3 operator+(const Position3& a, const Position3& b) { return {a.x_m + b.x_m, a.y_m + b.y_m, a.z_m + b.z_m}; }
Position3 operator*(double s, const Position3& a) { return {s * a.x_m, s * a.y_m, s * a.z_m}; }
double dot(const Position3& a, const Position3& b) { return a.x_m * b.x_m + a.y_m * b.y_m + a.z_m * b.z_m; }
double norm(const Position3& a) { return std::sqrt(dot(a, a)); }
Position3 cross(const Position3& a, const Position3& b) {
  return {a.y_m * b.z_m - a.z_m * b.y_m, a.z_m * b.x_m - a.x_m * b.z_m, a.x_m * b.y_m - a.y_m * b.x_m};
}

// mne.transforms._sph_to_cart with (radius, azimuth = phi, polar = theta), angles in degrees.
Position3 from_theta_phi_deg(double radius, double theta_deg, double phi_deg) {
  const double theta = theta_deg * kPi / 180, phi = phi_deg * kPi / 180;
  const double xy = radius * std::sin(theta);
  return {xy * std::cos(phi), xy * std::sin(phi), radius * std::cos(theta)};
}

// What a reader found, before scaling and the head-frame transform.
struct RawTable {
  std::string source;
  std::vector<std::string> names;
  std::vector<Position3> positions;
  std::optional<Fiducials> fiducials;
};

double median_norm(const std::vector<Position3>& positions) {
  std::vector<double> norms;
  for (const auto& p : positions) norms.push_back(norm(p));
  LUMAMBA_CHECK_INPUT(!norms.empty(), "no positions");
  std::sort(norms.begin(), norms.end());
  const std::size_t n = norms.size();
  return n % 2 == 1 ? norms[n / 2] : (norms[n / 2 - 1] + norms[n / 2]) / 2;
}

void scale_all(RawTable& t, double s) {
  for (auto& p : t.positions) p = s * p;
  if (t.fiducials) t.fiducials = Fiducials{s * t.fiducials->nasion, s * t.fiducials->lpa, s * t.fiducials->rpa};
}

// Removes the rows named `nasion`, `lpa`, `rpa` and makes them the fiducials; with `required`
// false a table without all three keeps its rows' frame (MNE: identity to head, with a warning).
void take_fiducials(RawTable& t, std::string_view nasion, std::string_view lpa, std::string_view rpa, bool required) {
  std::optional<Position3> found[3];
  const std::string_view wanted[3] = {nasion, lpa, rpa};
  RawTable kept{t.source, {}, {}, t.fiducials};
  for (std::size_t i = 0; i < t.names.size(); ++i) {
    bool is_fiducial = false;
    for (int k = 0; k < 3; ++k) {
      if (t.names[i] == wanted[k]) {
        found[k] = t.positions[i];  // the last row of a name wins, as in MNE's OrderedDict
        is_fiducial = true;
      }
    }
    if (!is_fiducial) {
      kept.names.push_back(t.names[i]);
      kept.positions.push_back(t.positions[i]);
    }
  }
  LUMAMBA_CHECK(!required || (found[0] && found[1] && found[2]), "{}: fiducial rows {}, {}, {} missing", t.source,
                nasion, lpa, rpa);
  if (found[0] && found[1] && found[2]) kept.fiducials = Fiducials{*found[0], *found[1], *found[2]};
  t = std::move(kept);
}

ElectrodePositions finish(RawTable t) {
  if (t.fiducials) {
    for (auto& p : t.positions) p = to_head_frame(p, *t.fiducials);
  }
  return ElectrodePositions(t.source, std::move(t.names), std::move(t.positions));
}

[[noreturn]] void fail_line(const std::string& source, std::size_t line_no, const std::string& what) {
  throw InputError(fmt::format("{}: line {}: {}", source, line_no, what));
}

double number_at(const std::string& source, std::size_t line_no, std::string_view field) {
  const auto v = text::to_double(field);
  if (!v || !std::isfinite(*v)) fail_line(source, line_no, fmt::format("'{}' is not a number", field));
  return *v;
}

// ---- readers: one per format, each returning the file's own frame ----

// ASA .elc: "UnitPosition mm|m", "Positions" then one x y z row per electrode, "Labels" then one
// name per row. Built-in (fsaverage) files ignore the unit line and are in mm, as in MNE.
RawTable read_elc(const std::string& source, std::string_view text, bool builtin_mri) {
  RawTable t{source, {}, {}, std::nullopt};
  enum class Section { kHeader, kPositions, kLabels } section = Section::kHeader;
  double unit_m = builtin_mri ? 1e-3 : 0;
  const auto rows = text::lines(text);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto line = text::trim(rows[i]);
    if (section == Section::kHeader) {
      const auto fields = text::split_whitespace(line);
      if (!builtin_mri && !fields.empty() && fields[0] == "UnitPosition") {
        if (fields.size() == 2 && fields[1] == "mm") unit_m = 1e-3;
        else if (fields.size() == 2 && fields[1] == "m") unit_m = 1;
        else fail_line(source, i + 1, fmt::format("UnitPosition '{}' is not m or mm", line));
      } else if (line == "Positions") {
        if (unit_m == 0) fail_line(source, i + 1, "no 'UnitPosition m|mm' line before 'Positions'");
        section = Section::kPositions;
      }
    } else if (section == Section::kPositions) {
      if (line == "Labels") {
        section = Section::kLabels;
        continue;
      }
      // A row may carry a "name :" prefix in some exports; MNE's files do not: take the last three fields.
      const auto fields = text::split_whitespace(line);
      if (fields.size() < 3) fail_line(source, i + 1, fmt::format("expected x y z, got '{}'", line));
      const auto n = fields.size();
      t.positions.push_back(unit_m * Position3{number_at(source, i + 1, fields[n - 3]),
                                              number_at(source, i + 1, fields[n - 2]),
                                              number_at(source, i + 1, fields[n - 1])});
    } else {
      if (line.empty()) break;
      t.names.emplace_back(line);
    }
  }
  LUMAMBA_CHECK_INPUT(section == Section::kLabels, "{}: no 'Positions' and 'Labels' sections (ASA .elc)", source);
  LUMAMBA_CHECK_INPUT(t.names.size() == t.positions.size(), "{}: {} positions but {} labels", source,
                      t.positions.size(), t.names.size());
  return t;
}

// BESA/EGI .sfp: "name x y z" rows; "headshape" rows are head-surface points, not electrodes.
RawTable read_sfp(const std::string& source, std::string_view text) {
  RawTable t{source, {}, {}, std::nullopt};
  std::vector<Position3> all;
  const auto rows = text::lines(text);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto fields = text::split_whitespace(rows[i]);
    if (fields.empty()) continue;
    if (fields.size() != 4) fail_line(source, i + 1, fmt::format("expected 'name x y z', got '{}'", text::trim(rows[i])));
    const Position3 p{number_at(source, i + 1, fields[1]), number_at(source, i + 1, fields[2]),
                      number_at(source, i + 1, fields[3])};
    all.push_back(p);  // MNE's scale uses every non-headshape row, fiducials included
    if (fields[0] == "headshape") {
      all.pop_back();
      continue;
    }
    t.names.emplace_back(fields[0]);
    t.positions.push_back(p);
  }
  LUMAMBA_CHECK_INPUT(!t.names.empty(), "{}: no electrode rows (.sfp: name x y z)", source);
  const double scale = kHeadRadiusM / median_norm(all);
  take_fiducials(t, "FidNz", "FidT9", "FidT10", false);
  scale_all(t, scale);
  return t;
}

// MATLAB .csd: "label theta phi radius x y z off-sphere" rows, '//' comments; x y z on a unit sphere.
RawTable read_csd(const std::string& source, std::string_view text) {
  RawTable t{source, {}, {}, std::nullopt};
  const auto rows = text::lines(text);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto line = text::trim(rows[i]);
    if (line.empty() || line.substr(0, 2) == "//") continue;
    const auto fields = text::split_whitespace(line);
    if (fields.size() != 8) fail_line(source, i + 1, fmt::format("expected 8 fields (label theta phi radius x y z off), got '{}'", line));
    t.names.emplace_back(fields[0]);
    t.positions.push_back({number_at(source, i + 1, fields[4]), number_at(source, i + 1, fields[5]),
                           number_at(source, i + 1, fields[6])});
  }
  LUMAMBA_CHECK_INPUT(!t.names.empty(), "{}: no electrode rows (.csd)", source);
  scale_all(t, kHeadRadiusM / median_norm(t.positions));
  return t;
}

// Theta/phi in degrees ("name theta phi" after one header line), on a sphere of MNE's head radius.
RawTable read_theta_phi(const std::string& source, std::string_view text) {
  RawTable t{source, {}, {}, std::nullopt};
  const auto rows = text::lines(text);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto fields = text::split_whitespace(rows[i]);
    if (fields.empty()) continue;
    if (fields.size() != 3) fail_line(source, i + 1, fmt::format("expected 'name theta phi' (degrees), got '{}'", text::trim(rows[i])));
    t.names.emplace_back(fields[0]);
    t.positions.push_back(
        from_theta_phi_deg(kHeadRadiusM, number_at(source, i + 1, fields[1]), number_at(source, i + 1, fields[2])));
  }
  LUMAMBA_CHECK_INPUT(!t.names.empty(), "{}: no electrode rows ('name theta phi' after a header line)", source);
  return t;
}

// BrainVision .bvef (XML): <Electrode><Name/><Theta/><Phi/><Radius/></Electrode>, degrees.
RawTable read_bvef(const std::string& source, const std::string& text) {
  RawTable t{source, {}, {}, std::nullopt};
  tinyxml2::XMLDocument doc;
  LUMAMBA_CHECK_INPUT(doc.Parse(text.c_str(), text.size()) == tinyxml2::XML_SUCCESS, "{}: not valid XML: {} (line {})",
                      source, doc.ErrorStr(), doc.ErrorLineNum());
  const auto* root = doc.RootElement();
  LUMAMBA_CHECK_INPUT(root != nullptr, "{}: empty XML document", source);
  int index = 0;
  for (const auto* e = root->FirstChildElement("Electrode"); e != nullptr; e = e->NextSiblingElement("Electrode")) {
    ++index;
    auto field = [&](const char* tag) -> std::string {
      const auto* c = e->FirstChildElement(tag);
      LUMAMBA_CHECK_INPUT(c != nullptr && c->GetText() != nullptr, "{}: electrode {} (line {}) has no <{}>", source,
                          index, e->GetLineNum(), tag);
      return c->GetText();
    };
    auto number = [&](const char* tag) {
      const auto v = text::to_double(field(tag));
      LUMAMBA_CHECK_INPUT(v.has_value(), "{}: electrode {} (line {}): <{}> '{}' is not a number", source, index,
                          e->GetLineNum(), tag, field(tag));
      return *v;
    };
    t.names.emplace_back(text::trim(field("Name")));
    t.positions.push_back(from_theta_phi_deg(number("Radius"), number("Theta"), number("Phi")));
  }
  LUMAMBA_CHECK_INPUT(!t.names.empty(), "{}: no <Electrode> elements under <{}>", source, root->Name());
  scale_all(t, kHeadRadiusM / median_norm(t.positions));
  return t;
}

// BIDS *_coordsystem.json beside an *_electrodes.tsv: units and, when given, anatomical landmarks.
struct BidsCoordinateSystem {
  std::string path;
  double unit_m = 1;
  std::string system;
  std::optional<Fiducials> landmarks;
};

std::optional<std::string> find_coordsystem_json(const fs::path& electrodes_tsv) {
  const std::string file = electrodes_tsv.filename().string();
  constexpr std::string_view kSuffix = "_electrodes.tsv";
  if (file.size() > kSuffix.size() && file.compare(file.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0) {
    const auto sibling = electrodes_tsv.parent_path() / (file.substr(0, file.size() - kSuffix.size()) + "_coordsystem.json");
    if (fs::exists(sibling)) return sibling.string();
    // BIDS inheritance: one coordsystem.json of the folder serves every electrodes file in it.
    std::vector<std::string> candidates;
    for (const auto& entry : fs::directory_iterator(electrodes_tsv.parent_path())) {
      const auto name = entry.path().filename().string();
      if (name.size() > 17 && name.compare(name.size() - 17, 17, "_coordsystem.json") == 0) {
        candidates.push_back(entry.path().string());
      }
    }
    if (candidates.size() == 1) return candidates.front();
  }
  return std::nullopt;
}

double bids_unit_m(const std::string& path, const std::string& unit) {
  if (unit == "m") return 1;
  if (unit == "cm") return 1e-2;
  if (unit == "mm") return 1e-3;
  throw InputError(fmt::format("{}: EEGCoordinateUnits '{}' is not m, cm or mm", path, unit));
}

BidsCoordinateSystem read_coordsystem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LUMAMBA_CHECK_INPUT(in.good(), "{}: cannot open", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  BidsCoordinateSystem cs{path, 1, "", std::nullopt};
  LUMAMBA_CHECK_INPUT(j.contains("EEGCoordinateUnits") && j["EEGCoordinateUnits"].is_string(),
                      "{}: EEGCoordinateUnits (m, cm or mm) is required to read electrode positions", path);
  cs.unit_m = bids_unit_m(path, j["EEGCoordinateUnits"].get<std::string>());
  if (j.contains("EEGCoordinateSystem") && j["EEGCoordinateSystem"].is_string()) {
    cs.system = j["EEGCoordinateSystem"].get<std::string>();
  }
  if (j.contains("AnatomicalLandmarkCoordinates") && j["AnatomicalLandmarkCoordinates"].is_object()) {
    const auto& lm = j["AnatomicalLandmarkCoordinates"];
    double lm_unit = cs.unit_m;
    if (j.contains("AnatomicalLandmarkCoordinateUnits") && j["AnatomicalLandmarkCoordinateUnits"].is_string() &&
        j["AnatomicalLandmarkCoordinateUnits"].get<std::string>() != "n/a") {
      lm_unit = bids_unit_m(path, j["AnatomicalLandmarkCoordinateUnits"].get<std::string>());
    }
    auto point = [&](std::initializer_list<const char*> keys) -> std::optional<Position3> {
      for (const char* k : keys) {
        if (lm.contains(k)) {
          const auto& v = lm[k];
          LUMAMBA_CHECK_INPUT(v.is_array() && v.size() == 3 && v[0].is_number() && v[1].is_number() && v[2].is_number(),
                              "{}: AnatomicalLandmarkCoordinates.{} must be [x, y, z]", path, k);
          return lm_unit * Position3{v[0].get<double>(), v[1].get<double>(), v[2].get<double>()};
        }
      }
      return std::nullopt;
    };
    const auto nas = point({"NAS", "Nasion", "NZ", "nasion"});
    const auto lpa = point({"LPA", "lpa", "LeftPreauricular"});
    const auto rpa = point({"RPA", "rpa", "RightPreauricular"});
    if (nas && lpa && rpa) cs.landmarks = Fiducials{*nas, *lpa, *rpa};
  }
  return cs;
}

// name,x,y,z tables: .csv (comma) or .tsv (tab), one header line; metres as in MNE's _read_xyz,
// unless a BIDS coordsystem.json beside the file says otherwise. BIDS "n/a" rows have no position.
RawTable read_xyz(const std::string& source, std::string_view text, char separator, std::vector<std::string>& unplaced) {
  RawTable t{source, {}, {}, std::nullopt};
  const auto rows = text::lines(text);
  bool header = true;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (text::trim(rows[i]).empty()) continue;
    const auto fields = text::split(rows[i], separator);
    if (header) {
      header = false;
      const bool named = fields.size() >= 4 && text::trim(fields[1]) == "x" && text::trim(fields[2]) == "y" &&
                         text::trim(fields[3]) == "z";
      if (!named) fail_line(source, i + 1, fmt::format("header must start with name{0}x{0}y{0}z, got '{1}'",
                                                       separator == '\t' ? "<tab>" : ",", text::trim(rows[i])));
      continue;
    }
    if (fields.size() < 4) fail_line(source, i + 1, fmt::format("expected name, x, y, z, got '{}'", text::trim(rows[i])));
    const std::string name(text::trim(fields[0]));
    if (text::trim(fields[1]) == "n/a" || text::trim(fields[2]) == "n/a" || text::trim(fields[3]) == "n/a") {
      unplaced.push_back(name);
      continue;
    }
    t.names.push_back(name);
    t.positions.push_back({number_at(source, i + 1, fields[1]), number_at(source, i + 1, fields[2]),
                           number_at(source, i + 1, fields[3])});
  }
  LUMAMBA_CHECK_INPUT(!t.names.empty(), "{}: no electrode with a position", source);
  return t;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// ---- built-in tables ----

ElectrodePositions parse_reference_table() {
  // data/electrodes/standard_1005_mne_head.tsv: name, head-frame x y z, montage-frame x y z.
  constexpr std::string_view kSource = "data/electrodes/standard_1005_mne_head.tsv";
  std::vector<std::string> names;
  std::vector<Position3> positions;
  bool header = true;
  const auto rows = text::lines(tables::kStandard1005Tsv);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (text::trim(rows[i]).empty() || rows[i].front() == '#') continue;
    const auto fields = text::split(rows[i], '\t');
    LUMAMBA_CHECK(fields.size() == 7, "{}: line {}: expected 7 fields", kSource, i + 1);
    if (header) {
      header = false;
      continue;
    }
    const auto x = text::to_double(fields[1]), y = text::to_double(fields[2]), z = text::to_double(fields[3]);
    LUMAMBA_CHECK(x && y && z, "{}: line {}: not a number", kSource, i + 1);
    names.emplace_back(fields[0]);
    positions.push_back({*x, *y, *z});
  }
  return ElectrodePositions("standard_1005", std::move(names), std::move(positions));
}

std::string_view builtin_file_text(std::string_view file) {
  for (std::size_t i = 0; i < tables::kMneMontageFilesCount; ++i) {
    if (file == tables::kMneMontageFiles[i].name) return tables::kMneMontageFiles[i].text;
  }
  throw InternalError(fmt::format("built-in montage file '{}' is not embedded (data/electrodes/mne/)", file));
}

// As mne.channels.make_standard_montage(name) (head_size 'auto'), then transform_to_head.
ElectrodePositions parse_mne_builtin(const std::string& name) {
  const bool fsaverage = name.rfind("standard", 0) == 0 || name.rfind("mgh", 0) == 0 || name.rfind("artinis", 0) == 0;
  if (fsaverage) {
    auto t = read_elc(name, builtin_file_text(name + ".elc"), /*builtin_mri=*/true);
    take_fiducials(t, "Nz", "LPA", "RPA", true);
    t.fiducials = kFsaverageFiducials;  // MNE: coord_frame 'mri' uses fsaverage's fiducials
    return finish(std::move(t));
  }
  if (name.rfind("biosemi", 0) == 0) {
    auto t = read_theta_phi(name, builtin_file_text(name + ".txt"));
    take_fiducials(t, "Nz", "LPA", "RPA", false);
    return finish(std::move(t));
  }
  if (name.rfind("easycap", 0) == 0 || name.rfind("brainproducts", 0) == 0) {
    auto t = read_theta_phi(name, builtin_file_text(name + ".txt"));
    // MNE adds 10-20 fiducials on the sphere: nasion (115°, 90°), LPA (-115°, 0°), RPA (115°, 0°).
    t.fiducials = Fiducials{from_theta_phi_deg(kHeadRadiusM, 115, 90), from_theta_phi_deg(kHeadRadiusM, -115, 0),
                            from_theta_phi_deg(kHeadRadiusM, 115, 0)};
    return finish(std::move(t));
  }
  if (name.rfind("GSN-HydroCel", 0) == 0) return finish(read_sfp(name, builtin_file_text(name + ".sfp")));
  if (name == "EGI_256") {
    auto t = read_csd(name, builtin_file_text("EGI_256.csd"));
    // MNE: nasion = E31; LPA/RPA 3/4 of the way between the electrodes half-way down the ear holes.
    auto at = [&](std::string_view e) {
      const auto it = std::find(t.names.begin(), t.names.end(), e);
      LUMAMBA_CHECK(it != t.names.end(), "EGI_256: electrode {} missing", e);
      return t.positions[static_cast<std::size_t>(it - t.names.begin())];
    };
    t.fiducials = Fiducials{at("E31"), 0.75 * at("E67") + 0.25 * at("E94"), 0.75 * at("E219") + 0.25 * at("E190")};
    return finish(std::move(t));
  }
  throw InternalError(fmt::format("no reader for built-in montage '{}'", name));
}

}  // namespace

Position3 to_head_frame(const Position3& p, const Fiducials& f) {
  const Position3 right = f.rpa - f.lpa;
  const double right_norm = norm(right);
  LUMAMBA_CHECK_INPUT(right_norm > 0, "fiducials: LPA and RPA are the same point");
  const Position3 right_unit = (1 / right_norm) * right;
  const Position3 origin = f.lpa + dot(f.nasion - f.lpa, right_unit) * right_unit;
  const Position3 anterior = f.nasion - origin;
  const double anterior_norm = norm(anterior);
  LUMAMBA_CHECK_INPUT(anterior_norm > 0, "fiducials: the nasion lies on the LPA-RPA line");
  const Position3 anterior_unit = (1 / anterior_norm) * anterior;
  const Position3 superior_unit = cross(right_unit, anterior_unit);
  const Position3 d = p - origin;
  return {dot(right_unit, d), dot(anterior_unit, d), dot(superior_unit, d)};
}

ElectrodePositions::ElectrodePositions(std::string source, std::vector<std::string> names,
                                       std::vector<Position3> positions)
    : source_(std::move(source)), names_(std::move(names)), positions_(std::move(positions)) {
  LUMAMBA_CHECK(names_.size() == positions_.size(), "{}: {} names for {} positions", source_, names_.size(),
                positions_.size());
  keys_.reserve(names_.size());
  for (std::size_t i = 0; i < names_.size(); ++i) {
    LUMAMBA_CHECK_INPUT(!normalize_channel_label(names_[i]).empty(), "{}: electrode {} has an empty name", source_, i + 1);
    keys_.push_back(normalize_channel_label(names_[i]));
  }
  order_.resize(names_.size());
  std::iota(order_.begin(), order_.end(), std::size_t{0});
  std::sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) { return keys_[a] < keys_[b]; });
  for (std::size_t i = 1; i < order_.size(); ++i) {
    LUMAMBA_CHECK_INPUT(keys_[order_[i]] != keys_[order_[i - 1]],
                        "{}: electrode '{}' is listed twice (names are compared case-insensitively)", source_,
                        names_[order_[i]]);
  }
}

std::optional<Position3> ElectrodePositions::find_exact(const std::string& key) const {
  const auto it = std::lower_bound(order_.begin(), order_.end(), key,
                                   [&](std::size_t i, const std::string& k) { return keys_[i] < k; });
  if (it == order_.end() || keys_[*it] != key) return std::nullopt;
  return positions_[*it];
}

std::optional<Position3> ElectrodePositions::find(std::string_view electrode) const {
  const auto key = normalize_channel_label(electrode);
  if (key.empty()) return std::nullopt;
  if (auto p = find_exact(key)) return p;
  if (const auto alias = electrode_alias(key)) {
    if (auto p = find_exact(*alias)) return p;
  }
  for (const auto& [name, stand_in] : kPositionStandIns) {
    if (key == name) return find_exact(std::string(stand_in));
  }
  return std::nullopt;
}

const std::vector<std::string>& builtin_electrode_position_names() {
  // MNE 1.3's mne.channels.get_builtin_montages() order, standard_1005 (the reference's table) first.
  static const std::vector<std::string> names = {
      "standard_1005",   "standard_1020",       "standard_alphabetic", "standard_postfixed", "standard_prefixed",
      "standard_primed", "biosemi16",           "biosemi32",           "biosemi64",          "biosemi128",
      "biosemi160",      "biosemi256",          "easycap-M1",          "easycap-M10",        "EGI_256",
      "GSN-HydroCel-32", "GSN-HydroCel-64_1.0", "GSN-HydroCel-65_1.0", "GSN-HydroCel-128",   "GSN-HydroCel-129",
      "GSN-HydroCel-256", "GSN-HydroCel-257",   "mgh60",               "mgh70",              "artinis-octamon",
      "artinis-brite23", "brainproducts-RNP-BA-128"};
  return names;
}

const ElectrodePositions& builtin_electrode_positions(std::string_view name) {
  const auto& names = builtin_electrode_position_names();
  const auto it = std::find(names.begin(), names.end(), name);
  LUMAMBA_CHECK_INPUT(it != names.end(), "no built-in electrode positions '{}'; built in: {} (or give a file: .elc, "
                      ".sfp, .csd, .txt, .bvef, .csv, .tsv)", name, fmt::join(names, ", "));
  static std::mutex mutex;
  static std::map<std::string, ElectrodePositions> parsed;  // node-based: references stay valid
  const std::lock_guard<std::mutex> lock(mutex);
  auto found = parsed.find(*it);
  if (found == parsed.end()) {
    found = parsed.emplace(*it, *it == "standard_1005" ? parse_reference_table() : parse_mne_builtin(*it)).first;
  }
  return found->second;
}

const ElectrodePositions& reference_electrode_positions() { return builtin_electrode_positions("standard_1005"); }

ElectrodePositions read_electrode_positions(const std::string& path) {
  const fs::path p(path);
  const std::string ext = lower(p.extension().string());
  const std::string text = read_text_file(path, "electrode positions file");
  if (ext == ".elc") {
    auto t = read_elc(path, text, false);
    const double scale = kHeadRadiusM / median_norm(t.positions);  // MNE: every row, fiducials included
    take_fiducials(t, "Nz", "LPA", "RPA", false);
    scale_all(t, scale);
    return finish(std::move(t));
  }
  if (ext == ".sfp") return finish(read_sfp(path, text));
  if (ext == ".csd") return finish(read_csd(path, text));
  if (ext == ".txt") {
    auto t = read_theta_phi(path, text);
    take_fiducials(t, "Nz", "LPA", "RPA", false);
    return finish(std::move(t));
  }
  if (ext == ".bvef") return finish(read_bvef(path, text));
  if (ext == ".csv" || ext == ".tsv") {
    std::vector<std::string> unplaced;
    auto t = read_xyz(path, text, ext == ".csv" ? ',' : '\t', unplaced);
    const auto coordsystem = ext == ".tsv" ? find_coordsystem_json(p) : std::nullopt;
    if (coordsystem) {
      const auto cs = read_coordsystem(*coordsystem);
      scale_all(t, cs.unit_m);
      if (cs.landmarks) {
        t.fiducials = cs.landmarks;
      } else if (cs.system == "EEGLAB" || cs.system == "EEGLAB-HJ" || cs.system == "CTF") {
        // ALS (x anterior, y left, z up) -> RAS like the head frame: right = -left, anterior = x.
        for (auto& q : t.positions) q = {-q.y_m, q.x_m, q.z_m};
      }
    }
    if (!unplaced.empty()) {
      log::warn("{}: no position (n/a) for {} electrode(s): {}", path, unplaced.size(), fmt::join(unplaced, ", "));
    }
    auto positions = finish(std::move(t));
    // A table in millimetres read as metres puts electrodes metres apart: say so instead.
    const double radius = median_norm(positions.positions());
    LUMAMBA_CHECK_INPUT(radius < 1.0, "{}: electrodes lie {:.3g} m from the origin on median: positions in a "
                        ".csv/.tsv are metres (or the units of a BIDS *_coordsystem.json beside it)", path, radius);
    return positions;
  }
  throw InputError(fmt::format("electrode positions '{}': unknown extension '{}'; lumamba reads .elc, .sfp, .csd, "
                               ".txt (name theta phi), .bvef, .csv and .tsv (name, x, y, z)", path, ext));
}

ElectrodePositions electrode_positions(const std::string& name_or_path) {
  const auto& names = builtin_electrode_position_names();
  if (std::find(names.begin(), names.end(), name_or_path) != names.end()) {
    return builtin_electrode_positions(name_or_path);
  }
  LUMAMBA_CHECK_INPUT(fs::exists(name_or_path), "positions '{}' is neither a built-in table ({}) nor an existing file",
                      name_or_path, fmt::join(names, ", "));
  return read_electrode_positions(name_or_path);
}

}  // namespace lumamba::io
