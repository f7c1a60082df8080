// Data-parallel training (lumamba/train/distributed.h): launcher detection, the collectives of an
// in-process group of ranks (threads sharing a c10d HashStore), and that 2 ranks × half a batch
// give the gradients (float64, 1e-12) and, after 20 fine-tuning steps, the weights (float32,
// 1e-5) of 1 process with the whole batch.
#include "lumamba/train/distributed.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <atomic>
#include <cmath>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "lumamba/core/error.h"
#include "lumamba/eval/inference.h"
#include "lumamba/io/channels.h"
#include "lumamba/io/window_h5.h"
#include "lumamba/model/lumamba.h"
#include "lumamba/train/finetune.h"
#include "lumamba/train/objectives.h"
#include "lumamba/train/pretrain.h"
#include "support/scratch.h"

namespace lumamba::test {
namespace {
namespace fs = std::filesystem;
using train::LaunchEnvironment;
using train::TrainingGroup;

train::EnvLookup env_of(const std::map<std::string, std::string>& vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(DetectLaunch, AloneWithoutLauncherVariables) {
  const auto l = train::detect_launch(env_of({{"HOME", "/root"}}));
  EXPECT_EQ(l.launcher, "single");
  EXPECT_EQ(l.world_size, 1);
  EXPECT_EQ(l.rank, 0);
}

TEST(DetectLaunch, TorchrunVariables) {
  const auto l = train::detect_launch(env_of({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"},
                                              {"MASTER_ADDR", "10.0.0.7"}, {"MASTER_PORT", "29512"}}));
  EXPECT_EQ(l.launcher, "torchrun");
  EXPECT_EQ(l.rank, 3);
  EXPECT_EQ(l.world_size, 4);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.master_addr, "10.0.0.7");
  EXPECT_EQ(l.master_port, 29512);
}

TEST(DetectLaunch, SlurmTakesTheFirstNodeAsMaster) {
  const auto l = train::detect_launch(env_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
                                              {"SLURM_STEP_NODELIST", "gpu[07-09,12],cpu1"}}));
  EXPECT_EQ(l.launcher, "slurm");
  EXPECT_EQ(l.rank, 5);
  EXPECT_EQ(l.world_size, 8);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.master_addr, "gpu07");
  EXPECT_EQ(l.master_port, 29500);
  // MASTER_ADDR / MASTER_PORT win over the node list.
  const auto o = train::detect_launch(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"},
                                              {"SLURM_JOB_NODELIST", "n1"}, {"MASTER_ADDR", "head"},
                                              {"MASTER_PORT", "4000"}}));
  EXPECT_EQ(o.master_addr, "head");
  EXPECT_EQ(o.master_port, 4000);
}

TEST(DetectLaunch, OpenMpiVariables) {
  const auto l = train::detect_launch(env_of({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"},
                                              {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}}));
  EXPECT_EQ(l.launcher, "mpirun");
  EXPECT_EQ(l.rank, 1);
  EXPECT_EQ(l.world_size, 2);
  EXPECT_EQ(l.master_addr, "127.0.0.1");
}

TEST(DetectLaunch, MalformedVariablesAreNamed) {
  const auto message = [](const std::map<std::string, std::string>& vars) {
    try {
      train::detect_launch(env_of(vars));
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"RANK", "2"}, {"WORLD_SIZE", "2"}}).find("RANK=2 must be in [0, 1]"), std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "two"}}).find("WORLD_SIZE='two'"), std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}}).find("WORLD_SIZE is not set"), std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}).find("MASTER_PORT"),
            std::string::npos);
}

TEST(SlurmNodelist, FirstHost) {
  EXPECT_EQ(train::first_host_of_slurm_nodelist("node1"), "node1");
  EXPECT_EQ(train::first_host_of_slurm_nodelist("node1,node2"), "node1");
  EXPECT_EQ(train::first_host_of_slurm_nodelist("node[03-05,7]"), "node03");
  EXPECT_EQ(train::first_host_of_slurm_nodelist("rack[2,4]-gpu[1-2]"), "rack2-gpu[1-2]");
  EXPECT_EQ(train::first_host_of_slurm_nodelist("a[10-11].cluster,b1"), "a10.cluster");
}

