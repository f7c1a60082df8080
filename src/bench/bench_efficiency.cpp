// The efficiency study (lumamba/bench/bench_efficiency.h): sweeps and max-length search driven from
// the parent process, every measurement in a child (`lumamba bench efficiency-trial`) under the
// memory budget; CSV / JSON / SVG writers in bench_efficiency_report.cpp.
// Legend: C channels, S patches, P samples per patch.
#include "lumamba/bench/bench_efficiency.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <signal.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "lumamba/bench/child_process.h"
#include "lumamba/core/error.h"
#include "lumamba/bench/memory.h"
#include "lumamba/core/log.h"
#include "lumamba/core/progress.h"
#include "lumamba/bench/bench_harness.h"
#include "lumamba/bench/mac_trace.h"
#include "lumamba/bench/peers.h"
#include "lumamba/model/runtime.h"

namespace lumamba::bench {
namespace {

constexpr double kBytesPerMiB = 1024.0 * 1024.0;
/// Electrodes of the random montage lie on a sphere of this radius (a head, metres).
constexpr double kHeadRadiusM = 0.1;
/// Messages in a failing child's stderr that mean an allocation was refused (LibTorch's CPU
/// allocator, the C++ runtime, glibc).
constexpr const char* kAllocationFailureMarkers[] = {"can't allocate memory", "bad_alloc", "Cannot allocate memory"};
/// Lines of a failing child's stderr kept in the note.
constexpr size_t kNoteStderrChars = 300;

/// What the parent needs to know of a model before running it.
struct ModelMeta {
  std::string name;
  double rate_hz = 0.0;
  int64_t patch_samples = 0;
  int64_t parameters = 0;
  std::unique_ptr<peers::EfficiencyModel> model;  ///< for analytic_macs

  int64_t patches_for(double seconds) const {
    return std::max<int64_t>(1, std::llround(seconds * rate_hz / static_cast<double>(patch_samples)));
  }
  double seconds_of(int64_t patches) const { return static_cast<double>(patches * patch_samples) / rate_hz; }
};

std::string last_chars(const std::string& text, size_t n) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  if (t.size() > n) t = "…" + t.substr(t.size() - n);
  std::replace(t.begin(), t.end(), '\n', ' ');
  return t;
}

bool is_memory_failure(const std::string& status) { return status == "over_budget" || status == "out_of_memory"; }

/// Runs the study's trials in child processes and keeps count for the progress line.
class TrialRunner {
 public:
  TrialRunner(const EfficiencyOptions& options, int n_threads, int64_t estimated_trials)
      : options_(options),
        n_threads_(n_threads),
        executable_(options.executable.empty() ? self_executable_path() : options.executable),
        progress_("trials", estimated_trials) {}

