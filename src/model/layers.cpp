// Generic layers: timm Mlp, torch MultiheadAttention, pre-norm Transformer layers
// (see lumamba/model/layers.h). Mirrors torch 1.13 nn.functional.multi_head_attention_forward:
// q is scaled by 1/sqrt(head_dim) before QKᵀ, softmax in the input dtype.
#include "lumamba/model/layers.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/linear.h>
#include <torch/nn/init.h>

#include <cmath>
#include <utility>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/model/cpu_kernels.h"
#include "lumamba/model/fmt_shape.h"
#include "lumamba/model/kernels/attention_cpu.h"

namespace lumamba::model {

namespace F = torch::nn::functional;

namespace {
// Attention products of many tiny matrices, (N, h, L, ·): LibTorch 1.13's CPU bmm makes one BLAS
// call per matrix (~4 µs each, serial over the batch), which dominated the query self-attention
// (L = M = num_queries = 6) at batch 64. When one matrix product has at most kTinyProduct
// multiplications, a broadcast multiply + sum (element-wise kernels, parallel over the batch) is
// 3-4× faster; larger products keep matmul.
constexpr int64_t kTinyProduct = 2048;

bool tiny_products(int64_t batch, int64_t l, int64_t m, int64_t k) { return batch >= 64 && l * m * k <= kTinyProduct; }

/// q (N, h, L, hd) · k (N, h, M, hd)ᵀ -> (N, h, L, M)
torch::Tensor attention_scores(const torch::Tensor& q, const torch::Tensor& k) {
  if (tiny_products(q.size(0) * q.size(1), q.size(2), k.size(2), q.size(3))) {
    // Counted by the MAC tracer as a (…, L, hd) x (…, hd, M) product (lumamba/bench/mac_trace.h).
    RECORD_FUNCTION("lumamba::batched_matmul", std::vector<c10::IValue>({q, k.transpose(-2, -1)}));
    return (q.unsqueeze(3) * k.unsqueeze(2)).sum(-1);  // (N, h, L, M, hd) summed over hd
  }
  return torch::matmul(q, k.transpose(-2, -1));
}

/// attn (N, h, L, M) · v (N, h, M, hd) -> (N, h, L, hd)
torch::Tensor attention_values(const torch::Tensor& attn, const torch::Tensor& v) {
  if (tiny_products(attn.size(0) * attn.size(1), attn.size(2), attn.size(3), v.size(3))) {
    RECORD_FUNCTION("lumamba::batched_matmul", std::vector<c10::IValue>({attn, v}));
    return (attn.unsqueeze(-1) * v.unsqueeze(2)).sum(3);  // (N, h, L, M, hd) summed over M
  }
  return torch::matmul(attn, v);
}
}  // namespace

torch::nn::LayerNorm make_layer_norm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5));
}

// ---------------------------------------------------------------------------------------- Mlp
MlpImpl::MlpImpl(const MlpOptions& options_) : options(options_) { reset(); }

void MlpImpl::reset() {
  fc1 = register_module("fc1", torch::nn::Linear(options.in_features(), options.hidden_features()));
  if (options.hidden_norm()) norm = register_module("norm", make_layer_norm(options.hidden_features()));
  fc2 = register_module("fc2", torch::nn::Linear(options.hidden_features(), options.out_features()));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  auto h = torch::gelu(fc1->forward(x));
  h = torch::dropout(h, options.dropout(), is_training());
  if (norm) h = norm->forward(h);
  h = fc2->forward(h);
  return torch::dropout(h, options.dropout(), is_training());
}

// ------------------------------------------------------------------------ MultiheadAttention
MultiheadAttentionImpl::MultiheadAttentionImpl(const MultiheadAttentionOptions& options_)
    : options(options_) {
  reset();
}

void MultiheadAttentionImpl::reset() {
  const int64_t e = options.embed_dim();
  LUMAMBA_CHECK_INPUT(e % options.num_heads() == 0,
                      "MultiheadAttention: embed_dim {} is not divisible by num_heads {}", e,
                      options.num_heads());
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * e, e}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * e}));
  out_proj = register_module("out_proj", torch::nn::Linear(e, e));
  torch::nn::init::xavier_uniform_(in_proj_weight);
  torch::nn::init::zeros_(out_proj->bias);
}

