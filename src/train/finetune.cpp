#include "lumamba/train/finetune.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/core/progress.h"
#include "lumamba/io/safetensors.h"
#include "lumamba/io/shipped_models.h"
#include "lumamba/model/weights.h"

namespace lumamba::train {
namespace fs = std::filesystem;

FinetuneConfig finetune_config(const FlatConfig& flat) {
  FinetuneConfig c;
  c.task.name = flat.get_string("task", c.task.name);
  c.task.target = flat.get_string("target", c.task.target);
  check_option("target", c.task.target, {"multiclass", "multilabel"});
  c.task.class_names = flat.get_list("class_names");
  c.train_files = flat.get_list("data");
  c.val_files = flat.get_list("val_data");
  c.test_files = flat.get_list("test_data");
  c.layout = flat.get_string("layout", "");
  c.init = flat.get_string("init", "");
  if (!c.init.empty()) c.init = io::resolve_checkpoint(c.init);  // a path or a shipped model's name
  c.init_config = flat.get_string("init_config", "");
  c.val_fraction = flat.get_double("val_fraction", c.val_fraction);
  check_range("val_fraction", c.val_fraction, 0.0, 0.9);
  flat.get_string("description", "");
  flat.get_string("preprocess", "");

  // model.* keys are LuMamba options (head choice, classes, any size when training from scratch).
  std::vector<std::string> model_overrides;
  for (const auto& [key, value] : flat.section("model")) model_overrides.push_back(key + "=" + value);
  model::apply_overrides(c.model, model_overrides);
  c.task.n_classes = c.model.num_classes();
  LUMAMBA_CHECK_INPUT(c.task.n_classes >= 1, "{}: model.num_classes must be set (>= 2 for multiclass, the label "
                      "columns for multilabel)", flat.source());

  static_cast<CommonTrainSettings&>(c) = read_common_train_settings(flat, c);
  c.mode = flat.get_string("train.mode", c.mode);
  check_option("train.mode", c.mode, {"full", "linear_probe"});
  c.eval_batch_size = flat.get_int("train.eval_batch_size", c.eval_batch_size);
  c.patience = flat.get_int("train.patience", c.patience);
  c.class_weights = flat.get_string("train.class_weights", c.class_weights);
  c.subject_fraction = flat.get_double("train.subject_fraction", c.subject_fraction);
  check_range("train.eval_batch_size", static_cast<double>(c.eval_batch_size), 1, 1e6);
  check_range("train.patience", static_cast<double>(c.patience), 0, 1e6);
  check_option("train.class_weights", c.class_weights, {"none", "balanced"});
  LUMAMBA_CHECK_INPUT(c.subject_fraction > 0 && c.subject_fraction <= 1,
                      "train.subject_fraction must be in (0, 1], got {}", c.subject_fraction);

  // docs/reference-model.md §17: lr 5e-4, betas (0.9, 0.999), weight decay 0.05, layer decay 0.75
  AdamWSettings defaults;
  defaults.layer_decay = 0.75;
  c.optimizer = read_adamw_settings(flat, defaults, /*with_layer_decay=*/true);
  flat.check_all_used();
  return c;
}

namespace {

struct Split {
  const data::WindowDataset* dataset = nullptr;
  std::vector<int64_t> windows;
};

// The windows of each role. Explicit val/test files win over the split attribute of train files.
struct Splits {
  data::WindowDataset train_ds, val_ds, test_ds;
  Split train, val, test;
};

std::unique_ptr<Splits> make_splits(const FinetuneConfig& c) {
  LUMAMBA_CHECK_INPUT(!c.train_files.empty(), "fine-tuning needs data=FILE.h5[,FILE2.h5] (HDF5 windows from "
                      "`lumamba preprocess`)");
  auto s = std::make_unique<Splits>();
  data::DatasetOptions options;
  options.layout = c.layout;
  options.require_labels = true;
  s->train_ds = data::WindowDataset::open(c.train_files, options);
  s->train.dataset = &s->train_ds;
  std::vector<int64_t> in_val, in_test;
  for (int64_t w = 0; w < s->train_ds.size(); ++w) {
    const auto& split = s->train_ds.recording_of(w).split;
    if (split == "val") in_val.push_back(w);
    else if (split == "test") in_test.push_back(w);
    else s->train.windows.push_back(w);
  }
  if (!c.val_files.empty()) {
    s->val_ds = data::WindowDataset::open(c.val_files, options);
    s->val = {&s->val_ds, eval::all_windows(s->val_ds)};
    if (!in_val.empty()) log::warn("{} windows of split 'val' in the training files are not used (val_data given)", in_val.size());
  } else {
    s->val = {&s->train_ds, in_val};
  }
  if (!c.test_files.empty()) {
    s->test_ds = data::WindowDataset::open(c.test_files, options);
    s->test = {&s->test_ds, eval::all_windows(s->test_ds)};
    if (!in_test.empty()) log::warn("{} windows of split 'test' in the training files are not used (test_data given)", in_test.size());
  } else {
    s->test = {&s->train_ds, in_test};
  }
  LUMAMBA_CHECK_INPUT(!s->train.windows.empty(), "{}: no training windows (every group has split val/test)",
                      fmt::join(c.train_files, ","));
  if (c.subject_fraction < 1.0) {
    // Few-shot runs: a fraction of the training subjects (at least one), drawn with the seed, so
    // that every seed also sees another subset. A recording without a subject is its own subject.
    const auto subject_of = [&](int64_t w) {
      const auto& rec = s->train_ds.recording_of(w);
      return rec.subject.empty() ? rec.name : rec.subject;
    };
    std::set<std::string> subjects;
    for (const int64_t w : s->train.windows) subjects.insert(subject_of(w));
    std::vector<std::string> order(subjects.begin(), subjects.end());
    std::mt19937_64 rng(c.seed);
    std::shuffle(order.begin(), order.end(), rng);
    const auto n_keep = std::max<size_t>(
        1, static_cast<size_t>(std::lround(static_cast<double>(order.size()) * c.subject_fraction)));
    const std::set<std::string> kept(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_keep));
    std::vector<int64_t> windows;
    for (const int64_t w : s->train.windows) {
      if (kept.count(subject_of(w))) windows.push_back(w);
    }
    log::info("few-shot: {} of {} training subjects (train.subject_fraction {}), {} of {} training windows", n_keep,
              order.size(), c.subject_fraction, windows.size(), s->train.windows.size());
    s->train.windows = std::move(windows);
  }
  if (s->val.windows.empty() && c.val_fraction > 0) {
    // No validation split: hold out whole recordings when there are enough of them, else windows
    // (neighbouring windows of one recording are correlated, so the window-level estimate is optimistic).
    std::set<int64_t> recs;
    for (const int64_t w : s->train.windows) recs.insert(s->train_ds.recording_index(w));
    std::mt19937_64 rng(c.seed);
    std::vector<int64_t> keep, held;
    if (static_cast<double>(recs.size()) * c.val_fraction >= 1.0) {
      std::vector<int64_t> order(recs.begin(), recs.end());
      std::shuffle(order.begin(), order.end(), rng);
      const auto n_val = static_cast<size_t>(std::lround(static_cast<double>(order.size()) * c.val_fraction));
      const std::set<int64_t> val_recs(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(std::max<size_t>(1, n_val)));
      for (const int64_t w : s->train.windows) (val_recs.count(s->train_ds.recording_index(w)) ? held : keep).push_back(w);
      log::info("validation: {} of {} training recordings held out (val_fraction {})", val_recs.size(), recs.size(),
                c.val_fraction);
    } else {
      std::vector<int64_t> order = s->train.windows;
      std::shuffle(order.begin(), order.end(), rng);
      const auto n_val = std::max<size_t>(1, static_cast<size_t>(std::lround(static_cast<double>(order.size()) * c.val_fraction)));
      held.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_val));
      std::set<int64_t> held_set(held.begin(), held.end());
      for (const int64_t w : s->train.windows) if (!held_set.count(w)) keep.push_back(w);
      log::warn("validation: only {} training recording(s): holding out {} random windows ({}); neighbouring "
                "windows are correlated, so validation loss is optimistic", recs.size(), held.size(), c.val_fraction);
    }
    std::sort(held.begin(), held.end());
    s->train.windows = keep;
    s->val = {&s->train_ds, held};
  }
  return s;
}