  /// One trial of `meta` at (C, S); `repetitions` 0 = the traced forward only.
  EfficiencyPoint run(const ModelMeta& meta, const std::string& sweep, int64_t channels, int64_t patches,
                      double requested_s, int repetitions) {
    EfficiencyPoint p = computed(meta, sweep, channels, patches, requested_s);
    const std::vector<std::string> argv = {executable_,
                                           "bench",
                                           "efficiency-trial",
                                           "--model",
                                           meta.name,
                                           "--channels",
                                           std::to_string(channels),
                                           "--patches",
                                           std::to_string(patches),
                                           "--repetitions",
                                           std::to_string(repetitions),
                                           "--threads",
                                           std::to_string(n_threads_),
                                           "--point-budget-s",
                                           fmt::format("{}", options_.point_budget_s),
                                           "--log-level",
                                           "warn"};
    ChildLimits limits;
    limits.memory_bytes = options_.memory_budget_bytes;
    limits.timeout_s = options_.trial_timeout_s;
    limits.capture_stderr = true;
    const ChildResult child = run_child(argv, limits);
    p.trial_wall_s = child.wall_s;
    p.peak_rss_mib = static_cast<double>(child.peak_rss_bytes) / kBytesPerMiB;
    bool allocation_failed = false;
    for (const char* marker : kAllocationFailureMarkers) {
      allocation_failed = allocation_failed || child.stderr_text.find(marker) != std::string::npos;
    }
    if (child.killed_for_memory || child.peak_rss_bytes > options_.memory_budget_bytes) {
      p.status = "over_budget";
      p.note = child.killed_for_memory ? child.describe()
                                       : fmt::format("peak RSS {:.0f} MiB above the budget", p.peak_rss_mib);
    } else if (child.timed_out) {
      p.status = "timeout";
      p.note = child.describe();
    } else if (!child.ok()) {
      // A SIGKILL we did not send is the kernel's OOM killer (the machine ran out before the budget).
      const bool oom_killed = !child.exited && child.term_signal == SIGKILL;
      p.status = allocation_failed || oom_killed ? "out_of_memory" : "failed";
      p.note = fmt::format("{}: {}", child.describe(), last_chars(child.stderr_text, kNoteStderrChars));
    } else {
      try {
        const auto lines_end = child.stdout_text.find_last_not_of('\n');
        const auto line_begin = child.stdout_text.find_last_of('\n', lines_end);
        const EfficiencyTrialResult r =
            efficiency_trial_from_json(child.stdout_text.substr(line_begin == std::string::npos ? 0 : line_begin + 1));
        p.status = "ok";
        p.macs_traced = r.macs_traced;
        p.median_ms = r.median_ms;
        p.min_ms = r.min_ms;
        p.repetitions = r.repetitions;
        p.from_warmup = r.from_warmup;
        p.rss_before_forward_mib = r.rss_before_forward_mib;
        p.peak_rss_mib = std::max(p.peak_rss_mib, r.peak_rss_mib);  // its own VmHWM at the end: exact
        if (r.macs_traced != p.macs_analytic && warned_mismatch_.insert(meta.name).second) {
          log::warn("bench efficiency: {} at C={} S={}: traced MACs {} != analytic {} (see mac_trace.h)", meta.name,
                    channels, patches, r.macs_traced, p.macs_analytic);
        }
        if (p.peak_rss_mib * kBytesPerMiB > static_cast<double>(options_.memory_budget_bytes)) {
          p.status = "over_budget";  // grew past the budget between two polls and finished
          p.note = fmt::format("peak RSS {:.0f} MiB above the budget", p.peak_rss_mib);
        }
      } catch (const std::exception& e) {
        p.status = "failed";
        p.note = fmt::format("unreadable trial output ({}): {}", e.what(), last_chars(child.stdout_text, 200));
      }
    }
    if (p.status == "failed") log::warn("bench efficiency: {} trial at S={} failed: {}", meta.name, patches, p.note);
    progress_.advance(1, fmt::format("{} {} C={} {:.4g} s: {}{}", meta.name, sweep, channels, p.seconds, p.status,
                                     p.measured() ? fmt::format(" {:.4g} ms", p.median_ms) : ""));
    return p;
  }

  /// A point that is not run: closed-form MACs only.
  static EfficiencyPoint computed(const ModelMeta& meta, const std::string& sweep, int64_t channels, int64_t patches,
                                  double requested_s) {
    EfficiencyPoint p;
    p.model = meta.name;
    p.sweep = sweep;
    p.channels = channels;
    p.patches = patches;
    p.seconds = meta.seconds_of(patches);
    p.requested_s = requested_s;
    p.macs_analytic = meta.model->analytic_macs(channels, patches);
    return p;
  }

  void skip(int64_t n) { progress_.advance(n); }
  void finish() { progress_.finish(); }