TEST(ShareOfRows, ContiguousInRankOrderAndBalanced) {
  for (int64_t b : {1, 7, 8, 16, 33}) {
    for (int64_t w : {1, 2, 3, 5}) {
      int64_t next = 0;
      for (int64_t r = 0; r < w; ++r) {
        const auto s = train::share_of_rows(b, r, w);
        EXPECT_EQ(s.first, next);
        EXPECT_TRUE(s.count == b / w || s.count == b / w + 1);
        next += s.count;
      }
      EXPECT_EQ(next, b);
    }
  }
}

TEST(RankStepSeed, DiffersBetweenRanksAndSteps) {
  EXPECT_NE(train::rank_step_seed(1, 0, 0), train::rank_step_seed(1, 0, 1));
  EXPECT_NE(train::rank_step_seed(1, 0, 0), train::rank_step_seed(1, 1, 0));
  EXPECT_EQ(train::rank_step_seed(7, 3, 1), train::rank_step_seed(7, 3, 1));
}

// Runs fn(group) on `world` threads, each a rank of one in-process group; rethrows the first error.
void run_ranks(const std::string& name, int64_t world, const std::function<void(TrainingGroup&)>& fn) {
  std::vector<std::thread> threads;
  std::exception_ptr error;
  std::mutex mutex;
  for (int64_t r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        auto group = TrainingGroup::in_process(name, r, world);
        fn(*group);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

TEST(TrainingGroup, SingleProcessCollectivesAreTheIdentity) {
  auto g = TrainingGroup::single();
  EXPECT_FALSE(g->distributed());
  std::vector<torch::Tensor> t{torch::tensor({1.0, 2.0})};
  g->all_reduce_sum(t);
  EXPECT_TRUE(torch::equal(t[0], torch::tensor({1.0, 2.0})));
  EXPECT_EQ(g->sum({3.0})[0], 3.0);
}

TEST(TrainingGroup, CollectivesOfThreeRanks) {
  if (!TrainingGroup::available()) GTEST_SKIP() << "built without Gloo";
  std::mutex mutex;
  std::map<int64_t, torch::Tensor> gathered;
  std::map<int64_t, std::string> bytes_seen;
  std::map<int64_t, double> sums;
  run_ranks("collectives3", 3, [&](TrainingGroup& g) {
    const auto r = g.rank();
    std::vector<torch::Tensor> t{torch::full({4}, static_cast<double>(r + 1), torch::kFloat64)};
    g.all_reduce_sum(t);  // 1 + 2 + 3
    // Rank r has r rows (rank 0 none) of (r, 10 r).
    auto rows = torch::empty({r, 2}, torch::kFloat32);
    for (int64_t i = 0; i < r; ++i) {
      rows[i][0] = static_cast<float>(r);
      rows[i][1] = static_cast<float>(10 * r + i);
    }
    auto all = g.all_gather_rows(rows);
    std::string bytes = g.is_main() ? std::string("payload\0with zero", 17) : std::string("x");
    g.broadcast_bytes(bytes);
    const double s = g.sum({0.5 * static_cast<double>(r)})[0];
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_TRUE(torch::equal(t[0], torch::full({4}, 6.0, torch::kFloat64)));
    gathered[r] = all;
    bytes_seen[r] = bytes;
    sums[r] = s;
  });
  const auto expected = torch::tensor({{1.f, 10.f}, {2.f, 20.f}, {2.f, 21.f}});
  for (int64_t r = 0; r < 3; ++r) {
    EXPECT_TRUE(torch::equal(gathered[r], expected)) << "rank " << r << ": " << gathered[r];
    EXPECT_EQ(bytes_seen[r], std::string("payload\0with zero", 17));
    EXPECT_EQ(sums[r], 1.5);
  }
}

TEST(TrainingGroup, SumOverRanksBackwardSumsTheGradients) {
  if (!TrainingGroup::available()) GTEST_SKIP() << "built without Gloo";
  // Rank r: x_r = (r + 1)·[1, 2]; s = Σ_r x_r = [3, 6]; loss_r = (r + 1)·Σ s². The total loss
  // Σ_r loss_r = 3·Σ s², so d total / d x_r = 3·2·s = [18, 36] on every rank.
  std::mutex mutex;
  std::map<int64_t, torch::Tensor> grads;
  run_ranks("sum_over_ranks", 2, [&](TrainingGroup& g) {
    auto x = (torch::tensor({1.0, 2.0}, torch::kFloat64) * static_cast<double>(g.rank() + 1)).requires_grad_(true);
    const auto s = train::sum_over_ranks(g, x);
    const auto loss = static_cast<double>(g.rank() + 1) * s.pow(2).sum();
    loss.backward();
    std::lock_guard<std::mutex> lock(mutex);
    grads[g.rank()] = x.grad().clone();
  });
  for (int64_t r = 0; r < 2; ++r) {
    EXPECT_TRUE(torch::allclose(grads[r], torch::tensor({18.0, 36.0}, torch::kFloat64), 0, 1e-12)) << grads[r];
  }
}

// Every parameter's gradient (zeros for a parameter the loss does not use).
std::vector<torch::Tensor> gradients_of(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters) grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  return grads;
}

// Each rank's gradients against one process's, within 1e-12 of the largest gradient entry: some
// tensors' gradients are zero up to rounding (a bias followed by a normalisation), where a
// per-tensor ratio would compare noise with noise.
void expect_same_gradients(const std::vector<torch::Tensor>& expected,
                           const std::map<int64_t, std::vector<torch::Tensor>>& rank_grads) {
  double largest = 0;
  for (const auto& g : expected) largest = std::max(largest, g.abs().max().item<double>());
  ASSERT_GT(largest, 0);
  for (const auto& [rank, grads] : rank_grads) {
    ASSERT_EQ(grads.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_LE((expected[i] - grads[i]).abs().max().item<double>(), 1e-12 * largest)
          << "rank " << rank << ", parameter " << i << " " << expected[i].sizes();
    }
  }
}

// (B, C, 3) electrode positions of `names` in metres, float64, the same for every window.
torch::Tensor locations_of(const std::vector<std::string>& names, int64_t b) {
  const auto c = static_cast<int64_t>(names.size());
  auto loc = torch::empty({c, 3}, torch::kFloat64);
  const auto pos = io::channel_positions(names);
  for (int64_t i = 0; i < c; ++i) {
    loc[i][0] = pos[static_cast<size_t>(i)].x_m;
    loc[i][1] = pos[static_cast<size_t>(i)].y_m;
    loc[i][2] = pos[static_cast<size_t>(i)].z_m;
  }
  return loc.unsqueeze(0).expand({b, c, 3}).contiguous();
}

// One training step's gradients, the way fine-tuning computes them: class-weighted cross-entropy
// over a batch of 16 (unbalanced labels), head_norm=batch; no dropout or location jitter, whose
// draws differ between ranks (as in PyTorch DDP).
TEST(DataParallel, TwoRanksOfEightGiveTheGradientsOfOneProcessOfSixteen) {
  if (!TrainingGroup::available()) GTEST_SKIP() << "built without Gloo";
  at::set_num_threads(1);
  torch::manual_seed(11);
  const auto options = model::LuMambaOptions()
                           .num_classes(2)
                           .classifier_option("linear")
                           .head_norm("batch")
                           .location_jitter(0.0)
                           .dropout(0.0)
                           .embed_dim(16)
                           .num_queries(2)
                           .num_blocks(1);
  model::LuMamba reference(options);
  reference->to(torch::kFloat64);
  reference->train();
  const int64_t b = 16, c = 4, t = 160;
  const auto signal = torch::randn({b, c, t}, torch::kFloat64);
  const auto locations = locations_of({"FP1", "FP2", "O1", "O2"}, b);
  const auto labels = torch::tensor({0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0}, torch::kLong);
  const auto weights = torch::tensor({0.3, 1.7}, torch::kFloat64);
  const auto mask = torch::zeros({b, c, t}, torch::kBool);
  const auto loss_of = [&](model::LuMamba& net, int64_t first, int64_t n) {
    const auto out = net->forward(signal.narrow(0, first, n), locations.narrow(0, first, n), mask.narrow(0, first, n));
    return torch::nn::functional::cross_entropy(out.logits, labels.narrow(0, first, n),
                                                torch::nn::functional::CrossEntropyFuncOptions().weight(weights));
  };
  loss_of(reference, 0, b).backward();

  std::mutex mutex;
  std::map<int64_t, std::vector<torch::Tensor>> rank_grads;
  run_ranks("gradients", 2, [&](TrainingGroup& g) {
    auto net = std::dynamic_pointer_cast<model::LuMambaImpl>(reference->clone());
    model::LuMamba copy(net);
    copy->zero_grad();
    copy->sum_over_ranks = [&g](const torch::Tensor& v) { return train::sum_over_ranks(g, v); };
    const auto share = train::share_of_rows(b, g.rank(), 2);
    // This rank's part: its weighted mean times its share of the batch's class weights.
    const auto w = weights.index_select(0, labels);
    const double factor = w.narrow(0, share.first, share.count).sum().item<double>() / w.sum().item<double>();
    (loss_of(copy, share.first, share.count) * factor).backward();
    train::all_reduce_gradients(g, copy->parameters());
    const auto grads = gradients_of(copy->parameters());
    std::lock_guard<std::mutex> lock(mutex);
    rank_grads[g.rank()] = grads;
  });
  expect_same_gradients(gradients_of(reference->parameters()), rank_grads);
}

// Pretraining: for each objective, 2 ranks × 8 windows give the gradients of 1 process × 16
// (float64): the same token mask, crops drawn for the global batch, SIGReg over the global batch.
TEST(DataParallel, PretrainingGradientsOfTwoRanksEqualOneProcessForEveryObjective) {
  if (!TrainingGroup::available()) GTEST_SKIP() << "built without Gloo";
  at::set_num_threads(1);
  torch::manual_seed(21);
  const int64_t b = 16, c = 5, t = 160;
  model::LuMamba reference(model::LuMambaOptions()
                               .patch_size(8)
                               .embed_dim(16)
                               .num_queries(2)
                               .num_heads(2)
                               .num_blocks(1)
                               .d_state(4)
                               .num_classes(0)
                               .location_jitter(0.0)
                               .dropout(0.0));
  reference->to(torch::kFloat64);
  reference->train();
  const auto signal = torch::randn({b, c, t}, torch::kFloat64);
  const auto locations = (torch::rand({1, c, 3}, torch::kFloat64) * 0.1).expand({b, c, 3}).contiguous();
  const auto names = torch::randint(0, 90, {1, c}, torch::kLong).expand({b, c}).contiguous();
  const int64_t step = 5;
  for (const std::string mode : {"reconstruction", "lejepa", "mixed"}) {
    SCOPED_TRACE(mode);
    const auto options =
        train::PretrainObjectiveOptions().mode(mode).num_patches_global(8).num_patches_local(2).num_slices(16);
    reference->zero_grad();
    {
      auto generator = at::make_generator<at::CPUGeneratorImpl>(99);
      train::compute_pretrain_loss(reference, signal, locations, names, step, options, generator).total.backward();
    }
    std::mutex mutex;
    std::map<int64_t, std::vector<torch::Tensor>> rank_grads;
    run_ranks("pretrain_" + mode, 2, [&](TrainingGroup& g) {
      model::LuMamba copy(std::dynamic_pointer_cast<model::LuMambaImpl>(reference->clone()));
      copy->zero_grad();
      const auto rows = train::share_of_rows(b, g.rank(), 2);
      train::BatchShare share;
      share.first = rows.first;
      share.count = rows.count;
      share.global_size = b;
      share.world_size = 2;
      share.sum_over_ranks = [&g](const torch::Tensor& v) { return train::sum_over_ranks(g, v); };
      auto generator = at::make_generator<at::CPUGeneratorImpl>(99);
      train::compute_pretrain_loss(copy, signal.narrow(0, rows.first, rows.count),
                                   locations.narrow(0, rows.first, rows.count), names.narrow(0, rows.first, rows.count),
                                   step, options, generator, share)
          .total.backward();
      train::all_reduce_gradients(g, copy->parameters());
      const auto grads = gradients_of(copy->parameters());  // the mask token has none in lejepa mode
      std::lock_guard<std::mutex> lock(mutex);
      rank_grads[g.rank()] = grads;
    });
    expect_same_gradients(gradients_of(reference->parameters()), rank_grads);
  }
}

constexpr int64_t kSamples = 160;

// A recording of n windows (label w % 2; label 1 carries a 12 Hz sine) for one split.
void add_recording(const fs::path& path, const std::vector<std::string>& channels, const std::string& split, int64_t n,
                   uint32_t seed) {
  io::RecordingWindows r;
  r.channel_names = channels;
  for (const auto& p : io::channel_positions(channels)) r.channel_locations_m.push_back({p.x_m, p.y_m, p.z_m});
  r.source_file = path.stem().string() + ".edf";
  r.subject = path.stem().string();
  r.split = split;
  r.sfreq_hz = 256;
  r.n_windows = n;
  r.n_channels = static_cast<int64_t>(channels.size());
  r.n_samples = kSamples;
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, 10.f);
  for (int64_t w = 0; w < n; ++w) {
    for (int64_t c = 0; c < r.n_channels; ++c) {
      for (int64_t t = 0; t < kSamples; ++t) {
        const float sine = w % 2 == 1 ? 30.f * std::sin(2.f * 3.14159265f * 12.f * static_cast<float>(t) / 256.f) : 0.f;
        r.signal_uv.push_back(sine + noise(rng));
      }
    }
    r.labels.push_back(w % 3 == 0 ? 1 : 0);  // unbalanced: the class weights matter
    r.window_start_s.push_back(static_cast<double>(w * kSamples) / 256.0);
  }
  io::write_recording_h5(path.string(), r, io::StorageDType::kFloat32, R"({"name":"generic"})");
}