model::LuMambaOptions resolve_model_options(const FinetuneConfig& c, const std::vector<std::string>& head_overrides) {
  model::LuMambaOptions options;
  if (!c.init.empty()) {
    const auto file = io::SafetensorsFile::open(c.init);
    if (model::has_config(file)) options = model::config_from_checkpoint(file);
    else if (!c.init_config.empty()) options = model::options_from_file(c.init_config);
  }
  model::apply_overrides(options, head_overrides);
  return options;
}

std::vector<std::string> model_overrides_of(const FlatConfig& flat) {
  std::vector<std::string> out;
  for (const auto& [key, value] : flat.section("model")) out.push_back(key + "=" + value);
  return out;
}

torch::Tensor loss_of(const torch::Tensor& logits, const torch::Tensor& labels, const eval::TaskInfo& task,
                      const torch::Tensor& class_weights) {
  if (task.target == "multilabel") return torch::binary_cross_entropy_with_logits(logits, labels);
  return torch::nn::functional::cross_entropy(
      logits, labels, torch::nn::functional::CrossEntropyFuncOptions().weight(class_weights));
}

// Class probabilities (n × K, row-major) of every window of a split; in a data-parallel job each
// rank predicts its share and all ranks receive all rows.
std::vector<double> predict_split(TrainingGroup& group, model::LuMamba& net, const Split& split,
                                  const eval::TaskInfo& task, int64_t batch_size, bool show_progress) {
  if (!group.distributed()) return eval::predict_windows(net, *split.dataset, split.windows, task, batch_size, show_progress);
  const auto mine = rank_share(split.windows, group);
  const auto probs = mine.empty() ? std::vector<double>{}
                                  : eval::predict_windows(net, *split.dataset, mine, task, batch_size,
                                                          show_progress && group.is_main());
  const auto all = group.all_gather_rows(torch::tensor(probs, torch::kFloat64)
                                             .view({static_cast<int64_t>(mine.size()), task.n_classes}))
                       .contiguous();
  return std::vector<double>(all.data_ptr<double>(), all.data_ptr<double>() + all.numel());
}

