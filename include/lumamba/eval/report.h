// lumamba/eval/report.h — `lumamba report RUN_DIR`: one self-contained HTML page (inline SVG and CSS,
// no script, nothing fetched) that shows a run at a glance. Kinds, told apart by the files in the
// folder:
//   finetune  config.yaml + metrics.jsonl (+ test_metrics.json, test_predictions.csv): configuration,
//             the checkpoint's task/preprocessing, loss and validation-metric curves per epoch, the test
//             metrics (windows and recordings), confusion matrix, ROC and PR curves, per-recording
//             probability timelines with the true labels;
//   pretrain  config.yaml + metrics.jsonl with "kind" lines: loss and loss components per step and
//             per epoch;
//   predict   predictions.json + predictions.csv (+ events.csv): a table per recording and its
//             probability timeline with the detected events;
//   evaluate  metrics.json + predictions.csv: the test section of a fine-tuning report;
//   benchmark results.json + results.md: the results tables and the suite's figures;
//   bench efficiency  efficiency.json (+ .csv, SVGs): machine, the length-sweep figures, every trial;
//   probe     probe.json + its SVGs: embeddings projected in 2-D, coloured by label and by subject.
// pretrain/finetune runs also show provenance.json (commit, machine, BLAS, threads; train/run.h).
// Every number shown comes from the run's own files (the report computes only ROC/PR points). Torch-free.
#pragma once

#include <string>

namespace lumamba::eval {

struct ReportResult {
  std::string path;  ///< the HTML file written
  std::string kind;  ///< finetune | pretrain | predict | evaluate | benchmark | bench efficiency | probe
  int n_figures = 0;
};

/// Writes `output` (default RUN_DIR/report.html) atomically. `baseline` (a `lumamba baseline` JSON, or
/// any metrics JSON; its "test" or "windows" object when it has one) puts a baseline's test metrics
/// beside a fine-tuning run's. InputError naming the folder and the files looked for when it is none
/// of the kinds above.
ReportResult write_run_report(const std::string& run_dir, const std::string& output = "",
                              const std::string& baseline = "");

}  // namespace lumamba::eval
