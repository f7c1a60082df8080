#include "lumamba/train/pretrain.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <random>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/core/progress.h"
#include "lumamba/io/safetensors.h"
#include "lumamba/model/lumamba.h"
#include "lumamba/model/weights.h"

namespace lumamba::train {
namespace fs = std::filesystem;

namespace {
constexpr const char* kMetaPretrain = "lumamba.pretrain";
constexpr double kInf = 1e300;

uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
}  // namespace

torch::Generator step_generator(uint64_t seed, int64_t step) {
  return at::make_generator<at::CPUGeneratorImpl>(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(step)));
}

PretrainConfig pretrain_config(const FlatConfig& flat) {
  PretrainConfig c;
  flat.get_string("description", "");
  c.train_files = flat.get_list("data");
  c.val_files = flat.get_list("val_data");
  c.layout = flat.get_string("layout", "");

  // model.* keys are LuMamba options (LuMamba-Tiny by default).
  std::vector<std::string> model_overrides;
  for (const auto& [key, value] : flat.section("model")) model_overrides.push_back(key + "=" + value);
  try {
    model::apply_overrides(c.model, model_overrides);
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: model: {}", flat.source(), e.what()));
  }
  LUMAMBA_CHECK_INPUT(c.model.num_classes() == 0, "{}: model.num_classes must be 0 for pretraining (the "
                      "reconstruction decoder), got {}", flat.source(), c.model.num_classes());

  auto& o = c.objective;
  o.mode(flat.get_string("objective.mode", o.mode()));
  check_option("objective.mode", o.mode(), {"reconstruction", "lejepa", "mixed"});
  o.mask_ratio(flat.get_double("objective.mask_ratio", o.mask_ratio()));
  o.unmasked_loss_coeff(flat.get_double("objective.unmasked_loss_coeff", o.unmasked_loss_coeff()));
  o.query_spec_coeff(flat.get_double("objective.query_spec_coeff", o.query_spec_coeff()));
  o.num_global_views(flat.get_int("objective.num_global_views", o.num_global_views()));
  o.num_local_views(flat.get_int("objective.num_local_views", o.num_local_views()));
  o.num_patches_global(flat.get_int("objective.num_patches_global", o.num_patches_global()));
  o.num_patches_local(flat.get_int("objective.num_patches_local", o.num_patches_local()));
  o.num_slices(flat.get_int("objective.num_slices", o.num_slices()));
  o.lambda_lejepa(flat.get_double("objective.lambda_lejepa", o.lambda_lejepa()));
  o.lejepa_scaling(flat.get_double("objective.lejepa_scaling", o.lejepa_scaling()));
  check_range("objective.mask_ratio", o.mask_ratio(), 0.0, 1.0);
  check_range("objective.unmasked_loss_coeff", o.unmasked_loss_coeff(), 0.0, kInf);
  check_range("objective.query_spec_coeff", o.query_spec_coeff(), 0.0, kInf);
  check_range("objective.num_global_views", static_cast<double>(o.num_global_views()), 1, 1e6);
  check_range("objective.num_local_views", static_cast<double>(o.num_local_views()), 1, 1e6);
  check_range("objective.num_patches_global", static_cast<double>(o.num_patches_global()), 1, 1e6);
  check_range("objective.num_patches_local", static_cast<double>(o.num_patches_local()), 1, 1e6);
  check_range("objective.num_slices", static_cast<double>(o.num_slices()), 1, 1e6);
  check_range("objective.lambda_lejepa", o.lambda_lejepa(), 0.0, 1.0);
  check_range("objective.lejepa_scaling", o.lejepa_scaling(), 0.0, kInf);
  validate(o);

  static_cast<CommonTrainSettings&>(c) = read_common_train_settings(flat, c);
  c.validation = flat.get_string("train.validation", c.validation);
  c.val_fraction = flat.get_double("train.val_fraction", c.val_fraction);
  c.log_every = flat.get_int("train.log_every", c.log_every);
  c.val_every = flat.get_int("train.val_every", c.val_every);
  c.checkpoint_every = flat.get_int("train.checkpoint_every", c.checkpoint_every);
  c.max_val_batches = flat.get_int("train.max_val_batches", c.max_val_batches);
  check_option("train.validation", c.validation, {"auto", "split", "random", "none"});
  check_range("train.val_fraction", c.val_fraction, 0.0, 0.9);
  check_range("train.log_every", static_cast<double>(c.log_every), 1, 1e12);
  check_range("train.val_every", static_cast<double>(c.val_every), 0, 1e12);
  check_range("train.checkpoint_every", static_cast<double>(c.checkpoint_every), 0, 1e12);
  check_range("train.max_val_batches", static_cast<double>(c.max_val_batches), 0, 1e12);

  // The reference passes only lr to torch.optim.AdamW (docs/reference-model.md §13): betas (0.9, 0.999) and
  // weight decay 0.01 are its effective values; its YAML lists (0.9, 0.98) and 0.05.
  AdamWSettings defaults;  // the reference's effective AdamW: lr 1.25e-4, PyTorch betas and weight decay 0.01
  defaults.lr = 1.25e-4;
  defaults.weight_decay = 0.01;
  c.optimizer = read_adamw_settings(flat, defaults, /*with_layer_decay=*/false);
  flat.check_all_used();
  return c;
}

