// `lumamba baseline`: log band powers per channel + logistic regression on labelled HDF5 windows,
// train (+ val) -> test: the bar every model in docs/results.md is compared with (library:
// lumamba/eval/baseline.h).
#include <fmt/format.h>

#include <memory>

#include "common.h"
#include "lumamba/core/atomic_file.h"
#include "lumamba/core/log.h"
#include "lumamba/eval/baseline.h"
#include "lumamba/eval/inference.h"

namespace lumamba::cli {

void add_baseline(CLI::App& app, RunFn& run) {
  struct Args {
    CommonArgs common;
    std::string data, test_data, output, predictions, layout;
    eval::BaselineOptions baseline;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("baseline", "log band powers per channel + logistic regression (train -> test)");
  add_data_flag(*sub, args->data, "HDF5 windows; trains on splits train+val, tests on split test")->required();
  sub->add_option("--test-data", args->test_data, "separate HDF5 test windows (then all of --data trains)");
  sub->add_option("--layout", args->layout, "channel order of name-less reference files: tuh | tueg");
  sub->add_option("--C", args->baseline.C, "inverse L2 strength as in scikit-learn (default 1)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--class-weights", args->baseline.class_weights,
                  "none | balanced (n / (K * n_k) of the training windows, sklearn's class_weight)")
      ->check(CLI::IsMember({"none", "balanced"}));
  add_output_flag(*sub, args->output, "write the metrics JSON here too");
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

}  // namespace lumamba::cli
