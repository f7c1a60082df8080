// Montages on plain buffers (see lumamba/preprocess/montage.h).
//
// Mirrors the TUH/TUEG preprocessing of the LuMamba reference (BioFoundation; MNE 1.3 data in µV):
// each TCP derivation is raw[anode] − raw[cathode]; "_a" recordings lack A1/A2, hence 20 channels.
// Electrode look-up is by normalised name, then 10-20 alias, and every missing electrode is
// reported at once so a user fixes a file in one go.
#include "lumamba/preprocess/montage.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <unordered_map>

#include "lumamba/core/error.h"
#include "parallel.h"

namespace lumamba::preprocess {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool uses_ear_electrode(const io::BipolarDerivation& d) {
  return d.anode == "A1" || d.anode == "A2" || d.cathode == "A1" || d.cathode == "A2";
}

std::string source_prefix(std::string_view source_name) {
  return source_name.empty() ? std::string() : fmt::format("{}: ", source_name);
}

}  // namespace

TcpMontage parse_tcp_montage(std::string_view name) {
  const std::string n = lower(name);
  if (n == "ar" || n == "tcp_ar" || n == "01_tcp_ar") return TcpMontage::kAr;
  if (n == "le" || n == "tcp_le" || n == "02_tcp_le") return TcpMontage::kLe;
  if (n == "ar_a" || n == "tcp_ar_a" || n == "03_tcp_ar_a") return TcpMontage::kArA;
  throw InputError(fmt::format(
      "invalid value for 'montage': got '{}'; must be one of ar, le, ar_a (or the TUH folders "
      "01_tcp_ar, 02_tcp_le, 03_tcp_ar_a)", name));
}

std::vector<std::string> Montage::channel_names() const {
  std::vector<std::string> out;
  out.reserve(channels.size());
  for (const auto& c : channels) out.push_back(c.name);
  return out;
}

std::vector<std::string> Montage::required_electrodes() const {
  std::vector<std::string> out;
  auto add = [&](const std::string& e) {
    if (!e.empty() && std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  };
  for (const auto& c : channels) {
    add(c.anode);
    add(c.cathode);
  }
  for (const auto& e : reference_electrodes) add(e);
  return out;
}

Montage tcp_montage(TcpMontage variant, const io::ElectrodePositions& positions) {
  Montage m;
  for (const auto& d : io::tcp22_montage()) {
    if (variant == TcpMontage::kArA && uses_ear_electrode(d)) continue;
    m.channels.push_back({d.name, d.anode, d.cathode, io::channel_position(d.name, positions)});
  }
  const char* label = variant == TcpMontage::kAr ? "tcp_ar" : variant == TcpMontage::kLe ? "tcp_le" : "tcp_ar_a";
  m.name = fmt::format("{} ({} bipolar)", label, m.channels.size());
  return m;
}

Montage unipolar_montage(const std::vector<std::string>& electrodes, const io::ElectrodePositions& table) {
  LUMAMBA_CHECK_INPUT(!electrodes.empty(), "unipolar_montage: the electrode list is empty");
  Montage m;
  std::vector<std::string> names;
  for (const auto& e : electrodes) {
    std::string n = io::normalize_channel_label(e);
    LUMAMBA_CHECK_INPUT(std::find(names.begin(), names.end(), n) == names.end(),
                        "unipolar_montage: electrode '{}' is listed twice", n);
    names.push_back(n);
  }
  const std::vector<io::Position3> positions = io::channel_positions(names, table);  // one error for all
  for (std::size_t i = 0; i < names.size(); ++i) {
    m.channels.push_back({names[i], names[i], std::string(), positions[i]});
  }
  m.name = fmt::format("unipolar ({})", m.channels.size());
  return m;
}

io::BipolarDerivation parse_derivation(std::string_view text) {
  const std::string n = io::normalize_channel_label(text);
  const auto dash = n.find('-');
  LUMAMBA_CHECK_INPUT(dash != std::string::npos && dash > 0 && dash + 1 < n.size() && n.find('-', dash + 1) == std::string::npos,
                      "derivation '{}': expected ANODE-CATHODE (two electrode names joined by one '-')", text);
  const std::string anode = io::normalize_channel_label(n.substr(0, dash));
  const std::string cathode = io::normalize_channel_label(n.substr(dash + 1));
  LUMAMBA_CHECK_INPUT(!anode.empty() && !cathode.empty(), "derivation '{}': expected ANODE-CATHODE", text);
  return {anode + "-" + cathode, anode, cathode};
}

std::vector<io::BipolarDerivation> read_derivations(const std::string& path) {
  std::ifstream in(path);
  LUMAMBA_CHECK_INPUT(in.good(), "derivations file '{}': cannot open", path);
  std::vector<io::BipolarDerivation> out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto sep = line.find_first_of(",\t");
    std::string pair = line;
    if (sep != std::string::npos) {
      auto rest = line.substr(sep + 1);
      const auto third = rest.find_first_of(",\t");  // a third column (a name) is ignored
      if (third != std::string::npos) rest = rest.substr(0, third);
      pair = line.substr(0, sep) + "-" + rest;
      if (out.empty() && io::normalize_channel_label(line.substr(0, sep)) == "ANODE") continue;  // header
    }
    try {
      out.push_back(parse_derivation(pair));
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}: line {}: {}", path, line_no, e.what()));
    }
  }
  LUMAMBA_CHECK_INPUT(!out.empty(), "derivations file '{}' lists no pair (one 'anode,cathode' per line)", path);
  return out;
}

