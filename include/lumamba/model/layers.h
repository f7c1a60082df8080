// lumamba/model/layers.h — the generic building blocks the reference takes from timm/torch:
// timm `Mlp`, torch `nn.MultiheadAttention` (packed in_proj, head-averaged weights) and the
// pre-norm (`norm_first=True`) Transformer encoder/decoder layers.
//
// Why our own: parameter names must equal the reference state_dict keys (in_proj_weight,
// out_proj.weight, linear1, norm1, ...), the attention weights must be returned averaged over heads,
// and LibTorch 1.13's C++ Transformer layers have no norm_first. Shape legend: N batch rows,
// L query length, M key length, E width, h heads.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "lumamba/core/compat.h"

namespace lumamba::model {

/// timm Mlp: fc1 -> GELU -> dropout -> [LayerNorm(hidden)] -> fc2 -> dropout.
struct MlpOptions {
  MlpOptions(int64_t in, int64_t hidden, int64_t out) : in_features_(in), hidden_features_(hidden), out_features_(out) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, hidden_features);
  TORCH_ARG(int64_t, out_features);
  /// LayerNorm on the hidden activations (timm norm_layer). Default: false.
  TORCH_ARG(bool, hidden_norm) = false;
  /// Dropout after the activation and after fc2 (training only). Default: 0.
  TORCH_ARG(double, dropout) = 0.0;
};

class MlpImpl : public torch::nn::Cloneable<MlpImpl> {
 public:
  explicit MlpImpl(const MlpOptions& options);
  void reset() override;
  /// (..., in) -> (..., out)
  torch::Tensor forward(const torch::Tensor& x);
  MlpOptions options;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(Mlp);

/// torch.nn.MultiheadAttention (batch_first=True), parameters in_proj_weight (3E, E),
/// in_proj_bias (3E), out_proj.{weight,bias}.
struct MultiheadAttentionOptions {
  MultiheadAttentionOptions(int64_t embed_dim, int64_t num_heads) : embed_dim_(embed_dim), num_heads_(num_heads) {}
  TORCH_ARG(int64_t, embed_dim);
  TORCH_ARG(int64_t, num_heads);
  /// Dropout on the attention probabilities (training only). Default: 0.
  TORCH_ARG(double, dropout) = 0.0;
};

struct AttentionOutput {
  torch::Tensor output;   ///< (N, L, E)
  torch::Tensor weights;  ///< (N, L, M) softmax weights averaged over heads
};

class MultiheadAttentionImpl : public torch::nn::Cloneable<MultiheadAttentionImpl> {
 public:
  explicit MultiheadAttentionImpl(const MultiheadAttentionOptions& options);
  void reset() override;
  /// query (N, L, E), key/value (N, M, E). Weights are computed only when need_weights.
  AttentionOutput forward(const torch::Tensor& query, const torch::Tensor& key,
                          const torch::Tensor& value, bool need_weights = true);
  MultiheadAttentionOptions options;
  torch::Tensor in_proj_weight, in_proj_bias;
  torch::nn::Linear out_proj{nullptr};
};
TORCH_MODULE(MultiheadAttention);

/// Options shared by the pre-norm encoder and decoder layers (d_model, nhead, dim_feedforward).
struct TransformerLayerOptions {
  TransformerLayerOptions(int64_t d_model, int64_t nhead, int64_t dim_feedforward)
      : d_model_(d_model), nhead_(nhead), dim_feedforward_(dim_feedforward) {}
  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, nhead);
  TORCH_ARG(int64_t, dim_feedforward);
  /// torch default 0.1 (encoder) ; the reference decoder uses 0.0.
  TORCH_ARG(double, dropout) = 0.1;
};

/// nn.TransformerEncoderLayer(norm_first=True, activation=gelu, batch_first=True):
/// y = x + SA(LN1(x)); y = y + W2·GELU(W1·LN2(y)).
class TransformerEncoderLayerImpl : public torch::nn::Cloneable<TransformerEncoderLayerImpl> {
 public:
  explicit TransformerEncoderLayerImpl(const TransformerLayerOptions& options);
  void reset() override;
  /// (N, L, E) -> (N, L, E)
  torch::Tensor forward(const torch::Tensor& x);
  TransformerLayerOptions options;
  MultiheadAttention self_attn{nullptr};
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
};
TORCH_MODULE(TransformerEncoderLayer);

/// nn.TransformerDecoderLayer(norm_first=True, activation=gelu, batch_first=True):
/// t = t + SA(LN1(t)); t = t + CA(LN2(t), memory); t = t + FF(LN3(t)). Memory is not normalised.
class TransformerDecoderLayerImpl : public torch::nn::Cloneable<TransformerDecoderLayerImpl> {
 public:
  explicit TransformerDecoderLayerImpl(const TransformerLayerOptions& options);
  void reset() override;
  /// tgt (N, L, E), memory (N, M, E) -> (N, L, E)
  torch::Tensor forward(const torch::Tensor& tgt, const torch::Tensor& memory);
  TransformerLayerOptions options;
  MultiheadAttention self_attn{nullptr}, multihead_attn{nullptr};
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
};
TORCH_MODULE(TransformerDecoderLayer);

/// LayerNorm with torch's defaults (eps 1e-5, affine).
torch::nn::LayerNorm make_layer_norm(int64_t dim);

}  // namespace lumamba::model
