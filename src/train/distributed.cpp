#include "lumamba/train/distributed.h"

#include <fmt/format.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <cstring>
#include <filesystem>

#include <unistd.h>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"

#ifdef LUMAMBA_WITH_GLOO
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace lumamba::train {
namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

int64_t parse_env_int(const EnvLookup& env, const std::string& name, int64_t lo, int64_t hi) {
  const auto v = env(name);
  LUMAMBA_CHECK_INPUT(v.has_value(), "distributed launch: environment variable {} is not set", name);
  size_t used = 0;
  int64_t x = 0;
  try {
    x = std::stoll(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  LUMAMBA_CHECK_INPUT(used == v->size() && !v->empty(), "distributed launch: {}='{}' is not an integer", name, *v);
  LUMAMBA_CHECK_INPUT(x >= lo && x <= hi, "distributed launch: {}={} must be in [{}, {}]", name, x, lo, hi);
  return x;
}

// The single process: every collective is the identity.
class SingleProcess final : public TrainingGroup {
 public:
  SingleProcess() : TrainingGroup(0, 1) {}
  void broadcast_from_main(std::vector<torch::Tensor>&) override {}
  void all_reduce_sum(std::vector<torch::Tensor>&) override {}
  torch::Tensor all_gather_rows(const torch::Tensor& rows) override { return rows; }
  void barrier() override {}
};

#ifdef LUMAMBA_WITH_GLOO
// A c10d Gloo process group. Every collective waits at most the timeout; a failure (a rank that
// died, a network error, a hang) becomes an Error naming this rank and the operation.
class GlooGroup final : public TrainingGroup {
 public:
  GlooGroup(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank, int64_t world_size, const std::string& host,
            std::chrono::milliseconds timeout)
      : TrainingGroup(rank, world_size), timeout_(timeout) {
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = timeout;
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0') {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else if (!host.empty()) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    guarded("joining the process group", [&] {
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(rank), static_cast<int>(world_size),
                                                           options);
    });
  }

  void broadcast_from_main(std::vector<torch::Tensor>& tensors) override {
    if (tensors.empty()) return;
    guarded("broadcast", [&] { group_->broadcast(tensors)->wait(timeout_); });
  }

  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override {
    if (tensors.empty()) return;
    // One tensor per call: Gloo's multi-tensor all-reduce expects tensors of one shape.
    for (auto& t : tensors) {
      std::vector<torch::Tensor> one{t};
      guarded("all-reduce", [&] { group_->allreduce(one, c10d::AllreduceOptions{})->wait(timeout_); });
    }
  }

  torch::Tensor all_gather_rows(const torch::Tensor& rows) override {
    // Row counts first, then rows padded to the largest count (Gloo gathers equal shapes).
    std::vector<torch::Tensor> counts_in{torch::tensor({rows.size(0)}, torch::kLong)};
    std::vector<std::vector<torch::Tensor>> counts_out(1);
    for (int64_t r = 0; r < world_size(); ++r) counts_out[0].push_back(torch::empty({1}, torch::kLong));
    guarded("all-gather", [&] { group_->allgather(counts_out, counts_in)->wait(timeout_); });
    int64_t max_rows = 0;
    for (const auto& c : counts_out[0]) max_rows = std::max(max_rows, c.item<int64_t>());
    auto shape = rows.sizes().vec();
    shape[0] = max_rows;
    auto padded = torch::zeros(shape, rows.options());
    if (rows.size(0) > 0) padded.narrow(0, 0, rows.size(0)).copy_(rows);
    std::vector<torch::Tensor> in{padded};
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int64_t r = 0; r < world_size(); ++r) out[0].push_back(torch::empty(shape, rows.options()));
    guarded("all-gather", [&] { group_->allgather(out, in)->wait(timeout_); });
    std::vector<torch::Tensor> parts;
    for (int64_t r = 0; r < world_size(); ++r) parts.push_back(out[0][static_cast<size_t>(r)].narrow(0, 0, counts_out[0][static_cast<size_t>(r)].item<int64_t>()));
    return torch::cat(parts, 0);
  }

  void barrier() override {
    guarded("barrier", [&] { group_->barrier()->wait(timeout_); });
  }

 private:
  template <typename F>
  void guarded(const char* what, F&& f) {
    try {
      f();
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(fmt::format("rank {} of {}: {} failed (within the {} s timeout, --dist-timeout): another rank "
                              "exited, hangs or cannot be reached; restart the job with --resume to continue from "
                              "the last checkpoint. Cause: {}",
                              rank(), world_size(), what,
                              std::chrono::duration_cast<std::chrono::seconds>(timeout_).count(),
                              first_line(e.what())));
    }
  }

  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  std::chrono::milliseconds timeout_;
};
#endif

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