PretrainSplit split_pretrain_windows(const data::WindowDataset& dataset, const PretrainConfig& config) {
  PretrainSplit out;
  std::vector<int64_t> candidates, in_val;
  int64_t n_test = 0;
  for (int64_t w = 0; w < dataset.size(); ++w) {
    const auto& split = dataset.recording_of(w).split;
    if (split == "test") ++n_test;
    else if (split == "val") in_val.push_back(w);
    candidates.push_back(w);
  }
  if (n_test > 0) log::info("{} windows of split 'test' are not used for pretraining", n_test);
  candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                  [&](int64_t w) { return dataset.recording_of(w).split == "test"; }),
                   candidates.end());
  std::string how = config.validation;
  if (!config.val_files.empty()) how = "files";
  else if (how == "auto") how = in_val.empty() ? (config.val_fraction > 0 ? "random" : "none") : "split";

  if (how == "files" || how == "split") {
    LUMAMBA_CHECK_INPUT(how == "files" || !in_val.empty(), "train.validation=split but no group of {} has split "
                        "'val' (use train.validation=random)", fmt::join(config.train_files, ","));
    if (how == "files" && !in_val.empty()) {
      log::warn("{} windows of split 'val' in the training files are not used (val_data given)", in_val.size());
    }
    for (const int64_t w : candidates) {
      if (dataset.recording_of(w).split != "val") out.train.push_back(w);
    }
    if (how == "split") out.val = in_val;
  } else if (how == "random") {
    // The reference's per-file random split: val_fraction of each file's windows (any split but test).
    std::map<std::string, std::vector<int64_t>> by_file;
    for (const int64_t w : candidates) by_file[dataset.recording_of(w).file].push_back(w);
    size_t file_index = 0;
    for (auto& [file, ws] : by_file) {
      std::mt19937_64 rng(splitmix64(config.seed ^ (0xC0FFEEULL + file_index++)));
      std::vector<int64_t> order = ws;
      std::shuffle(order.begin(), order.end(), rng);
      auto n_val = static_cast<size_t>(std::lround(static_cast<double>(order.size()) * config.val_fraction));
      if (config.val_fraction > 0 && order.size() >= 2) n_val = std::max<size_t>(1, n_val);
      out.val.insert(out.val.end(), order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_val));
      out.train.insert(out.train.end(), order.begin() + static_cast<std::ptrdiff_t>(n_val), order.end());
    }
    std::sort(out.val.begin(), out.val.end());
    std::sort(out.train.begin(), out.train.end());
  } else {  // none
    out.train = candidates;
  }
  out.how = how;
  return out;
}

namespace {

// Sums of the loss parts over steps or batches, weighted by windows.
struct LossSums {
  double total = 0, rec = 0, rec_masked = 0, rec_unmasked = 0, qs = 0, lejepa = 0, pred = 0, sigreg = 0;
  double zero_masked = 0, zero_all = 0, grad_norm = 0, seconds = 0;
  int64_t windows = 0, steps = 0;

