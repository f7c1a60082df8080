// LUNA-Base as a comparison encoder for the efficiency study (lumamba/bench/peers.h): forward only,
// random weights. LUNA (Döner et al. 2025, arXiv:2510.22257; braindecode LUNA, Base = num_queries 4,
// embed_dim 64, depth 8, num_heads 2, mlp_ratio 4) shares LuMamba's channel-unification front end;
// its temporal encoder is a rotary transformer over the S patch latents instead of bidirectional
// Mamba. The front end reuses LuMamba's own classes (lumamba/model/luna.h), wired as
// LuMambaImpl::prepare_tokens / run_encoder do on their default (non-reference-tiling) path.
// Legend: C channels, S patches, P = 40 samples, E = 64, Q = 4, D = Q·E = 256, H = 8 heads,
// Dh = D/H = 32.
#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <cmath>

#include "lumamba/core/error.h"
#include "lumamba/model/fmt_shape.h"
#include "lumamba/model/layers.h"
#include "lumamba/model/lumamba.h"
#include "lumamba/model/luna.h"
#include "peers_impl.h"

namespace lumamba::bench::peers {
namespace {

constexpr int64_t kPatch = 40;
constexpr int64_t kQueries = 4;
constexpr int64_t kEmbed = 64;
constexpr int64_t kHeads = 2;  // cross-attention heads; the temporal encoder uses kHeads·kQueries
constexpr int64_t kDepth = 8;
constexpr int64_t kMlpRatio = 4;
constexpr int64_t kModel = kQueries * kEmbed;          // D = 256
constexpr int64_t kTemporalHeads = kHeads * kQueries;  // H = 8
constexpr double kRopeBase = 10000.0;

/// Rotate-half rotary embedding over the last dim of x (H, S, Dh), position = patch index.
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& rope_cos, const torch::Tensor& rope_sin) {
  const int64_t half = x.size(-1) / 2;
  auto rotated = torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * rope_cos + rotated * rope_sin;
}

/// cos and sin tables (S, Dh) of the standard rotary embedding (frequency i paired at i and i + Dh/2).
std::pair<torch::Tensor, torch::Tensor> rope_tables(int64_t s, int64_t dh, const torch::TensorOptions& options) {
  auto inv_freq = torch::pow(kRopeBase, -torch::arange(0, dh, 2, torch::kFloat64) / static_cast<double>(dh));
  auto angles = torch::outer(torch::arange(s, torch::kFloat64), inv_freq);  // (S, Dh/2)
  auto full = torch::cat({angles, angles}, -1).to(options);                // (S, Dh)
  return {torch::cos(full), torch::sin(full)};
}

/// Pre-norm transformer block with rotary self-attention (LUNA's RotaryTransformerBlock).
class RotaryBlockImpl : public torch::nn::Cloneable<RotaryBlockImpl> {
 public:
  RotaryBlockImpl() { reset(); }
  void reset() override {
    norm1 = register_module("norm1", model::make_layer_norm(kModel));
    qkv = register_module("qkv", torch::nn::Linear(kModel, 3 * kModel));
    proj = register_module("proj", torch::nn::Linear(kModel, kModel));
    norm2 = register_module("norm2", model::make_layer_norm(kModel));
    fc1 = register_module("fc1", torch::nn::Linear(kModel, kMlpRatio * kModel));
    fc2 = register_module("fc2", torch::nn::Linear(kMlpRatio * kModel, kModel));
  }
  /// x (S, D) -> (S, D); rope_cos, rope_sin (S, Dh).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& rope_cos, const torch::Tensor& rope_sin) {
    const int64_t s = x.size(0), dh = kModel / kTemporalHeads;
    // (S, 3D) -> 3 × (H, S, Dh)
    auto parts = qkv->forward(norm1->forward(x)).view({s, 3, kTemporalHeads, dh}).permute({1, 2, 0, 3});
    auto q = apply_rope(parts[0], rope_cos, rope_sin) * (1.0 / std::sqrt(static_cast<double>(dh)));
    auto k = apply_rope(parts[1], rope_cos, rope_sin);
    auto scores = torch::bmm(q, k.transpose(1, 2));                        // (H, S, S)
    auto attended = torch::bmm(torch::softmax(scores, -1), parts[2]);      // (H, S, Dh)
    auto y = x + proj->forward(attended.transpose(0, 1).reshape({s, kModel}));
    return y + fc2->forward(torch::gelu(fc1->forward(norm2->forward(y))));
  }
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(RotaryBlock);

class LunaBaseImpl : public torch::nn::Cloneable<LunaBaseImpl> {
 public:
  LunaBaseImpl() { reset(); }
  void reset() override {
    patch_embed = register_module("patch_embed", model::PatchEmbedNetwork(kEmbed, kPatch));
    freq_embed = register_module("freq_embed", model::FrequencyFeatureEmbedder(kEmbed, kPatch));
    channel_location_embedder = register_module("channel_location_embedder",
                                                model::Mlp(model::MlpOptions(kEmbed, 2 * kEmbed, kEmbed).hidden_norm(true)));
    cross_attn = register_module("cross_attn",
                                 model::CrossAttentionBlock(kQueries, kEmbed, kHeads, kEmbed * kMlpRatio));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < kDepth; ++i) blocks->push_back(RotaryBlock());
    norm = register_module("norm", model::make_layer_norm(kModel));
  }

