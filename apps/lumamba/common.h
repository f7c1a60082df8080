// Shared CLI flags and subcommand registration (docs/style.md §13). Each subcommand lives in
// cmd_<name>.cpp with an <Name>Args struct, add_<name>(CLI::App&) and run_<name>(const Args&).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lumamba::train {
class TrainingGroup;  // lumamba/train/distributed.h
}  // namespace lumamba::train

namespace lumamba::cli {

struct CommonArgs {
  int n_threads = 0;  ///< 0 = hardware cores
  std::string log_level = "info";
};

/// Adds --threads and --log-level to a (sub)command.
void add_common_flags(CLI::App& app, CommonArgs& args);

/// One vocabulary for every command (docs/cli.md): `--data` names what a command reads, `--output`
/// where it writes. `aliases` are the spellings a command had before (comma-separated CLI11 names:
/// "--input", "--out", or a positional name such as "input"); they keep working.
CLI::Option* add_data_flag(CLI::App& app, std::string& target, const std::string& help, const std::string& aliases = "");
CLI::Option* add_output_flag(CLI::App& app, std::string& target, const std::string& help,
                             const std::string& aliases = "");

/// `pretrain` and `finetune` take their data and output folder as config keys (`data=`, `out=`);
/// `--data`/`--output` are the same keys. Appends them to `overrides`; giving a key both ways is an error.
void append_data_output_keys(const std::string& data, const std::string& output, std::vector<std::string>& overrides);

/// The flags `predict` and `embed` share (both take recordings and a checkpoint; `Request` is
/// eval::PredictRequest or eval::EmbedRequest).
template <typename Request>
void add_recording_model_flags(CLI::App& sub, Request& request, const std::string& input_help,
                               const std::string& weights_help) {
  add_data_flag(sub, request.input, input_help, "input,--input")->required();
  sub.add_option("--weights", request.weights, weights_help)->required()->delimiter(',');
  sub.add_option("--config", request.config_path, "model config for weights without lumamba.config");
  sub.add_option("--preset", request.preset, "preprocessing preset/YAML when the checkpoint stores none");
  sub.add_option("--batch", request.batch_size, "windows per forward (default 64)")->check(CLI::PositiveNumber);
  sub.add_option("--chunk-patches", request.chunk_patches,
                 "whole-recording chunk in patches (memory vs speed; default 1024)")->check(CLI::PositiveNumber);
  sub.add_option("overrides", request.preset_overrides, "preprocessing overrides key=value");
}
/// Applies the common flags (threads, log level) and logs the runtime (BLAS, threads) on stderr.
void apply_common(const CommonArgs& args);

/// `pretrain` and `finetune` in a data-parallel job (docs/distributed.md).
struct DistributedArgs {
  std::string rendezvous;   ///< "" / tcp (MASTER_ADDR:MASTER_PORT) or file:PATH
  double timeout_s = 300;   ///< how long a rank waits for the others
};
void add_distributed_flags(CLI::App& app, DistributedArgs& args);
/// Joins the job when torchrun, srun or mpirun started this process (one process alone otherwise).
/// Ranks other than 0 log warnings and errors only, tagged "rank N".
std::shared_ptr<train::TrainingGroup> join_training_group(const DistributedArgs& args);

/// pretrain/finetune: OUT/report.html is refreshed after every checkpoint save (lumamba/eval/report.h),
/// and written once more by report_after_run when the run ends; a report that fails is a warning.
void refresh_report_after_checkpoints();
void report_after_run(const std::string& run_dir);

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
void add_report(CLI::App& app, RunFn& run);

}  // namespace lumamba::cli
