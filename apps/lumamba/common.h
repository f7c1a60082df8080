// Shared CLI flags and subcommand registration (docs/style.md §13). Each subcommand lives in
// cmd_<name>.cpp with an <Name>Args struct, add_<name>(CLI::App&) and run_<name>(const Args&).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace lumamba::cli {

struct CommonArgs {
  int n_threads = 0;  ///< 0 = hardware cores
  std::string log_level = "info";
};

/// Adds --threads and --log-level to a (sub)command.
void add_common_flags(CLI::App& app, CommonArgs& args);
/// Applies the common flags (threads, log level) and logs the runtime (BLAS, threads) on stderr.
void apply_common(const CommonArgs& args);

/// Each subcommand registers itself and sets `run` to the function main calls after parsing.
using RunFn = std::function<int()>;
void add_info(CLI::App& app, RunFn& run);
void add_forward(CLI::App& app, RunFn& run);
void add_bench(CLI::App& app, RunFn& run);
void add_preprocess(CLI::App& app, RunFn& run);
void add_finetune(CLI::App& app, RunFn& run);
void add_pretrain(CLI::App& app, RunFn& run);
void add_evaluate(CLI::App& app, RunFn& run);
void add_baseline(CLI::App& app, RunFn& run);
void add_probe(CLI::App& app, RunFn& run);
void add_predict(CLI::App& app, RunFn& run);
void add_embed(CLI::App& app, RunFn& run);
void add_benchmark(CLI::App& app, RunFn& run);

}  // namespace lumamba::cli
