// lumamba/model/lumamba.h — the LuMamba network (models/LuMamba.py @690bd65; docs/reference-model.md §3).
//
//   signal (B, C, T) ─ PatchEmbedNetwork + FrequencyFeatureEmbedder ─> tokens (B, C·S, E)
//   [mask tokens] + location embedding (NeRF of normalised 3-D positions → Mlp) ─> (B·S, C, E)
//   CrossAttentionBlock ─> (B·S, Q, E) ─> latent (B, S, D = Q·E)
//   num_blocks × [x + BiMamba(LayerNorm(x))] ─> encoder output (B, S, D)
//   num_classes == 0: reconstruction decoder ─> (B, C, T);  else classifier ─> logits (B, classes)
// Legend: B batch, C channels, T samples, P patch_size, S = T/P, E embed_dim, Q num_queries.
#pragma once

#include <functional>

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "lumamba/core/compat.h"
#include "lumamba/model/luna.h"
#include "lumamba/model/mamba.h"
#include "lumamba/model/options.h"
#include "lumamba/model/trace.h"

namespace lumamba::model {

struct LuMambaOutput {
  torch::Tensor encoder_out;        ///< (B, S, D)
  torch::Tensor attention_weights;  ///< (B·S, Q, C) head-averaged cross-attention weights
  torch::Tensor logits;             ///< (B, classes) when num_classes > 0
  torch::Tensor reconstruction;     ///< (B, C, T) when num_classes == 0
};

class LuMambaImpl : public torch::nn::Cloneable<LuMambaImpl> {
 public:
  explicit LuMambaImpl(const LuMambaOptions& options = LuMambaOptions());
  void reset() override;
  /// LUNA.initialize_weights over the front end, decoder and query classifier (called by reset()).
  void init_luna_weights();
  /// The classification head's input: encoder_out (B, S, D), through head_norm when there is one.
  torch::Tensor head_input(const torch::Tensor& encoder_out);

  /// Full model. signal (B, C, T) with T a multiple of patch_size; channel_locations (B, C, 3) in
  /// metres; mask (B, C, T) bool (true = masked), absent = no masking (an all-false mask is NOT
  /// the same as absent in the reference only through jitter, see options); channel_names (B, C)
  /// int64 vocabulary indices, required when num_classes == 0.
  LuMambaOutput forward(const torch::Tensor& signal, const torch::Tensor& channel_locations,
                        const compat::optional<torch::Tensor>& mask = compat::nullopt,
                        const compat::optional<torch::Tensor>& channel_names = compat::nullopt,
                        Trace* trace = nullptr);

  /// Encoder only (LuMamba.encode: no mask, no jitter): (B, S, D).
  torch::Tensor encode(const torch::Tensor& signal, const torch::Tensor& channel_locations,
                       Trace* trace = nullptr);

  /// Per-channel location embedding, (B, C, 3) metres -> (B, C, E): min-max normalised, NeRF
  /// encoded, Mlp. `jitter` > 0 adds Gaussian noise of that size to the normalised positions.
  torch::Tensor location_embedding(const torch::Tensor& channel_locations, double jitter = 0.0,
                                   Trace* trace = nullptr);

  LuMambaOptions options;
  PatchEmbedNetwork patch_embed{nullptr};
  FrequencyFeatureEmbedder freq_embed{nullptr};
  torch::nn::ModuleList channel_location_embedder{nullptr};  // [0] = Mlp(E → 2E, LN → E)
  torch::Tensor mask_token;
  CrossAttentionBlock cross_attn{nullptr};
  torch::nn::ModuleList mamba_blocks{nullptr};  // MambaWrapper × num_blocks
  torch::nn::ModuleList norm_layers{nullptr};   // LayerNorm(D) × num_blocks
  // Exactly one of these groups is set, by num_classes / classifier_option:
  PatchReconstructionHeadWithQueries decoder_head{nullptr};
  ChannelEmbeddings channel_emb{nullptr};
  ClassificationHeadWithQueries luna_classifier{nullptr};  // registered as "classifier"
  torch::nn::BatchNorm1d head_norm{nullptr};               // head_norm = batch: BatchNorm1d(D)
  /// Data-parallel training: sums a 1-D tensor of per-rank statistics over all ranks,
  /// differentiably (its backward sums the gradients over ranks too). When set, head_norm in
  /// training mode normalises with the statistics of the global batch (synchronised batch norm),
  /// as one process with the whole batch would; unset, with those of this process's windows.
  std::function<torch::Tensor(const torch::Tensor&)> sum_over_ranks;
  MambaClassifier mamba_classifier{nullptr};               // registered as "classifier"
  BasicLinearClassifier linear_classifier{nullptr};        // registered as "classifier"

 private:
  torch::Tensor head_norm_over_ranks(const torch::Tensor& encoder_out);  // (B, S, D) -> (B, S, D)
  struct Tokens {
    torch::Tensor tokens;        // (B·S, C, E) with location embedding added
    torch::Tensor location_emb;  // (B·S, C, E) the per-row location embedding that was added
  };
  void check_inputs(const torch::Tensor& signal, const torch::Tensor& channel_locations,
                    const compat::optional<torch::Tensor>& mask) const;
  Tokens prepare_tokens(const torch::Tensor& signal, const torch::Tensor& channel_locations,
                        const compat::optional<torch::Tensor>& mask, Trace* trace);
  torch::Tensor tile_per_patch(const torch::Tensor& per_sample, int64_t n_patches) const;
  torch::Tensor run_encoder(const Tokens& tokens, int64_t batch, Trace* trace,
                            torch::Tensor* attention_weights);
};
TORCH_MODULE(LuMamba);

/// Parameter count of a module (all registered parameters, trainable or not).
int64_t count_parameters(const torch::nn::Module& module);

}  // namespace lumamba::model
