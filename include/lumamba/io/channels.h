// lumamba/io/channels.h — channel knowledge: electrode positions, the channel-name vocabulary and
// the TCP bipolar montage, looked up from the tables in data/ (embedded at build time, docs/style.md §9).
//
// Mirrors BioFoundation models/modules/channel_embeddings.py: positions are MNE 1.3.0
// `standard_1005` in MNE's head frame after set_montage(match_case=False) (metres); a bipolar
// channel "A-B" sits at the midpoint (A+B)/2; the vocabulary is docs/reference-model.md §8 (V = 90, index = row).
// Names are compared upper-case; old/new 10-20 names (T3/T7, T4/T8, T5/P7, T6/P8) are aliases.
// Torch-free (io never includes LibTorch). All tables are parsed once, on first use (thread-safe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lumamba/io/electrode_positions.h"

namespace lumamba::io {

/// Upper-case, trimmed; strips trailing dots ("Fc5." -> "FC5"); does NOT apply aliases.
std::string normalize_channel_label(std::string_view label);

/// Old/new 10-20 alias of an electrode name (T3<->T7, T4<->T8, T5<->P7, T6<->P8), upper-case;
/// nullopt if none. The input is compared after normalize_channel_label.
std::optional<std::string> electrode_alias(std::string_view name);

/// Position of an electrode in the reference's standard_1005 table (case-insensitive; alias tried
/// when the name itself is absent; CB1/CB2 at POO7/POO8): reference_electrode_positions().find.
std::optional<Position3> find_electrode(std::string_view name);

/// Position of a channel: an electrode name, or a bipolar "A-B" located at the midpoint of A and B
/// (each side looked up in `table` with aliases). Throws InputError naming the channel and the
/// unknown electrode (or the malformed name, e.g. "A-B-C", "-B").
Position3 channel_position(std::string_view channel,
                           const ElectrodePositions& table = reference_electrode_positions());

/// All positions, in the order given; throws ONE InputError listing every unknown channel name
/// ("unknown channel(s): X, Y; known electrodes come from standard_1005 ...").
std::vector<Position3> channel_positions(const std::vector<std::string>& channels,
                                         const ElectrodePositions& table = reference_electrode_positions());

/// The 90-name vocabulary of the reconstruction decoder's channel embedding (docs/reference-model.md §8), upper-case,
/// in code-point order; index = position = row of channel_emb.embeddings.weight.
const std::vector<std::string>& channel_vocabulary();

/// Index in the vocabulary: case-insensitive; if absent, retried with aliases applied to each
/// electrode of the name (e.g. "T7-P7" -> "T3-T5"; "t7" -> "T7", which exists itself). The order
/// of a bipolar pair is never swapped (it is the sign of the signal). nullopt if none.
std::optional<int64_t> find_vocabulary_index(std::string_view channel);

/// All indices, in the order given; throws one InputError listing every name not in the vocabulary.
std::vector<int64_t> vocabulary_indices(const std::vector<std::string>& channels);

/// One bipolar derivation: signal = anode − cathode; name = "ANODE-CATHODE" (upper-case).
struct BipolarDerivation {
  std::string name, anode, cathode;
};

/// The 22 TCP derivations in TUEG order (FP1-F7 … T4-A2, data/montages/tcp22.tsv).
const std::vector<BipolarDerivation>& tcp22_montage();

/// Splits "a,b , c" into trimmed names (helper for metadata/CLI lists), case kept; empty entries
/// (including an empty input or a trailing comma) are rejected with InputError.
std::vector<std::string> split_channel_list(std::string_view comma_separated);

}  // namespace lumamba::io