// The rows of every global batch of an epoch: the same plan on every rank. A data-parallel job
// leaves out batches smaller than the number of ranks (at most the last one of an epoch), so
// that every rank has windows in every step.
std::vector<std::vector<int64_t>> global_plan(const data::WindowDataset& dataset, const std::vector<int64_t>& windows,
                                              int64_t batch_size, uint64_t seed, int64_t epoch,
                                              const TrainingGroup& group) {
  auto plan = data::plan_epoch(dataset, windows, batch_size, true, seed, epoch, false);
  if (group.distributed()) {
    plan.erase(std::remove_if(plan.begin(), plan.end(),
                              [&](const std::vector<int64_t>& b) { return static_cast<int64_t>(b.size()) < group.world_size(); }),
               plan.end());
  }
  return plan;
}

// Mean loss (unweighted) and probabilities over a split, eval mode, no grad.
std::pair<double, std::vector<double>> validate(TrainingGroup& group, model::LuMamba& net, const Split& split,
                                                const eval::TaskInfo& task, int64_t batch_size) {
  net->eval();
  const auto probs = predict_split(group, net, split, task, batch_size, false);
  const int64_t k = task.n_classes;
  double loss = 0;
  if (task.target == "multilabel") {  // mean binary cross-entropy over windows and columns
    const auto& labels = split.dataset->multi_labels();
    for (size_t i = 0; i < split.windows.size(); ++i) {
      for (int64_t c = 0; c < k; ++c) {
        const double p = std::clamp(probs[i * static_cast<size_t>(k) + static_cast<size_t>(c)], 1e-12, 1 - 1e-12);
        loss -= labels[static_cast<size_t>(split.windows[i] * k + c)] ? std::log(p) : std::log(1 - p);
      }
    }
    return {loss / static_cast<double>(std::max<size_t>(1, split.windows.size() * static_cast<size_t>(k))), probs};
  }
  const auto& labels = split.dataset->class_labels();
  for (size_t i = 0; i < split.windows.size(); ++i) {
    const int64_t y = labels[static_cast<size_t>(split.windows[i])];
    loss -= std::log(std::max(probs[i * static_cast<size_t>(k) + static_cast<size_t>(y)], 1e-12));
  }
  return {loss / static_cast<double>(std::max<size_t>(1, split.windows.size())), probs};
}

// Across-window spread of the patch-averaged encoder output (B, S, D): mean over features of the
// standard deviation over the batch, relative to the output's RMS. 0 when every window of the
// batch maps to the same embedding.
double encoder_spread(const torch::Tensor& encoder_out) {
  if (encoder_out.size(0) < 2) return 0;
  torch::NoGradGuard no_grad;
  const auto pooled = encoder_out.mean(1).to(torch::kFloat64);  // (B, D)
  const double rms = pooled.pow(2).mean().sqrt().item<double>();
  return rms > 0 ? pooled.std(0).mean().item<double>() / rms : 0;
}

