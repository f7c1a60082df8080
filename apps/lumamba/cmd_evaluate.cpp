// `lumamba evaluate`: checkpoint + labelled HDF5 windows → metrics JSON (window and recording
// level) and a CSV of per-window predictions (library: lumamba/eval/inference.h); `lumamba
// baseline` (eval/baseline.h) and `lumamba probe` (frozen embeddings vs band powers,
// eval/embedding_probe.h) on the same windows.
#include <fmt/format.h>

#include <filesystem>

#include "common.h"
#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/eval/baseline.h"
#include "lumamba/eval/embedding_probe.h"
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
  sub->add_option("--data", args->data, "HDF5 windows (lumamba preprocess)")->required();
  sub->add_option("--split", args->splits, "only groups of these splits (e.g. test)")->delimiter(',');
  sub->add_option("--layout", args->layout, "channel order of name-less reference files: tuh | tueg");
  sub->add_option("--output", args->output_dir, "folder for metrics.json and predictions.csv");
  sub->add_option("--batch", args->batch_size, "windows per forward (default 64)")->check(CLI::PositiveNumber);
  sub->add_option("overrides", args->overrides, "model options key=value");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] { run = [args] { return run_evaluate(*args); }; });
}

void add_baseline(CLI::App& app, RunFn& run) {
  struct Args {
    CommonArgs common;
    std::string data, test_data, output, predictions, layout;
    eval::BaselineOptions baseline;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("baseline", "log band powers per channel + logistic regression (train -> test)");
  sub->add_option("--data", args->data, "HDF5 windows; trains on splits train+val, tests on split test")->required();
  sub->add_option("--test-data", args->test_data, "separate HDF5 test windows (then all of --data trains)");
  sub->add_option("--layout", args->layout, "channel order of name-less reference files: tuh | tueg");
  sub->add_option("--C", args->baseline.C, "inverse L2 strength as in scikit-learn (default 1)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--class-weights", args->baseline.class_weights,
                  "none | balanced (n / (K * n_k) of the training windows, sklearn's class_weight)")
      ->check(CLI::IsMember({"none", "balanced"}));
  sub->add_option("--output", args->output, "write the metrics JSON here too");
  sub->add_option("--predictions", args->predictions,
                  "CSV of per-window test predictions (recording,window_start_s,label,predicted,p_0..)");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] {
    run = [args] {
      apply_common(args->common);
      data::DatasetOptions options;
      options.layout = args->layout;
      options.require_labels = true;
      const auto train = data::WindowDataset::open({args->data}, options);
      std::unique_ptr<data::WindowDataset> test;
      eval::BaselineReport report;
      if (args->test_data.empty()) {
        report = eval::run_band_power_baseline(train, args->baseline);
      } else {
        test = std::make_unique<data::WindowDataset>(data::WindowDataset::open({args->test_data}, options));
        report = eval::run_band_power_baseline(train, eval::all_windows(train), *test, eval::all_windows(*test),
                                               train.recordings().front().sfreq_hz, args->baseline);
      }
      const auto json = report.to_json();
      log::info("baseline (band powers + logistic regression), test {}", report.test.summary_line());
      if (!report.test.multilabel) {
        log::info("recording level ({} recordings): balanced accuracy {:.3f}", report.test.n_recordings,
                  report.test.recordings.balanced_accuracy);
      }
      if (!args->output.empty()) write_text_file_atomic(args->output, json + "\n");
      if (!args->predictions.empty()) {
        eval::write_predictions_csv(args->predictions, test ? *test : train, report.test_windows,
                                    report.probabilities, report.n_classes);
      }
      fmt::print("{}\n", json);
      return 0;
    };
  });
}

void add_probe(CLI::App& app, RunFn& run) {
  struct Args {
    CommonArgs common;
    std::vector<std::string> weights, overrides;
    std::string config_path, data, output, title = "LuMamba";
    eval::EmbeddingProbeOptions probe;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand(
      "probe", "what frozen encoder embeddings carry vs band powers: logistic and k-NN probes, subject "
               "identification, effective rank, PCA plots (train+val -> test windows)");
  sub->add_option("--weights", args->weights, "checkpoint(s) (pretrained or fine-tuned); later files override")
      ->required()->delimiter(',');
  sub->add_option("--config", args->config_path, "model config for weights without lumamba.config metadata");
  sub->add_option("--data", args->data, "labelled HDF5 windows with splits train/val and test")->required();
  sub->add_option("--output", args->output, "folder for probe.json, pca_by_label.svg, pca_by_subject.svg")
      ->required();
  sub->add_option("--C", args->probe.C, "inverse L2 strength of the logistic regressions (default 1)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--class-weights", args->probe.class_weights, "none | balanced (default; task probe)")
      ->check(CLI::IsMember({"none", "balanced"}));
  sub->add_option("--knn-k", args->probe.knn_k, "neighbours of the k-NN probe (default 10)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--batch", args->probe.batch_size, "windows per forward (default 64)")->check(CLI::PositiveNumber);
  sub->add_option("--title", args->title, "plot title prefix (default LuMamba)");
  sub->add_option("overrides", args->overrides, "model options key=value");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] {
    run = [args] {
      apply_common(args->common);
      auto loaded = eval::load_model(args->weights, args->config_path, args->overrides);
      data::DatasetOptions options;
      options.require_labels = true;
      const auto ds = data::WindowDataset::open({args->data}, options);
      const auto report = eval::probe_embeddings(loaded.net, ds, args->probe);
      const std::filesystem::path out(args->output);
      std::filesystem::create_directories(out);
      const auto json = report.to_json();
      write_text_file_atomic((out / "probe.json").string(), json + "\n");
      eval::write_embedding_plots(report, ds, (out / "pca_by_label.svg").string(),
                                  (out / "pca_by_subject.svg").string(), args->title);
      const auto line = [](const eval::FeatureProbe& p) {
        return fmt::format("{:<11} {:>5} {:>8.3f} {:>7.3f} {:>8.3f} {:>11.3f} {:>10.1f}", p.features, p.dim,
                           p.task.windows.balanced_accuracy, p.task.windows.auroc, p.knn_balanced_accuracy,
                           p.subject_id_accuracy, p.effective_rank);
      };
      fmt::print("features      dim  LR bal.  LR AUC  k-NN bal.  subject ID  eff. rank\n{}\n{}\n"
                 "({} train / {} test windows; subject identification over {} test subjects, chance {:.3f}; "
                 "PCA explains {:.1f} % + {:.1f} %)\n",
                 line(report.embedding), line(report.band_power), report.n_train, report.n_test,
                 report.subject_id_subjects,
                 report.subject_id_subjects > 0 ? 1.0 / static_cast<double>(report.subject_id_subjects) : 0.0,
                 100 * report.pca.explained[0], 100 * report.pca.explained[1]);
      log::info("wrote {}/probe.json, pca_by_label.svg, pca_by_subject.svg", args->output);
      return 0;
    };
  });
}

}  // namespace lumamba::cli