train::FlatConfig data_parallel_config(const fs::path& dir) {
  auto flat = train::FlatConfig::from_yaml(R"(
task: toy
target: multiclass
class_names: [noise, sine]
data: ""
model: {classifier_option: linear, num_classes: 2, embed_dim: 16, num_queries: 2, num_blocks: 1, d_state: 4,
        head_norm: batch, location_jitter: 0.0, dropout: 0.0}
train: {mode: full, epochs: 4, warmup_epochs: 1, batch_size: 8, eval_batch_size: 5, patience: 50, seed: 5,
        class_weights: balanced}
optimizer: {lr: 3.0e-3, weight_decay: 0.01, layer_decay: 0.75}
schedule: {warmup_lr_init: 1.0e-5, lr_min: 1.0e-5}
)",
                                           "data_parallel.yaml");
  flat.apply_override("data=" + (dir / "a.h5").string() + "," + (dir / "b.h5").string());
  flat.apply_override("val_data=" + (dir / "val.h5").string(), true);
  flat.apply_override("test_data=" + (dir / "test.h5").string(), true);
  return flat;
}

std::vector<std::pair<std::string, torch::Tensor>> weights_of(const std::string& checkpoint) {
  const auto loaded = eval::load_model({checkpoint});
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : loaded.net->named_parameters()) out.emplace_back(p.key(), p.value().detach().clone());
  for (const auto& b : loaded.net->named_buffers()) out.emplace_back(b.key(), b.value().detach().clone());
  return out;
}

