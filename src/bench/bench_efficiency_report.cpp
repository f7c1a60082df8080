// Writers of the efficiency study (lumamba/bench/bench_efficiency.h): efficiency.csv, the JSON
// summary with the ratios at 5 s, the SVG plots against seconds of EEG, and the text tables.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lumamba/core/atomic_file.h"
#include "lumamba/bench/child_process.h"
#include "lumamba/core/error.h"
#include "lumamba/core/svg_plot.h"
#include "lumamba/bench/bench_efficiency.h"

namespace lumamba::bench {
namespace {

constexpr double kBytesPerMiB = 1024.0 * 1024.0;
constexpr double kMacsPerGiga = 1e9;

/// NaN -> JSON null.
nlohmann::ordered_json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

std::string csv_number(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : ""; }

std::string csv_quote(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c == '\n' ? ' ' : c;
  }
  return out + "\"";
}

/// The length-sweep point of `model` at `seconds` requested (nullptr when absent).
const EfficiencyPoint* length_point(const EfficiencyReport& report, const std::string& model, double requested_s) {
  for (const auto& p : report.points) {
    if (p.model == model && p.sweep == "length" && p.requested_s == requested_s) return &p;
  }
  return nullptr;
}

std::vector<const EfficiencyPoint*> sweep_points(const EfficiencyReport& report, const std::string& model,
                                                 const std::string& sweep) {
  std::vector<const EfficiencyPoint*> out;
  for (const auto& p : report.points) {
    if (p.model == model && p.sweep == sweep) out.push_back(&p);
  }
  return out;
}

/// "exact" when both lengths were bounded by a failure, "lower" when the reference reached the cap
/// (its true maximum is longer), "upper" when only the peer did, "unknown" when both did.
std::string max_length_bound(const EfficiencyModelSummary& reference, const EfficiencyModelSummary& peer) {
  const bool ref_cap = reference.limited_by == "cap", peer_cap = peer.limited_by == "cap";
  if (ref_cap && peer_cap) return "unknown";
  if (ref_cap) return "lower";
  if (peer_cap) return "upper";
  return "exact";
}

double ratio_or_nan(double num, double den) {
  return std::isfinite(num) && std::isfinite(den) && den > 0.0 ? num / den : std::numeric_limits<double>::quiet_NaN();
}

std::string ratio_text(double r) { return std::isfinite(r) ? fmt::format("{:.3g}x", r) : "n/a"; }

std::string length_text(const EfficiencyModelSummary& m) {
  std::string text = fmt::format("{} patches = {:.5g} s of EEG", m.max_patches, m.max_s);
  if (m.limited_by == "cap") return text + " (no failure up to the search cap: a lower bound)";
  return text +
         fmt::format(" ({}-limited; {:.5g} s failed: {})", m.limited_by, m.first_failing_s, m.first_failing_status);
}

void write_plots(const EfficiencyReport& report, const std::string& dir) {
  std::vector<PlotSeries> macs, time, memory;
  for (const auto& m : report.models) {
    PlotSeries sm{m.name, {}, {}, {}}, st{m.name, {}, {}, {}}, sr{m.name, {}, {}, {}};
    for (const auto* p : sweep_points(report, m.name, "length")) {
      sm.x.push_back(p->seconds);
      sm.y.push_back(static_cast<double>(p->macs()));
      sm.hollow.push_back(p->macs_traced < 0);
      st.x.push_back(p->seconds);
      st.y.push_back(p->measured() ? p->median_ms : std::numeric_limits<double>::quiet_NaN());
    }
    // Memory: the sweep and the max-length search trials that passed (ascending), so the curve runs
    // up to the longest sequence within the budget.
    std::vector<const EfficiencyPoint*> memory_points = sweep_points(report, m.name, "length");
    for (const auto* p : sweep_points(report, m.name, "search")) memory_points.push_back(p);
    std::stable_sort(memory_points.begin(), memory_points.end(),
                     [](const EfficiencyPoint* a, const EfficiencyPoint* b) { return a->patches < b->patches; });
    for (const auto* p : memory_points) {
      if (!p->measured()) continue;
      sr.x.push_back(p->seconds);
      sr.y.push_back(p->peak_rss_mib);
    }
    macs.push_back(std::move(sm));
    time.push_back(std::move(st));
    memory.push_back(std::move(sr));
  }
  const auto& o = report.options;
  const std::string setting = fmt::format("{} channels, batch 1, {} thread{}, {}", o.length_channels, report.n_threads,
                                          report.n_threads == 1 ? "" : "s", report.cpu);
  PlotOptions po;
  po.x_label = fmt::format("sequence length (seconds of EEG, {} channels)", o.length_channels);
  po.title = "Multiply-accumulates per forward";
  po.y_label = "MACs per forward";
  po.note = setting + "; hollow: closed-form count (not run)";
  write_svg_log_log_plot(dir + "/macs.svg", macs, po);
  po.title = "Wall time per forward";
  po.y_label = "milliseconds per forward (median)";
  po.note = setting;
  write_svg_log_log_plot(dir + "/time.svg", time, po);
  po.title = "Peak resident memory of the process running the forward";
  po.note = setting + "; with the max-length search trials";
  po.y_label = "peak RSS (MiB)";
  po.reference_lines.push_back({static_cast<double>(o.memory_budget_bytes) / kBytesPerMiB,
                                "memory budget " + format_byte_size(o.memory_budget_bytes)});
  write_svg_log_log_plot(dir + "/memory.svg", memory, po);
}

std::string points_csv(const EfficiencyReport& report) {
  std::string csv =
      "model,sweep,channels,patches,seconds,requested_s,macs,macs_source,macs_analytic,median_ms,min_ms,repetitions,"
      "from_warmup,peak_rss_mib,rss_before_forward_mib,status,trial_wall_s,note\n";
  for (const auto& p : report.points) {
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", p.model, p.sweep, p.channels,
                       p.patches, csv_number(p.seconds), csv_number(p.requested_s), p.macs(),
                       p.macs_traced >= 0 ? "traced" : "analytic", p.macs_analytic, csv_number(p.median_ms),
                       csv_number(p.min_ms), p.repetitions, p.from_warmup ? 1 : 0,
                       p.status == "not_run" ? "" : csv_number(p.peak_rss_mib), csv_number(p.rss_before_forward_mib),
                       p.status, p.status == "not_run" ? "" : csv_number(p.trial_wall_s), csv_quote(p.note));
  }
  return csv;
}

}  // namespace

