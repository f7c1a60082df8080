#include "lumamba/train/optim.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/nn/utils/clip_grad.h>
#include <torch/serialize.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include <ATen/CPUGeneratorImpl.h>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
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

void save_training_state(const std::string& path, const torch::optim::Optimizer& optimizer,
                         const TrainingProgress& progress) {
  torch::serialize::OutputArchive archive;
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
  archive.write("epochs_without_improvement", torch::tensor(progress.epochs_without_improvement));
  archive.save_to(atomic_temp_path(path));
  commit_atomic(path);
}

TrainingProgress load_training_state(const std::string& path, torch::optim::Optimizer& optimizer) {
  LUMAMBA_CHECK_INPUT(std::filesystem::exists(path), "{}: training state not found (cannot resume)", path);
  torch::serialize::InputArchive archive;
  archive.load_from(path);
  torch::serialize::InputArchive optimizer_archive;
  archive.read("optimizer", optimizer_archive);
  optimizer.load(optimizer_archive);
  torch::Tensor rng_state, epoch, step, best, has_best, patience;
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
  archive.read("epochs_without_improvement", patience);
  TrainingProgress progress;
  progress.epoch = epoch.item<int64_t>();
  progress.step = step.item<int64_t>();
  progress.best_metric = best.item<double>();
  progress.has_best = has_best.item<int64_t>() != 0;
  progress.epochs_without_improvement = patience.item<int64_t>();
  return progress;
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

TrainingProgress resume_from_checkpoint(torch::nn::Module& module, torch::optim::Optimizer& optimizer,
                                        const std::string& last_checkpoint) {
  LUMAMBA_CHECK_INPUT(std::filesystem::exists(last_checkpoint), "{}: nothing to resume (no last checkpoint)",
                      last_checkpoint);
  const auto file = io::SafetensorsFile::open(last_checkpoint);
  model::load_state_dict(module, {&file});
  return load_training_state(last_checkpoint + ".state.pt", optimizer);
}

}  // namespace lumamba::train
