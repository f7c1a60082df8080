// lumamba/io/electrode_positions.h — named tables of electrode positions (what MNE calls a montage;
// in lumamba a montage is the set of derived channels, lumamba/preprocess/montage.h), all in the frame
// the model's channel locations use: metres, MNE head frame (docs/montages.md).
//
// Built in: "standard_1005" (the reference's table, data/electrodes/standard_1005_mne_head.tsv) and
// every other standard montage MNE 1.3 ships (data/electrodes/mne/, BSD-3-Clause, MNE-Python
// authors), read the way mne.channels.make_standard_montage reads them. From files: .elc, .sfp,
// .csd, .txt (theta/phi in degrees), .bvef, and .csv/.tsv name,x,y,z tables (a BIDS
// *_electrodes.tsv with its *_coordsystem.json), read the way mne.channels.read_custom_montage does.
// Every table is then brought to MNE's head frame through its fiducials, as raw.set_montage does.
// Torch-free.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lumamba::io {

/// A 3-D position in metres, MNE head frame (x right, y anterior/nasion, z up).
struct Position3 {
  double x_m = 0, y_m = 0, z_m = 0;
};

/// Nasion and left/right pre-auricular points, in the frame of the positions they come with.
struct Fiducials {
  Position3 nasion, lpa, rpa;
};

/// MNE's head frame (mne.transforms.get_ras_to_neuromag_trans): x from LPA towards RPA, y through
/// the nasion perpendicular to x, z = x × y; the origin is the foot of the nasion on the LPA-RPA
/// line. InputError when the fiducials are degenerate (LPA = RPA, nasion on the LPA-RPA line).
Position3 to_head_frame(const Position3& p, const Fiducials& fiducials);

class ElectrodePositions {
 public:
  ElectrodePositions() = default;
  /// `source` names the table in messages ("biosemi64", a file path). Names are compared after
  /// normalize_channel_label (lumamba/io/channels.h); two names equal after it are an InputError.
  ElectrodePositions(std::string source, std::vector<std::string> names, std::vector<Position3> positions);

  const std::string& source() const { return source_; }
  /// Electrode names as the source spells them, in its order.
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<Position3>& positions() const { return positions_; }
  std::size_t size() const { return names_.size(); }

  /// Case-insensitive; when absent, the old/new 10-20 alias (T3/T7, T4/T8, T5/P7, T6/P8) and the
  /// SEED cap's CB1/CB2 placed at POO7/POO8 (as the reference's set_montage(match_alias=...)).
  std::optional<Position3> find(std::string_view electrode) const;

 private:
  std::optional<Position3> find_exact(const std::string& normalized) const;

  std::string source_;
  std::vector<std::string> names_;
  std::vector<std::string> keys_;  // normalised names, sorted with order_ for binary search
  std::vector<std::size_t> order_;
  std::vector<Position3> positions_;
};

/// "standard_1005" first, then MNE's standard montages in MNE's order.
const std::vector<std::string>& builtin_electrode_position_names();

/// A built-in table by name (exact, as MNE names them: "biosemi64", "GSN-HydroCel-129"); InputError
/// listing the names otherwise. Parsed once, on first use (thread-safe).
const ElectrodePositions& builtin_electrode_positions(std::string_view name);

/// The reference's table, builtin_electrode_positions("standard_1005"): the default of every preset.
const ElectrodePositions& reference_electrode_positions();

/// Reads a position file by its extension (see the top of this header); InputError naming the
/// file and line on anything malformed, on units that cannot be told, on duplicate names.
ElectrodePositions read_electrode_positions(const std::string& path);

/// The preset key `positions`: a built-in name, else a file path.
ElectrodePositions electrode_positions(const std::string& name_or_path);

}  // namespace lumamba::io