std::string efficiency_summary_json(const EfficiencyReport& report) {
  const auto& o = report.options;
  nlohmann::ordered_json j;
  j["command"] = "lumamba bench efficiency";
  j["quick"] = o.quick;
  j["machine"] = {{"cpu", report.cpu}, {"blas", report.blas}, {"libtorch", report.torch_version}};
  j["threads"] = report.n_threads;
  j["batch"] = 1;
  j["memory_budget_bytes"] = o.memory_budget_bytes;
  j["memory_budget"] = format_byte_size(o.memory_budget_bytes);
  j["memory_measure"] =
      "peak resident set (wait4 ru_maxrss) of the trial process: runtime, weights, inputs, activations";
  j["length_channels"] = o.length_channels;
  j["durations_s"] = o.durations_s;
  j["channels"] = o.channels;
  j["channel_sweep_s"] = o.channel_sweep_s;
  j["repetitions"] = o.repetitions;
  j["trial_timeout_s"] = o.trial_timeout_s;
  j["search_cap_s"] = o.search_cap_s;
  j["bisection_steps"] = o.bisection_steps;
  nlohmann::ordered_json models = nlohmann::ordered_json::array();
  for (const auto& m : report.models) {
    nlohmann::ordered_json jm;
    jm["name"] = m.name;
    jm["parameters"] = m.parameters;
    jm["sample_rate_hz"] = m.sample_rate_hz;
    jm["patch_samples"] = m.patch_samples;
    jm["patch_s"] = static_cast<double>(m.patch_samples) / m.sample_rate_hz;
    jm["max_length"] = {{"patches", m.max_patches},
                        {"seconds", m.max_s},
                        {"limited_by", m.limited_by},
                        {"first_failing_s", number_or_null(m.first_failing_s)},
                        {"first_failing_status", m.first_failing_status}};
    if (const auto* p = length_point(report, m.name, o.ratio_at_s)) {
      jm["at_ratio_length"] = {{"seconds", p->seconds},
                               {"patches", p->patches},
                               {"macs", p->macs()},
                               {"macs_source", p->macs_traced >= 0 ? "traced" : "analytic"},
                               {"median_ms", number_or_null(p->median_ms)},
                               {"peak_rss_mib", number_or_null(p->measured() ? p->peak_rss_mib : NAN)},
                               {"status", p->status}};
    }
    models.push_back(jm);
  }
  j["models"] = models;
  nlohmann::ordered_json ratios = nlohmann::ordered_json::object();
  if (!report.models.empty()) {
    const auto& ref = report.models.front();
    const auto* ref_point = length_point(report, ref.name, o.ratio_at_s);
    for (size_t k = 1; k < report.models.size() && ref_point != nullptr; ++k) {
      const auto& peer = report.models[k];
      const auto* p = length_point(report, peer.name, o.ratio_at_s);
      if (p == nullptr) continue;
      ratios[peer.name] = {{"reference", ref.name},
                           {"mac_ratio", number_or_null(ratio_or_nan(static_cast<double>(p->macs()),
                                                                     static_cast<double>(ref_point->macs())))},
                           {"time_ratio", number_or_null(p->measured() && ref_point->measured()
                                                             ? ratio_or_nan(p->median_ms, ref_point->median_ms)
                                                             : NAN)},
                           {"max_length_ratio", number_or_null(ratio_or_nan(ref.max_s, peer.max_s))},
                           {"max_length_ratio_bound", max_length_bound(ref, peer)}};
      // The MAC ratio grows with length (quadratic attention vs linear Mamba): the same ratio at
      // every length of the sweep (traced where run, the closed form beyond), keyed by duration.
      nlohmann::ordered_json by_length = nlohmann::ordered_json::object();
      for (const double d : o.durations_s) {
        const auto* a = length_point(report, ref.name, d);
        const auto* b = length_point(report, peer.name, d);
        if (a != nullptr && b != nullptr) {
          by_length[fmt::format("{:g}", d)] =
              number_or_null(ratio_or_nan(static_cast<double>(b->macs()), static_cast<double>(a->macs())));
        }
      }
      ratios[peer.name]["mac_ratio_by_length_s"] = by_length;
    }
  }
  j["ratios_at_5s"] = ratios;
  j["ratio_length_s"] = o.ratio_at_s;
  j["wall_s"] = report.wall_s;
  return j.dump(2);
}

