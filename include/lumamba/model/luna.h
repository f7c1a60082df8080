// lumamba/model/luna.h — the topology-invariant front end and heads LuMamba takes from LUNA
// (models/LUNA.py @1923999, models/modules/frequency_embedder.py, channel_embeddings.py).
// Legend: B batch, C channels, T samples, P patch_size, S = T/P patches, E embed_dim,
// Q num_queries, D = Q·E, V vocabulary size.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "lumamba/model/layers.h"
#include "lumamba/model/trace.h"

namespace lumamba::model {

/// A container whose only child is the ModuleList "layers" (mirrors nn.TransformerEncoder /
/// nn.TransformerDecoder so parameter names read "<name>.layers.<i>.…").
class LayerStackImpl : public torch::nn::Cloneable<LayerStackImpl> {
 public:
  LayerStackImpl() { reset(); }
  void reset() override { layers = register_module("layers", torch::nn::ModuleList()); }
  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(LayerStack);

namespace functional {
/// NeRF sinusoidal encoding of (N, C, 3) coordinates to (N, C, embed_size): bands 2^0..2^(F-1),
/// F = embed_size / 6, value index f·6 + d·2 + {sin, cos}, zero padded (docs/reference-model.md §3.3).
torch::Tensor nerf_positional_encoding(const torch::Tensor& coords, int64_t embed_size);
/// Per-sample, per-axis min-max normalisation over channels: (B, C, 3) -> [0, 1] (docs/reference-model.md §3.3).
torch::Tensor normalize_locations(const torch::Tensor& locations);
/// (B, C, S, P) patches -> (B, C, S, 2·(P/2+1)) [|rfft|, angle(rfft)] features (docs/reference-model.md §3.2).
/// CPU float32/float64 patches that need no gradient (the model's input signal never does) take the
/// fused magnitude/phase kernel (kernels/spectrum_features_cpu.h); anything else fft_features_ops.
torch::Tensor fft_features(const torch::Tensor& patches);
/// The same features from LibTorch ops (any device and dtype, differentiable): the generic path
/// and the tests' reference for the kernel.
torch::Tensor fft_features_ops(const torch::Tensor& patches);
}  // namespace functional

/// Statistics of one GroupNorm layer: per group mean and biased variance, (G,) float64.
struct GroupStats {
  torch::Tensor mean, var;
};

/// 3 × (Conv2d → GroupNorm(4, E/4) → GELU) over patches; GroupNorm statistics span the sample.
class PatchEmbedNetworkImpl : public torch::nn::Cloneable<PatchEmbedNetworkImpl> {
 public:
  PatchEmbedNetworkImpl(int64_t embed_dim, int64_t patch_size);
  void reset() override;
  /// (B, C, T) -> (B, C·S, E), token n = c·S + s
  torch::Tensor forward(const torch::Tensor& x);
  /// forward with the three GroupNorm layers normalising by `stats` instead of x's own statistics
  /// (whole-recording mode: statistics of the whole recording, applied chunk by chunk).
  torch::Tensor forward_with_stats(const torch::Tensor& x, const std::vector<GroupStats>& stats);
  /// What GroupNorm layer `layer` (0, 1, 2) receives for x, the layers before it normalised by
  /// stats[0 .. layer-1]: (B, E/4, C·S, W). Feeds the streaming pass that gathers that layer's stats.
  torch::Tensor group_norm_input(const torch::Tensor& x, const std::vector<GroupStats>& stats, int layer);
  static constexpr int kNormLayers = 3;
  int64_t embed_dim, patch_size;
  torch::nn::Sequential proj_in{nullptr};