// head_norm=batch: sets the head's BatchNorm inference statistics to the exact mean and variance of
// the encoder output over the training windows, computed in eval mode (no dropout, no location
// jitter) — the features the head sees at inference. The running averages that BatchNorm keeps
// while training come from train-mode features of batches of a few windows and left the head
// overconfident at inference (the "precise BN" recalibration).
// In a data-parallel job each rank encodes its share of the windows and the sums are added up.
void recalibrate_head_norm(TrainingGroup& group, model::LuMamba& net, const Split& split, int64_t batch_size) {
  if (!net->head_norm) return;
  net->eval();
  torch::NoGradGuard no_grad;
  const int64_t d = net->head_norm->options.num_features();
  torch::Tensor sum = torch::zeros({d}, torch::kFloat64), sum_sq = torch::zeros({d}, torch::kFloat64);
  int64_t count = 0;
  const auto mine = rank_share(split.windows, group);
  for (const auto& windows : data::plan_epoch(*split.dataset, mine, batch_size, false, 0, 0, false)) {
    const auto batch = split.dataset->read_batch(windows);
    const auto x = net->encode(batch.signal, batch.locations).to(torch::kFloat64);  // (B, S, D)
    const auto flat = x.reshape({-1, x.size(2)});                                  // (B·S, D)
    sum = sum + flat.sum(0);
    sum_sq = sum_sq + flat.pow(2).sum(0);
    count += flat.size(0);
  }
  if (group.distributed()) {
    std::vector<torch::Tensor> totals{sum, sum_sq, torch::tensor({static_cast<double>(count)}, torch::kFloat64)};
    group.all_reduce_sum(totals);
    count = static_cast<int64_t>(std::llround(totals[2].item<double>()));
  }
  if (count < 2) return;
  const auto mean = sum / static_cast<double>(count);
  const auto var = (sum_sq - mean.pow(2) * static_cast<double>(count)) / static_cast<double>(count - 1);
  net->head_norm->running_mean.copy_(mean);
  net->head_norm->running_var.copy_(var.clamp_min(0));
}

// The labels must fit the task: class codes below num_classes, or 0/1 columns for multi-label.
void check_labels(const FinetuneConfig& c, const Splits& splits) {
  const int64_t k = c.task.n_classes;
  if (c.task.target == "multilabel") {
    LUMAMBA_CHECK_INPUT(splits.train_ds.label_kind() == data::LabelKind::kMultiChannel,
                        "target multilabel needs per-channel labels y (N, K) (e.g. TUAR tuar_mode=multi_binary)");
    LUMAMBA_CHECK_INPUT(splits.train_ds.n_label_columns() == k,
                        "the windows have {} label columns but model.num_classes is {}",
                        splits.train_ds.n_label_columns(), k);
    for (const auto v : splits.train_ds.multi_labels()) {
      LUMAMBA_CHECK_INPUT(v <= 1, "multi-label targets must be 0/1, found code {} (TUAR multi_label codes are "
                          "per-channel classes: preprocess with tuar_mode=multi_binary)", static_cast<int>(v));
    }
    LUMAMBA_CHECK_INPUT(c.class_weights == "none", "train.class_weights=balanced is for multiclass targets");
  } else {
    LUMAMBA_CHECK_INPUT(splits.train_ds.label_kind() == data::LabelKind::kClass,
                        "target multiclass needs class labels y (N,); these windows have per-channel labels "
                        "(use target: multilabel)");
    LUMAMBA_CHECK_INPUT(splits.train_ds.n_classes() <= k, "labels go up to {} but model.num_classes is {}",
                        splits.train_ds.n_classes() - 1, k);
  }
}

// The network to fine-tune: the encoder from init= (not when resuming: the training state has the
// weights), the whole encoder frozen for a linear probe.
model::LuMamba make_finetune_model(const FinetuneConfig& c, const model::LuMambaOptions& options, bool resume) {
  model::LuMamba net(options);
  if (!c.init.empty() && !resume) {
    const auto file = io::SafetensorsFile::open(c.init);
    const auto report = model::load_state_dict(*net, {&file}, model::LoadMode::kEncoderOnly);
    log::info("initialised the encoder from {} ({} tensors; fresh head: {} tensors)", c.init, report.loaded.size(),
              report.fresh.size());
  } else if (c.init.empty()) {
    log::info("training from scratch (no init=PRETRAINED.safetensors)");
  }
  if (c.mode == "linear_probe") {
    for (auto& item : net->named_parameters(true)) {
      if (item.key().rfind("classifier.", 0) != 0) item.value().set_requires_grad(false);
    }
  }
  return net;
}

