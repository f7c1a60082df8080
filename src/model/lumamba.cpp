// The LuMamba network (see lumamba/model/lumamba.h). Mirrors LUNA.prepare_tokens and
// LuMamba.forward/encode; reference quirks are switched by LuMambaOptions (docs/reference-model.md §3.3, §7).
#include "lumamba/model/lumamba.h"

#include <torch/torch.h>

#include "lumamba/core/error.h"
#include "lumamba/model/fmt_shape.h"

namespace lumamba::model {

LuMambaImpl::LuMambaImpl(const LuMambaOptions& options_) : options(options_) {
  validate(options);
  reset();
}

void LuMambaImpl::reset() {
  const int64_t e = options.embed_dim(), d = options.d_model();
  patch_embed = register_module("patch_embed", PatchEmbedNetwork(e, options.patch_size()));
  freq_embed = register_module("freq_embed", FrequencyFeatureEmbedder(e, options.patch_size()));
  channel_location_embedder = register_module("channel_location_embedder", torch::nn::ModuleList());
  channel_location_embedder->push_back(Mlp(MlpOptions(e, 2 * e, e).hidden_norm(true)));
  mask_token = register_parameter("mask_token", torch::zeros({1, 1, e}),
                                  /*requires_grad=*/options.is_pretraining());
  cross_attn = register_module("cross_attn", CrossAttentionBlock(options.num_queries(), e, options.num_heads(),
                                                                 options.ff_dim(), options.dropout()));
  mamba_blocks = register_module("mamba_blocks", torch::nn::ModuleList());
  norm_layers = register_module("norm_layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.num_blocks(); ++i) {
    mamba_blocks->push_back(MambaWrapper(MambaWrapperOptions(options.encoder_mamba())
                                             .bidirectional(options.bidirectional())
                                             .bidirectional_strategy(options.bidirectional_strategy())));
    norm_layers->push_back(make_layer_norm(d));
  }
  if (options.is_pretraining()) {
    decoder_head = register_module(
        "decoder_head",
        PatchReconstructionHeadWithQueries(options.patch_size(), e, options.num_heads(), options.num_queries()));
    channel_emb = register_module("channel_emb", ChannelEmbeddings(options.vocab_size(), e));
  } else {
    if (options.head_norm() == "batch") head_norm = register_module("head_norm", torch::nn::BatchNorm1d(d));
    if (options.classifier_option() == "luna") {
      luna_classifier = register_module(
          "classifier", ClassificationHeadWithQueries(d, options.num_heads(), options.num_classes()));
    } else if (options.classifier_option() == "mamba") {
      mamba_classifier = register_module(
          "classifier", MambaClassifier(MambaClassifierOptions(d, options.num_classes(), options.head_mamba())));
    } else {
      linear_classifier = register_module("classifier", BasicLinearClassifier(d, options.num_classes()));
    }
  }
  init_luna_weights();
}

void LuMambaImpl::init_luna_weights() {
  // LUNA.initialize_weights runs at the end of LUNA.__init__, i.e. over the LUNA front end, the
  // decoder and LUNA's own query classifier, but before LuMamba adds its Mamba blocks and its
  // Mamba/linear heads (those keep mamba_ssm's / PyTorch's defaults). Every Linear there —
  // MultiheadAttention's out_proj included — gets xavier_normal weights and zero bias; the mask token
  // a normal of std 0.02 truncated at ±0.02; LayerNorms are 1/0 already.
  torch::NoGradGuard no_grad;
  std::vector<std::shared_ptr<torch::nn::Module>> luna_parts{patch_embed.ptr(), freq_embed.ptr(),
                                                              channel_location_embedder.ptr(), cross_attn.ptr()};
  if (decoder_head) luna_parts.push_back(decoder_head.ptr());
  if (luna_classifier) luna_parts.push_back(luna_classifier.ptr());
  for (const auto& part : luna_parts) {
    for (const auto& module : part->modules(/*include_self=*/true)) {
      if (auto* linear = module->as<torch::nn::LinearImpl>()) {
        torch::nn::init::xavier_normal_(linear->weight);
        if (linear->bias.defined()) torch::nn::init::zeros_(linear->bias);
      }
    }
  }
  // timm trunc_normal_(std=.02, a=-std, b=std); LibTorch 1.13 has no trunc_normal_, so values
  // outside ±0.02 are redrawn until none is left (same distribution, not the same random stream).
  auto token = torch::randn(mask_token.sizes()) * 0.02;
  while (true) {
    const auto outside = token.abs() > 0.02;
    if (!outside.any().item<bool>()) break;
    token = torch::where(outside, torch::randn(token.sizes()) * 0.02, token);
  }
  mask_token.copy_(token);
}

void LuMambaImpl::check_inputs(const torch::Tensor& signal, const torch::Tensor& locations,
                               const compat::optional<torch::Tensor>& mask) const {
  LUMAMBA_CHECK_INPUT(signal.dim() == 3, "input signal must be (B, C, T), got shape {}", signal.sizes());
  const int64_t b = signal.size(0), c = signal.size(1), t = signal.size(2);
  LUMAMBA_CHECK_INPUT(b > 0 && c > 0 && t > 0, "input signal is empty: shape {}", signal.sizes());
  LUMAMBA_CHECK_INPUT(t % options.patch_size() == 0,
                      "input length T = {} samples is not a multiple of patch_size = {}", t,
                      options.patch_size());
  LUMAMBA_CHECK_INPUT(locations.dim() == 3 && locations.size(0) == b && locations.size(1) == c &&
                          locations.size(2) == 3,
                      "channel_locations must be (B={}, C={}, 3), got {}", b, c, locations.sizes());
  if (mask) {
    LUMAMBA_CHECK_INPUT(mask->sizes() == signal.sizes(), "mask must have the input's shape {}, got {}",
                        signal.sizes(), mask->sizes());
  }
}

torch::Tensor LuMambaImpl::location_embedding(const torch::Tensor& locations, double jitter, Trace* trace) {
  auto loc = functional::normalize_locations(locations);  // (B, C, 3)
  record(trace, "loc_norm", loc);
  if (jitter > 0) loc = loc + torch::randn_like(loc) * jitter;
  auto nerf = functional::nerf_positional_encoding(loc, options.embed_dim());  // (B, C, E)
  record(trace, "loc_nerf", nerf);
  auto emb = (*channel_location_embedder)[0]->as<Mlp>()->forward(nerf);  // (B, C, E)
  record(trace, "loc_embed", emb);
  return emb;
}

torch::Tensor LuMambaImpl::tile_per_patch(const torch::Tensor& per_sample, int64_t n_patches) const {
  // per_sample (B, C, E) -> (B·S, C, E), row b·S + s.
  if (options.reference_location_tiling()) {
    // Reference quirk (LUNA.prepare_tokens `.repeat(S,1,1)`): row i gets sample i mod B.
    return per_sample.repeat({n_patches, 1, 1});
  }
  const int64_t b = per_sample.size(0), c = per_sample.size(1), e = per_sample.size(2);
  return per_sample.unsqueeze(1).expand({b, n_patches, c, e}).reshape({b * n_patches, c, e});
}

LuMambaImpl::Tokens LuMambaImpl::prepare_tokens(const torch::Tensor& signal, const torch::Tensor& locations,
                                                const compat::optional<torch::Tensor>& mask, Trace* trace) {
  const int64_t b = signal.size(0), c = signal.size(1), s = signal.size(2) / options.patch_size();
  const int64_t e = options.embed_dim(), p = options.patch_size();
  auto patch = patch_embed->forward(signal);  // (B, C·S, E)
  record(trace, "patch_embed", patch);
  auto freq = freq_embed->forward(signal, trace);  // (B, C·S, E)
  record(trace, "freq_embed", freq);
  auto tokens = patch + freq;
  record(trace, "token_sum", tokens);
  if (mask) {
    // A token is masked when any of its P samples is masked.
    auto token_mask = mask->to(torch::kBool).reshape({b, c * s, p}).any(-1, /*keepdim=*/true);  // (B, C·S, 1)
    tokens = torch::where(token_mask, mask_token.to(tokens.dtype()).expand_as(tokens), tokens);
    record(trace, "tokens_masked", tokens);
  }
  // The reference jitters whenever a mask is passed, even in eval; we jitter in training only
  // unless location_jitter_in_eval reproduces the quirk.
  const bool jitter = mask.has_value() && options.location_jitter() > 0 &&
                      (is_training() || options.location_jitter_in_eval());
  auto loc_emb = location_embedding(locations.to(tokens.dtype()), jitter ? options.location_jitter() : 0.0,
                                    trace);  // (B, C, E)
  if (options.reference_location_tiling()) {
    // (B, C·S, E) -> (B·S, C, E), row b·S + s, plus the quirk's tiled embedding.
    auto tiled = tile_per_patch(loc_emb, s);
    auto out = tokens.view({b, c, s, e}).transpose(1, 2).reshape({b * s, c, e}) + tiled;
    record(trace, "tokens", out);
    return {out, tiled};
  }
  // Add each sample's embedding broadcast over its S patches while still (B, C, S, E), then regroup
  // to (B·S, C, E), row b·S + s, in one copy: no tiled (B·S, C, E) embedding is materialised (the
  // decoder's queries are the one user of it, built below for the pretraining model only).
  auto with_location = tokens.view({b, c, s, e}) + loc_emb.unsqueeze(2);  // (B, C, S, E)
  auto out = with_location.transpose(1, 2).reshape({b * s, c, e});
  record(trace, "tokens", out);
  return {out, options.is_pretraining() ? tile_per_patch(loc_emb, s) : torch::Tensor()};
}

torch::Tensor LuMambaImpl::run_encoder(const Tokens& tokens, int64_t batch, Trace* trace,
                                       torch::Tensor* attention_weights) {
  auto unified = cross_attn->forward(tokens.tokens, trace);  // (B·S, Q, E)
  if (attention_weights != nullptr) *attention_weights = unified.attention_weights;
  const int64_t s = tokens.tokens.size(0) / batch;
  auto x = unified.queries.reshape({batch, s, options.d_model()});  // (B, S, Q·E)
  record(trace, "latent", x);
  for (int64_t i = 0; i < options.num_blocks(); ++i) {
    const std::string prefix = "block" + std::to_string(i) + ".";
    auto normed = norm_layers[i]->as<torch::nn::LayerNorm>()->forward(x);
    record(trace, prefix + "norm", normed);
    x = x + mamba_blocks[i]->as<MambaWrapper>()->forward(normed, trace, prefix);
    record(trace, prefix + "out", x);
  }
  record(trace, "encoder_out", x);
  return x;
}

LuMambaOutput LuMambaImpl::forward(const torch::Tensor& signal, const torch::Tensor& channel_locations,
                                   const compat::optional<torch::Tensor>& mask,
                                   const compat::optional<torch::Tensor>& channel_names, Trace* trace) {
  check_inputs(signal, channel_locations, mask);
  const int64_t b = signal.size(0), c = signal.size(1);
  LuMambaOutput out;
  auto tokens = prepare_tokens(signal, channel_locations, mask, trace);
  out.encoder_out = run_encoder(tokens, b, trace, &out.attention_weights);
  if (options.is_pretraining()) {
    LUMAMBA_CHECK_INPUT(channel_names.has_value(),
                        "the pretraining model (num_classes = 0) needs channel names for its decoder");
    LUMAMBA_CHECK_INPUT(channel_names->dim() == 2 && channel_names->size(0) == b && channel_names->size(1) == c,
                        "channel_names must be (B={}, C={}), got {}", b, c, channel_names->sizes());
    auto names_emb = channel_emb->forward(channel_names->to(torch::kLong));  // (B, C, E)
    record(trace, "decoder.channel_emb", names_emb);
    const int64_t s = out.encoder_out.size(1);
    auto queries = tokens.location_emb + tile_per_patch(names_emb, s);  // (B·S, C, E)
    record(trace, "decoder.queries", queries);
    out.reconstruction = decoder_head->forward(out.encoder_out, queries, trace);
    record(trace, "recon", out.reconstruction);
  } else {
    const auto head_in = head_input(out.encoder_out);  // (B, S, D)
    if (head_norm) record(trace, "head_norm", head_in);
    if (luna_classifier) out.logits = luna_classifier->forward(head_in, trace);
    else if (mamba_classifier) out.logits = mamba_classifier->forward(head_in);
    else out.logits = linear_classifier->forward(head_in);
    record(trace, "logits", out.logits);
  }
  return out;
}

torch::Tensor LuMambaImpl::head_input(const torch::Tensor& encoder_out) {
  if (!head_norm) return encoder_out;
  // Training: statistics of the batch (over windows and patches), which removes the
  // window-independent part of the features from the head's input and gradient. Inference: the
  // running statistics, which fine-tuning recalibrates on the training windows in eval mode.
  if (is_training() && sum_over_ranks) return head_norm_over_ranks(encoder_out);
  return head_norm->forward(encoder_out.transpose(1, 2)).transpose(1, 2);  // (B, S, D)
}

torch::Tensor LuMambaImpl::head_norm_over_ranks(const torch::Tensor& encoder_out) {
  // BatchNorm1d's training forward with the mean and variance of every rank's windows: two
  // passes (sum, then sum of squared deviations from the global mean), as stable as one process's.
  const int64_t d = encoder_out.size(2);
  const auto x = encoder_out.reshape({-1, d});  // (N, D), N = this rank's B·S
  const auto first = sum_over_ranks(torch::cat({x.sum(0), torch::full({1}, static_cast<double>(x.size(0)), x.options())}));
  const double n = first[d].item<double>();
  const auto mean = first.narrow(0, 0, d) / n;                           // (D,)
  const auto var = sum_over_ranks((x - mean).pow(2).sum(0)) / n;         // (D,) biased, as the forward uses
  const auto& o = head_norm->options;
  auto y = (x - mean) * torch::rsqrt(var + o.eps());
  if (o.affine()) y = y * head_norm->weight + head_norm->bias;
  if (o.track_running_stats()) {
    torch::NoGradGuard no_grad;
    const double m = o.momentum().value_or(0.1);
    head_norm->running_mean.mul_(1 - m).add_(mean.detach(), m);
    head_norm->running_var.mul_(1 - m).add_(var.detach() * (n / std::max(n - 1, 1.0)), m);
    head_norm->num_batches_tracked.add_(1);
  }
  return y.view_as(encoder_out);
}

torch::Tensor LuMambaImpl::encode(const torch::Tensor& signal, const torch::Tensor& channel_locations,
                                  Trace* trace) {
  check_inputs(signal, channel_locations, compat::nullopt);
  auto tokens = prepare_tokens(signal, channel_locations, compat::nullopt, trace);
  return run_encoder(tokens, signal.size(0), trace, nullptr);
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters(/*recurse=*/true)) n += p.numel();
  return n;
}

}  // namespace lumamba::model
