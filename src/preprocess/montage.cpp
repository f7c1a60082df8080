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
  return out;
}

Montage tcp_montage(TcpMontage variant) {
  Montage m;
  for (const auto& d : io::tcp22_montage()) {
    if (variant == TcpMontage::kArA && uses_ear_electrode(d)) continue;
    m.channels.push_back({d.name, d.anode, d.cathode, io::channel_position(d.name)});
  }
  const char* label = variant == TcpMontage::kAr ? "tcp_ar" : variant == TcpMontage::kLe ? "tcp_le" : "tcp_ar_a";
  m.name = fmt::format("{} ({} bipolar)", label, m.channels.size());
  return m;
}

Montage unipolar_montage(const std::vector<std::string>& electrodes) {
  LUMAMBA_CHECK_INPUT(!electrodes.empty(), "unipolar_montage: the electrode list is empty");
  Montage m;
  std::vector<std::string> names;
  for (const auto& e : electrodes) {
    std::string n = io::normalize_channel_label(e);
    LUMAMBA_CHECK_INPUT(std::find(names.begin(), names.end(), n) == names.end(),
                        "unipolar_montage: electrode '{}' is listed twice", n);
    names.push_back(n);
  }
  const std::vector<io::Position3> positions = io::channel_positions(names);  // one error for all
  for (std::size_t i = 0; i < names.size(); ++i) {
    m.channels.push_back({names[i], names[i], std::string(), positions[i]});
  }
  m.name = fmt::format("unipolar ({})", m.channels.size());
  return m;
}

std::vector<std::size_t> resolve_electrodes(const std::vector<std::string>& electrodes,
                                            const std::vector<std::string>& input_names,
                                            std::string_view source_name) {
  std::unordered_map<std::string, std::size_t> by_name;
  for (std::size_t i = 0; i < input_names.size(); ++i) {
    const std::string n = io::normalize_channel_label(input_names[i]);
    const auto [it, inserted] = by_name.emplace(n, i);
    // A duplicate only matters if the montage reads that electrode; remember it as ambiguous.
    if (!inserted) it->second = static_cast<std::size_t>(-1);
  }
  std::vector<std::size_t> out;
  std::vector<std::string> missing, ambiguous;
  for (const auto& e : electrodes) {
    const std::string n = io::normalize_channel_label(e);
    auto it = by_name.find(n);
    if (it == by_name.end()) {
      if (const auto alias = io::electrode_alias(n)) it = by_name.find(*alias);
    }
    if (it == by_name.end()) {
      missing.push_back(n);
      out.push_back(0);
    } else if (it->second == static_cast<std::size_t>(-1)) {
      ambiguous.push_back(n);
      out.push_back(0);
    } else {
      out.push_back(it->second);
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
