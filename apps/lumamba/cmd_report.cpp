// `lumamba report RUN_DIR`: one self-contained HTML page of a finetune, pretrain or predict run
// (library: lumamba/eval/report.h).
#include <fmt/format.h>

#include "common.h"
#include "lumamba/core/log.h"
#include "lumamba/eval/report.h"

namespace lumamba::cli {

void add_report(CLI::App& app, RunFn& run) {
  struct Args {
    CommonArgs common;
    std::string run_dir, output, baseline;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("report", "one self-contained HTML page of a run folder (finetune, pretrain, predict)");
  sub->add_option("run_dir", args->run_dir, "the run's output folder")->required();
  add_output_flag(*sub, args->output, "HTML file to write (default RUN_DIR/report.html)");
  sub->add_option("--baseline", args->baseline, "a `lumamba baseline` JSON to show beside the test metrics");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] {
    run = [args] {
      apply_common(args->common);
      const auto r = eval::write_run_report(args->run_dir, args->output, args->baseline);
      fmt::print("{}\n", r.path);
      log::info("{} report with {} figures: {}", r.kind, r.n_figures, r.path);
      return 0;
    };
  });
}

}  // namespace lumamba::cli
