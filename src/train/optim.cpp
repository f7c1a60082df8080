#include "lumamba/train/optim.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/nn/utils/clip_grad.h>
#include <torch/serialize.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/io/safetensors.h"
#include "lumamba/model/weights.h"
#include "lumamba/train/config.h"

namespace lumamba::train {

AdamWSettings read_adamw_settings(const FlatConfig& flat, AdamWSettings s, bool with_layer_decay) {
  s.lr = flat.get_double("optimizer.lr", s.lr);
  s.beta1 = flat.get_double("optimizer.beta1", s.beta1);
  s.beta2 = flat.get_double("optimizer.beta2", s.beta2);
  s.weight_decay = flat.get_double("optimizer.weight_decay", s.weight_decay);
  if (with_layer_decay) s.layer_decay = flat.get_double("optimizer.layer_decay", s.layer_decay);
  check_range("optimizer.lr", s.lr, 1e-12, 1.0);
  check_range("optimizer.beta1", s.beta1, 0.0, 0.999999);
  check_range("optimizer.beta2", s.beta2, 0.0, 0.999999);
  check_range("optimizer.weight_decay", s.weight_decay, 0.0, 10.0);
  check_range("optimizer.layer_decay", s.layer_decay, 1e-6, 1.0);
  return s;
}

std::vector<ParameterGroup> make_parameter_groups(const torch::nn::Module& module, const AdamWSettings& settings,
                                                  int64_t num_blocks) {
  check_range("optimizer.layer_decay", settings.layer_decay, 1e-6, 1.0);
  const bool decay = settings.layer_decay != 1.0;
  static const std::regex block_re(R"((?:^|\.)(?:mamba_blocks|norm_layers)\.(\d+)\.)");
  std::map<int64_t, ParameterGroup> by_block;  // -1 = base lr
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    if (!item.value().requires_grad()) continue;
    int64_t block = -1;
    std::smatch m;
    if (decay && std::regex_search(item.key(), m, block_re)) block = std::stoll(m[1].str());
    auto& group = by_block[block];
    if (group.parameters.empty()) {
      group.name = block < 0 ? "base" : fmt::format("block{}", block);
      group.base_lr = block < 0 ? settings.lr
                                : settings.lr * std::pow(settings.layer_decay, static_cast<double>(num_blocks - block));
    }
    group.parameters.push_back(item.value());
  }
  LUMAMBA_CHECK_INPUT(!by_block.empty(), "the model has no trainable parameters");
  std::vector<ParameterGroup> groups;
  for (auto& [block, group] : by_block) groups.push_back(std::move(group));
  return groups;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<ParameterGroup>& groups,
                                                const AdamWSettings& settings) {
  check_range("optimizer.lr", settings.lr, 1e-12, 1.0);
  check_range("optimizer.weight_decay", settings.weight_decay, 0.0, 10.0);
  check_range("optimizer.beta1", settings.beta1, 0.0, 0.999999);
  check_range("optimizer.beta2", settings.beta2, 0.0, 0.999999);
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  for (const auto& g : groups) {
    auto options = std::make_unique<torch::optim::AdamWOptions>(g.base_lr);
    options->betas({settings.beta1, settings.beta2}).weight_decay(settings.weight_decay).eps(settings.eps);
    param_groups.emplace_back(g.parameters, std::move(options));
  }
  return std::make_unique<torch::optim::AdamW>(param_groups,
                                               torch::optim::AdamWOptions(settings.lr)
                                                   .betas({settings.beta1, settings.beta2})
                                                   .weight_decay(settings.weight_decay)
                                                   .eps(settings.eps));
}

double CosineSchedule::lr_at(double base_lr, int64_t step) const {
  if (step < warmup_steps) {
    return warmup_lr_init + static_cast<double>(step) * (base_lr - warmup_lr_init) / static_cast<double>(warmup_steps);
  }
  if (step >= total_steps) return lr_min;
  const double pi = std::acos(-1.0);
  return lr_min + 0.5 * (base_lr - lr_min) *
                      (1.0 + std::cos(pi * static_cast<double>(step) / static_cast<double>(total_steps)));
}

double apply_schedule(torch::optim::Optimizer& optimizer, const std::vector<ParameterGroup>& groups,
                      const CosineSchedule& schedule, int64_t step) {
  auto& param_groups = optimizer.param_groups();
  LUMAMBA_CHECK(param_groups.size() == groups.size(), "optimizer has {} groups, schedule {}", param_groups.size(),
                groups.size());
  double first = 0;
  for (size_t i = 0; i < groups.size(); ++i) {
    const double lr = schedule.lr_at(groups[i].base_lr, step);
    static_cast<torch::optim::AdamWOptions&>(param_groups[i].options()).lr(lr);
    if (i == 0) first = lr;
  }
  return first;
}

