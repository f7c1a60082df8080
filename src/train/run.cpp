#include "lumamba/train/run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/model/runtime.h"

namespace lumamba::train {
namespace fs = std::filesystem;

CommonTrainSettings read_common_train_settings(const FlatConfig& flat, const CommonTrainSettings& defaults) {
  CommonTrainSettings s = defaults;
  s.epochs = flat.get_int("train.epochs", s.epochs);
  s.warmup_epochs = flat.get_int("train.warmup_epochs", s.warmup_epochs);
  s.batch_size = flat.get_int("train.batch_size", s.batch_size);
  s.max_steps = flat.get_int("train.max_steps", s.max_steps);
  s.grad_clip = flat.get_double("train.grad_clip", s.grad_clip);
  s.seed = static_cast<uint64_t>(flat.get_int("train.seed", static_cast<int64_t>(s.seed)));
  s.schedule.warmup_lr_init = flat.get_double("schedule.warmup_lr_init", s.schedule.warmup_lr_init);
  s.schedule.lr_min = flat.get_double("schedule.lr_min", s.schedule.lr_min);
  check_range("train.epochs", static_cast<double>(s.epochs), 1, 1e6);
  check_range("train.warmup_epochs", static_cast<double>(s.warmup_epochs), 0, static_cast<double>(s.epochs));
  check_range("train.batch_size", static_cast<double>(s.batch_size), 1, 1e6);
  check_range("train.max_steps", static_cast<double>(s.max_steps), 0, 1e12);
  check_range("train.grad_clip", s.grad_clip, 0.0, std::numeric_limits<double>::infinity());
  check_range("schedule.warmup_lr_init", s.schedule.warmup_lr_init, 0.0, 1.0);
  check_range("schedule.lr_min", s.schedule.lr_min, 0.0, 1.0);
  return s;
}

namespace {

// What made a run and where it ran (lumamba report shows it): the source's commit and version, the
// machine, its BLAS and threads, and when this (re)start began. Rewritten at each start: a resumed run
// records the machine it resumed on.
void write_provenance(const std::string& out_dir, bool resumed) {
  const auto runtime = model::runtime_report();
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char started[32];
  std::strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  const nlohmann::json j = {{"lumamba_version", LUMAMBA_VERSION},
                            {"lumamba_commit", LUMAMBA_GIT_DESCRIBE},
                            {"started_utc", started},
                            {"resumed", resumed},
                            {"host", host},
                            {"cpu", model::cpu_model_name()},
                            {"hardware_threads", runtime.hardware_threads},
                            {"intra_op_threads", runtime.intra_op_threads},
                            {"blas", describe_blas(runtime.blas)},
                            {"libtorch", runtime.torch_version},
                            {"scan_kernel", runtime.scan_kernel_isa}};
  write_text_file_atomic((fs::path(out_dir) / "provenance.json").string(), j.dump(2) + "\n");
}

}  // namespace

RunFolder::RunFolder(const std::string& out_dir, const FlatConfig& flat, bool resume, bool force,
                     const std::set<std::string>& free_on_resume, bool writes)
    : lock_(writes ? std::optional<OutputLock>(std::in_place, out_dir) : std::nullopt),
      dir(out_dir),
      checkpoint_dir((fs::path(out_dir) / "checkpoints").string()),
      last_path((fs::path(out_dir) / "checkpoints" / "last.safetensors").string()),
      best_path((fs::path(out_dir) / "checkpoints" / "best.safetensors").string()),
      metrics_path((fs::path(out_dir) / "metrics.jsonl").string()) {
  if (!writes) return;
  check_existing_run(out_dir, flat, resume, force, free_on_resume);
  fs::create_directories(checkpoint_dir);
  write_text_file_atomic((fs::path(out_dir) / "config.yaml").string(), flat.to_yaml());
  write_provenance(out_dir, resume);
}

void RunFolder::append_metrics(const std::string& json_line) const {
  if (writes()) append_metrics_line(metrics_path, json_line);
}

CheckpointKeeper::CheckpointKeeper(const RunFolder& folder, torch::nn::Module& module,
                                   torch::optim::Optimizer& optimizer, WriteWeights write_weights)
    : folder_(folder), module_(module), optimizer_(optimizer), write_weights_(std::move(write_weights)) {}

TrainingProgress CheckpointKeeper::start(bool resume, const std::string& metrics_field) const {
  if (!folder_.writes()) return {};  // a rank other than 0: share_from_main brings rank 0's state
  // A run killed before its first checkpoint has nothing to resume but nothing lost either: --resume
  // starts it from the beginning, so that a kill at any moment is followed by --resume.
  const bool has_state = fs::exists(training_state_path(folder_.checkpoint_dir));
  if (!resume || !has_state) {
    if (resume) {
      log::warn("{}: the run stopped before its first checkpoint: --resume starts it from the beginning",
                folder_.dir);
    }
    write_text_file_atomic(folder_.metrics_path, "");
    return {};
  }
  auto progress = resume_training(module_, optimizer_, folder_.checkpoint_dir,
                                  [this](const std::string& path, const TrainingProgress& at) {
                                    write_weights_(path, at, at.best_metric);
                                  });
  truncate_metrics(folder_.metrics_path, metrics_field, metrics_field == "step" ? progress.step : progress.epoch);
  return progress;
}

bool CheckpointKeeper::record(TrainingProgress& progress, double metric) {
  const bool improved = !progress.has_best || metric < progress.best_metric;
  if (improved) {
    progress.best_metric = metric;
    progress.has_best = true;
    progress.best_step = progress.step;
  }
  return improved;
}

namespace {
std::function<void(const std::string&)>& checkpoint_hook() {
  static std::function<void(const std::string&)> hook;
  return hook;
}
}  // namespace

void set_checkpoint_hook(std::function<void(const std::string& run_dir)> hook) { checkpoint_hook() = std::move(hook); }

void CheckpointKeeper::save(const TrainingProgress& progress, bool improved, double last_metric) const {
  if (!folder_.writes()) return;
  save_training_state(training_state_path(folder_.checkpoint_dir), module_, optimizer_, progress);
  if (improved) write_weights_(folder_.best_path, progress, progress.best_metric);
  write_weights_(folder_.last_path, progress, last_metric);
  if (checkpoint_hook()) checkpoint_hook()(folder_.dir);
}

void CheckpointKeeper::share_from_main(TrainingGroup& group, TrainingProgress& progress) const {
  if (!group.distributed()) return;
  // Through files: the training state's reader and writer take paths.
  const auto written = fs::temp_directory_path() / fmt::format("lumamba-{}-state.pt", static_cast<long>(::getpid()));
  if (group.is_main()) save_training_state(written.string(), module_, optimizer_, progress);
  {
    const FileFromMain state(group, written.string(), "state.pt");
    if (!group.is_main()) progress = load_training_state(state.path(), module_, optimizer_);
  }
  if (group.is_main()) fs::remove(written);
}

std::map<std::string, MetricSummary> summarise_over_runs(const std::map<std::string, std::vector<double>>& values) {
  std::map<std::string, MetricSummary> out;
  for (const auto& [name, v] : values) {
    MetricSummary s;
    s.n = static_cast<int64_t>(v.size());
    for (const double x : v) s.mean += x / static_cast<double>(v.size());
    double var = 0;
    for (const double x : v) var += (x - s.mean) * (x - s.mean) / static_cast<double>(std::max<size_t>(1, v.size() - 1));
    s.std = std::sqrt(var);
    out[name] = s;
  }
  return out;
}

}  // namespace lumamba::train