Montage bipolar_montage(const std::vector<io::BipolarDerivation>& derivations, const io::ElectrodePositions& table) {
  LUMAMBA_CHECK_INPUT(!derivations.empty(), "bipolar montage: no derivations");
  Montage m;
  std::vector<std::string> names;
  for (const auto& d : derivations) {
    LUMAMBA_CHECK_INPUT(std::find(names.begin(), names.end(), d.name) == names.end(),
                        "bipolar montage: derivation '{}' is listed twice", d.name);
    LUMAMBA_CHECK_INPUT(d.anode != d.cathode, "bipolar montage: derivation '{}' subtracts an electrode from itself",
                        d.name);
    names.push_back(d.name);
  }
  const std::vector<io::Position3> positions = io::channel_positions(names, table);  // one error for all
  for (std::size_t i = 0; i < derivations.size(); ++i) {
    m.channels.push_back({derivations[i].name, derivations[i].anode, derivations[i].cathode, positions[i]});
  }
  m.name = fmt::format("bipolar ({})", m.channels.size());
  return m;
}

namespace {

// Input channel index by normalised name (npos-1 = ambiguous); look-up with the 10-20 alias.
class ElectrodeIndex {
 public:
  explicit ElectrodeIndex(const std::vector<std::string>& input_names) {
    for (std::size_t i = 0; i < input_names.size(); ++i) {
      const auto [it, inserted] = by_name_.emplace(io::normalize_channel_label(input_names[i]), i);
      // A duplicate only matters if the montage reads that electrode; remember it as ambiguous.
      if (!inserted) it->second = kAmbiguous;
    }
  }
  static constexpr std::size_t kAmbiguous = static_cast<std::size_t>(-1);
  /// nullopt when absent; kAmbiguous when present twice.
  std::optional<std::size_t> find(const std::string& electrode) const {
    const std::string n = io::normalize_channel_label(electrode);
    auto it = by_name_.find(n);
    if (it == by_name_.end()) {
      if (const auto alias = io::electrode_alias(n)) it = by_name_.find(*alias);
    }
    if (it == by_name_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::unordered_map<std::string, std::size_t> by_name_;
};

}  // namespace

std::vector<std::string> drop_unavailable_channels(Montage& montage, const std::vector<std::string>& available) {
  const ElectrodeIndex index(available);
  std::vector<std::string> dropped;
  std::vector<MontageChannel> kept;
  for (auto& c : montage.channels) {
    const bool ok = index.find(c.anode).has_value() && (c.cathode.empty() || index.find(c.cathode).has_value());
    if (ok) {
      kept.push_back(std::move(c));
    } else {
      dropped.push_back(c.name);
    }
  }
  montage.channels = std::move(kept);
  return dropped;
}

std::vector<std::size_t> resolve_electrodes(const std::vector<std::string>& electrodes,
                                            const std::vector<std::string>& input_names,
                                            std::string_view source_name) {
  const ElectrodeIndex index(input_names);
  std::vector<std::size_t> out;
  std::vector<std::string> missing, ambiguous;
  for (const auto& e : electrodes) {
    const auto found = index.find(e);
    if (!found) {
      missing.push_back(io::normalize_channel_label(e));
      out.push_back(0);
    } else if (*found == ElectrodeIndex::kAmbiguous) {
      ambiguous.push_back(io::normalize_channel_label(e));
      out.push_back(0);
    } else {
      out.push_back(*found);
    }
  }
  LUMAMBA_CHECK_INPUT(missing.empty(),
                      "{}missing electrode(s) {} required by the montage (input channels: {})",
                      source_prefix(source_name), fmt::join(missing, ", "), fmt::join(input_names, ", "));
  LUMAMBA_CHECK_INPUT(ambiguous.empty(), "{}electrode(s) {} appear in more than one input channel",
                      source_prefix(source_name), fmt::join(ambiguous, ", "));
  return out;
}

MontageSignals apply_montage(const Montage& montage, const std::vector<std::string>& input_names,
                             const std::vector<std::vector<double>>& input_uv,
                             std::string_view source_name, int n_threads) {
  LUMAMBA_CHECK_INPUT(input_names.size() == input_uv.size(),
                      "{}{} channel names but {} signal buffers", source_prefix(source_name),
                      input_names.size(), input_uv.size());
  const std::vector<std::string> electrodes = montage.required_electrodes();
  const std::vector<std::size_t> index = resolve_electrodes(electrodes, input_names, source_name);
  auto input_of = [&](const std::string& electrode) -> const std::vector<double>& {
    const auto pos = static_cast<std::size_t>(
        std::find(electrodes.begin(), electrodes.end(), electrode) - electrodes.begin());
    return input_uv[index[pos]];
  };
  // Every channel the montage reads must have the same length (one rate, one recording).
  std::size_t n_times = 0;
  bool first = true;
  for (std::size_t k = 0; k < electrodes.size(); ++k) {
    const std::size_t n = input_uv[index[k]].size();
    if (first) {
      n_times = n;
      first = false;
    }
    LUMAMBA_CHECK_INPUT(n == n_times, "{}channel '{}' has {} samples, others {}; a montage needs "
                        "equal-rate channels of one length", source_prefix(source_name),
                        input_names[index[k]], n, n_times);
  }

  LUMAMBA_CHECK_INPUT(!(montage.average_reference && !montage.reference_electrodes.empty()),
                      "{}montage '{}' has both an average and an electrode reference", source_prefix(source_name),
                      montage.name);
  // Reference signal (µV, per sample) subtracted from every unipolar channel; empty when none.
  std::vector<double> reference;
  if (montage.average_reference || !montage.reference_electrodes.empty()) {
    std::vector<const std::vector<double>*> parts;
    if (montage.average_reference) {
      for (const auto& c : montage.channels) {
        LUMAMBA_CHECK_INPUT(c.cathode.empty(), "{}average reference of bipolar channel '{}'", source_prefix(source_name),
                            c.name);
        parts.push_back(&input_of(c.anode));
      }
    } else {
      for (const auto& e : montage.reference_electrodes) parts.push_back(&input_of(e));
    }
    reference.assign(n_times, 0.0);
    for (const auto* part : parts) {
      for (std::size_t i = 0; i < n_times; ++i) reference[i] += (*part)[i];
    }
    const double inv = 1.0 / static_cast<double>(parts.size());
    for (double& v : reference) v *= inv;
  }

  MontageSignals out;
  out.names = montage.channel_names();
  out.positions.reserve(montage.channels.size());
  for (const auto& c : montage.channels) out.positions.push_back(c.position);
  out.data_uv.resize(montage.channels.size());
  detail::parallel_for(montage.channels.size(), n_threads, [&](std::size_t c) {
    const MontageChannel& ch = montage.channels[c];
    const std::vector<double>& anode = input_of(ch.anode);
    if (ch.cathode.empty()) {
      out.data_uv[c] = anode;
      if (!reference.empty()) {
        for (std::size_t i = 0; i < n_times; ++i) out.data_uv[c][i] -= reference[i];
      }
      return;
    }
    const std::vector<double>& cathode = input_of(ch.cathode);
    std::vector<double> v(n_times);
    for (std::size_t i = 0; i < n_times; ++i) v[i] = anode[i] - cathode[i];
    out.data_uv[c] = std::move(v);
  });
  return out;
}

}  // namespace lumamba::preprocess
