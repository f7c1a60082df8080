// LUNA front end and heads (see lumamba/model/luna.h). Mirrors models/LUNA.py @1923999 and
// models/modules/frequency_embedder.py; docs/reference-model.md §3.1–§3.4, §3.7a–b.
#include "lumamba/model/luna.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/torch.h>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include "lumamba/core/error.h"
#include "lumamba/model/cpu_kernels.h"
#include "lumamba/model/fmt_shape.h"
#include "lumamba/model/kernels/spectrum_features_cpu.h"

namespace lumamba::model {

// ------------------------------------------------------------------------------ functional
namespace functional {

torch::Tensor nerf_positional_encoding(const torch::Tensor& coords, int64_t embed_size) {
  LUMAMBA_CHECK(coords.dim() == 3, "NeRF encoding expects (N, C, dim), got {}", coords.sizes());
  const int64_t n = coords.size(0), c = coords.size(1), dim = coords.size(2);
  const int64_t n_freqs = embed_size / (2 * dim);
  const int64_t leftover = embed_size - n_freqs * 2 * dim;
  // Bands are built in float32 like the reference (2.0 ** arange(F).float()), exact powers of two.
  auto bands = torch::pow(2.0, torch::arange(n_freqs, coords.options()));
  auto scaled = coords.unsqueeze(-1) * bands.view({1, 1, 1, -1});  // (N, C, dim, F)
  auto enc = torch::stack({torch::sin(scaled), torch::cos(scaled)}, -1)  // (N, C, dim, F, 2)
                 .permute({0, 1, 3, 2, 4})
                 .reshape({n, c, n_freqs * dim * 2});
  if (leftover > 0) enc = torch::cat({enc, torch::zeros({n, c, leftover}, coords.options())}, -1);
  return enc;
}

torch::Tensor normalize_locations(const torch::Tensor& locations) {
  auto lo = std::get<0>(locations.min(1, /*keepdim=*/true));
  auto hi = std::get<0>(locations.max(1, /*keepdim=*/true));
  return (locations - lo) / (hi - lo + 1e-8);
}

torch::Tensor fft_features_ops(const torch::Tensor& patches) {
  const int64_t p = patches.size(-1);
  auto spectrum = torch::fft::rfft(patches, c10::nullopt, -1);  // (..., P/2+1) complex
  auto magnitude = torch::abs(spectrum);
  auto re = torch::real(spectrum);
  auto im = torch::imag(spectrum);
  // Reference quirk, fixed deterministically: DC (and Nyquist for even P) are real, and PyTorch's
  // CPU FFT gives them an imaginary part of +0, so their angle is 0 or +π (never −π). An FFT that
  // returns −0 would flip the sign; force +0 so every backend matches the reference.
  auto fixed_im = im.clone();
  fixed_im.select(-1, 0).zero_();
  if (p % 2 == 0) fixed_im.select(-1, p / 2).zero_();
  auto phase = torch::atan2(fixed_im, re);
  return torch::cat({magnitude, phase}, -1);
}

torch::Tensor fft_features(const torch::Tensor& patches) {
  if (!inference_kernel_applies({patches})) return fft_features_ops(patches);
  const auto dtype = patches.scalar_type();
  const int64_t p = patches.size(-1), bins = p / 2 + 1;
  auto spectrum = torch::view_as_real(torch::fft::rfft(patches, c10::nullopt, -1).contiguous());  // (..., bins, 2)
  auto sizes = patches.sizes().vec();
  sizes.back() = 2 * bins;
  auto out = torch::empty(sizes, patches.options());  // (..., 2·bins)
  const int64_t rows = patches.numel() / std::max<int64_t>(p, 1);
  AT_DISPATCH_FLOATING_TYPES(dtype, "fft_features", [&] {
    const scalar_t* in = spectrum.data_ptr<scalar_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    // Rows are independent; grain: enough rows that a task is not dominated by its start.
    at::parallel_for(0, rows, 1024, [&](int64_t r0, int64_t r1) {
      kernels::spectrum_magnitude_phase<scalar_t>(in + r0 * 2 * bins, r1 - r0, bins, p % 2 == 0, o + r0 * 2 * bins);
    });
  });
  return out;
}

}  // namespace functional

// ------------------------------------------------------------------------ PatchEmbedNetwork
PatchEmbedNetworkImpl::PatchEmbedNetworkImpl(int64_t embed_dim_, int64_t patch_size_)
    : embed_dim(embed_dim_), patch_size(patch_size_) {
  reset();
}

void PatchEmbedNetworkImpl::reset() {
  namespace nn = torch::nn;
  const int64_t out = embed_dim / 4, groups = 4, half = patch_size / 2;
  // Kernel P/2−1, stride P/4, padding P/4−1 (docs/reference-model.md §3.1: 19, 10, 9 for P = 40).
  proj_in = register_module(
      "proj_in",
      nn::Sequential(
          nn::Conv2d(nn::Conv2dOptions(1, out, {1, half - 1}).stride({1, half / 2}).padding({0, half / 2 - 1})),
          nn::GroupNorm(nn::GroupNormOptions(groups, out)), nn::GELU(),
          nn::Conv2d(nn::Conv2dOptions(out, out, {1, 3}).stride({1, 1}).padding({0, 1})),
          nn::GroupNorm(nn::GroupNormOptions(groups, out)), nn::GELU(),
          nn::Conv2d(nn::Conv2dOptions(out, out, {1, 3}).stride({1, 1}).padding({0, 1})),
          nn::GroupNorm(nn::GroupNormOptions(groups, out)), nn::GELU()));
}

torch::Tensor PatchEmbedNetworkImpl::forward(const torch::Tensor& x) { return run(x, nullptr, -1); }

torch::Tensor PatchEmbedNetworkImpl::forward_with_stats(const torch::Tensor& x, const std::vector<GroupStats>& stats) {
  LUMAMBA_CHECK(stats.size() == kNormLayers, "patch embedding needs {} GroupNorm statistics, got {}", kNormLayers,
                stats.size());
  return run(x, &stats, -1);
}

torch::Tensor PatchEmbedNetworkImpl::group_norm_input(const torch::Tensor& x, const std::vector<GroupStats>& stats,
                                                      int layer) {
  LUMAMBA_CHECK(layer >= 0 && layer < kNormLayers && stats.size() >= static_cast<size_t>(layer),
                "group_norm_input: layer {} needs the statistics of the {} layers before it, got {}", layer, layer,
                stats.size());
  return run(x, &stats, layer);
}

namespace {
// GroupNorm with given per-group statistics: h (B, Ch, H, W) contiguous.
torch::Tensor group_norm_with_stats(const torch::Tensor& h, const torch::nn::GroupNormImpl& norm, const GroupStats& st) {
  const int64_t b = h.size(0), ch = h.size(1), g = norm.options.num_groups();
  auto mean = st.mean.to(h.dtype()).view({1, g, 1});
  auto inv_std = torch::rsqrt(st.var + norm.options.eps()).to(h.dtype()).view({1, g, 1});
  auto normed = ((h.reshape({b, g, -1}) - mean) * inv_std).view(h.sizes());
  return normed * norm.weight.view({1, ch, 1, 1}) + norm.bias.view({1, ch, 1, 1});
}
}  // namespace

torch::Tensor PatchEmbedNetworkImpl::run(const torch::Tensor& x, const std::vector<GroupStats>* stats,
                                         int stop_before_norm) {
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), s = t / patch_size;
  torch::Tensor h = x.reshape({b, 1, c * s, patch_size});  // (B, 1, C·S, P)
  // proj_in up to its last GELU: (B, E/4, C·S, W). The last GELU runs after the permute below:
  // LibTorch 1.13's CPU gelu_backward misreads a channels-last grad_output when its input is
  // contiguous (structured-kernel memory-format mismatch, pytorch#60137) and returns garbage
  // (inf) gradients — which is what the permute would hand back. GELU is element-wise, so the
  // forward values are the same.
  int norm_index = 0;
  size_t i = 0;
  for (auto it = proj_in->begin(); it != proj_in->end(); ++it, ++i) {
    if (auto* norm = it->ptr()->as<torch::nn::GroupNormImpl>()) {
      if (norm_index == stop_before_norm) return h;
      h = stats != nullptr ? group_norm_with_stats(h, *norm, (*stats)[static_cast<size_t>(norm_index)])
                           : it->forward(h);
      ++norm_index;
    } else if (i + 1 == proj_in->size()) {
      // (B, E/4, C·S, W) -> (B, C·S, W, E/4) contiguous, then the last GELU; feature index w·E/4 + e
      h = it->forward(h.permute({0, 2, 3, 1}).contiguous());
    } else {
      h = it->forward(h);
    }
  }
  return h.reshape({b, c * s, -1});
}

