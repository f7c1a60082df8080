// lumamba/train/distributed.h — data-parallel training on LibTorch's own collective engine (c10d:
// Gloo process groups over TCP, rendezvous through a TCPStore or a FileStore). No communication
// code of our own: this wraps what LibTorch ships (docs/distributed.md).
//
//   launcher env (torchrun | srun | mpirun) ─ detect_launch ─ TrainingGroup::connect ─┐
//   every global batch (B windows, same plan on every rank) ─ rank r takes its rows ──┤
//   loss × (rank's share of the batch) ─ backward ─ all_reduce_sum(gradients) ─ step ─┘
//
// A single process is a TrainingGroup of one: every collective is the identity, so the training
// loops have one code path and a lone process computes exactly what it did before.
#pragma once

#include <torch/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lumamba::train {

/// How this process was started and where rank 0 listens.
struct LaunchEnvironment {
  std::string launcher = "single";  ///< "torchrun" (or any RANK/WORLD_SIZE launcher), "slurm", "mpirun", "single"
  int64_t rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

/// Reads the launcher's variables, in this order: RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR /
/// MASTER_PORT (torchrun --no_python, or set by hand); SLURM_PROCID / SLURM_NTASKS /
/// SLURM_LOCALID with the first host of SLURM_STEP_NODELIST (or SLURM_JOB_NODELIST) as master;
/// OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK. MASTER_ADDR / MASTER_PORT override the derived
/// master for Slurm and Open MPI too. InputError names a variable that is malformed or out of range.
LaunchEnvironment detect_launch(const EnvLookup& env);
/// detect_launch over the process environment.
LaunchEnvironment detect_launch();

/// The first host name of a Slurm node list: "node[03-05,7],gpu1" -> "node03".
std::string first_host_of_slurm_nodelist(const std::string& nodelist);

struct DistributedOptions {
  /// "" or "tcp": a c10d TCPStore served by rank 0 at MASTER_ADDR:MASTER_PORT; "file:PATH": a
  /// c10d FileStore on a file system all ranks share (PATH must not exist before the job).
  std::string rendezvous;
  /// How long a rank waits for the others (rendezvous and every collective) before it fails.
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};

/// The ranks of one training job, or one process alone (world size 1).
class TrainingGroup {
 public:
  /// A process on its own: rank 0 of 1, collectives do nothing.
  static std::shared_ptr<TrainingGroup> single();
  /// Joins the job described by `launch` (single() when its world size is 1). Throws InputError
  /// naming the rendezvous when the others do not arrive within the timeout.
  static std::shared_ptr<TrainingGroup> connect(const LaunchEnvironment& launch, const DistributedOptions& options);
  /// Ranks that share an in-memory store: threads of one process (tests).
  static std::shared_ptr<TrainingGroup> in_process(const std::string& name, int64_t rank, int64_t world_size,
                                                   std::chrono::milliseconds timeout = std::chrono::minutes(1));
  /// True when LibTorch's Gloo backend was found at build time (else connect() refuses world size > 1).
  static bool available();

  virtual ~TrainingGroup() = default;
  int64_t rank() const { return rank_; }
  int64_t world_size() const { return world_size_; }
  bool is_main() const { return rank_ == 0; }
  bool distributed() const { return world_size_ > 1; }

  /// Rank 0's values into every rank's tensors, in place (contiguous CPU tensors).
  virtual void broadcast_from_main(std::vector<torch::Tensor>& tensors) = 0;
  /// Element-wise sum over ranks, in place (contiguous CPU tensors of one dtype each).
  virtual void all_reduce_sum(std::vector<torch::Tensor>& tensors) = 0;
  /// Every rank's (n_r, ...) rows concatenated in rank order (n_r may differ, even be 0).
  virtual torch::Tensor all_gather_rows(const torch::Tensor& rows) = 0;
  virtual void barrier() = 0;

  /// Sums of doubles over ranks (in float64).
  std::vector<double> sum(const std::vector<double>& values);
  /// Every rank's bytes as rank 0 sent them (rank 0's `bytes` is the input; others' is replaced).
  void broadcast_bytes(std::string& bytes);

 protected:
  TrainingGroup(int64_t rank, int64_t world_size) : rank_(rank), world_size_(world_size) {}

 private:
  int64_t rank_, world_size_;
};

/// Rows [first, first + count) of a batch of `batch_size` that rank `rank` of `world_size` takes:
/// contiguous, in rank order, sizes differing by at most one (the first ranks take the extra rows).
struct RowShare {
  int64_t first = 0, count = 0;
};
RowShare share_of_rows(int64_t batch_size, int64_t rank, int64_t world_size);
/// This rank's share (share_of_rows) of `rows`: all of them in one process.
std::vector<int64_t> rank_share(const std::vector<int64_t>& rows, const TrainingGroup& group);

/// A file that rank 0 has, readable on every rank: rank 0 reads `main_path` itself; the other
/// ranks get its bytes and a private temporary copy (they need not see rank 0's disk), removed
/// with this object. `name` names the copy ("best.safetensors"). Every rank must construct it.
class FileFromMain {
 public:
  FileFromMain(TrainingGroup& group, const std::string& main_path, const std::string& name);
  ~FileFromMain();
  FileFromMain(const FileFromMain&) = delete;
  FileFromMain& operator=(const FileFromMain&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool temporary_ = false;
};

/// The seed of rank `rank`'s generator at optimiser step `step` of a data-parallel job (a mix of
/// the three, so that ranks draw different numbers and a resumed job draws the same ones).
uint64_t rank_step_seed(uint64_t seed, int64_t step, int64_t rank);

/// Sums every parameter's gradient over ranks in flat buckets of at most `bucket_bytes` (one
/// all-reduce per bucket; parameters without a gradient are skipped on every rank alike). A
/// no-op for one process.
void all_reduce_gradients(TrainingGroup& group, const std::vector<torch::Tensor>& parameters,
                          int64_t bucket_bytes = 25 << 20);

/// Sum of a 1-D tensor over ranks that autograd differentiates: its backward sums the incoming
/// gradients over ranks, so every rank's inputs get the gradient of the sum of all ranks' losses
/// (synchronised batch statistics, SIGReg over the global batch). Every rank must call it, and
/// run backward through it, in the same order.
torch::Tensor sum_over_ranks(TrainingGroup& group, const torch::Tensor& values);

/// Rank 0's parameters and buffers into every rank's module (the same initial weights everywhere).
void broadcast_module_state(TrainingGroup& group, const std::vector<torch::Tensor>& parameters_and_buffers);

}  // namespace lumamba::train