// Balanced class weights n / (K · n_k) of the training windows, or undefined for none.
torch::Tensor class_weights_of(const FinetuneConfig& c, const Splits& splits) {
  if (c.class_weights != "balanced") return {};
  std::vector<int64_t> y;
  for (const int64_t w : splits.train.windows) y.push_back(splits.train_ds.class_labels()[static_cast<size_t>(w)]);
  const auto w = eval::balanced_class_weights(y, c.task.n_classes);
  log::info("class weights (balanced): {}", fmt::join(w, ", "));
  return torch::tensor(w, torch::kFloat64).to(torch::kFloat32);
}

// The epoch of the best checkpoint from metrics.jsonl (a run resumed after its best epoch).
int64_t best_epoch_in_metrics(const std::string& metrics_path) {
  int64_t best = -1;
  std::ifstream in(metrics_path);
  std::string l;
  while (std::getline(in, l)) {
    const auto j = nlohmann::json::parse(l, nullptr, false);
    if (!j.is_discarded() && j.value("best", false)) best = j.value("epoch", int64_t{-1});
  }
  return best;
}

// The epochs of a fine-tuning run after its data, model and optimiser exist.
class FinetuneRun {
 public:
  FinetuneRun(const FinetuneConfig& c, const Splits& splits, const TrainingParts& parts,
              torch::Tensor class_weights, TrainingGroup& group)
      : c_(c), splits_(splits), p_(parts),
        class_weights_(std::move(class_weights)), group_(group) {
    for (const auto& parameter : p_.net->parameters()) {
      if (parameter.requires_grad()) trainable_.push_back(parameter);
    }
    if (class_weights_.defined()) {
      const auto w = class_weights_.to(torch::kFloat64).contiguous();
      class_weight_values_.assign(w.data_ptr<double>(), w.data_ptr<double>() + w.numel());
    }
  }

  void run(TrainingProgress& progress, FinetuneResult& result) {
    const int64_t total_steps = p_.schedule.total_steps;
    // One progress line over the whole run: its ETA counts every remaining step (an upper bound when
    // early stopping ends the run sooner) and, through the elapsed time, validation too.
    Progress bar("steps", std::max<int64_t>(0, total_steps - progress.step));
    while (progress.epoch < c_.epochs && progress.step < total_steps) {
      if (c_.stop_after_epochs > 0 && result.epochs_run >= c_.stop_after_epochs) break;
      if (progress.has_best && c_.patience > 0 && progress.epochs_without_improvement >= c_.patience) {
        log::info("early stop: validation loss did not improve for {} epochs", c_.patience);
        break;
      }
      const auto start = std::chrono::steady_clock::now();
      auto line = train_one_epoch(progress, bar);
      const double epoch_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      recalibrate_head_norm(group_, p_.net, splits_.train, c_.eval_batch_size);
      const double val_loss = validate_epoch(line);
      const bool improved = CheckpointKeeper::record(progress, val_loss);
      progress.epochs_without_improvement = improved ? 0 : progress.epochs_without_improvement + 1;
      if (improved) result.best_epoch = progress.epoch + 1;
      progress.epoch += 1;
      line["best"] = improved;
      p_.folder.append_metrics(line.dump());
      p_.keeper.save(progress, improved, val_loss);
      ++result.epochs_run;
      log::info("epoch {}/{} (step {}/{}): train loss {:.4f}, val loss {:.4f}{}, lr {:.2e}, {:.1f} s", progress.epoch,
                c_.epochs, progress.step, total_steps, line["train_loss"].get<double>(), val_loss,
                improved ? " (best)" : "", line["lr"].get<double>(), epoch_s);
    }
    bar.finish(fmt::format("{} epochs, step {}/{}", result.epochs_run, progress.step, total_steps));
  }