  void add(const PretrainLoss& l, int64_t b) {
    const double w = static_cast<double>(b);
    total += l.total.item<double>() * w;
    if (l.reconstruction.defined()) {
      rec += l.reconstruction.item<double>() * w;
      rec_masked += l.reconstruction_masked.item<double>() * w;
      rec_unmasked += l.reconstruction_unmasked.item<double>() * w;
      qs += l.query_spec.item<double>() * w;
    }
    if (l.lejepa.defined()) {
      lejepa += l.lejepa.item<double>() * w;
      pred += l.lejepa_prediction.item<double>() * w;
      sigreg += l.lejepa_sigreg.item<double>() * w;
    }
    windows += b;
    ++steps;
  }
  double mean(double sum) const { return sum / static_cast<double>(std::max<int64_t>(1, windows)); }

  // Saved with a checkpoint taken inside an epoch (TrainingProgress::partial_epoch_json).
  nlohmann::json to_json() const {
    return {{"total", total}, {"rec", rec}, {"rec_masked", rec_masked}, {"rec_unmasked", rec_unmasked}, {"qs", qs},
            {"lejepa", lejepa}, {"pred", pred}, {"sigreg", sigreg}, {"grad_norm", grad_norm}, {"seconds", seconds},
            {"windows", windows}, {"steps", steps}};
  }
  static LossSums from_json(const std::string& text) {
    LossSums s;
    if (text.empty()) return s;
    const auto j = nlohmann::json::parse(text);
    for (auto [key, field] : {std::pair{"total", &s.total}, {"rec", &s.rec}, {"rec_masked", &s.rec_masked},
                              {"rec_unmasked", &s.rec_unmasked}, {"qs", &s.qs}, {"lejepa", &s.lejepa},
                              {"pred", &s.pred}, {"sigreg", &s.sigreg}, {"grad_norm", &s.grad_norm},
                              {"seconds", &s.seconds}}) {
      *field = j.at(key).get<double>();
    }
    s.windows = j.at("windows").get<int64_t>();
    s.steps = j.at("steps").get<int64_t>();
    return s;
  }
  double mean_total() const { return mean(total); }