// ---------------------------------------------------------------- FrequencyFeatureEmbedder
FrequencyFeatureEmbedderImpl::FrequencyFeatureEmbedderImpl(int64_t embed_dim_, int64_t patch_size_)
    : embed_dim(embed_dim_), patch_size(patch_size_) {
  reset();
}

void FrequencyFeatureEmbedderImpl::reset() {
  const int64_t in = 2 * (patch_size / 2 + 1);
  frequency_to_embed = register_module("frequency_to_embed", Mlp(MlpOptions(in, 4 * in, embed_dim)));
}

torch::Tensor FrequencyFeatureEmbedderImpl::forward(const torch::Tensor& x, Trace* trace) {
  const int64_t b = x.size(0), c = x.size(1), s = x.size(2) / patch_size;
  auto features = functional::fft_features(x.reshape({b, c, s, patch_size}));  // (B, C, S, F)
  record(trace, "freq_features", features);
  return frequency_to_embed->forward(features).reshape({b, c * s, embed_dim});
}

// ---------------------------------------------------------------------- CrossAttentionBlock
CrossAttentionBlockImpl::CrossAttentionBlockImpl(int64_t num_queries_, int64_t embed_dim_,
                                                 int64_t num_heads_, int64_t ff_dim_, double dropout_,
                                                 int64_t num_self_attn_layers_)
    : num_queries(num_queries_),
      embed_dim(embed_dim_),
      num_heads(num_heads_),
      ff_dim(ff_dim_),
      num_self_attn_layers(num_self_attn_layers_),
      dropout(dropout_) {
  reset();
}