 private:
  // One epoch of optimiser steps (fewer when train.max_steps ends inside it); its metrics line with
  // the training loss and the diagnostics of learning: mean gradient norm per model part and how
  // much the pooled encoder output differs between the windows of a batch (near 0 = the encoder
  // ignores its input).
  nlohmann::json train_one_epoch(TrainingProgress& progress, Progress& bar) {
    const int64_t epoch = progress.epoch;
    p_.net->train();
    auto plan = global_plan(splits_.train_ds, splits_.train.windows, c_.batch_size, c_.seed, epoch, group_);
    if (progress.step + static_cast<int64_t>(plan.size()) > p_.schedule.total_steps) {
      plan.resize(static_cast<size_t>(p_.schedule.total_steps - progress.step));
    }
    std::vector<std::vector<int64_t>> my_plan;  // this rank's rows of every global batch
    for (const auto& global_batch : plan) my_plan.push_back(rank_share(global_batch, group_));
    data::BackgroundLoader loader(splits_.train_ds, std::move(my_plan));
    data::Batch batch;
    double loss_sum = 0, lr = 0, spread_sum = 0, all_reduce_s = 0;
    int64_t n_seen = 0, n_steps = 0;
    std::map<std::string, double> grad_norm_sum;
    const auto epoch_start = std::chrono::steady_clock::now();
    while (loader.next(batch)) {
      const auto& global_batch = plan[static_cast<size_t>(n_steps)];
      lr = apply_schedule(p_.optimizer, p_.groups, p_.schedule, progress.step);
      p_.optimizer.zero_grad();
      // Ranks draw their own jitter; seeded per step, so that a resumed job draws the same.
      if (group_.distributed()) torch::manual_seed(rank_step_seed(c_.seed, progress.step, group_.rank()));
      // An all-false mask: the location jitter of training is active, as in the reference.
      const auto mask = torch::zeros(batch.signal.sizes(), torch::kBool);
      const auto output = p_.net->forward(batch.signal, batch.locations, mask);
      auto loss = loss_of(output.logits, batch.labels, c_.task, class_weights_);
      bool finite = std::isfinite(loss.item<double>());
      if (group_.distributed()) {
        finite = group_.sum({finite ? 0.0 : 1.0})[0] == 0.0;  // every rank stops together
        // The global batch's loss is the sum over ranks of each rank's loss times its share.
        loss = loss * share_of_loss(batch.windows, global_batch);
      }
      if (!finite) {
        std::set<std::string> sources;
        for (const int64_t w : batch.windows) sources.insert(splits_.train_ds.recording_of(w).name);
        throw InputError(fmt::format("step {} (epoch {}): the training loss is not finite ({}); lower optimizer.lr "
                                     "or set train.grad_clip; the batch came from {}", progress.step + 1, epoch + 1,
                                     loss.item<double>(), fmt::join(sources, ", ")));
      }
      loss.backward();
      const auto reduce_start = std::chrono::steady_clock::now();
      all_reduce_gradients(group_, trainable_);
      all_reduce_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - reduce_start).count();
      for (const auto& [part, norm] : gradient_norms_by_part(*p_.net)) grad_norm_sum[part] += norm;
      spread_sum += encoder_spread(output.encoder_out);
      ++n_steps;
      clip_gradients(p_.groups, c_.grad_clip);
      p_.optimizer.step();
      ++progress.step;
      const auto b = static_cast<int64_t>(batch.windows.size());
      loss_sum += loss.item<double>() * (group_.distributed() ? static_cast<double>(global_batch.size())
                                                               : static_cast<double>(b));
      n_seen += b;
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
      bar.advance(1, fmt::format("epoch {}/{}, loss {:.4f}, lr {:.2e}, {:.1f} windows/s", epoch + 1, c_.epochs,
                                 loss_sum / static_cast<double>(n_seen), lr,
                                 static_cast<double>(n_seen) / std::max(sec, 1e-9)));
    }
    if (group_.distributed()) {  // totals of the global batches; the spread averaged over ranks
      const auto totals = group_.sum({loss_sum, static_cast<double>(n_seen), spread_sum});
      loss_sum = totals[0];
      n_seen = static_cast<int64_t>(std::llround(totals[1]));
      spread_sum = totals[2] / static_cast<double>(group_.world_size());
    }
    const double epoch_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    nlohmann::json line{{"epoch", epoch + 1}, {"step", progress.step}, {"lr", lr},
                        {"train_loss", loss_sum / static_cast<double>(std::max<int64_t>(1, n_seen))},
                        {"train_windows_per_s", static_cast<double>(n_seen) / std::max(epoch_s, 1e-9)}};
    nlohmann::json grad_norms = nlohmann::json::object();
    for (const auto& [part, sum] : grad_norm_sum) grad_norms[part] = sum / static_cast<double>(std::max<int64_t>(1, n_steps));
    line["grad_norm"] = grad_norms;
    line["encoder_spread"] = spread_sum / static_cast<double>(std::max<int64_t>(1, n_steps));
    // Rank 0's wait in the gradient all-reduce per step (communication and waiting for slower ranks).
    if (group_.distributed()) {
      line["all_reduce_ms_per_step"] = 1e3 * all_reduce_s / static_cast<double>(std::max<int64_t>(1, n_steps));
    }
    return line;
  }

  // The validation loss of the epoch (the training loss when there are no validation windows) and
  // its metrics, added to the epoch's line.
  double validate_epoch(nlohmann::json& line) {
    if (splits_.val.windows.empty()) return line["train_loss"].get<double>();
    const auto [val_loss, probs] = validate(group_, p_.net, splits_.val, c_.task, c_.eval_batch_size);
    line["val_loss"] = val_loss;
    const auto m = eval::evaluate_predictions(*splits_.val.dataset, splits_.val.windows, probs, c_.task.n_classes);
    if (m.multilabel) {
      line["val_auroc_macro"] = m.multilabel_windows.auroc_macro;
    } else {
      line["val_balanced_accuracy"] = m.windows.balanced_accuracy;
      line["val_auroc"] = m.windows.auroc;
    }
    return val_loss;
  }

  // This rank's part of the global batch's loss: its share of the (class-weighted) windows, so
  // that the per-rank weighted means, scaled and summed over ranks, are the global weighted mean.
  double share_of_loss(const std::vector<int64_t>& mine, const std::vector<int64_t>& global) const {
    if (c_.task.target == "multilabel" || class_weight_values_.empty()) {
      return static_cast<double>(mine.size()) / static_cast<double>(global.size());
    }
    const auto& labels = splits_.train_ds.class_labels();
    const auto weight_sum = [&](const std::vector<int64_t>& windows) {
      double sum = 0;
      for (const int64_t w : windows) sum += class_weight_values_[static_cast<size_t>(labels[static_cast<size_t>(w)])];
      return sum;
    };
    return weight_sum(mine) / weight_sum(global);
  }

  const FinetuneConfig& c_;
  const Splits& splits_;
  const TrainingParts& p_;
  const torch::Tensor class_weights_;
  std::vector<double> class_weight_values_;  // class_weights_ for share_of_loss, read once
  TrainingGroup& group_;
  std::vector<torch::Tensor> trainable_;
};

