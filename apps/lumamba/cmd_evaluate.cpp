// `lumamba evaluate`: checkpoint + labelled HDF5 windows → metrics JSON (window and recording
// level) and a CSV of per-window predictions (library: lumamba/eval/inference.h).
#include <fmt/format.h>

#include <filesystem>

#include "common.h"
#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/eval/inference.h"

namespace lumamba::cli {
namespace {

struct EvaluateArgs {
  CommonArgs common;
  std::vector<std::string> weights;
  std::string config_path, data, output_dir, layout;
  std::vector<std::string> splits, overrides;
  int64_t batch_size = 64;
};

int run_evaluate(const EvaluateArgs& args) {
  apply_common(args.common);
  auto loaded = eval::load_model(args.weights, args.config_path, args.overrides);
  LUMAMBA_CHECK_INPUT(!loaded.options.is_pretraining(), "{}: a pretraining checkpoint has no classifier",
                      args.weights.front());
  data::DatasetOptions options;
  options.splits = args.splits;
  options.layout = args.layout;
  options.require_labels = true;
  const auto ds = data::WindowDataset::open({args.data}, options);
  LUMAMBA_CHECK_INPUT(ds.size() > 0, "{}: no windows{}", args.data,
                      args.splits.empty() ? "" : fmt::format(" in split(s) {}", fmt::join(args.splits, ",")));
  const auto windows = eval::all_windows(ds);
  const auto probs = eval::predict_windows(loaded.net, ds, windows, loaded.task, args.batch_size, true);
  const auto report = eval::evaluate_predictions(ds, windows, probs, loaded.task.n_classes);
  const auto json = report.to_json();
  log::info("window level, {}", report.summary_line());
  if (!report.multilabel) {
    log::info("recording level ({} recordings): balanced accuracy {:.3f}", report.n_recordings,
              report.recordings.balanced_accuracy);
  }
  if (!args.output_dir.empty()) {
    std::filesystem::create_directories(args.output_dir);
    write_text_file_atomic((std::filesystem::path(args.output_dir) / "metrics.json").string(), json + "\n");
    eval::write_predictions_csv((std::filesystem::path(args.output_dir) / "predictions.csv").string(), ds, windows,
                                probs, loaded.task.n_classes);
    log::info("wrote {}/metrics.json and predictions.csv", args.output_dir);
  }
  fmt::print("{}\n", json);
  return 0;
}

}  // namespace

void add_evaluate(CLI::App& app, RunFn& run) {
  auto args = std::make_shared<EvaluateArgs>();
  auto* sub = app.add_subcommand("evaluate", "metrics of a classifier checkpoint on labelled HDF5 windows");
  sub->add_option("--weights", args->weights, "checkpoint(s); later files override earlier ones")->required()
      ->delimiter(',');
  sub->add_option("--config", args->config_path, "model config for weights without lumamba.config metadata");
  add_data_flag(*sub, args->data, "HDF5 windows (lumamba preprocess)")->required();
  sub->add_option("--split", args->splits, "only groups of these splits (e.g. test)")->delimiter(',');
  sub->add_option("--layout", args->layout, "channel order of name-less reference files: tuh | tueg");
  add_output_flag(*sub, args->output_dir, "folder for metrics.json and predictions.csv");
  sub->add_option("--batch", args->batch_size, "windows per forward (default 64)")->check(CLI::PositiveNumber);
  sub->add_option("overrides", args->overrides, "model options key=value");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] { run = [args] { return run_evaluate(*args); }; });
}

}  // namespace lumamba::cli