void CrossAttentionBlockImpl::reset() {
  query_embed = register_parameter("query_embed", torch::empty({1, num_queries, embed_dim}));
  {
    torch::NoGradGuard no_grad;
    torch::nn::init::orthogonal_(query_embed.view({num_queries, embed_dim}));
  }
  temparature = register_parameter("temparature", torch::ones({}), /*requires_grad=*/false);
  cross_attention = register_module(
      "cross_attention", MultiheadAttention(MultiheadAttentionOptions(embed_dim, num_heads).dropout(dropout)));
  ffn = register_module("ffn", Mlp(MlpOptions(embed_dim, ff_dim, embed_dim).hidden_norm(true).dropout(dropout)));
  keys_norm = register_module("keys_norm", make_layer_norm(embed_dim));
  values_norm = register_module("values_norm", make_layer_norm(embed_dim));
  queries_norm = register_module("queries_norm", make_layer_norm(embed_dim));
  query_self_attn = register_module("query_self_attn", LayerStack());
  for (int64_t i = 0; i < num_self_attn_layers; ++i) {
    query_self_attn->layers->push_back(
        TransformerEncoderLayer(TransformerLayerOptions(embed_dim, num_heads, ff_dim).dropout(dropout)));
  }
}

CrossAttentionOutput CrossAttentionBlockImpl::forward(const torch::Tensor& x, Trace* trace) {
  const int64_t rows = x.size(0);
  auto queries = queries_norm->forward(query_embed).expand({rows, num_queries, embed_dim});  // (B·S, Q, E)
  auto attn = cross_attention->forward(queries, keys_norm->forward(x), values_norm->forward(x));
  record(trace, "xattn.mha_out", attn.output);
  record(trace, "xattn.attn_weights", attn.weights);
  auto y = ffn->forward(attn.output) + attn.output;
  record(trace, "xattn.ffn_res", y);
  int64_t i = 0;
  for (const auto& layer : *query_self_attn->layers) {
    y = layer->as<TransformerEncoderLayer>()->forward(y);
    record(trace, "xattn.qsa_layer" + std::to_string(i++), y);
  }
  return {y, attn.weights};
}

// ------------------------------------------------------- PatchReconstructionHeadWithQueries
PatchReconstructionHeadWithQueriesImpl::PatchReconstructionHeadWithQueriesImpl(int64_t patch_size_,
                                                                               int64_t embed_dim_,
                                                                               int64_t num_heads_,
                                                                               int64_t num_queries_)
    : patch_size(patch_size_), embed_dim(embed_dim_), num_heads(num_heads_), num_queries(num_queries_) {
  reset();
}