// Per parameter of a module after a backward pass, the elements whose gradient is zero up to
// rounding (below 1e-9 of the largest gradient entry; all of a parameter without a gradient).
std::map<std::string, torch::Tensor> zero_gradient_masks(const torch::nn::Module& net) {
  double largest = 0;
  for (const auto& p : net.parameters()) {
    if (p.grad().defined()) largest = std::max(largest, p.grad().abs().max().item<double>());
  }
  std::map<std::string, torch::Tensor> zero;
  for (const auto& p : net.named_parameters()) {
    zero[p.key()] = p.value().grad().defined() ? p.value().grad().abs() < 1e-9 * largest
                                               : torch::ones(p.value().sizes(), torch::kBool);
  }
  return zero;
}

// Weights of two checkpoints within 1e-5 of the largest weight, except the elements whose gradient
// is analytically zero (`zero_gradient`; a bias followed by a normalisation, the key part of an
// attention's input bias): AdamW turns their rounding-noise gradients into full-size steps, and
// they differ as much between one process on 1 and on 2 threads (measured: up to 0.85 of their
// size). They do not change what the network computes; the callers check the validation loss.
void expect_same_weights(const fs::path& one, const fs::path& two,
                         const std::map<std::string, torch::Tensor>& zero_gradient) {
  const auto a = weights_of(one.string());
  const auto b = weights_of(two.string());
  ASSERT_EQ(a.size(), b.size());
  double largest = 0;
  for (const auto& [name, t] : a) {
    if (t.is_floating_point()) largest = std::max(largest, t.abs().max().item<double>());
  }
  int64_t compared = 0, skipped = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].first, b[i].first);
    if (!a[i].second.is_floating_point()) continue;
    auto difference = (a[i].second - b[i].second).abs();
    const auto it = zero_gradient.find(a[i].first);
    if (it != zero_gradient.end()) {
      skipped += it->second.sum().item<int64_t>();
      difference = difference.masked_fill(it->second, 0);
    }
    compared += difference.numel();
    EXPECT_LE(difference.max().item<double>(), 1e-5 * largest) << a[i].first;
  }
  EXPECT_LT(skipped, compared / 20);  // the exclusion stays a small part of the network
}