  // The loss parts of the mode, prefixed ("val_rec", ...), into a metrics line.
  void write(nlohmann::json& j, const std::string& prefix, const PretrainObjectiveOptions& o) const {
    j[prefix + "loss"] = mean(total);
    if (o.uses_reconstruction()) {
      j[prefix + "rec"] = mean(rec);
      j[prefix + "rec_masked"] = mean(rec_masked);
      j[prefix + "rec_unmasked"] = mean(rec_unmasked);
      j[prefix + "query_spec"] = mean(qs);
    }
    if (o.uses_lejepa()) {
      j[prefix + "lejepa"] = mean(lejepa);
      j[prefix + "lejepa_pred"] = mean(pred);
      j[prefix + "sigreg"] = mean(sigreg);
    }
  }
  std::string brief(const PretrainObjectiveOptions& o) const {
    std::string s = fmt::format("loss {:.4f}", mean(total));
    if (o.uses_reconstruction()) s += fmt::format(" (rec {:.4f}, masked {:.4f}, qs {:.4f}", mean(rec), mean(rec_masked), mean(qs));
    if (o.uses_lejepa()) {
      s += fmt::format("{}pred {:.4f}, sigreg {:.3f}", o.uses_reconstruction() ? ", " : " (", mean(pred), mean(sigreg));
    }
    return s + ")";
  }
};

// Validation loss: eval mode (no jitter, no dropout), no gradients, a fixed mask/crop generator and
// fixed SIGReg directions, so successive validations are comparable. Also the loss of predicting
// zeros (smooth-L1 of the z-scored signal against 0) on the same masked and on all elements.
LossSums validate_pretrain(model::LuMamba& net, const data::WindowDataset& dataset, const std::vector<int64_t>& windows,
                           const PretrainConfig& c) {
  LossSums sums;
  if (windows.empty()) return sums;
  torch::NoGradGuard no_grad;
  net->eval();
  auto plan = data::plan_epoch(dataset, windows, c.batch_size, false, c.seed, 0, false);
  if (c.max_val_batches > 0 && static_cast<int64_t>(plan.size()) > c.max_val_batches) {
    plan.resize(static_cast<size_t>(c.max_val_batches));
  }
  auto generator = step_generator(c.seed, -1);
  data::BackgroundLoader loader(dataset, std::move(plan));
  data::Batch batch;
  const auto start = std::chrono::steady_clock::now();
  while (loader.next(batch)) {
    const auto loss = compute_pretrain_loss(net, batch.signal, batch.locations, batch.channel_names, 0, c.objective,
                                            generator);
    const auto b = batch.signal.size(0);
    sums.add(loss, b);
    const double w = static_cast<double>(b);
    const auto zero = [](const torch::Tensor& x) {
      return x.numel() == 0 ? 0.0 : torch::smooth_l1_loss(x, torch::zeros_like(x)).item<double>();
    };
    sums.zero_all += zero(batch.signal) * w;
    if (loss.token_mask.defined()) {
      sums.zero_masked += zero(batch.signal.masked_select(loss.token_mask.unsqueeze(0).expand_as(batch.signal))) * w;
    }
  }
  sums.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  net->train();
  return sums;
}

nlohmann::json val_fields(const LossSums& v, const PretrainObjectiveOptions& o) {
  nlohmann::json j;
  v.write(j, "val_", o);
  if (o.uses_reconstruction()) j["val_zero_rec_masked"] = v.mean(v.zero_masked);
  j["val_zero_all"] = v.mean(v.zero_all);
  j["val_windows"] = v.windows;
  return j;
}

// The windows a run trains and validates on, checked against the objective's crops.
struct PretrainData {
  data::WindowDataset train_ds, val_ds;
  PretrainSplit split;
  const data::WindowDataset* val_source = nullptr;
  std::vector<int64_t> val_windows;
  std::string channel_counts;  ///< "19 ch: 6839, 58 ch: 6839" (training windows per channel count)
};

std::unique_ptr<PretrainData> open_pretrain_data(const PretrainConfig& c) {
  auto d = std::make_unique<PretrainData>();
  data::DatasetOptions data_options;  // any channel counts, labels not needed
  data_options.layout = c.layout;
  d->train_ds = data::WindowDataset::open(c.train_files, data_options);
  d->split = split_pretrain_windows(d->train_ds, c);
  d->val_source = &d->train_ds;
  d->val_windows = d->split.val;
  if (!c.val_files.empty()) {
    d->val_ds = data::WindowDataset::open(c.val_files, data_options);
    d->val_source = &d->val_ds;
    d->val_windows.clear();
    for (int64_t w = 0; w < d->val_ds.size(); ++w) d->val_windows.push_back(w);
  }
  const int64_t t = d->train_ds.n_samples(), p = c.model.patch_size();
  LUMAMBA_CHECK_INPUT(t % p == 0, "windows of {} samples are not a multiple of model.patch_size = {}", t, p);
  if (c.objective.uses_lejepa()) {
    LUMAMBA_CHECK_INPUT(c.objective.num_patches_global() * p <= t,
                        "objective.num_patches_global × model.patch_size = {} samples exceeds the windows' {} samples",
                        c.objective.num_patches_global() * p, t);
    LUMAMBA_CHECK_INPUT(c.objective.num_patches_local() * p <= t,
                        "objective.num_patches_local × model.patch_size = {} samples exceeds the windows' {} samples",
                        c.objective.num_patches_local() * p, t);
  }
  if (!c.val_files.empty()) {
    LUMAMBA_CHECK_INPUT(d->val_ds.n_samples() == t, "val_data windows have {} samples, training windows {}",
                        d->val_ds.n_samples(), t);
  }
  std::map<int64_t, int64_t> per_channels;
  for (const int64_t w : d->split.train) ++per_channels[d->train_ds.recording_of(w).n_channels];
  for (const auto& [ch, n] : per_channels) {
    d->channel_counts += fmt::format("{}{} ch: {}", d->channel_counts.empty() ? "" : ", ", ch, n);
  }
  log::info("pretraining ({}): {} train windows ({}), {} validation windows ({}), T = {} samples",
            c.objective.mode(), d->split.train.size(), d->channel_counts, d->val_windows.size(),
            c.val_files.empty() ? d->split.how : "val_data", t);
  return d;
}

// One pretraining run after its data, model and optimiser exist: the step, what follows a step
// (metrics line, validation, epoch summary, checkpoint), and the loop over steps.
class PretrainRun {
 public:
  PretrainRun(const PretrainConfig& c, const PretrainData& d, const TrainingParts& parts,
              int64_t steps_per_epoch, int64_t stop_step, TrainingGroup& group)
      : c_(c), d_(d), p_(parts), steps_per_epoch_(steps_per_epoch), stop_step_(stop_step), group_(group) {
    for (const auto& parameter : p_.net->parameters()) {
      if (parameter.requires_grad()) trainable_.push_back(parameter);
    }
  }