void PatchReconstructionHeadWithQueriesImpl::reset() {
  decoder_pred = register_module("decoder_pred", LayerStack());
  decoder_pred->layers->push_back(
      TransformerDecoderLayer(TransformerLayerOptions(embed_dim, num_heads, 4 * embed_dim).dropout(0.0)));
  norm = register_module("norm", make_layer_norm(embed_dim));
  decoder_linear = register_module("decoder_linear", Mlp(MlpOptions(embed_dim, 4 * embed_dim, patch_size)));
}

torch::Tensor PatchReconstructionHeadWithQueriesImpl::forward(const torch::Tensor& enc,
                                                              const torch::Tensor& decoder_queries,
                                                              Trace* trace) {
  const int64_t b = enc.size(0), s = enc.size(1), c = decoder_queries.size(1);
  auto memory = enc.reshape({b * s, num_queries, embed_dim});  // (B·S, Q, E)
  auto out = (*decoder_pred->layers)[0]->as<TransformerDecoderLayer>()->forward(decoder_queries, memory);
  record(trace, "decoder.layer_out", out);
  out = norm->forward(out);
  record(trace, "decoder.norm", out);
  out = decoder_linear->forward(out);  // (B·S, C, P)
  // (B·S, C, P) -> (B, C, S·P)
  return out.view({b, s, c, patch_size}).permute({0, 2, 1, 3}).reshape({b, c, s * patch_size});
}

// -------------------------------------------------------------- ClassificationHeadWithQueries
ClassificationHeadWithQueriesImpl::ClassificationHeadWithQueriesImpl(int64_t d_model_, int64_t num_heads_,
                                                                     int64_t num_classes_)
    : d_model(d_model_), num_heads(num_heads_), num_classes(num_classes_) {
  reset();
}

void ClassificationHeadWithQueriesImpl::reset() {
  decoder_attn = register_module(
      "decoder_attn", MultiheadAttention(MultiheadAttentionOptions(d_model, num_heads).dropout(0.15)));
  decoder_ffn = register_module("decoder_ffn", Mlp(MlpOptions(d_model, 4 * d_model, num_classes).dropout(0.15)));
  learned_agg = register_parameter("learned_agg", torch::randn({1, 1, d_model}));
}

torch::Tensor ClassificationHeadWithQueriesImpl::forward(const torch::Tensor& x, Trace* trace) {
  auto query = learned_agg.expand({x.size(0), 1, d_model});  // (B, 1, D)
  auto pooled = decoder_attn->forward(query, x, x, /*need_weights=*/false).output.select(1, 0);  // (B, D)
  record(trace, "classifier.pooled", pooled);
  return decoder_ffn->forward(pooled);
}

// ------------------------------------------------------------------ BasicLinearClassifier
BasicLinearClassifierImpl::BasicLinearClassifierImpl(int64_t d_model_, int64_t num_classes_)
    : d_model(d_model_), num_classes(num_classes_) {
  reset();
}

void BasicLinearClassifierImpl::reset() { fc1 = register_module("fc1", torch::nn::Linear(d_model, num_classes)); }

torch::Tensor BasicLinearClassifierImpl::forward(const torch::Tensor& x) {
  // The reference applies a GELU to the logits; kept, since trained weights expect it.
  return torch::gelu(fc1->forward(x.mean(1)));
}

// ------------------------------------------------------------------------ ChannelEmbeddings
ChannelEmbeddingsImpl::ChannelEmbeddingsImpl(int64_t vocab_size_, int64_t embed_dim_)
    : vocab_size(vocab_size_), embed_dim(embed_dim_) {
  reset();
}

void ChannelEmbeddingsImpl::reset() {
  embeddings = register_module("embeddings", torch::nn::Embedding(vocab_size, embed_dim));
}

torch::Tensor ChannelEmbeddingsImpl::forward(const torch::Tensor& indices) {
  LUMAMBA_CHECK_INPUT(indices.numel() == 0 || (indices.min().item<int64_t>() >= 0 &&
                                               indices.max().item<int64_t>() < vocab_size),
                      "channel name indices must be in [0, {}), got range [{}, {}]", vocab_size,
                      indices.min().item<int64_t>(), indices.max().item<int64_t>());
  return embeddings->forward(indices);
}

}  // namespace lumamba::model