double clip_gradients(const std::vector<ParameterGroup>& groups, double max_norm) {
  std::vector<torch::Tensor> params;
  for (const auto& g : groups) params.insert(params.end(), g.parameters.begin(), g.parameters.end());
  if (max_norm <= 0) {
    double sq = 0;
    for (const auto& p : params) {
      if (p.grad().defined()) sq += p.grad().pow(2).sum().item<double>();
    }
    return std::sqrt(sq);
  }
  return torch::nn::utils::clip_grad_norm_(params, max_norm);
}

std::map<std::string, double> gradient_norms_by_part(const torch::nn::Module& module) {
  std::map<std::string, double> squares;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    const auto& grad = item.value().grad();
    if (!grad.defined()) continue;
    const std::string& name = item.key();
    size_t end = name.find('.');
    // Keep a numeric second component (an index into a ModuleList) in the part name.
    if (end != std::string::npos) {
      const size_t next = name.find('.', end + 1);
      const std::string second = name.substr(end + 1, next == std::string::npos ? std::string::npos : next - end - 1);
      if (!second.empty() && second.find_first_not_of("0123456789") == std::string::npos) end = next;
    }
    squares[name.substr(0, end)] += grad.pow(2).sum().item<double>();
  }
  for (auto& [part, sq] : squares) sq = std::sqrt(sq);
  return squares;
}

namespace {

// The module's parameters and buffers in a fixed order. torch archives refuse dotted keys, so the
// tensors are stored by index and their names beside them (checked on load).
std::vector<std::pair<std::string, torch::Tensor>> state_tensors(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

std::string joined_names(const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  std::string names;
  for (const auto& [name, t] : tensors) names += name + "\n";
  return names;
}

}  // namespace

std::string training_state_path(const std::string& checkpoint_dir) {
  return (std::filesystem::path(checkpoint_dir) / "training_state.pt").string();
}

void save_training_state(const std::string& path, const torch::nn::Module& module,
                         const torch::optim::Optimizer& optimizer, const TrainingProgress& progress) {
  torch::serialize::OutputArchive archive;
  const auto tensors = state_tensors(module);
  const std::string names = joined_names(tensors);
  archive.write("weight_names", torch::tensor(std::vector<uint8_t>(names.begin(), names.end()), torch::kUInt8));
  for (size_t i = 0; i < tensors.size(); ++i) {
    archive.write(fmt::format("weight_{}", i), tensors[i].second.detach().clone(), /*is_buffer=*/true);
  }
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write("rng_state", gen.get_state());
  }
  archive.write("epoch", torch::tensor(progress.epoch));
  archive.write("step", torch::tensor(progress.step));
  archive.write("best_metric", torch::tensor(progress.best_metric, torch::kFloat64));
  archive.write("has_best", torch::tensor(static_cast<int64_t>(progress.has_best)));
  archive.write("best_step", torch::tensor(progress.best_step));
  archive.write("epochs_without_improvement", torch::tensor(progress.epochs_without_improvement));
  const std::string& partial = progress.partial_epoch_json;
  archive.write("partial_epoch_json", torch::tensor(std::vector<uint8_t>(partial.begin(), partial.end()), torch::kUInt8));
  // Serialised in memory and written by AtomicFileWriter: LibTorch's own file writer aborts the
  // process (an exception in a destructor) when the disk fills up.
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomic(path, bytes.str());
}

TrainingProgress load_training_state(const std::string& path, torch::nn::Module& module,
                                     torch::optim::Optimizer& optimizer) {
  LUMAMBA_CHECK_INPUT(std::filesystem::exists(path), "{}: training state not found (cannot resume)", path);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("{}: not a readable training state ({})", path, e.what_without_backtrace()));
  }
  torch::Tensor names_tensor;
  LUMAMBA_CHECK_INPUT(archive.try_read("weight_names", names_tensor),
                      "{}: no weights in this training state (written by an older lumamba; start the run again)",
                      path);
  const auto tensors = state_tensors(module);
  const auto* p = names_tensor.data_ptr<uint8_t>();
  const std::string names(p, p + names_tensor.numel());
  LUMAMBA_CHECK_INPUT(names == joined_names(tensors),
                      "{}: its tensors are not those of this model (was the model config changed?)", path);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < tensors.size(); ++i) {
      torch::Tensor t;
      archive.read(fmt::format("weight_{}", i), t, /*is_buffer=*/true);
      const auto& [name, target] = tensors[i];
      LUMAMBA_CHECK_INPUT(t.sizes() == target.sizes(), "{}: {} has shape {}, the model {}", path, name,
                          fmt::format("{}", fmt::join(t.sizes(), "x")), fmt::format("{}", fmt::join(target.sizes(), "x")));
      target.copy_(t);
    }
  }
  torch::serialize::InputArchive optimizer_archive;
  archive.read("optimizer", optimizer_archive);
  optimizer.load(optimizer_archive);
  torch::Tensor rng_state, epoch, step, best, has_best, best_step, patience;
  archive.read("rng_state", rng_state);
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng_state);
  }
  archive.read("epoch", epoch);
  archive.read("step", step);
  archive.read("best_metric", best);
  archive.read("has_best", has_best);
  archive.read("best_step", best_step);
  archive.read("epochs_without_improvement", patience);
  TrainingProgress progress;
  progress.epoch = epoch.item<int64_t>();
  progress.step = step.item<int64_t>();
  progress.best_metric = best.item<double>();
  progress.has_best = has_best.item<int64_t>() != 0;
  progress.best_step = best_step.item<int64_t>();
  progress.epochs_without_improvement = patience.item<int64_t>();
  torch::Tensor partial;
  archive.read("partial_epoch_json", partial);
  const auto* q = partial.data_ptr<uint8_t>();
  progress.partial_epoch_json.assign(q, q + partial.numel());
  return progress;
}