LaunchEnvironment detect_launch(const EnvLookup& env) {
  LaunchEnvironment launch;
  constexpr int64_t kMaxRanks = 1 << 20;
  if (env("WORLD_SIZE").has_value() || env("RANK").has_value()) {
    launch.launcher = "torchrun";
    launch.world_size = parse_env_int(env, "WORLD_SIZE", 1, kMaxRanks);
    launch.rank = parse_env_int(env, "RANK", 0, launch.world_size - 1);
    launch.local_rank = env("LOCAL_RANK").has_value() ? parse_env_int(env, "LOCAL_RANK", 0, kMaxRanks) : launch.rank;
  } else if (env("SLURM_PROCID").has_value() && env("SLURM_NTASKS").has_value()) {
    launch.launcher = "slurm";
    launch.world_size = parse_env_int(env, "SLURM_NTASKS", 1, kMaxRanks);
    launch.rank = parse_env_int(env, "SLURM_PROCID", 0, launch.world_size - 1);
    launch.local_rank = env("SLURM_LOCALID").has_value() ? parse_env_int(env, "SLURM_LOCALID", 0, kMaxRanks) : 0;
    auto nodes = env("SLURM_STEP_NODELIST");
    if (!nodes.has_value()) nodes = env("SLURM_JOB_NODELIST");
    if (nodes.has_value() && !nodes->empty()) launch.master_addr = first_host_of_slurm_nodelist(*nodes);
  } else if (env("OMPI_COMM_WORLD_RANK").has_value()) {
    launch.launcher = "mpirun";
    launch.world_size = parse_env_int(env, "OMPI_COMM_WORLD_SIZE", 1, kMaxRanks);
    launch.rank = parse_env_int(env, "OMPI_COMM_WORLD_RANK", 0, launch.world_size - 1);
    launch.local_rank = env("OMPI_COMM_WORLD_LOCAL_RANK").has_value()
                            ? parse_env_int(env, "OMPI_COMM_WORLD_LOCAL_RANK", 0, kMaxRanks) : 0;
  } else {
    return launch;
  }
  if (const auto addr = env("MASTER_ADDR"); addr.has_value() && !addr->empty()) launch.master_addr = *addr;
  if (env("MASTER_PORT").has_value()) launch.master_port = parse_env_int(env, "MASTER_PORT", 1, 65535);
  return launch;
}

LaunchEnvironment detect_launch() {
  return detect_launch([](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  });
}

std::string first_host_of_slurm_nodelist(const std::string& nodelist) {
  // The first entry up to a top-level comma; a bracket range "pre[03-05,7]suf" expands to its first value.
  size_t end = 0;
  int depth = 0;
  for (; end < nodelist.size(); ++end) {
    if (nodelist[end] == '[') ++depth;
    else if (nodelist[end] == ']') --depth;
    else if (nodelist[end] == ',' && depth == 0) break;
  }
  const std::string first = nodelist.substr(0, end);
  const auto open = first.find('[');
  if (open == std::string::npos) return first;
  const auto close = first.find(']', open);
  LUMAMBA_CHECK_INPUT(close != std::string::npos, "Slurm node list '{}': unmatched '['", nodelist);
  const std::string range = first.substr(open + 1, close - open - 1);
  const std::string first_value = range.substr(0, range.find_first_of(",-"));
  return first.substr(0, open) + first_value + first.substr(close + 1);
}

std::shared_ptr<TrainingGroup> TrainingGroup::single() { return std::make_shared<SingleProcess>(); }

bool TrainingGroup::available() {
#ifdef LUMAMBA_WITH_GLOO
  return true;
#else
  return false;
#endif
}