  void run(TrainingProgress& progress) {
    p_.net->train();
    Progress bar("pretraining steps", stop_step_ - progress.step);
    epoch_sums_ = LossSums::from_json(progress.partial_epoch_json);  // a resumed epoch's steps so far
    while (progress.step < stop_step_) {
      const int64_t epoch = progress.step / steps_per_epoch_;
      auto plan = data::plan_epoch(d_.train_ds, d_.split.train, c_.batch_size, true, c_.seed, epoch, true);
      plan.erase(plan.begin(), plan.begin() + static_cast<std::ptrdiff_t>(progress.step % steps_per_epoch_));
      const auto left = static_cast<size_t>(stop_step_ - progress.step);
      if (plan.size() > left) plan.resize(left);
      // Every batch is full (drop_last): this rank's rows are the same share of each.
      const auto share = share_of_rows(c_.batch_size, group_.rank(), group_.world_size());
      for (auto& batch_windows : plan) batch_windows = rank_share(batch_windows, group_);
      data::BackgroundLoader loader(d_.train_ds, std::move(plan));
      data::Batch batch;
      auto t0 = std::chrono::steady_clock::now();
      while (loader.next(batch)) {
        train_step(batch, share, progress, t0);
        bar.advance(1, fmt::format("step {}, epoch {}, {}, lr {:.2e}, {:.1f} windows/s", progress.step, epoch + 1,
                                   interval_.brief(c_.objective), lr_,
                                   static_cast<double>(interval_.windows) / std::max(interval_.seconds, 1e-9)));
        after_step(progress);
        t0 = std::chrono::steady_clock::now();
      }
    }
    bar.finish();
  }

 private:
  double epoch_fraction(int64_t step) const {
    return static_cast<double>(step) / static_cast<double>(steps_per_epoch_);
  }

  void train_step(const data::Batch& batch, const RowShare& rows, TrainingProgress& progress,
                  const std::chrono::steady_clock::time_point& t0) {
    const int64_t step = progress.step;
    lr_ = apply_schedule(p_.optimizer, p_.groups, p_.schedule, step);
    // Masks and crops: one generator per step, the same on every rank (drawn for the global batch).
    auto generator = step_generator(c_.seed, step);
    BatchShare share;
    if (group_.distributed()) {
      share.first = rows.first;
      share.count = rows.count;
      share.global_size = c_.batch_size;
      share.world_size = group_.world_size();
      share.sum_over_ranks = [this](const torch::Tensor& v) { return sum_over_ranks(group_, v); };
      // Dropout and jitter: each rank its own numbers, seeded per step (a resumed job draws the same).
      torch::manual_seed(rank_step_seed(c_.seed, step, group_.rank()));
    }
    p_.optimizer.zero_grad();
    const auto loss = compute_pretrain_loss(p_.net, batch.signal, batch.locations, batch.channel_names, step,
                                            c_.objective, generator, share);
    bool finite = std::isfinite(loss.total.item<double>());
    if (group_.distributed()) finite = group_.sum({finite ? 0.0 : 1.0})[0] == 0.0;  // every rank stops together
    LUMAMBA_CHECK_INPUT(finite, "step {}: the loss is not finite ({} on rank {}); lower optimizer.lr or check the data",
                        step, loss.total.item<double>(), group_.rank());
    loss.total.backward();
    all_reduce_gradients(group_, trainable_);
    const double grad_norm = clip_gradients(p_.groups, c_.grad_clip);
    p_.optimizer.step();
    ++progress.step;
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (auto* s : {&interval_, &epoch_sums_}) {
      s->add(loss, batch.signal.size(0));
      s->grad_norm += grad_norm;
      s->seconds += dt;
    }
  }