 private:
  const EfficiencyOptions& options_;
  int n_threads_;
  std::string executable_;
  Progress progress_;
  std::set<std::string> warned_mismatch_;
};

/// Longest passing / shortest failing length of one model at length_channels.
struct SearchState {
  int64_t lo_patches = 0;  ///< 0: nothing passed yet
  int64_t hi_patches = 0;  ///< 0: nothing failed yet
  std::string hi_status;
  void update(const EfficiencyPoint& p) {
    if (p.measured()) {
      lo_patches = std::max(lo_patches, p.patches);
    } else if (p.status != "not_run" && (hi_patches == 0 || p.patches < hi_patches)) {
      hi_patches = p.patches;
      hi_status = p.status;
    }
  }
};

std::string limited_by(const std::string& status) {
  if (is_memory_failure(status)) return "memory";
  if (status == "timeout") return "time";
  return "error";
}

}  // namespace

EfficiencyOptions quick_efficiency_options() {
  EfficiencyOptions o;
  o.durations_s = {1.25, 5, 20};
  o.channels = {16, 22, 64};
  o.repetitions = 1;
  o.point_budget_s = 2.0;
  o.trial_timeout_s = 30.0;
  o.search_cap_s = 320.0;
  o.bisection_steps = 0;
  o.quick = true;
  return o;
}

EfficiencyTrialResult run_efficiency_trial(const EfficiencyTrialOptions& options) {
  LUMAMBA_CHECK_INPUT(options.channels >= 1 && options.patches >= 1,
                      "efficiency trial: channels {} and patches {} must be >= 1", options.channels, options.patches);
  EfficiencyTrialResult r;
  r.rss_start_mib = read_resident_memory().rss_mib();
  torch::manual_seed(options.seed);
  auto model = peers::make_efficiency_model(options.model);
  r.model = model->name();
  r.channels = options.channels;
  r.patches = options.patches;
  r.samples = options.patches * model->patch_samples();
  r.parameters = model->parameter_count();
  r.macs_analytic = model->analytic_macs(options.channels, options.patches);
  r.n_threads = at::get_num_threads();
  // Inputs: z-scored-like N(0, 1) samples; electrodes at random points of a head-sized sphere.
  torch::manual_seed(options.seed + 1);
  const torch::Tensor signal = torch::randn({1, options.channels, r.samples});  // (1, C, S·P)
  torch::Tensor locations = torch::randn({1, options.channels, 3});             // (1, C, 3)
  locations = locations / locations.norm(2, /*dim=*/-1, /*keepdim=*/true) * kHeadRadiusM;
  r.rss_before_forward_mib = read_resident_memory().rss_mib();

  torch::Tensor out;
  const auto forward = [&] { out = model->forward(signal, locations); };
  TracedMacs traced;
  r.warmup_ms = time_ms([&] { traced = trace_macs(forward); });
  r.macs_traced = traced.total;
  r.output_shape = out.sizes().vec();
  LUMAMBA_CHECK(torch::isfinite(out).all().item<bool>(), "{}: non-finite output at C={} S={}", r.model,
                options.channels, options.patches);
  if (options.repetitions <= 0 || r.warmup_ms > options.point_budget_s * 1e3) {
    r.median_ms = r.min_ms = r.warmup_ms;
    r.from_warmup = true;
  } else {
    BenchPlan plan;
    plan.warmup = 0;  // the traced forward was the warm-up
    plan.repetitions = std::clamp(static_cast<int>(options.point_budget_s * 1e3 / std::max(r.warmup_ms, 1e-3)), 1,
                                  options.repetitions);
    const BenchTiming t = measure(forward, plan);
    r.median_ms = t.median_ms;
    r.min_ms = t.min_ms;
    r.repetitions = t.repetitions;
  }
  r.peak_rss_mib = read_resident_memory().peak_mib();
  return r;
}

std::string efficiency_trial_to_json(const EfficiencyTrialResult& r) {
  nlohmann::ordered_json j;
  j["model"] = r.model;
  j["channels"] = r.channels;
  j["patches"] = r.patches;
  j["samples"] = r.samples;
  j["parameters"] = r.parameters;
  j["macs_traced"] = r.macs_traced;
  j["macs_analytic"] = r.macs_analytic;
  j["warmup_ms"] = r.warmup_ms;
  j["median_ms"] = r.median_ms;
  j["min_ms"] = r.min_ms;
  j["repetitions"] = r.repetitions;
  j["from_warmup"] = r.from_warmup;
  j["rss_start_mib"] = r.rss_start_mib;
  j["rss_before_forward_mib"] = r.rss_before_forward_mib;
  j["peak_rss_mib"] = r.peak_rss_mib;
  j["threads"] = r.n_threads;
  j["output_shape"] = r.output_shape;
  return j.dump();
}

