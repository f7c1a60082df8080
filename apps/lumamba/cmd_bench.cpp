// `lumamba bench scan`: times the fused selective scan against the reference loop, forward and
// backward (library: lumamba/bench/bench_scan.h). `lumamba bench model`: whole-model inference and
// training throughput, GFLOP/s vs SGEMM, peak RSS (lumamba/bench/bench_model.h). Results in
// docs/performance.md. `lumamba bench efficiency`: MACs, time, memory and max length of LuMamba-Tiny
// vs the comparison encoders (lumamba/bench/bench_efficiency.h, docs/efficiency.md); its trials run
// as the hidden `lumamba bench efficiency-trial` in child processes.
#include <fmt/format.h>

#include "common.h"
#include "lumamba/bench/child_process.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/bench/bench_efficiency.h"
#include "lumamba/bench/bench_model.h"
#include "lumamba/bench/bench_scan.h"

namespace lumamba::cli {
namespace {

struct BenchScanArgs {
  CommonArgs common;
  bench::ScanBenchOptions options;
  int repetitions = 5;
  int loop_repetitions = 3;
  double loop_budget_s = 60.0;
  bool contiguous = false;
  bool no_loop = false;
  bool json = false;
};

int run_bench_scan(BenchScanArgs& args) {
  apply_common(args.common);
  args.options.fused_plan.repetitions = args.repetitions;
  args.options.loop_plan.repetitions = args.loop_repetitions;
  args.options.loop_plan.budget_s = args.loop_budget_s;
  args.options.time_major = !args.contiguous;
  args.options.loop = !args.no_loop;
  const auto result = bench::run_scan_bench(args.options);
  if (args.json) fmt::print("{}\n", bench::scan_bench_to_json(result));
  else fmt::print("{}", bench::scan_bench_to_text(result));
  return 0;
}

struct BenchModelArgs {
  CommonArgs common;
  bench::ModelBenchOptions options;
  int repetitions = 5;
  int train_repetitions = 3;
  bool no_train = false;
  bool json = false;
};

int run_bench_model(BenchModelArgs& args) {
  apply_common(args.common);
  args.options.inference_plan.repetitions = args.repetitions;
  args.options.train_plan.repetitions = args.train_repetitions;
  args.options.train = !args.no_train;
  const auto result = bench::run_model_bench(args.options);
  if (args.json) fmt::print("{}\n", bench::model_bench_to_json(result));
  else fmt::print("{}", bench::model_bench_to_text(result));
  return 0;
}

void add_bench_model(CLI::App& bench, RunFn& run) {
  auto args = std::make_shared<BenchModelArgs>();
  auto* sub = bench.add_subcommand(
      "model", "whole model: inference windows/s, training samples/s, GFLOP/s vs SGEMM, training peak RSS");
  sub->add_option("--batch", args->options.batch, "batch size B (inference and training step)")
      ->required()
      ->check(CLI::PositiveNumber);
  sub->add_option("--channels", args->options.n_channels, "channels C (default 22)")->check(CLI::PositiveNumber);
  sub->add_option("--seq-len", args->options.n_samples, "samples T per window (default 1280 = 5 s at 256 Hz)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--sgemm-size", args->options.sgemm_size, "n of the n×n×n SGEMM reference (default 1024)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--repetitions", args->repetitions, "timed inference rounds (median; default 5)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--train-repetitions", args->train_repetitions, "timed training steps (median; default 3)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--no-train", args->no_train, "skip the training step (and its peak RSS)");
  sub->add_flag("--profile", args->options.profile_stages, "also time the forward stage by stage");
  sub->add_flag("--json", args->json, "print one JSON object on stdout");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] { run = [args] { return run_bench_model(*args); }; });
}

struct BenchEfficiencyArgs {
  CommonArgs common;
  std::string out_dir;
  std::string memory_budget = "4GiB";
  std::vector<std::string> models;
  int repetitions = 0;          ///< 0: the preset's
  double trial_timeout_s = 0.0;  ///< 0: the preset's
  bool quick = false;
  bool json = false;
};

int run_bench_efficiency(const BenchEfficiencyArgs& args) {
  apply_common(args.common);
  bench::EfficiencyOptions options = args.quick ? bench::quick_efficiency_options() : bench::EfficiencyOptions();
  options.memory_budget_bytes = bench::parse_byte_size(args.memory_budget, "--memory-budget");
  LUMAMBA_CHECK_INPUT(options.memory_budget_bytes > 0, "invalid --memory-budget: got '{}'; must be > 0",
                      args.memory_budget);
  if (!args.models.empty()) options.models = args.models;
  if (args.repetitions > 0) options.repetitions = args.repetitions;
  if (args.trial_timeout_s > 0.0) options.trial_timeout_s = args.trial_timeout_s;
  if (args.common.n_threads > 0) options.n_threads = args.common.n_threads;  // else the study's default, 1
  const auto report = bench::run_efficiency_bench(options);
  bench::write_efficiency_outputs(report, args.out_dir);
  if (args.json) fmt::print("{}\n", bench::efficiency_summary_json(report));
  else fmt::print("{}", bench::efficiency_report_text(report));
  log::info("bench efficiency: wrote efficiency.csv, efficiency.json, macs.svg, time.svg, memory.svg to {}",
            args.out_dir);
  return 0;
}