// The best checkpoint on the test windows: metrics (test_metrics.json) and per-window predictions.
// In a data-parallel job rank 0 sends the checkpoint's bytes (the others need not see its disk)
// and every rank predicts its share of the test windows; rank 0 writes the files.
eval::EvaluationReport test_best_checkpoint(const FinetuneConfig& c, const Splits& splits, model::LuMamba& net,
                                            const RunFolder& folder, TrainingGroup& group) {
  {
    const FileFromMain best(group, folder.best_path, "best.safetensors");
    const auto file = io::SafetensorsFile::open(best.path());
    model::load_state_dict(*net, {&file});
  }
  net->eval();
  const auto probs = predict_split(group, net, splits.test, c.task, c.eval_batch_size, true);
  auto report = eval::evaluate_predictions(*splits.test.dataset, splits.test.windows, probs, c.task.n_classes);
  if (!folder.writes()) return report;
  write_text_file_atomic((fs::path(folder.dir) / "test_metrics.json").string(), report.to_json() + "\n");
  eval::write_predictions_csv((fs::path(folder.dir) / "test_predictions.csv").string(), *splits.test.dataset,
                              splits.test.windows, probs, c.task.n_classes);
  return report;
}

}  // namespace

FinetuneResult run_finetune(const FinetuneConfig& c, const FlatConfig& flat, const std::string& out_dir,
                            bool resume, bool force, std::shared_ptr<TrainingGroup> group) {
  if (!group) group = TrainingGroup::single();
  const RunFolder folder(out_dir, flat, resume, force, {}, group->is_main());
  auto splits = make_splits(c);
  check_labels(c, *splits);
  log::info("fine-tuning '{}': {} train / {} val / {} test windows, {} classes, head {}, mode {}", c.task.name,
            splits->train.windows.size(), splits->val.windows.size(), splits->test.windows.size(), c.task.n_classes,
            c.model.classifier_option(), c.mode);

  // Rank 0 draws the initial weights before the others (whose draws share_from_main replaces):
  // ranks that are threads of one process (tests) share one generator.
  if (group->distributed() && !group->is_main()) group->barrier();
  torch::manual_seed(c.seed);
  const auto options = resolve_model_options(c, model_overrides_of(flat));
  auto net = make_finetune_model(c, options, resume);
  if (group->distributed() && group->is_main()) group->barrier();
  const auto groups = make_parameter_groups(*net, c.optimizer, options.num_blocks());
  auto optimizer = make_adamw(groups, c.optimizer);
  auto class_weights = class_weights_of(c, *splits);

  const auto steps_per_epoch =
      static_cast<int64_t>(global_plan(splits->train_ds, splits->train.windows, c.batch_size, c.seed, 0, *group).size());
  LUMAMBA_CHECK_INPUT(steps_per_epoch > 0, "{} training windows make no batch of train.batch_size={} for {} ranks",
                      splits->train.windows.size(), c.batch_size, group->world_size());
  CosineSchedule schedule = c.schedule;
  const int64_t total_steps = c.max_steps > 0 ? std::min(c.max_steps, c.epochs * steps_per_epoch)
                                              : c.epochs * steps_per_epoch;
  schedule.total_steps = std::max<int64_t>(1, total_steps);
  schedule.warmup_steps = std::min(c.warmup_epochs * steps_per_epoch, schedule.total_steps);

  // Weights stamped with the step, so that `--resume` can rebuild one a kill left behind.
  const std::string preprocess = splits->train_ds.preprocess_json().empty() ? "{}" : splits->train_ds.preprocess_json();
  const CheckpointKeeper keeper(folder, *net, *optimizer, [&](const std::string& path, const TrainingProgress& at,
                                                              double /*val_loss*/) {
    model::save_checkpoint(path, *net, options, preprocess,
                           {{eval::kMetaTask, c.task.to_json()}, {kMetaTrainingStep, std::to_string(at.step)}});
  });
  TrainingProgress progress = keeper.start(resume, "epoch");
  keeper.share_from_main(*group, progress);
  if (resume) log::info("resumed after epoch {} (step {})", progress.epoch, progress.step);
  if (group->distributed()) {
    net->sum_over_ranks = [g = group](const torch::Tensor& values) { return sum_over_ranks(*g, values); };
    log::info("data-parallel: {} ranks, {} windows per batch in all ({} steps per epoch)", group->world_size(),
              c.batch_size, steps_per_epoch);
  }

  FinetuneResult result;
  const TrainingParts parts{folder, net, groups, *optimizer, keeper, schedule};
  FinetuneRun(c, *splits, parts, class_weights, *group).run(progress, result);
  result.steps = progress.step;
  result.epochs_completed = progress.epoch;
  result.train_windows = static_cast<int64_t>(splits->train.windows.size());
  result.best_val_loss = progress.best_metric;
  result.best_checkpoint = folder.best_path;
  if (result.best_epoch < 0 && progress.has_best) result.best_epoch = best_epoch_in_metrics(folder.metrics_path);
  if (!splits->test.windows.empty()) {
    result.test = test_best_checkpoint(c, *splits, net, folder, *group);
    result.has_test = true;
    log::info("test (best checkpoint, epoch {}), {}", result.best_epoch, result.test.summary_line());
  }
  return result;
}