namespace {

template <typename T>
kernels::HeadsView<T> heads_view(const torch::Tensor& t) {  // t (N, L, ·) or (L, ·) shared, last dim contiguous
  if (t.dim() == 2) return {t.data_ptr<T>(), 0, t.stride(0)};
  return {t.data_ptr<T>(), t.stride(0), t.stride(1)};
}

/// softmax(q·kᵀ·scale)·v per head with kernels::attention_forward; q (N, L, E) or (L, E) shared by
/// all rows, k, v (N, M, E), each with a contiguous last dimension. Returns (N, L, E) and, when
/// asked, the head-averaged weights (N, L, M).
std::pair<torch::Tensor, torch::Tensor> fused_attention(const torch::Tensor& q, const torch::Tensor& k,
                                                        const torch::Tensor& v, int64_t heads, double scale,
                                                        bool need_weights) {
  const int64_t n = k.size(0), m = k.size(1), e = k.size(2), l = q.size(-2), hd = e / heads;
  {
    // The MAC tracer (lumamba/bench/mac_trace.h) counts the two products as (…, L, hd)·(…, hd, M)
    // and (…, L, M)·(…, M, hd); the shapes are views, built only while a callback is active.
    RECORD_FUNCTION("lumamba::batched_matmul",
                    std::vector<c10::IValue>({q.expand({n, l, e}).view({n, l, heads, hd}).transpose(1, 2),
                                              k.view({n, m, heads, hd}).permute({0, 2, 3, 1})}));
  }
  {
    RECORD_FUNCTION("lumamba::batched_matmul",
                    std::vector<c10::IValue>({torch::zeros({}, q.options()).expand({n, heads, l, m}),
                                              v.view({n, m, heads, hd}).transpose(1, 2)}));
  }
  auto out = torch::empty({n, l, e}, k.options());
  torch::Tensor weights = need_weights ? torch::empty({n, l, m}, k.options()) : torch::Tensor();
  AT_DISPATCH_FLOATING_TYPES(k.scalar_type(), "fused_attention", [&] {
    const kernels::AttentionShape shape{n, heads, l, m, hd};
    const auto qv = heads_view<scalar_t>(q), kv = heads_view<scalar_t>(k), vv = heads_view<scalar_t>(v);
    scalar_t* o = out.data_ptr<scalar_t>();
    scalar_t* w = need_weights ? weights.data_ptr<scalar_t>() : nullptr;
    at::parallel_for(0, n, 64, [&](int64_t r0, int64_t r1) {
      kernels::attention_forward<scalar_t>(shape, static_cast<scalar_t>(scale), qv, kv, vv, o, w, r0, r1);
    });
  });
  return {out, weights};
}

}  // namespace