  void after_step(TrainingProgress& progress) {
    if (progress.step % c_.log_every == 0 || progress.step == stop_step_) log_interval(progress);
    const bool epoch_end = progress.step % steps_per_epoch_ == 0;
    const bool do_val = epoch_end || (c_.val_every > 0 && progress.step % c_.val_every == 0);
    bool improved = false, validated = false;
    double val_loss = 0;
    nlohmann::json val_json;
    if (do_val && !d_.val_windows.empty()) {
      const auto v = validate_pretrain(p_.net, *d_.val_source, d_.val_windows, c_);
      val_loss = v.mean_total();
      val_json = val_fields(v, c_.objective);
      validated = true;
      log::info("step {}: validation {}{}", progress.step, v.brief(c_.objective),
                c_.objective.uses_reconstruction()
                    ? fmt::format("; predicting zeros: masked {:.4f}", v.mean(v.zero_masked)) : "");
    } else if (epoch_end && d_.val_windows.empty()) {
      val_loss = epoch_sums_.mean_total();  // no validation windows: the epoch's training loss
      validated = true;
    }
    if (validated) improved = CheckpointKeeper::record(progress, val_loss);
    if (epoch_end) {
      progress.epoch = progress.step / steps_per_epoch_;
      log_epoch(progress, val_json, validated && !d_.val_windows.empty(), val_loss, improved);
    } else if (!val_json.is_null()) {
      nlohmann::json line{{"kind", "val"}, {"step", progress.step}, {"epoch", epoch_fraction(progress.step)}, {"lr", lr_}};
      line.update(val_json);
      line["best"] = improved;
      p_.folder.append_metrics(line.dump());
    }
    // Every improvement is validated, so it is always a checkpoint.
    const bool checkpoint = epoch_end || validated || progress.step == stop_step_ ||
                            (c_.checkpoint_every > 0 && progress.step % c_.checkpoint_every == 0);
    if (checkpoint) {
      progress.partial_epoch_json = epoch_sums_.steps > 0 ? epoch_sums_.to_json().dump() : "";
      p_.keeper.save(progress, improved, validated ? val_loss : progress.best_metric);
    }
  }

  void log_interval(const TrainingProgress& progress) {
    nlohmann::json line{{"kind", "train"}, {"step", progress.step}, {"epoch", epoch_fraction(progress.step)},
                        {"lr", lr_}, {"steps", interval_.steps},
                        {"grad_norm", interval_.grad_norm / static_cast<double>(interval_.steps)},
                        {"samples_per_s", static_cast<double>(interval_.windows) / std::max(interval_.seconds, 1e-9)}};
    interval_.write(line, "", c_.objective);
    p_.folder.append_metrics(line.dump());
    interval_ = LossSums();
  }

  void log_epoch(const TrainingProgress& progress, const nlohmann::json& val_json, bool validated, double val_loss,
                 bool improved) {
    nlohmann::json line{{"kind", "epoch"}, {"step", progress.step}, {"epoch", progress.epoch}, {"lr", lr_},
                        {"samples_per_s", static_cast<double>(epoch_sums_.windows) / std::max(epoch_sums_.seconds, 1e-9)},
                        {"train_steps", epoch_sums_.steps}};
    epoch_sums_.write(line, "train_", c_.objective);
    if (!val_json.is_null()) line.update(val_json);
    line["best"] = improved;
    p_.folder.append_metrics(line.dump());
    const double remaining = static_cast<double>(stop_step_ - progress.step) * epoch_sums_.seconds /
                             static_cast<double>(std::max<int64_t>(1, epoch_sums_.steps));
    log::info("epoch {}/{} (step {}): train {}{}, lr {:.2e}, {:.1f} s, ETA {:.0f} s", progress.epoch, c_.epochs,
              progress.step, epoch_sums_.brief(c_.objective),
              validated ? fmt::format(", val loss {:.4f}{}", val_loss, improved ? " (best)" : "") : "", lr_,
              epoch_sums_.seconds, remaining);
    epoch_sums_ = LossSums();
  }

  const PretrainConfig& c_;
  const PretrainData& d_;
  const TrainingParts& p_;
  const int64_t steps_per_epoch_, stop_step_;
  LossSums interval_, epoch_sums_;
  double lr_ = 0;
  TrainingGroup& group_;
  std::vector<torch::Tensor> trainable_;
};

}  // namespace