void add_bench_efficiency(CLI::App& bench, RunFn& run) {
  auto args = std::make_shared<BenchEfficiencyArgs>();
  auto* sub = bench.add_subcommand(
      "efficiency", "LuMamba-Tiny vs LUNA-Base and LaBraM-Base: MACs, time, peak memory and max length per forward");
  add_output_flag(*sub, args->out_dir, "output folder (CSV, JSON summary, SVG plots)", "--out")->required();
  sub->add_option("--memory-budget", args->memory_budget,
                  "peak resident memory allowed to one trial process, e.g. 4GiB, 512MiB (default 4GiB)");
  sub->add_flag("--quick", args->quick, "3 lengths, 3 channel counts, 1 repetition, max length searched to 320 s (CI)");
  sub->add_option("--models", args->models, "models, the first is the reference (default lumamba_tiny,luna_base,labram_base)")
      ->delimiter(',');
  sub->add_option("--repetitions", args->repetitions, "timed forwards per point (median; default 3, quick 1)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--trial-timeout", args->trial_timeout_s, "seconds allowed to one trial process (default 75, quick 30)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--json", args->json, "print the JSON summary on stdout instead of the tables");
  add_common_flags(*sub, args->common);
  sub->footer("Trials run with 1 intra-op thread unless --threads is given (docs/efficiency.md).");
  sub->callback([args, &run] { run = [args] { return run_bench_efficiency(*args); }; });
}

struct BenchEfficiencyTrialArgs {
  CommonArgs common;
  bench::EfficiencyTrialOptions options;
};

/// The child process of `bench efficiency`: one JSON line on stdout.
void add_bench_efficiency_trial(CLI::App& bench, RunFn& run) {
  auto args = std::make_shared<BenchEfficiencyTrialArgs>();
  auto* sub = bench.add_subcommand("efficiency-trial", "one trial of `bench efficiency` (internal)");
  sub->group("");  // hidden from --help: run by `bench efficiency` in a child process
  sub->add_option("--model", args->options.model, "model name")->required();
  sub->add_option("--channels", args->options.channels, "channels C")->required()->check(CLI::PositiveNumber);
  sub->add_option("--patches", args->options.patches, "patches S")->required()->check(CLI::PositiveNumber);
  sub->add_option("--repetitions", args->options.repetitions, "timed forwards (0: the traced one only)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--point-budget-s", args->options.point_budget_s, "cap on the timed seconds");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] {
    run = [args] {
      apply_common(args->common);
      fmt::print("{}\n", bench::efficiency_trial_to_json(bench::run_efficiency_trial(args->options)));
      return 0;
    };
  });
}

}  // namespace

void add_bench(CLI::App& app, RunFn& run) {
  auto* bench = app.add_subcommand("bench", "micro-benchmarks");
  bench->require_subcommand(1);
  auto args = std::make_shared<BenchScanArgs>();
  auto* sub = bench->add_subcommand("scan", "fused selective scan vs the reference loop, forward and backward");
  sub->add_option("--seq-len", args->options.seq_len, "sequence length L")->required()->check(CLI::PositiveNumber);
  sub->add_option("--batch", args->options.batch, "batch size B")->required()->check(CLI::PositiveNumber);
  sub->add_option("--d-inner", args->options.d_inner, "channels Di (default 768)")->check(CLI::PositiveNumber);
  sub->add_option("--d-state", args->options.d_state, "state size N (default 16)")->check(CLI::Range(1, 256));
  sub->add_option("--chunk", args->options.chunk_size, "fused checkpoint interval K (default 64)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--repetitions", args->repetitions, "timed runs of the fused kernel (median; default 5)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--loop-repetitions", args->loop_repetitions, "timed runs of the loop (default 3)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--loop-budget-s", args->loop_budget_s, "time fewer loop runs past this many seconds (default 60)");
  sub->add_flag("--float64", args->options.float64, "double precision");
  sub->add_flag("--contiguous", args->contiguous, "contiguous (B, Di, L) inputs instead of the Mamba block's views");
  sub->add_flag("--no-loop", args->no_loop, "time the fused kernel only");
  sub->add_flag("--json", args->json, "print one JSON object on stdout");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] { run = [args] { return run_bench_scan(*args); }; });
  add_bench_model(*bench, run);
  add_bench_efficiency(*bench, run);
  add_bench_efficiency_trial(*bench, run);
}

}  // namespace lumamba::cli