AttentionOutput MultiheadAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& key,
                                                const torch::Tensor& value, bool need_weights) {
  const int64_t e = options.embed_dim();
  const int64_t h = options.num_heads();
  const int64_t hd = e / h;
  LUMAMBA_CHECK(query.dim() == 3 && query.size(2) == e, "query must be (N, L, {}), got {}", e,
                query.sizes());
  LUMAMBA_CHECK(key.dim() == 3 && key.size(2) == e && value.sizes() == key.sizes(),
                "key/value must be (N, M, {}), got {} / {}", e, key.sizes(), value.sizes());
  const int64_t n = query.size(0), l = query.size(1), m = key.size(1);
  auto w = in_proj_weight.chunk(3, 0);
  auto b = in_proj_bias.chunk(3, 0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  const bool shared_query = n > 1 && query.stride(0) == 0;
  AttentionOutput result;
  // The fused kernel runs the attention in inference: no autograd and no active dropout.
  const bool dropout_active = is_training() && options.dropout() > 0;
  if (!dropout_active && inference_kernel_applies({query, key, value, in_proj_weight, in_proj_bias})) {
    torch::Tensor q, k, v;
    if (query.is_same(key) && key.is_same(value)) {
      // Self-attention: one (N·L, E) · (E, 3E) projection; q, k, v are column blocks of it.
      auto qkv = F::linear(query, in_proj_weight, in_proj_bias);  // (N, L, 3E)
      q = qkv.narrow(2, 0, e);
      k = qkv.narrow(2, e, e);
      v = qkv.narrow(2, 2 * e, e);
    } else {
      // LUNA's learned queries arrive expanded over the N rows (stride 0): project them once.
      q = shared_query ? F::linear(query.select(0, 0), w[0], b[0]) : F::linear(query, w[0], b[0]);
      k = F::linear(key, w[1], b[1]);
      v = F::linear(value, w[2], b[2]);
    }
    auto [out, weights] = fused_attention(q, k, v, h, scale, need_weights);
    result.output = out_proj->forward(out);
    result.weights = weights;
    return result;
  }
  auto v = F::linear(value, w[2], b[2]).view({n, m, h, hd}).transpose(1, 2);  // (N, h, M, hd)
  torch::Tensor scores;  // (N, h, L, M)
  if (shared_query) {
    // One query set expanded over all N rows (LUNA's learned queries, stride 0): project it once
    // instead of N times (a linear on the expanded tensor also copies it), and score every row's
    // keys with one GEMM per head, (N·M, hd) · (hd, L), instead of N·h tiny batched products
    // (LibTorch 1.13's CPU bmm runs one BLAS call per matrix, ~4 µs each: docs/performance.md).
    auto q = F::linear(query.select(0, 0), w[0], b[0]) * scale;   // (L, E)
    auto k = F::linear(key, w[1], b[1]).reshape({n * m, e});       // (N·M, E)
    std::vector<torch::Tensor> per_head;
    per_head.reserve(static_cast<size_t>(h));
    for (int64_t i = 0; i < h; ++i) {
      per_head.push_back(torch::mm(k.narrow(1, i * hd, hd), q.narrow(1, i * hd, hd).t()).view({n, m, l}));
    }
    scores = torch::stack(per_head, 1).transpose(2, 3);  // (N, h, M, L) -> (N, h, L, M) view
  } else {
    // (N, L, E) -> (N, h, L, hd)
    auto q = F::linear(query, w[0], b[0]).view({n, l, h, hd}).transpose(1, 2);
    auto k = F::linear(key, w[1], b[1]).view({n, m, h, hd}).transpose(1, 2);
    scores = attention_scores(q * scale, k);
  }
  auto attn = torch::softmax(scores, -1);  // (N, h, L, M)
  auto attn_dropped = torch::dropout(attn, options.dropout(), is_training());
  auto out = attention_values(attn_dropped, v).transpose(1, 2).reshape({n, l, e});  // (N, L, E)
  result.output = out_proj->forward(out);
  if (need_weights) result.weights = attn.mean(1);  // (N, L, M), torch averages before dropout
  return result;
}

// ------------------------------------------------------------------ TransformerEncoderLayer
TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(const TransformerLayerOptions& options_)
    : options(options_) {
  reset();
}

void TransformerEncoderLayerImpl::reset() {
  self_attn = register_module(
      "self_attn", MultiheadAttention(MultiheadAttentionOptions(options.d_model(), options.nhead())
                                          .dropout(options.dropout())));
  linear1 = register_module("linear1", torch::nn::Linear(options.d_model(), options.dim_feedforward()));
  linear2 = register_module("linear2", torch::nn::Linear(options.dim_feedforward(), options.d_model()));
  norm1 = register_module("norm1", make_layer_norm(options.d_model()));
  norm2 = register_module("norm2", make_layer_norm(options.d_model()));
}

torch::Tensor TransformerEncoderLayerImpl::forward(const torch::Tensor& x) {
  const double p = options.dropout();
  const bool train = is_training();
  auto n1 = norm1->forward(x);
  auto y = x + torch::dropout(self_attn->forward(n1, n1, n1, /*need_weights=*/false).output, p, train);
  auto ff = linear2->forward(torch::dropout(torch::gelu(linear1->forward(norm2->forward(y))), p, train));
  return y + torch::dropout(ff, p, train);
}

// ------------------------------------------------------------------ TransformerDecoderLayer
TransformerDecoderLayerImpl::TransformerDecoderLayerImpl(const TransformerLayerOptions& options_)
    : options(options_) {
  reset();
}

void TransformerDecoderLayerImpl::reset() {
  const auto mha = MultiheadAttentionOptions(options.d_model(), options.nhead()).dropout(options.dropout());
  self_attn = register_module("self_attn", MultiheadAttention(mha));
  multihead_attn = register_module("multihead_attn", MultiheadAttention(mha));
  linear1 = register_module("linear1", torch::nn::Linear(options.d_model(), options.dim_feedforward()));
  linear2 = register_module("linear2", torch::nn::Linear(options.dim_feedforward(), options.d_model()));
  norm1 = register_module("norm1", make_layer_norm(options.d_model()));
  norm2 = register_module("norm2", make_layer_norm(options.d_model()));
  norm3 = register_module("norm3", make_layer_norm(options.d_model()));
}

torch::Tensor TransformerDecoderLayerImpl::forward(const torch::Tensor& tgt, const torch::Tensor& memory) {
  const double p = options.dropout();
  const bool train = is_training();
  auto n1 = norm1->forward(tgt);
  auto t = tgt + torch::dropout(self_attn->forward(n1, n1, n1, false).output, p, train);
  auto n2 = norm2->forward(t);
  t = t + torch::dropout(multihead_attn->forward(n2, memory, memory, false).output, p, train);
  auto ff = linear2->forward(torch::dropout(torch::gelu(linear1->forward(norm3->forward(t))), p, train));
  return t + torch::dropout(ff, p, train);
}

}  // namespace lumamba::model