PretrainResult run_pretrain(const PretrainConfig& c, const FlatConfig& flat, const std::string& out_dir,
                            bool resume, bool force, std::shared_ptr<TrainingGroup> group) {
  LUMAMBA_CHECK_INPUT(!c.train_files.empty(), "pretraining needs data=FILE.h5[,FILE2.h5] (HDF5 windows from "
                      "`lumamba preprocess`)");
  if (!group) group = TrainingGroup::single();
  LUMAMBA_CHECK_INPUT(c.batch_size >= group->world_size(), "train.batch_size = {} is smaller than the {} ranks",
                      c.batch_size, group->world_size());
  const RunFolder folder(out_dir, flat, resume, force, {"train.max_steps"}, group->is_main());
  const auto d = open_pretrain_data(c);

  // Rank 0 draws the initial weights before the others (share_from_main replaces theirs): ranks
  // that are threads of one process (tests) share one generator.
  if (group->distributed() && !group->is_main()) group->barrier();
  torch::manual_seed(c.seed);
  model::LuMamba net(c.model);
  if (group->distributed() && group->is_main()) group->barrier();
  const auto groups = make_parameter_groups(*net, c.optimizer, c.model.num_blocks());
  auto optimizer = make_adamw(groups, c.optimizer);

  const auto steps_per_epoch = static_cast<int64_t>(
      data::plan_epoch(d->train_ds, d->split.train, c.batch_size, true, c.seed, 0, /*drop_last=*/true).size());
  LUMAMBA_CHECK_INPUT(steps_per_epoch > 0, "no full batch of train.batch_size = {} windows with one channel count "
                      "(training windows per channel count: {})", c.batch_size, d->channel_counts);
  CosineSchedule schedule = c.schedule;
  schedule.total_steps = c.epochs * steps_per_epoch;
  schedule.warmup_steps = c.warmup_epochs * steps_per_epoch;
  const int64_t stop_step = c.max_steps > 0 ? std::min(c.max_steps, schedule.total_steps) : schedule.total_steps;
  log::info("{} steps per epoch × {} epochs = {} steps (warm-up {}){}; model {} parameters", steps_per_epoch,
            c.epochs, schedule.total_steps, schedule.warmup_steps,
            stop_step < schedule.total_steps ? fmt::format(", stopping after step {}", stop_step) : "",
            model::count_parameters(*net));

  // Weights stamped with their step and validation loss (`--resume` rebuilds a file a kill left
  // behind from the training state, which each checkpoint writes first).
  const std::string preprocess = d->train_ds.preprocess_json().empty() ? "{}" : d->train_ds.preprocess_json();
  const CheckpointKeeper keeper(folder, *net, *optimizer, [&](const std::string& path, const TrainingProgress& at,
                                                              double val_loss) {
    nlohmann::json meta{{"mode", c.objective.mode()}, {"step", at.step},
                        {"epoch", static_cast<double>(at.step) / static_cast<double>(steps_per_epoch)},
                        {"val_loss", val_loss}};
    model::save_checkpoint(path, *net, c.model, preprocess,
                           {{kMetaPretrain, meta.dump()}, {kMetaTrainingStep, std::to_string(at.step)}});
  });
  TrainingProgress progress = keeper.start(resume, "step");
  keeper.share_from_main(*group, progress);
  if (resume) {
    log::info("resumed at step {} (epoch {}, {} steps into it)", progress.step, progress.step / steps_per_epoch + 1,
              progress.step % steps_per_epoch);
  }
  const TrainingParts parts{folder, net, groups, *optimizer, keeper, schedule};
  if (group->distributed()) {
    log::info("data-parallel: {} ranks, {} windows per batch in all", group->world_size(), c.batch_size);
  }
  PretrainRun(c, *d, parts, steps_per_epoch, stop_step, *group).run(progress);

  PretrainResult result;
  result.best_checkpoint = folder.best_path;
  result.last_checkpoint = folder.last_path;
  result.steps = progress.step;
  result.epochs_completed = progress.step / steps_per_epoch;
  result.has_best = progress.has_best;
  result.best_val_loss = progress.best_metric;
  return result;
}

}  // namespace lumamba::train
