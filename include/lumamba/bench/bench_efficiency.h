// lumamba/bench/bench_efficiency.h — the efficiency study behind `lumamba bench efficiency`
// (docs/reference-model.md §18; docs/efficiency.md): LuMamba-Tiny against the comparison encoders of
// lumamba/bench/peers.h at batch 1 on this machine, as functions of the sequence length (seconds of
// EEG at 22 channels) and of the channel count (at 5 s):
//   * multiply-accumulates per forward (traced from the operators run, lumamba/bench/mac_trace.h;
//     the closed-form count for points that are not run),
//   * wall time per forward (median of timed repetitions after a traced warm-up),
//   * peak resident memory of the process running the forward,
//   * the longest sequence each model runs within a memory budget (doubling, then bisection).
// Every measurement runs in a child process (`lumamba bench efficiency-trial`, run_efficiency_trial)
// under the budget (lumamba/bench/child_process.h): a trial killed for memory ends only that trial,
// and each trial's peak RSS is its own.
// Legend: C channels, S patches, P samples per patch; seconds of EEG = S·P / sample rate.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace lumamba::bench {

/// What the study sweeps and under which limits. Defaults: the full run (< 15 min on 2 cores).
struct EfficiencyOptions {
  /// Names from peers::efficiency_model_names(); the first is the reference of the ratios.
  std::vector<std::string> models = {"lumamba_tiny", "luna_base", "labram_base"};
  /// Length sweep, seconds of EEG at `length_channels` (each model gets S = round(d·rate/P) ≥ 1).
  /// Default: 1.25 s (8 LuMamba patches) … 3125 s (20000 LuMamba patches).
  std::vector<double> durations_s = {1.25, 2.5, 5, 10, 20, 40, 80, 160, 320, 640, 1280, 3125};
  int64_t length_channels = 22;  ///< Default: 22 (TCP montage)
  /// Channel sweep at `channel_sweep_s` seconds. Default: 16, 22, 32, 64, 128 at 5 s (32 LuMamba patches).
  std::vector<int64_t> channels = {16, 22, 32, 64, 128};
  double channel_sweep_s = 5.0;
  /// The ratios of the summary are taken at this length (must be one of durations_s). Default: 5 s.
  double ratio_at_s = 5.0;
  /// Peak resident set allowed to one trial process, bytes. Default: 4 GiB.
  int64_t memory_budget_bytes = int64_t{4} << 30;
  /// Intra-op threads of each trial; 0 = hardware cores. Default: 1. Why not all cores: on a shared
  /// machine (others building) an OpenMP barrier waits for a descheduled thread, and a 2-thread
  /// forward measured 10-40x slower than a 1-thread one; one thread keeps the time ratios meaningful.
  int n_threads = 1;
  /// Timed forwards per sweep point (median), after one traced warm-up. Default: 3.
  int repetitions = 3;
  /// Cap on the timed seconds of one sweep point: fewer repetitions past it, and a warm-up forward
  /// longer than it is the measurement. Default: 8 s.
  double point_budget_s = 8.0;
  /// Wall-clock limit of one trial process (build + forwards), seconds; a trial past it is
  /// "timeout" and its length counts as time-limited, not memory-limited. Default: 75 s.
  double trial_timeout_s = 75.0;
  /// Longest sequence the max-length search tries, seconds of EEG. Default: 163840 s = 2^20
  /// LuMamba patches of 40 samples at 256 Hz (45.5 h).
  double search_cap_s = 163840.0;
  /// Bisection steps between the longest passing and the shortest failing length. Default: 3.
  int bisection_steps = 3;
  bool quick = false;  ///< set by quick_efficiency_options() (recorded in the summary)
  /// Program run for each trial; "" = this executable (self_executable_path()).
  std::string executable;
};

/// The `--quick` preset (CI, < 2 min on a busy 2-core machine): 1.25, 5, 20 s; 16, 22, 64 channels;
/// 1 repetition; the max-length search with the default budget, capped at 320 s of EEG, 30 s per
/// trial, no bisection.
EfficiencyOptions quick_efficiency_options();

/// One trial, run in the child process.
struct EfficiencyTrialOptions {
  std::string model;
  int64_t channels = 22;
  int64_t patches = 32;
  int repetitions = 3;          ///< 0: the traced forward only (max-length search)
  double point_budget_s = 8.0;  ///< as EfficiencyOptions::point_budget_s
  uint64_t seed = 0;            ///< weights and inputs
};