std::shared_ptr<TrainingGroup> TrainingGroup::connect(const LaunchEnvironment& launch,
                                                      const DistributedOptions& options) {
  if (launch.world_size <= 1) return single();
#ifdef LUMAMBA_WITH_GLOO
  c10::intrusive_ptr<c10d::Store> store;
  std::string where;
  try {
    if (options.rendezvous.rfind("file:", 0) == 0) {
      where = options.rendezvous.substr(5);
      LUMAMBA_CHECK_INPUT(!where.empty(), "--rendezvous file:PATH needs a path");
      store = c10::make_intrusive<c10d::FileStore>(where, static_cast<int>(launch.world_size));
    } else {
      LUMAMBA_CHECK_INPUT(options.rendezvous.empty() || options.rendezvous == "tcp",
                          "--rendezvous must be tcp or file:PATH, got '{}'", options.rendezvous);
      where = fmt::format("{}:{}", launch.master_addr, launch.master_port);
      c10d::TCPStoreOptions o;
      o.port = static_cast<uint16_t>(launch.master_port);
      o.isServer = launch.rank == 0;
      o.numWorkers = static_cast<size_t>(launch.world_size);
      o.waitWorkers = true;
      o.timeout = options.timeout;
      store = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, o);
    }
    store->setTimeout(options.timeout);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(fmt::format("rank {} of {} ({}): rendezvous at {} failed: {}", launch.rank, launch.world_size,
                                 launch.launcher, where, first_line(e.what())));
  }
  const std::string host = is_loopback(launch.master_addr) ? "127.0.0.1" : "";
  auto group = std::make_shared<GlooGroup>(store, launch.rank, launch.world_size, host, options.timeout);
  log::info("rank {} of {} ({}; local rank {}), rendezvous {}", launch.rank, launch.world_size, launch.launcher,
            launch.local_rank, where);
  return group;
#else
  (void)options;
  throw InputError(fmt::format("{} ranks were launched ({}), but this lumamba was built without LibTorch's Gloo "
                               "backend (install libgloo-dev and rebuild: scripts/install-deps.sh)",
                               launch.world_size, launch.launcher));
#endif
}

std::shared_ptr<TrainingGroup> TrainingGroup::in_process(const std::string& name, int64_t rank, int64_t world_size,
                                                         std::chrono::milliseconds timeout) {
  if (world_size <= 1) return single();
#ifdef LUMAMBA_WITH_GLOO
  static std::mutex mutex;
  static std::map<std::string, c10::intrusive_ptr<c10d::Store>> stores;
  c10::intrusive_ptr<c10d::Store> store;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto& s = stores[name];
    if (!s) s = c10::make_intrusive<c10d::HashStore>();
    store = s;
  }
  store->setTimeout(timeout);
  return std::make_shared<GlooGroup>(store, rank, world_size, "127.0.0.1", timeout);
#else
  (void)name;
  (void)rank;
  (void)timeout;
  throw InputError("in-process ranks need LibTorch's Gloo backend (libgloo-dev)");
#endif
}

std::vector<double> TrainingGroup::sum(const std::vector<double>& values) {
  if (!distributed() || values.empty()) return values;
  std::vector<torch::Tensor> t{torch::tensor(values, torch::kFloat64)};
  all_reduce_sum(t);
  const auto* p = t[0].data_ptr<double>();
  return std::vector<double>(p, p + values.size());
}

void TrainingGroup::broadcast_bytes(std::string& bytes) {
  if (!distributed()) return;
  std::vector<torch::Tensor> size{torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kLong)};
  broadcast_from_main(size);
  const int64_t n = size[0].item<int64_t>();
  std::vector<torch::Tensor> data{torch::zeros({n}, torch::kUInt8)};
  if (is_main()) std::memcpy(data[0].data_ptr<uint8_t>(), bytes.data(), bytes.size());
  broadcast_from_main(data);
  if (!is_main()) bytes.assign(reinterpret_cast<const char*>(data[0].data_ptr<uint8_t>()), static_cast<size_t>(n));
}

RowShare share_of_rows(int64_t batch_size, int64_t rank, int64_t world_size) {
  const int64_t base = batch_size / world_size, extra = batch_size % world_size;
  RowShare s;
  s.count = base + (rank < extra ? 1 : 0);
  s.first = rank * base + std::min(rank, extra);
  return s;
}

uint64_t rank_step_seed(uint64_t seed, int64_t step, int64_t rank) {
  // splitmix64 over the three values: nearby inputs give unrelated seeds.
  uint64_t x = seed;
  for (const uint64_t v : {static_cast<uint64_t>(step), static_cast<uint64_t>(rank)}) {
    x += 0x9E3779B97F4A7C15ULL + v;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    x ^= x >> 31;
  }
  return x;
}

