// Whole-recording encoder (see lumamba/model/long_recording.h).
#include "lumamba/model/long_recording.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/normalization.h>
#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/core/progress.h"
#include "lumamba/model/fmt_shape.h"
#include "lumamba/model/mamba.h"

namespace lumamba::model {
namespace {

// Count, mean and sum of squared deviations per row, merged chunk by chunk with Chan et al.'s
// pairwise formula in float64 (a one-pass sum of squares would lose the variance of signals with
// a large offset).
class RunningMoments {
 public:
  /// rows (G, n): n more observations of each of the G quantities.
  void add(const torch::Tensor& rows) {
    auto x = rows.to(torch::kFloat64);
    const double n_b = static_cast<double>(x.size(1));
    auto mean_b = x.mean(1);
    auto m2_b = (x - mean_b.unsqueeze(1)).square().sum(1);
    if (count_ == 0) {
      mean_ = mean_b;
      m2_ = m2_b;
    } else {
      const double total = count_ + n_b;
      auto delta = mean_b - mean_;
      mean_ = mean_ + delta * (n_b / total);
      m2_ = m2_ + m2_b + delta.square() * (count_ * n_b / total);
    }
    count_ += n_b;
  }
  torch::Tensor mean() const { return mean_; }
  torch::Tensor variance(bool unbiased) const { return m2_ / (count_ - (unbiased ? 1.0 : 0.0)); }