EfficiencyTrialResult efficiency_trial_from_json(const std::string& line) {
  const auto j = nlohmann::json::parse(line);
  EfficiencyTrialResult r;
  r.model = j.at("model").get<std::string>();
  r.channels = j.at("channels").get<int64_t>();
  r.patches = j.at("patches").get<int64_t>();
  r.samples = j.at("samples").get<int64_t>();
  r.parameters = j.at("parameters").get<int64_t>();
  r.macs_traced = j.at("macs_traced").get<int64_t>();
  r.macs_analytic = j.at("macs_analytic").get<int64_t>();
  r.warmup_ms = j.at("warmup_ms").get<double>();
  r.median_ms = j.at("median_ms").get<double>();
  r.min_ms = j.at("min_ms").get<double>();
  r.repetitions = j.at("repetitions").get<int>();
  r.from_warmup = j.at("from_warmup").get<bool>();
  r.rss_start_mib = j.at("rss_start_mib").get<double>();
  r.rss_before_forward_mib = j.at("rss_before_forward_mib").get<double>();
  r.peak_rss_mib = j.at("peak_rss_mib").get<double>();
  r.n_threads = j.at("threads").get<int>();
  r.output_shape = j.at("output_shape").get<std::vector<int64_t>>();
  return r;
}

EfficiencyReport run_efficiency_bench(const EfficiencyOptions& options) {
  LUMAMBA_CHECK_INPUT(!options.models.empty(), "bench efficiency: no models given");
  LUMAMBA_CHECK_INPUT(options.memory_budget_bytes > 0, "bench efficiency: the memory budget must be > 0");
  LUMAMBA_CHECK_INPUT(std::find(options.durations_s.begin(), options.durations_s.end(), options.ratio_at_s) !=
                          options.durations_s.end(),
                      "bench efficiency: the ratio length {} s is not among the sweep's durations", options.ratio_at_s);
  EfficiencyReport report;
  report.options = options;
  std::sort(report.options.durations_s.begin(), report.options.durations_s.end());
  const EfficiencyOptions& o = report.options;
  report.n_threads = o.n_threads > 0 ? o.n_threads : at::get_num_threads();
  const auto runtime = model::runtime_report();
  report.cpu = model::cpu_model_name();
  report.blas = describe_blas(runtime.blas);
  report.torch_version = runtime.torch_version;

  std::vector<ModelMeta> metas;
  for (const auto& name : o.models) {
    ModelMeta m;
    m.model = peers::make_efficiency_model(name);
    m.name = m.model->name();
    m.rate_hz = m.model->sample_rate_hz();
    m.patch_samples = m.model->patch_samples();
    m.parameters = m.model->parameter_count();
    metas.push_back(std::move(m));
  }
  // Estimated trials per model: the sweeps, the doublings from the longest duration to the cap (or
  // to a failure) and the bisection.
  const int n_doublings =
      1 + std::max(0, static_cast<int>(std::ceil(std::log2(o.search_cap_s / o.durations_s.back()))));
  const auto per_model =
      static_cast<int64_t>(o.durations_s.size() + o.channels.size() + n_doublings + o.bisection_steps);
  TrialRunner runner(o, report.n_threads, per_model * static_cast<int64_t>(metas.size()));
  log::info(
      "bench efficiency: {} models, {} lengths × {} channels, {} channel counts, budget {} per trial, "
      "{} thread(s), trial limit {} s",
      metas.size(), o.durations_s.size(), o.length_channels, o.channels.size(), format_byte_size(o.memory_budget_bytes),
      report.n_threads, o.trial_timeout_s);
  const auto start = std::chrono::steady_clock::now();

  std::vector<EfficiencyPoint> search_points;
  for (const auto& meta : metas) {
    SearchState search;
    int64_t skipped = 0;
    // Length sweep, ascending: once a length fails, longer ones are computed, not run.
    std::vector<EfficiencyPoint> length_points;
    for (const double d : o.durations_s) {
      const int64_t s = meta.patches_for(d);
      if (search.hi_patches > 0 && s >= search.hi_patches) {
        length_points.push_back(TrialRunner::computed(meta, "length", o.length_channels, s, d));
        ++skipped;
        continue;
      }
      auto p = runner.run(meta, "length", o.length_channels, s, d, o.repetitions);
      search.update(p);
      length_points.push_back(p);
    }
    // Channel sweep at channel_sweep_s (the point at length_channels is the length sweep's).
    std::vector<EfficiencyPoint> channel_points;
    const int64_t s_channels = meta.patches_for(o.channel_sweep_s);
    for (const int64_t c : o.channels) {
      const auto same = std::find_if(length_points.begin(), length_points.end(), [&](const EfficiencyPoint& p) {
        return p.channels == c && p.patches == s_channels && p.status != "not_run";
      });
      if (same != length_points.end()) {
        channel_points.push_back(*same);
        channel_points.back().sweep = "channels";
        channel_points.back().requested_s = o.channel_sweep_s;
        ++skipped;
      } else {
        channel_points.push_back(runner.run(meta, "channels", c, s_channels, o.channel_sweep_s, o.repetitions));
      }
    }
    // Max length: double past the longest passing length up to the cap, then bisect.
    const int64_t cap_patches = meta.patches_for(o.search_cap_s);
    int n_search = 0;
    while (search.hi_patches == 0 && search.lo_patches < cap_patches) {
      const int64_t s = search.lo_patches == 0 ? 1 : std::min(cap_patches, 2 * search.lo_patches);
      auto p = runner.run(meta, "search", o.length_channels, s, meta.seconds_of(s), 0);
      ++n_search;
      search.update(p);
      search_points.push_back(p);
      if (search.lo_patches == 0 && !p.measured()) break;  // even one patch fails
    }
    for (int i = 0; i < o.bisection_steps && search.lo_patches > 0 && search.hi_patches > 0; ++i) {
      const auto mid = static_cast<int64_t>(
          std::llround(std::sqrt(static_cast<double>(search.lo_patches) * static_cast<double>(search.hi_patches))));
      if (mid <= search.lo_patches || mid >= search.hi_patches) break;
      auto p = runner.run(meta, "search", o.length_channels, mid, meta.seconds_of(mid), 0);
      ++n_search;
      search.update(p);
      search_points.push_back(p);
    }
    runner.skip(std::max<int64_t>(0, skipped + n_doublings + o.bisection_steps - n_search));

    EfficiencyModelSummary summary;
    summary.name = meta.name;
    summary.parameters = meta.parameters;
    summary.sample_rate_hz = meta.rate_hz;
    summary.patch_samples = meta.patch_samples;
    summary.max_patches = search.lo_patches;
    summary.max_s = meta.seconds_of(search.lo_patches);
    if (search.hi_patches > 0) {
      summary.limited_by = limited_by(search.hi_status);
      summary.first_failing_s = meta.seconds_of(search.hi_patches);
      summary.first_failing_status = search.hi_status;
    } else {
      summary.limited_by = "cap";
    }
    log::info("bench efficiency: {} max length {} patches = {:.5g} s of EEG ({}-limited)", meta.name,
              summary.max_patches, summary.max_s, summary.limited_by);
    report.models.push_back(summary);
    report.points.insert(report.points.end(), length_points.begin(), length_points.end());
    report.points.insert(report.points.end(), channel_points.begin(), channel_points.end());
  }
  report.points.insert(report.points.end(), search_points.begin(), search_points.end());
  runner.finish();
  report.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace lumamba::bench