 private:
  // Runs proj_in; GroupNorm i uses stats[i] when given (else x's statistics); stops before
  // GroupNorm `stop_before_norm` when >= 0 and returns its input.
  torch::Tensor run(const torch::Tensor& x, const std::vector<GroupStats>* stats, int stop_before_norm);
};
TORCH_MODULE(PatchEmbedNetwork);

/// rfft magnitude/phase per patch → timm Mlp(2·(P/2+1) → 4·(P/2+1)·... → E).
class FrequencyFeatureEmbedderImpl : public torch::nn::Cloneable<FrequencyFeatureEmbedderImpl> {
 public:
  FrequencyFeatureEmbedderImpl(int64_t embed_dim, int64_t patch_size);
  void reset() override;
  /// (B, C, T) -> (B, C·S, E). Records "freq_features" (B, C, S, F).
  torch::Tensor forward(const torch::Tensor& x, Trace* trace = nullptr);
  int64_t embed_dim, patch_size;
  Mlp frequency_to_embed{nullptr};
};
TORCH_MODULE(FrequencyFeatureEmbedder);

struct CrossAttentionOutput {
  torch::Tensor queries;            ///< (B·S, Q, E)
  torch::Tensor attention_weights;  ///< (B·S, Q, C), averaged over heads
};

/// Learned queries cross-attend over the channels of each patch, then 3 query self-attention layers.
class CrossAttentionBlockImpl : public torch::nn::Cloneable<CrossAttentionBlockImpl> {
 public:
  CrossAttentionBlockImpl(int64_t num_queries, int64_t embed_dim, int64_t num_heads, int64_t ff_dim,
                          double dropout = 0.1, int64_t num_self_attn_layers = 3);
  void reset() override;
  /// (B·S, C, E) -> queries (B·S, Q, E). Records "xattn.*" stages.
  CrossAttentionOutput forward(const torch::Tensor& x, Trace* trace = nullptr);
  int64_t num_queries, embed_dim, num_heads, ff_dim, num_self_attn_layers;
  double dropout;
  torch::Tensor query_embed, temparature;  // "temparature": unused scalar kept for the state dict
  MultiheadAttention cross_attention{nullptr};
  Mlp ffn{nullptr};
  torch::nn::LayerNorm keys_norm{nullptr}, values_norm{nullptr}, queries_norm{nullptr};
  LayerStack query_self_attn{nullptr};  // 3 × TransformerEncoderLayer (pre-norm)
};
TORCH_MODULE(CrossAttentionBlock);

/// Reconstruction decoder: one pre-norm decoder layer (queries = channel tokens, memory = the Q
/// latent tokens of the patch) → LayerNorm → Mlp(E → 4E → P).
class PatchReconstructionHeadWithQueriesImpl
    : public torch::nn::Cloneable<PatchReconstructionHeadWithQueriesImpl> {
 public:
  PatchReconstructionHeadWithQueriesImpl(int64_t patch_size, int64_t embed_dim, int64_t num_heads,
                                         int64_t num_queries);
  void reset() override;
  /// enc (B, S, Q·E), decoder_queries (B·S, C, E) -> (B, C, S·P). Records "decoder.*".
  torch::Tensor forward(const torch::Tensor& enc, const torch::Tensor& decoder_queries, Trace* trace = nullptr);
  int64_t patch_size, embed_dim, num_heads, num_queries;
  LayerStack decoder_pred{nullptr};  // 1 × TransformerDecoderLayer (pre-norm)
  torch::nn::LayerNorm norm{nullptr};
  Mlp decoder_linear{nullptr};
};
TORCH_MODULE(PatchReconstructionHeadWithQueries);

/// LUNA head: one learned query attention-pools the S latent tokens → Mlp(D → 4D → classes).
class ClassificationHeadWithQueriesImpl : public torch::nn::Cloneable<ClassificationHeadWithQueriesImpl> {
 public:
  ClassificationHeadWithQueriesImpl(int64_t d_model, int64_t num_heads, int64_t num_classes);
  void reset() override;
  /// (B, S, D) -> logits (B, classes). Records "classifier.pooled" (B, D).
  torch::Tensor forward(const torch::Tensor& x, Trace* trace = nullptr);
  int64_t d_model, num_heads, num_classes;
  torch::Tensor learned_agg;
  MultiheadAttention decoder_attn{nullptr};
  Mlp decoder_ffn{nullptr};
};
TORCH_MODULE(ClassificationHeadWithQueries);

/// BasicLinearClassifier (LuMamba.py): mean over S → Linear(D → classes) → GELU.
/// Reference quirk fixed: its forward has no `return` at @690bd65; we return the logits.
class BasicLinearClassifierImpl : public torch::nn::Cloneable<BasicLinearClassifierImpl> {
 public:
  BasicLinearClassifierImpl(int64_t d_model, int64_t num_classes);
  void reset() override;
  /// (B, S, D) -> (B, classes)
  torch::Tensor forward(const torch::Tensor& x);
  int64_t d_model, num_classes;
  torch::nn::Linear fc1{nullptr};
};
TORCH_MODULE(BasicLinearClassifier);

/// ChannelEmbeddings: nn.Embedding(V, E) under the name "embeddings".
class ChannelEmbeddingsImpl : public torch::nn::Cloneable<ChannelEmbeddingsImpl> {
 public:
  ChannelEmbeddingsImpl(int64_t vocab_size, int64_t embed_dim);
  void reset() override;
  /// (B, C) int64 -> (B, C, E)
  torch::Tensor forward(const torch::Tensor& indices);
  int64_t vocab_size, embed_dim;
  torch::nn::Embedding embeddings{nullptr};
};
TORCH_MODULE(ChannelEmbeddings);

}  // namespace lumamba::model
