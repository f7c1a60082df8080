// Shared CLI flags (see common.h).
#include "common.h"

#include "lumamba/core/log.h"
#include "lumamba/model/runtime.h"

namespace lumamba::cli {

void add_common_flags(CLI::App& app, CommonArgs& args) {
  app.add_option("--threads", args.n_threads, "intra-op threads (default: all hardware cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--log-level", args.log_level, "debug|info|warn|error (default: info)");
}

void apply_common(const CommonArgs& args) {
  log::set_level(log::parse_level(args.log_level));
  model::configure_threads(args.n_threads);
  model::log_runtime(model::runtime_report());
}

}  // namespace lumamba::cli
