// lumamba/model/mamba.h — Mamba-1 block and its wrappers.
//   Mamba            mamba_ssm/modules/mamba_simple.py::Mamba (v2.3.2.post1), slow path
//   MambaWrapper     models/FEMBA.py::MambaWrapper @1923999 (bidirectional, add / ew_multiply)
//   MambaClassifier  models/FEMBA.py::MambaClassifier (classifier_option "mamba")
// Legend: B batch, L sequence length (= S patches), Dm d_model, Di d_inner, N d_state, R dt_rank.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "lumamba/model/options.h"
#include "lumamba/model/trace.h"

namespace lumamba::model {

/// What a Mamba block carries from one chunk of a long sequence to the next (inference only):
/// the last d_conv−1 conv inputs (the first ones in reverse time) and the scan state.
struct MambaStreamState {
  torch::Tensor conv_context;  ///< (B, Di, d_conv−1); undefined = zeros (the sequence's padding)
  torch::Tensor ssm_state;     ///< (B, Di, N); undefined = zeros
};

class MambaImpl : public torch::nn::Cloneable<MambaImpl> {
 public:
  explicit MambaImpl(const MambaOptions& options);
  void reset() override;
  /// (B, L, Dm) -> (B, L, Dm). reverse = true runs the block in reversed time and returns the result
  /// in natural order, i.e. flip(forward(flip(x))) up to rounding, without flipped copies: the
  /// depthwise conv becomes anti-causal (flipped taps, padded on the right) and the scan runs t = L-1 … 0.
  torch::Tensor forward(const torch::Tensor& hidden_states, bool reverse = false);
  /// One chunk of a longer sequence, (B, Lc, Dm) -> (B, Lc, Dm), continuing from `state` and
  /// updating it. Chunks fed in order (reverse = false) or from the last to the first (reverse =
  /// true, each chunk in natural order) give exactly forward(whole sequence, reverse) chunk by chunk.
  torch::Tensor forward_chunk(const torch::Tensor& chunk, MambaStreamState& state, bool reverse);
  MambaOptions options;
  torch::nn::Linear in_proj{nullptr}, x_proj{nullptr}, dt_proj{nullptr}, out_proj{nullptr};
  torch::nn::Conv1d conv1d{nullptr};
  torch::Tensor A_log, D;

 private:
  /// Everything after conv + SiLU: x_proj → dt_proj → scan → out_proj. x_act (B, L, Di)
  /// contiguous (time-major), z (B, Di, L) -> (B, L, Dm); the scan's state in/out through `state`.
  torch::Tensor mix(const torch::Tensor& x_act, const torch::Tensor& z, bool reverse, MambaStreamState* state);
};
TORCH_MODULE(Mamba);

struct MambaWrapperOptions {
  MambaWrapperOptions(MambaOptions mamba) : mamba_(std::move(mamba)) {}
  TORCH_ARG(MambaOptions, mamba);
  TORCH_ARG(bool, bidirectional) = true;
  /// "add" or "ew_multiply".
  TORCH_ARG(std::string, bidirectional_strategy) = "add";
};

class MambaWrapperImpl : public torch::nn::Cloneable<MambaWrapperImpl> {
 public:
  explicit MambaWrapperImpl(const MambaWrapperOptions& options);
  void reset() override;
  /// (B, L, Dm) -> (B, L, Dm). Records "<prefix>mamba_fwd", "<prefix>mamba_rev_reversed_time",
  /// "<prefix>bimamba" into trace when given. The reverse direction runs Mamba::forward(x, reverse)
  /// (no flipped copies); "mamba_rev_reversed_time" is flipped only for the trace.
  torch::Tensor forward(const torch::Tensor& x, Trace* trace = nullptr, const std::string& prefix = "");
  MambaWrapperOptions options;
  Mamba mamba_fwd{nullptr}, mamba_rev{nullptr};
};
TORCH_MODULE(MambaWrapper);

struct MambaClassifierOptions {
  MambaClassifierOptions(int64_t in_features, int64_t num_classes, MambaOptions mamba)
      : in_features_(in_features), num_classes_(num_classes), mamba_(std::move(mamba)) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(MambaOptions, mamba);
};

/// Linear(Q·E → H) → GELU → Mamba(H) → mean over L → Linear(H → classes).
class MambaClassifierImpl : public torch::nn::Cloneable<MambaClassifierImpl> {
 public:
  explicit MambaClassifierImpl(const MambaClassifierOptions& options);
  void reset() override;
  /// (B, L, Q·E) -> (B, classes)
  torch::Tensor forward(const torch::Tensor& x);
  MambaClassifierOptions options;
  torch::nn::Linear fc1{nullptr}, fc3{nullptr};
  Mamba mamba_1{nullptr};
};
TORCH_MODULE(MambaClassifier);

}  // namespace lumamba::model
