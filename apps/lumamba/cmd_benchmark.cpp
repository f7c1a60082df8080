// `lumamba benchmark SUITE.yaml`: a suite of downstream tasks end to end (preprocess → band-power
// baseline → fine-tuning per seed and init → test metrics), resumable; results.json, results.md and
// an SVG per task (library: lumamba/experiment/benchmark_suite.h).
#include <fmt/format.h>

#include "common.h"
#include "lumamba/core/error.h"
#include "lumamba/core/key_value.h"
#include "lumamba/experiment/benchmark_suite.h"

namespace lumamba::cli {
namespace {

struct BenchmarkArgs {
  CommonArgs common;
  std::string suite_path, output_dir;
  std::vector<std::string> variables, tasks, variants;
  bool quick = false, dry_run = false;
};

int run_benchmark(const BenchmarkArgs& args) {
  apply_common(args.common);
  std::map<std::string, std::string> variables;
  for (const auto& kv : args.variables) {
    const auto [name, value] = split_key_value(kv);
    variables[name] = value;
  }
  const auto suite = experiment::load_benchmark_suite(args.suite_path, args.quick, variables);
  experiment::BenchmarkOptions options;
  options.output_dir = args.output_dir.empty()
                           ? fmt::format("benchmark_results/{}{}", suite.name, args.quick ? "_quick" : "")
                           : args.output_dir;
  options.only_tasks = args.tasks;
  options.only_variants = args.variants;
  options.dry_run = args.dry_run;
  fmt::print("{}\n", experiment::run_benchmark_suite(suite, options));
  return 0;
}

}  // namespace

void add_benchmark(CLI::App& app, RunFn& run) {
  auto args = std::make_shared<BenchmarkArgs>();
  auto* sub = app.add_subcommand(
      "benchmark", "run a suite of downstream tasks end to end: preprocess, baseline, fine-tune per seed, test");
  sub->add_option("suite", args->suite_path, "suite file (configs/benchmark/*.yaml)")->required();
  sub->add_option("variables", args->variables, "NAME=VALUE for the suite's variables (e.g. eegmmidb_root=/data/eegmmidb)");
  add_output_flag(*sub, args->output_dir, "output folder (default benchmark_results/<suite>[_quick])");
  sub->add_option("--task", args->tasks, "run only these tasks (comma-separated)")->delimiter(',');
  sub->add_option("--variant", args->variants,
                  "run only these variants: scratch, an init or pretraining run, <variant>_probe (comma-separated)")
      ->delimiter(',');
  sub->add_flag("--quick", args->quick, "the suite's quick variant (bundled data, few steps: a pipeline check)");
  sub->add_flag("--dry-run", args->dry_run, "list tasks, recordings per split and runs; run nothing");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] { run = [args] { return run_benchmark(*args); }; });
}

}  // namespace lumamba::cli