void check_existing_run(const std::string& out_dir, const FlatConfig& flat, bool resume, bool force,
                        const std::set<std::string>& free_on_resume) {
  namespace fs = std::filesystem;
  const std::string state = training_state_path((fs::path(out_dir) / "checkpoints").string());
  if (force || !fs::exists(state)) return;
  LUMAMBA_CHECK_INPUT(resume, "{}: holds a run (checkpoints/training_state.pt); --resume continues it, --force "
                      "starts it over, or choose another out=", out_dir);
  const std::string config_path = (fs::path(out_dir) / "config.yaml").string();
  if (!fs::exists(config_path)) return;
  const auto before = FlatConfig::from_yaml(read_text_file(config_path, "run config"), config_path).values();
  const auto& now = flat.values();
  std::vector<std::string> changes;
  std::set<std::string> keys;
  for (const auto& kv : before) keys.insert(kv.first);
  for (const auto& kv : now) keys.insert(kv.first);
  for (const auto& key : keys) {
    if (free_on_resume.count(key)) continue;
    const auto a = before.find(key), b = now.find(key);
    const std::string was = a == before.end() ? "(unset)" : a->second, is = b == now.end() ? "(unset)" : b->second;
    if (was != is) changes.push_back(fmt::format("{}: {} -> {}", key, was, is));
  }
  LUMAMBA_CHECK_INPUT(changes.empty(), "{}: --resume under another config than the run's ({}):\n  {}\n"
                      "resume with the run's settings, or --force to continue anyway", out_dir, config_path,
                      fmt::join(changes, "\n  "));
}

void append_metrics_line(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  LUMAMBA_CHECK_INPUT(out.good(), "{}: cannot append", path);
  out << line << "\n";
  out.flush();
  LUMAMBA_CHECK_INPUT(out.good(), "{}: write failed (disk full?)", path);
}

void truncate_metrics(const std::string& path, const std::string& field, int64_t last) {
  std::ifstream in(path);
  if (!in.good()) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value(field, int64_t{0}) <= last) kept += line + "\n";
  }
  write_text_file_atomic(path, kept);
}

namespace {

// The step a checkpoint's weights are from (metadata written by the training loops); -1 when the
// file is missing, unreadable or has no step.
int64_t checkpoint_step(const std::string& path) {
  if (!std::filesystem::exists(path)) return -1;
  try {
    const auto file = io::SafetensorsFile::open(path);
    const auto it = file.metadata().find(kMetaTrainingStep);
    return it == file.metadata().end() ? -1 : std::stoll(it->second);
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

TrainingProgress resume_training(
    torch::nn::Module& module, torch::optim::Optimizer& optimizer, const std::string& checkpoint_dir,
    const std::function<void(const std::string& path, const TrainingProgress& progress)>& write_checkpoint) {
  const std::string state = training_state_path(checkpoint_dir);
  LUMAMBA_CHECK_INPUT(std::filesystem::exists(state), "{}: nothing to resume (no training state)", state);
  const TrainingProgress progress = load_training_state(state, module, optimizer);
  // The state is written first; a kill before last/best.safetensors were renamed into place
  // leaves them from an earlier step (or absent). Rebuild them from the state's weights.
  const std::string last = (std::filesystem::path(checkpoint_dir) / "last.safetensors").string();
  const std::string best = (std::filesystem::path(checkpoint_dir) / "best.safetensors").string();
  if (const int64_t at = checkpoint_step(last); at != progress.step) {
    log::warn("{}: {} the training state (step {}); rewritten from the training state", last,
              at < 0 ? "missing or unreadable, unlike" : fmt::format("from step {}, behind", at), progress.step);
    write_checkpoint(last, progress);
  }
  if (progress.has_best) {
    const int64_t at = checkpoint_step(best);
    if (at != progress.best_step) {
      LUMAMBA_CHECK_INPUT(progress.best_step == progress.step,
                          "{}: the best checkpoint (step {}) is {}; it cannot be rebuilt (start the run again)",
                          best, progress.best_step, at < 0 ? "missing" : fmt::format("from step {}", at));
      log::warn("{}: {} the best step {}; rewritten from the training state", best,
                at < 0 ? "missing or unreadable, unlike" : fmt::format("from step {}, not", at), progress.best_step);
      write_checkpoint(best, progress);
    }
  }
  return progress;
}

}  // namespace lumamba::train