  /// signal (1, C, S·P), locations (1, C, 3) -> (1, S, D)
  torch::Tensor forward(const torch::Tensor& signal, const torch::Tensor& locations) {
    const int64_t c = signal.size(1), s = signal.size(2) / kPatch;
    auto tokens = patch_embed->forward(signal) + freq_embed->forward(signal);  // (1, C·S, E)
    auto loc = model::functional::normalize_locations(locations.to(tokens.dtype()));  // (1, C, 3)
    auto loc_emb = channel_location_embedder->forward(model::functional::nerf_positional_encoding(loc, kEmbed));  // (1, C, E)
    auto rows = (tokens.view({1, c, s, kEmbed}) + loc_emb.unsqueeze(2)).transpose(1, 2).reshape({s, c, kEmbed});
    auto x = cross_attn->forward(rows).queries.reshape({s, kModel});  // (S, D)
    const auto [rope_cos, rope_sin] = rope_tables(s, kModel / kTemporalHeads, x.options());
    for (const auto& block : *blocks) x = block->as<RotaryBlock>()->forward(x, rope_cos, rope_sin);
    return norm->forward(x).unsqueeze(0);  // (1, S, D)
  }

  model::PatchEmbedNetwork patch_embed{nullptr};
  model::FrequencyFeatureEmbedder freq_embed{nullptr};
  model::Mlp channel_location_embedder{nullptr};
  model::CrossAttentionBlock cross_attn{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(LunaBase);

class LunaBaseModel final : public EfficiencyModel {
 public:
  LunaBaseModel() { net_->eval(); }
  std::string name() const override { return "luna_base"; }
  double sample_rate_hz() const override { return 256.0; }
  int64_t patch_samples() const override { return kPatch; }
  int64_t parameter_count() const override { return model::count_parameters(*net_); }
  torch::Tensor forward(const torch::Tensor& signal, const torch::Tensor& locations) override {
    LUMAMBA_CHECK_INPUT(signal.dim() == 3 && signal.size(0) == 1 && signal.size(1) > 0 && signal.size(2) > 0 &&
                            signal.size(2) % kPatch == 0,
                        "luna_base: signal must be (1, C, S·{}), got {}", kPatch, signal.sizes());
    LUMAMBA_CHECK_INPUT(locations.dim() == 3 && locations.size(0) == 1 && locations.size(1) == signal.size(1) &&
                            locations.size(2) == 3,
                        "luna_base: channel_locations must be (1, {}, 3), got {}", signal.size(1),
                        locations.sizes());
    torch::NoGradGuard no_grad;
    return net_->forward(signal, locations);
  }
  int64_t analytic_macs(int64_t c, int64_t s) const override {
    // Written from the architecture, independently of the module code above.
    const int64_t e = kEmbed, q = kQueries, d = kModel, ff = kEmbed * kMlpRatio, tokens = c * s;
    // Patch embedding convs: 1 → E/4 (kernel 19, stride 10, pad 9: 4 outputs of a 40-sample patch),
    // then 2 × E/4 → E/4 with kernel 3.
    const int64_t w = 4;
    const int64_t patch = tokens * w * (e / 4) * 19 + 2 * tokens * w * (e / 4) * (e / 4) * 3;
    // rfft of each patch as a direct real DFT (21 bins), then Mlp 42 → 168 → E.
    const int64_t freq = tokens * (2 * kPatch * 21 + 42 * 168 + 168 * e);
    const int64_t location = c * (e * 2 * e + 2 * e * e);
    // Cross-attention: the shared learned queries are projected once per forward; keys/values,
    // scores, weighted sum, output projection and the FFN per patch; then 3 query self-attention
    // layers (4 projections, QKᵀ and AV over Q queries, FFN E → ff → E) per patch.
    const int64_t per_patch = 2 * c * e * e + 2 * q * c * e + q * e * e + 2 * q * e * ff +
                              3 * (4 * q * e * e + 2 * q * q * e + 2 * q * e * ff);
    const int64_t cross = q * e * e + s * per_patch;
    // Temporal blocks over S latents of width D: qkv 3D², QKᵀ and AV S·S·D each, proj D², MLP 2·4D².
    const int64_t temporal = kDepth * (s * (3 * d * d + d * d + 8 * d * d) + 2 * s * s * d);
    return patch + freq + location + cross + temporal;
  }

 private:
  LunaBase net_;
};

}  // namespace

std::unique_ptr<EfficiencyModel> make_luna_base() { return std::make_unique<LunaBaseModel>(); }

}  // namespace lumamba::bench::peers
