// lumamba/preprocess/montage.h — montages on plain per-channel buffers: TCP bipolar, custom bipolar
// derivations, or unipolar channels with an optional reference (average, ears, mastoids, electrodes).
//
// A bipolar channel "A-B" is anode − cathode (µV), exactly as the LuMamba/BioFoundation TUH
// preprocessing derives its TCP montage (raw_anode − raw_cathode, MNE 1.3 data ×1e6); it sits at
// the midpoint of A and B (lumamba::io::channel_position). The TCP list is data/montages/tcp22.tsv
// (lumamba::io::tcp22_montage); TUH's "_a" montages (03_tcp_ar_a) have no A1/A2, so they use the
// 20 derivations without A1-T3 and T4-A2. Electrode names are matched after
// lumamba::io::normalize_channel_label, with the old/new 10-20 aliases (T3=T7, T4=T8, T5=P7, T6=P8).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lumamba/io/channels.h"

namespace lumamba::preprocess {

/// The TUH TCP variants: 01_tcp_ar and 02_tcp_le have 22 derivations, 03_tcp_ar_a has 20.
enum class TcpMontage { kAr, kLe, kArA };

/// "ar", "le", "ar_a" or a TUH folder name ("01_tcp_ar", "02_tcp_le", "03_tcp_ar_a"),
/// case-insensitive; InputError listing the accepted names otherwise.
TcpMontage parse_tcp_montage(std::string_view name);

/// One output channel; cathode is empty for a unipolar channel.
struct MontageChannel {
  std::string name;     // "FP1-F7" or "FP1" (upper-case)
  std::string anode;    // electrode
  std::string cathode;  // electrode, or empty
  io::Position3 position;
};

struct Montage {
  std::string name;  // e.g. "tcp_ar (22 bipolar)", "unipolar (19)"
  std::vector<MontageChannel> channels;
  /// Re-referencing of unipolar channels (bipolar channels are reference-free): each channel minus
  /// the mean of these electrodes (one: a named reference; two: linked ears/mastoids) ...
  std::vector<std::string> reference_electrodes;
  /// ... or minus the mean of the montage's own channels (MNE's set_eeg_reference('average') after
  /// picking them). At most one of the two.
  bool average_reference = false;

  std::vector<std::string> channel_names() const;
  /// Every electrode the montage reads (reference electrodes included), in first-use order, without duplicates.
  std::vector<std::string> required_electrodes() const;
};

/// The TCP bipolar montage: 22 derivations (ar/le) or 20 (ar_a), in TUEG order.
Montage tcp_montage(TcpMontage variant, const io::ElectrodePositions& positions = io::reference_electrode_positions());

/// Unipolar channels, one per electrode name (normalised; positions looked up: InputError listing
/// unknown names; duplicates after normalisation are rejected).
Montage unipolar_montage(const std::vector<std::string>& electrodes,
                         const io::ElectrodePositions& positions = io::reference_electrode_positions());

/// Bipolar channels ANODE-CATHODE at the midpoints of their electrodes; InputError listing unknown
/// electrodes, a derivation given twice, or one whose anode is its cathode.
Montage bipolar_montage(const std::vector<io::BipolarDerivation>& derivations,
                        const io::ElectrodePositions& positions = io::reference_electrode_positions());

/// "FP1-F7" -> {FP1-F7, FP1, F7} (upper-case); InputError unless exactly one '-' between two names.
io::BipolarDerivation parse_derivation(std::string_view text);

/// A derivations file: one pair per line as `anode,cathode` (.csv) or `anode<TAB>cathode` (.tsv,
/// .txt), or `ANODE-CATHODE`; an optional header line `anode,cathode`; '#' comments. InputError
/// naming the file and line.
std::vector<io::BipolarDerivation> read_derivations(const std::string& path);

/// missing: drop — keeps the channels whose electrodes are all in `available` (matched like
/// resolve_electrodes: normalised name, then 10-20 alias) and returns the names of those dropped.
/// Reference electrodes are not dropped (a missing one stays an error in resolve_electrodes).
std::vector<std::string> drop_unavailable_channels(Montage& montage, const std::vector<std::string>& available);

/// Output of apply_montage: the montage's channels, in its order.
struct MontageSignals {
  std::vector<std::string> names;
  std::vector<io::Position3> positions;
  std::vector<std::vector<double>> data_uv;  // [channel][sample]
};

/// For each montage electrode, the index of the input channel that carries it: exact
/// (normalised) name first, else its 10-20 alias. InputError naming every missing electrode (and
/// `source_name`, e.g. the EDF file, when given), or an electrode present twice.
std::vector<std::size_t> resolve_electrodes(const std::vector<std::string>& electrodes,
                                            const std::vector<std::string>& input_names,
                                            std::string_view source_name = {});

/// Derives the montage's channels from input channels of one rate and length:
/// bipolar = anode − cathode, unipolar = a copy. n_threads as elsewhere (0 = all cores).
MontageSignals apply_montage(const Montage& montage, const std::vector<std::string>& input_names,
                             const std::vector<std::vector<double>>& input_uv,
                             std::string_view source_name = {}, int n_threads = 1);

}  // namespace lumamba::preprocess