// The zero-gradient elements of a classifier checkpoint for a batch of random windows in float64,
// training mode.
std::map<std::string, torch::Tensor> zero_gradient_elements(const std::string& checkpoint) {
  auto loaded = eval::load_model({checkpoint});
  auto& net = loaded.net;
  net->to(torch::kFloat64);
  net->train();
  torch::manual_seed(3);
  const int64_t b = 8, c = 4;
  const auto out = net->forward(torch::randn({b, c, kSamples}, torch::kFloat64), locations_of({"FP1", "FP2", "O1", "O2"}, b),
                                torch::zeros({b, c, kSamples}, torch::kBool));
  torch::nn::functional::cross_entropy(out.logits, torch::tensor({0, 1, 0, 1, 0, 0, 1, 0}, torch::kLong)).backward();
  return zero_gradient_masks(*net);
}

// 24 + 16 training windows in batches of 8 (groups of 4 and 6 channels): 5 steps per epoch, 20 in all.
TEST(DataParallel, TwentyFinetuningStepsOnTwoRanksGiveTheWeightsOfOneProcess) {
  if (!TrainingGroup::available()) GTEST_SKIP() << "built without Gloo";
  at::set_num_threads(1);
  const auto dir = fresh_scratch_dir("data_parallel_finetune");
  const std::vector<std::string> c4{"FP1", "FP2", "O1", "O2"}, c6{"FP1", "FP2", "C3", "C4", "O1", "O2"};
  add_recording(dir / "a.h5", c4, "train", 24, 1);
  add_recording(dir / "b.h5", c6, "train", 16, 2);
  add_recording(dir / "val.h5", c4, "val", 9, 3);
  add_recording(dir / "test.h5", c4, "test", 11, 4);
  const auto flat = data_parallel_config(dir);
  const auto one = train::run_finetune(train::finetune_config(flat), flat, (dir / "one").string(), false);
  EXPECT_EQ(one.steps, 20);
  std::mutex mutex;
  std::map<int64_t, train::FinetuneResult> results;
  run_ranks("finetune20", 2, [&](TrainingGroup& g) {
    const auto group = std::shared_ptr<TrainingGroup>(&g, [](TrainingGroup*) {});
    auto result = train::run_finetune(train::finetune_config(flat), flat, (dir / "two").string(), false, false, group);
    std::lock_guard<std::mutex> lock(mutex);
    results[g.rank()] = result;
  });
  EXPECT_EQ(results[0].steps, 20);
  // Rank 0 alone wrote the run folder; the metrics agree on both ranks.
  EXPECT_TRUE(fs::exists(dir / "two/checkpoints/last.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "two/test_metrics.json"));
  EXPECT_EQ(results[0].test.windows.auroc, results[1].test.windows.auroc);
  EXPECT_EQ(results[0].best_epoch, results[1].best_epoch);
  EXPECT_NEAR(results[0].test.windows.auroc, one.test.windows.auroc, 1e-6);
  EXPECT_NEAR(results[0].best_val_loss, one.best_val_loss, 1e-5);

  const auto zero_gradient = zero_gradient_elements((dir / "one/checkpoints/last.safetensors").string());
  // The three patch-embedding conv biases (each followed by a GroupNorm) at least.
  EXPECT_TRUE(zero_gradient.at("patch_embed.proj_in.0.bias").all().item<bool>());
  expect_same_weights(dir / "one/checkpoints/last.safetensors", dir / "two/checkpoints/last.safetensors", zero_gradient);
}

}  // namespace
}  // namespace lumamba::test