void write_efficiency_outputs(const EfficiencyReport& report, const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  LUMAMBA_CHECK_INPUT(!ec, "cannot create the output folder '{}': {}", out_dir, ec.message());
  write_text_file_atomic(out_dir + "/efficiency.csv", points_csv(report));
  write_text_file_atomic(out_dir + "/efficiency.json", efficiency_summary_json(report) + "\n");
  write_plots(report, out_dir);
}

std::string efficiency_report_text(const EfficiencyReport& report) {
  const auto& o = report.options;
  std::string t =
      fmt::format("bench efficiency: batch 1, {} thread{}, memory budget {} per trial process, {}\n", report.n_threads,
                  report.n_threads == 1 ? "" : "s", format_byte_size(o.memory_budget_bytes), report.cpu);
  const std::string header = fmt::format("{:<14} {:>9} {:>8} {:>8} {:>11} {:<8} {:>11} {:>9}  {}\n", "model", "seconds",
                                         "channels", "patches", "GMAC", "source", "ms/forward", "peak MiB", "status");
  const auto row = [](const EfficiencyPoint& p) {
    return fmt::format("{:<14} {:>9.4g} {:>8} {:>8} {:>11.4g} {:<8} {:>11} {:>9}  {}\n", p.model, p.seconds, p.channels,
                       p.patches, static_cast<double>(p.macs()) / kMacsPerGiga,
                       p.macs_traced >= 0 ? "traced" : "analytic",
                       p.measured() ? fmt::format("{:.4g}", p.median_ms) : "-",
                       p.measured() ? fmt::format("{:.0f}", p.peak_rss_mib) : "-", p.status);
  };
  t += fmt::format("\nlength sweep ({} channels)\n", o.length_channels) + header;
  for (const auto& m : report.models) {
    for (const auto* p : sweep_points(report, m.name, "length")) t += row(*p);
  }
  t += fmt::format("\nchannel sweep ({:g} s)\n", o.channel_sweep_s) + header;
  for (const auto& m : report.models) {
    for (const auto* p : sweep_points(report, m.name, "channels")) t += row(*p);
  }
  t += fmt::format("\nmax length at {} channels within {} (search cap {:g} s, {:g} s per trial)\n", o.length_channels,
                   format_byte_size(o.memory_budget_bytes), o.search_cap_s, o.trial_timeout_s);
  for (const auto& m : report.models) {
    t += fmt::format("  {:<14} {:>9} params  {}\n", m.name, m.parameters, length_text(m));
  }
  const auto summary = nlohmann::ordered_json::parse(efficiency_summary_json(report));
  if (!report.models.empty()) {
    t += fmt::format("\nratios at {:g} s, {} channels (peer / {}; max length {} / peer)\n", o.ratio_at_s,
                     o.length_channels, report.models.front().name, report.models.front().name);
    for (const auto& [peer, r] : summary.at("ratios_at_5s").items()) {
      const auto value = [&](const char* key) { return r.at(key).is_null() ? NAN : r.at(key).get<double>(); };
      t += fmt::format("  {:<14} MACs {:>8}  time {:>8}  max length {:>8} ({})\n", peer, ratio_text(value("mac_ratio")),
                       ratio_text(value("time_ratio")), ratio_text(value("max_length_ratio")),
                       r.at("max_length_ratio_bound").get<std::string>());
    }
  }
  t += fmt::format("\ntotal {:.0f} s\n", report.wall_s);
  return t;
}

}  // namespace lumamba::bench
