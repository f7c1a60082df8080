// Shared CLI flags (see common.h).
#include "common.h"

#include "lumamba/eval/report.h"
#include "lumamba/train/run.h"

#include <tuple>

#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/model/runtime.h"
#include "lumamba/train/distributed.h"

namespace lumamba::cli {

void add_common_flags(CLI::App& app, CommonArgs& args) {
  app.add_option("--threads", args.n_threads, "intra-op threads (default: all hardware cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--log-level", args.log_level, "debug|info|warn|error (default: info)");
}

namespace {
std::string names(const std::string& canonical, const std::string& aliases) {
  return aliases.empty() ? canonical : canonical + "," + aliases;
}
}  // namespace

CLI::Option* add_data_flag(CLI::App& app, std::string& target, const std::string& help, const std::string& aliases) {
  return app.add_option(names("--data", aliases), target, help);
}

CLI::Option* add_output_flag(CLI::App& app, std::string& target, const std::string& help,
                             const std::string& aliases) {
  return app.add_option(names("--output", aliases), target, help);
}

void append_data_output_keys(const std::string& data, const std::string& output, std::vector<std::string>& overrides) {
  for (const auto& [flag, key, value] : {std::tuple<const char*, std::string, const std::string&>{"--data", "data=", data},
                                         {"--output", "out=", output}}) {
    if (value.empty()) continue;
    for (const auto& kv : overrides) {
      LUMAMBA_CHECK_INPUT(kv.rfind(key, 0) != 0, "{} {} and {} name the same setting: give one of them", flag, value, kv);
    }
    overrides.push_back(key + value);
  }
}

void apply_common(const CommonArgs& args) {
  log::set_level(log::parse_level(args.log_level));
  model::configure_threads(args.n_threads);
  model::log_runtime(model::runtime_report());
}

void add_distributed_flags(CLI::App& app, DistributedArgs& args) {
  app.add_option("--rendezvous", args.rendezvous,
                 "multi-process jobs: tcp (rank 0 at MASTER_ADDR:MASTER_PORT, default) or file:PATH on a shared "
                 "file system");
  app.add_option("--dist-timeout", args.timeout_s,
                 "multi-process jobs: seconds a rank waits for the others before it fails (default 300)")
      ->check(CLI::PositiveNumber);
}

std::shared_ptr<train::TrainingGroup> join_training_group(const DistributedArgs& args) {
  const auto launch = train::detect_launch();
  if (launch.world_size <= 1) return train::TrainingGroup::single();
  if (launch.rank != 0) {
    log::set_tag(fmt::format("rank {}", launch.rank));
    if (log::level() < log::Level::kWarn) log::set_level(log::Level::kWarn);
  }
  train::DistributedOptions options;
  options.rendezvous = args.rendezvous;
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(args.timeout_s * 1000));
  return train::TrainingGroup::connect(launch, options);
}

void report_after_run(const std::string& run_dir) {
  try {
    const auto r = eval::write_run_report(run_dir);
    log::info("report: {}", r.path);
  } catch (const std::exception& e) {
    log::warn("{}: no report.html ({})", run_dir, e.what());
  }
}

void refresh_report_after_checkpoints() {
  train::set_checkpoint_hook([](const std::string& run_dir) {
    try {
      eval::write_run_report(run_dir);
    } catch (const std::exception& e) {
      log::warn("{}: report.html not refreshed ({})", run_dir, e.what());
    }
  });
}

}  // namespace lumamba::cli