namespace lumamba::test {
namespace {

const char* kPretrainPreset = R"(
data: ""
val_data: ""
model: {patch_size: 8, embed_dim: 16, num_queries: 2, num_heads: 2, num_blocks: 1, d_state: 4, dropout: 0.0,
        location_jitter: 0.0}
objective: {mode: mixed, mask_ratio: 0.5, num_global_views: 2, num_local_views: 2, num_patches_global: 8,
            num_patches_local: 2, num_slices: 16}
train: {epochs: 4, warmup_epochs: 1, batch_size: 8, grad_clip: 1.0, seed: 7, log_every: 5}
optimizer: {lr: 1.0e-3, weight_decay: 0.01}
)";

// 24 + 16 unlabelled training windows in full batches of 8: 5 steps per epoch, 20 in all; the same
// weights on 2 ranks as in 1 process, but for the elements whose gradient is zero up to rounding.
TEST(DataParallel, TwentyPretrainingStepsOnTwoRanksGiveTheWeightsOfOneProcess) {
  if (!TrainingGroup::available()) GTEST_SKIP() << "built without Gloo";
  at::set_num_threads(1);
  const auto dir = fresh_scratch_dir("data_parallel_pretrain");
  const std::vector<std::string> c4{"FP1", "FP2", "O1", "O2"}, c6{"FP1", "FP2", "C3", "C4", "O1", "O2"};
  add_recording(dir / "a.h5", c4, "train", 24, 1);
  add_recording(dir / "b.h5", c6, "train", 16, 2);
  add_recording(dir / "val.h5", c4, "val", 8, 3);
  auto flat = train::FlatConfig::from_yaml(kPretrainPreset, "pretrain_dp.yaml");
  flat.apply_override("data=" + (dir / "a.h5").string() + "," + (dir / "b.h5").string());
  flat.apply_override("val_data=" + (dir / "val.h5").string());
  const auto one = train::run_pretrain(train::pretrain_config(flat), flat, (dir / "one").string(), false);
  EXPECT_EQ(one.steps, 20);
  std::mutex mutex;
  std::map<int64_t, train::PretrainResult> results;
  run_ranks("pretrain20", 2, [&](TrainingGroup& g) {
    const auto group = std::shared_ptr<TrainingGroup>(&g, [](TrainingGroup*) {});
    auto result = train::run_pretrain(train::pretrain_config(flat), flat, (dir / "two").string(), false, false, group);
    std::lock_guard<std::mutex> lock(mutex);
    results[g.rank()] = result;
  });
  EXPECT_EQ(results[0].steps, 20);
  EXPECT_EQ(results[0].best_val_loss, results[1].best_val_loss);
  EXPECT_NEAR(results[0].best_val_loss, one.best_val_loss, 1e-5 * std::abs(one.best_val_loss));

  // Elements with a zero gradient (up to rounding) for the mixed loss of a random batch, float64.
  auto loaded = eval::load_model({(dir / "one/checkpoints/last.safetensors").string()});
  auto& net = loaded.net;
  net->to(torch::kFloat64);
  net->train();
  {
    torch::manual_seed(3);
    const auto signal = torch::randn({8, 4, kSamples}, torch::kFloat64);
    const auto idx = io::vocabulary_indices(c4);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
    train::compute_pretrain_loss(net, signal, locations_of(c4, 8),
                                 torch::tensor(idx, torch::kLong).unsqueeze(0).expand({8, 4}), 1,
                                 train::pretrain_config(flat).objective, generator)
        .total.backward();
  }
  expect_same_weights(dir / "one/checkpoints/last.safetensors", dir / "two/checkpoints/last.safetensors",
                      zero_gradient_masks(*net));
}

}  // namespace
}  // namespace lumamba::test