struct EfficiencyTrialResult {
  std::string model;
  int64_t channels = 0, patches = 0, samples = 0;
  int64_t parameters = 0;
  int64_t macs_traced = 0;
  int64_t macs_analytic = 0;
  double warmup_ms = 0.0;  ///< the traced forward
  double median_ms = 0.0;  ///< of the timed forwards (the warm-up when from_warmup)
  double min_ms = 0.0;
  int repetitions = 0;
  bool from_warmup = false;
  double rss_start_mib = 0.0;           ///< before building the model (runtime, libraries)
  double rss_before_forward_mib = 0.0;  ///< model and inputs built
  double peak_rss_mib = 0.0;            ///< VmHWM at the end
  int n_threads = 0;
  std::vector<int64_t> output_shape;
};

/// Builds the model (fixed seed) and random inputs (z-scored-like N(0, 1) signal; electrodes at
/// random points of a 0.1 m sphere), runs one traced forward (MACs; also the warm-up), checks the
/// output is finite, then times `repetitions` forwards. Uses the current intra-op thread count.
EfficiencyTrialResult run_efficiency_trial(const EfficiencyTrialOptions& options);
/// One line of JSON (what `efficiency-trial` prints on stdout) and its inverse.
std::string efficiency_trial_to_json(const EfficiencyTrialResult& result);
EfficiencyTrialResult efficiency_trial_from_json(const std::string& line);

/// One measured (or computed) point.
struct EfficiencyPoint {
  std::string model;
  std::string sweep;  ///< "length", "channels" or "search" (a max-length trial)
  int64_t channels = 0, patches = 0;
  double seconds = 0.0;      ///< seconds of EEG actually run: patches·P / rate
  double requested_s = 0.0;  ///< the sweep's duration before rounding to whole patches
  int64_t macs_analytic = 0;
  int64_t macs_traced = -1;  ///< -1: not run
  /// ok | over_budget (peak RSS above the budget, killed or not) | out_of_memory (allocation refused
  /// or killed by the system) | timeout | failed | not_run (longer than the model's max length)
  std::string status = "not_run";
  double median_ms = std::numeric_limits<double>::quiet_NaN();
  double min_ms = std::numeric_limits<double>::quiet_NaN();
  int repetitions = 0;
  bool from_warmup = false;
  double peak_rss_mib = std::numeric_limits<double>::quiet_NaN();  ///< trial process, wait4 ru_maxrss
  double rss_before_forward_mib = std::numeric_limits<double>::quiet_NaN();
  double trial_wall_s = 0.0;
  std::string note;  ///< why a trial failed

  bool measured() const { return status == "ok"; }
  int64_t macs() const { return macs_traced >= 0 ? macs_traced : macs_analytic; }
};

/// The longest sequence one model ran within the budget (at length_channels).
struct EfficiencyModelSummary {
  std::string name;
  int64_t parameters = 0;
  double sample_rate_hz = 0.0;
  int64_t patch_samples = 0;
  int64_t max_patches = 0;  ///< longest passing trial; 0 when none passed
  double max_s = 0.0;
  /// memory | time | error | cap (no failure up to search_cap_s: max_s is a lower bound)
  std::string limited_by;
  double first_failing_s = std::numeric_limits<double>::quiet_NaN();  ///< shortest failing length
  std::string first_failing_status;
};

struct EfficiencyReport {
  EfficiencyOptions options;
  int n_threads = 0;
  std::string cpu, blas, torch_version;
  std::vector<EfficiencyModelSummary> models;
  std::vector<EfficiencyPoint> points;  ///< length and channel sweeps, then the search trials
  double wall_s = 0.0;
};

/// The whole study: per model, the length sweep (ascending; after the first failure the longer
/// points are not run), the channel sweep, then the max-length search (doubling from the longest
/// passing length up to search_cap_s, then bisection). Progress lines on stderr.
EfficiencyReport run_efficiency_bench(const EfficiencyOptions& options);

/// efficiency.csv (one row per point), efficiency.json (summary), macs.svg, time.svg, memory.svg in
/// `out_dir` (created), each written atomically.
void write_efficiency_outputs(const EfficiencyReport& report, const std::string& out_dir);
/// The summary: machine, threads, budget, per model parameters and max length, and ratios_at_5s
/// (for each peer: mac_ratio = peer/lumamba, time_ratio = peer/lumamba, max_length_ratio = lumamba/peer).
std::string efficiency_summary_json(const EfficiencyReport& report);
/// Human-readable tables of the same (the command's stdout).
std::string efficiency_report_text(const EfficiencyReport& report);

}  // namespace lumamba::bench