std::vector<int64_t> rank_share(const std::vector<int64_t>& rows, const TrainingGroup& group) {
  const auto share = share_of_rows(static_cast<int64_t>(rows.size()), group.rank(), group.world_size());
  return {rows.begin() + share.first, rows.begin() + share.first + share.count};
}

FileFromMain::FileFromMain(TrainingGroup& group, const std::string& main_path, const std::string& name)
    : path_(main_path) {
  if (!group.distributed()) return;
  std::string bytes = group.is_main() ? read_text_file(main_path) : std::string();
  group.broadcast_bytes(bytes);
  if (group.is_main()) return;
  path_ = (std::filesystem::temp_directory_path() /
           fmt::format("lumamba-rank{}-{}-{}", group.rank(), static_cast<long>(::getpid()), name))
              .string();
  write_text_file_atomic(path_, bytes);
  temporary_ = true;
}

FileFromMain::~FileFromMain() {
  if (!temporary_) return;
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

void all_reduce_gradients(TrainingGroup& group, const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes) {
  if (!group.distributed()) return;
  // Parameters with a gradient, grouped by dtype, flattened into buckets.
  std::map<c10::ScalarType, std::vector<torch::Tensor>> by_dtype;
  for (const auto& p : parameters) {
    if (p.grad().defined()) by_dtype[p.grad().scalar_type()].push_back(p.grad());
  }
  for (auto& [dtype, grads] : by_dtype) {
    size_t i = 0;
    while (i < grads.size()) {
      std::vector<torch::Tensor> bucket;
      int64_t bytes = 0;
      while (i < grads.size() && (bucket.empty() || bytes + grads[i].numel() * grads[i].element_size() <= bucket_bytes)) {
        bytes += grads[i].numel() * grads[i].element_size();
        bucket.push_back(grads[i++]);
      }
      std::vector<torch::Tensor> flat{torch::cat([&] {
        std::vector<torch::Tensor> views;
        for (const auto& g : bucket) views.push_back(g.reshape({-1}));
        return views;
      }(), 0)};
      group.all_reduce_sum(flat);
      int64_t offset = 0;
      for (auto& g : bucket) {
        g.copy_(flat[0].narrow(0, offset, g.numel()).view_as(g));
        offset += g.numel();
      }
    }
  }
}

namespace {
// forward: all-reduce sum; backward: all-reduce sum of the gradient (the adjoint of a sum that
// every rank computes identically).
struct SumOverRanksFunction : public torch::autograd::Function<SumOverRanksFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& values,
                               int64_t group_address) {
    ctx->saved_data["group"] = group_address;
    std::vector<torch::Tensor> v{values.detach().contiguous().clone()};
    reinterpret_cast<TrainingGroup*>(group_address)->all_reduce_sum(v);
    return v[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* group = reinterpret_cast<TrainingGroup*>(ctx->saved_data["group"].toInt());
    std::vector<torch::Tensor> v{grads[0].contiguous().clone()};
    group->all_reduce_sum(v);
    return {v[0], torch::Tensor()};
  }
};
}  // namespace

torch::Tensor sum_over_ranks(TrainingGroup& group, const torch::Tensor& values) {
  LUMAMBA_CHECK(values.dim() == 1, "sum_over_ranks takes a 1-D tensor, got {} dimensions", values.dim());
  if (!group.distributed()) return values;
  return SumOverRanksFunction::apply(values, reinterpret_cast<int64_t>(&group));
}

void broadcast_module_state(TrainingGroup& group, const std::vector<torch::Tensor>& parameters_and_buffers) {
  if (!group.distributed()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors;
  for (const auto& t : parameters_and_buffers) {
    if (t.defined()) tensors.push_back(t.detach());
  }
  // Gloo broadcasts contiguous tensors one by one; a flat copy per dtype is one message each.
  std::map<c10::ScalarType, std::vector<torch::Tensor>> by_dtype;
  for (const auto& t : tensors) by_dtype[t.scalar_type()].push_back(t);
  for (auto& [dtype, ts] : by_dtype) {
    std::vector<torch::Tensor> views;
    for (const auto& t : ts) views.push_back(t.reshape({-1}));
    std::vector<torch::Tensor> flat{torch::cat(views, 0)};
    group.broadcast_from_main(flat);
    int64_t offset = 0;
    for (auto& t : ts) {
      t.copy_(flat[0].narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
  }
}

}  // namespace lumamba::train