SeedsResult run_finetune_seeds(const FlatConfig& flat, const std::string& out_dir, const std::vector<int64_t>& seeds,
                               bool resume, bool force, std::shared_ptr<TrainingGroup> group) {
  if (!group) group = TrainingGroup::single();
  std::map<std::string, std::vector<double>> values;
  nlohmann::json runs = nlohmann::json::array();
  for (const int64_t seed : seeds) {
    auto flat_seed = flat;
    flat_seed.set("train.seed", std::to_string(seed));
    const auto config = finetune_config(flat_seed);
    const std::string dir = (fs::path(out_dir) / fmt::format("seed_{}", seed)).string();
    log::info("== seed {} -> {}", seed, dir);
    const auto result = run_finetune(config, flat_seed, dir, resume, force, group);
    LUMAMBA_CHECK_INPUT(result.has_test, "several seeds need test windows (split 'test' or test_data=...)");
    LUMAMBA_CHECK_INPUT(!result.test.multilabel, "the summary over seeds is for multiclass metrics only");
    const auto& m = result.test.windows;
    for (const auto& [name, v] : std::vector<std::pair<std::string, double>>{
             {"balanced_accuracy", m.balanced_accuracy}, {"auroc", m.auroc}, {"aupr", m.aupr},
             {"cohen_kappa", m.cohen_kappa}, {"f1_weighted", m.f1_weighted}}) {
      values[name].push_back(v);
    }
    runs.push_back({{"seed", seed}, {"dir", dir}, {"test", nlohmann::json::parse(result.test.to_json())}});
  }
  SeedsResult out;
  out.test_windows = summarise_over_runs(values);
  nlohmann::json summary{{"seeds", seeds}, {"runs", runs}};
  for (const auto& [name, s] : out.test_windows) {
    summary["test_windows"][name] = {{"mean", s.mean}, {"std", s.std}};
    log::info("test {}: {:.4f} ± {:.4f} over {} seeds", name, s.mean, s.std, s.n);
  }
  out.summary_json = summary.dump(2);
  if (group->is_main()) write_text_file_atomic((fs::path(out_dir) / "seeds_summary.json").string(), out.summary_json + "\n");
  return out;
}

}  // namespace lumamba::train