 private:
  double count_ = 0;
  torch::Tensor mean_, m2_;
};

struct ChunkPlan {
  int64_t n_patches = 0, chunk = 0;
  int64_t n_chunks() const { return (n_patches + chunk - 1) / chunk; }
  int64_t first(int64_t i) const { return i * chunk; }
  int64_t size(int64_t i) const { return std::min(chunk, n_patches - i * chunk); }
};

}  // namespace

torch::Tensor encode_whole_recording(LuMambaImpl& model, const torch::Tensor& signal,
                                     const torch::Tensor& channel_locations, const WholeRecordingOptions& options) {
  const int64_t p = model.options.patch_size(), e = model.options.embed_dim(), d = model.options.d_model();
  LUMAMBA_CHECK_INPUT(signal.dim() == 2 && signal.size(0) > 0, "whole-recording signal must be (C, T), got {}",
                      signal.sizes());
  const int64_t c = signal.size(0), s = signal.size(1) / p;
  LUMAMBA_CHECK_INPUT(s >= 1, "the recording has {} samples, fewer than one patch of {}", signal.size(1), p);
  LUMAMBA_CHECK_INPUT(channel_locations.dim() == 2 && channel_locations.size(0) == c && channel_locations.size(1) == 3,
                      "channel_locations must be (C={}, 3), got {}", c, channel_locations.sizes());
  LUMAMBA_CHECK_INPUT(options.chunk_patches >= 1, "chunk_patches must be >= 1, got {}", options.chunk_patches);
  torch::NoGradGuard no_grad;
  const ChunkPlan plan{s, options.chunk_patches};
  const int64_t n_chunks = plan.n_chunks();
  const int64_t directions = model.options.bidirectional() ? 2 : 1;
  const int64_t total_steps = n_chunks * (1 + PatchEmbedNetworkImpl::kNormLayers + 1 +
                                          model.options.num_blocks() * directions);
  std::unique_ptr<Progress> progress;
  if (options.show_progress) progress = std::make_unique<Progress>("chunks", total_steps);
  auto step = [&] {
    if (progress) progress->advance(1);
  };
  auto samples = [&](int64_t i) { return signal.narrow(1, plan.first(i) * p, plan.size(i) * p); };  // (C, Sc·P)

  // 1. z-score statistics of the whole recording (unbiased std + 1e-8, as in windowed mode).
  RunningMoments channel_moments;
  for (int64_t i = 0; i < n_chunks; ++i, step()) channel_moments.add(samples(i));
  LUMAMBA_CHECK_INPUT(s * p >= 2, "the recording is too short for a z-score");
  const auto channel_mean = channel_moments.mean().to(signal.dtype()).unsqueeze(1);                 // (C, 1)
  const auto channel_scale = (channel_moments.variance(true).sqrt() + 1e-8).to(signal.dtype()).unsqueeze(1);
  auto zscored = [&](int64_t i) { return ((samples(i) - channel_mean) / channel_scale).unsqueeze(0); };  // (1, C, Sc·P)

  // GroupNorm statistics of the patch embedder, layer after layer.
  std::vector<GroupStats> group_stats;
  for (int layer = 0; layer < PatchEmbedNetworkImpl::kNormLayers; ++layer) {
    RunningMoments moments;
    int64_t groups = 0;
    for (int64_t i = 0; i < n_chunks; ++i, step()) {
      auto h = model.patch_embed->group_norm_input(zscored(i), group_stats, layer);  // (1, E/4, C·Sc, W)
      if (groups == 0) {
        auto it = model.patch_embed->proj_in->begin() + (3 * layer + 1);
        groups = it->ptr()->as<torch::nn::GroupNormImpl>()->options.num_groups();
      }
      moments.add(h.reshape({groups, -1}));
    }
    group_stats.push_back({moments.mean(), moments.variance(false)});
  }

  // 2. front end chunk by chunk into the latent (1, S, D).
  const auto location_emb = model.location_embedding(channel_locations.to(signal.dtype()).unsqueeze(0));  // (1, C, E)
  auto x = torch::empty({1, s, d}, signal.options());
  for (int64_t i = 0; i < n_chunks; ++i, step()) {
    const int64_t sc = plan.size(i);
    const auto z = zscored(i);
    auto tokens = model.patch_embed->forward_with_stats(z, group_stats) + model.freq_embed->forward(z);  // (1, C·Sc, E)
    auto rows = (tokens.view({1, c, sc, e}) + location_emb.unsqueeze(2)).transpose(1, 2).reshape({sc, c, e});
    x.narrow(1, plan.first(i), sc).copy_(model.cross_attn->forward(rows).queries.reshape({1, sc, d}));
  }

  // 3. residual bidirectional Mamba blocks over the whole sequence.
  for (int64_t b = 0; b < model.options.num_blocks(); ++b) {
    auto* norm = model.norm_layers[static_cast<size_t>(b)]->as<torch::nn::LayerNorm>();
    auto* block = model.mamba_blocks[static_cast<size_t>(b)]->as<MambaWrapperImpl>();
    auto mixed = torch::empty_like(x);  // (1, S, D): fwd, then fwd + rev (or fwd ⊙ rev)
    MambaStreamState forward_state;
    for (int64_t i = 0; i < n_chunks; ++i, step()) {
      auto in = norm->forward(x.narrow(1, plan.first(i), plan.size(i)));
      mixed.narrow(1, plan.first(i), plan.size(i)).copy_(block->mamba_fwd->forward_chunk(in, forward_state, false));
    }
    if (block->options.bidirectional()) {
      const bool add = block->options.bidirectional_strategy() == "add";
      MambaStreamState reverse_state;
      for (int64_t i = n_chunks - 1; i >= 0; --i, step()) {
        auto in = norm->forward(x.narrow(1, plan.first(i), plan.size(i)));
        auto rev = block->mamba_rev->forward_chunk(in, reverse_state, true);
        auto dst = mixed.narrow(1, plan.first(i), plan.size(i));
        if (add) dst.add_(rev);
        else dst.mul_(rev);
      }
    }
    x = x + mixed;
  }
  if (progress) progress->finish();
  return x;
}

torch::Tensor classify_whole_recording(LuMambaImpl& model, const torch::Tensor& encoder_out,
                                       const WholeRecordingOptions& options) {
  LUMAMBA_CHECK_INPUT(!model.options.is_pretraining(),
                      "a pretraining model (num_classes = 0) has no classification head");
  LUMAMBA_CHECK_INPUT(encoder_out.dim() == 3 && encoder_out.size(0) == 1 && encoder_out.size(2) == model.options.d_model(),
                      "whole-recording encoder output must be (1, S, {}), got {}", model.options.d_model(),
                      encoder_out.sizes());
  torch::NoGradGuard no_grad;
  // In eval mode head_norm is a per-feature affine map, so normalising the whole sequence at once
  // equals normalising each window.
  const auto head_in = model.head_input(encoder_out);  // (1, S, D)
  if (model.luna_classifier) return model.luna_classifier->forward(head_in);
  if (model.linear_classifier) return model.linear_classifier->forward(head_in);
  // Mamba head: fc1 → GELU → Mamba over the sequence (chunks, carried state) → mean → fc3.
  auto& head = *model.mamba_classifier;
  const int64_t s = head_in.size(1);
  const ChunkPlan plan{s, std::max<int64_t>(1, options.chunk_patches)};
  MambaStreamState state;
  torch::Tensor sum;
  for (int64_t i = 0; i < plan.n_chunks(); ++i) {
    auto h = torch::gelu(head.fc1->forward(head_in.narrow(1, plan.first(i), plan.size(i))));
    auto y = head.mamba_1->forward_chunk(h, state, false).sum(1);  // (1, H)
    sum = sum.defined() ? sum + y : y;
  }
  return head.fc3->forward(sum / static_cast<double>(s));
}

}  // namespace lumamba::model
