// LaBraM-Base as a comparison encoder for the efficiency study (lumamba/bench/peers.h): forward only,
// random weights. LaBraM (Jiang et al., ICLR 2024; braindecode Labram; labram_base_patch200_200:
// embed 200, depth 12, heads 10, MLP ratio 4, qk-norm, layer scale 0.1) embeds every 1-s patch of
// every channel with a small temporal CNN and runs full softmax self-attention over all C·S tokens
// plus a CLS token: its cost grows with (C·S)², which is what the study measures against LuMamba.
// Legend: C channels, S patches, P = 200 samples, L = 1 + C·S tokens, E = 200, H = 10, Dh = 20.
#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
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
#include "peers_impl.h"

namespace lumamba::bench::peers {
namespace {

constexpr int64_t kPatch = 200;
constexpr int64_t kEmbed = 200;
constexpr int64_t kDepth = 12;
constexpr int64_t kHeads = 10;
constexpr int64_t kMlpRatio = 4;
constexpr int64_t kConvChannels = 8;
// The released model's embedding tables: 128 electrodes + CLS, and 16 patches (it takes at most
// 256 patch tokens in pre-training). The study sweeps past both; see LabramBaseImpl::forward.
constexpr int64_t kPosEmbedRows = 129;
constexpr int64_t kTimeEmbedRows = 16;
constexpr double kLayerScaleInit = 0.1;

torch::nn::LayerNorm layer_norm_eps6(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6));
}

/// TemporalConv: (1, 1, C·S, P) -> (1, C·S, E); three Conv2d → GroupNorm(4, 8) → GELU, the last
/// two with kernel 3 keeping the 25 time steps; flattened as (time, conv channel) = 25·8 = 200.
class TemporalConvImpl : public torch::nn::Cloneable<TemporalConvImpl> {
 public:
  TemporalConvImpl() { reset(); }
  void reset() override {
    namespace nn = torch::nn;
    const int64_t ch = kConvChannels;
    conv = register_module(
        "conv",
        nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, ch, {1, 15}).stride({1, 8}).padding({0, 7})),
                       nn::GroupNorm(nn::GroupNormOptions(4, ch)), nn::GELU(),
                       nn::Conv2d(nn::Conv2dOptions(ch, ch, {1, 3}).padding({0, 1})),
                       nn::GroupNorm(nn::GroupNormOptions(4, ch)), nn::GELU(),
                       nn::Conv2d(nn::Conv2dOptions(ch, ch, {1, 3}).padding({0, 1})),
                       nn::GroupNorm(nn::GroupNormOptions(4, ch)), nn::GELU()));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = conv->forward(x);                                  // (1, 8, C·S, 25)
    return h.permute({0, 2, 3, 1}).reshape({1, x.size(2), -1});  // (1, C·S, 200)
  }
  torch::nn::Sequential conv{nullptr};
};
TORCH_MODULE(TemporalConv);

/// LaBraM's pre-norm block: x += γ1·attn(LN(x)), x += γ2·MLP(LN(x)); attention with q/k LayerNorm
/// per head and the q and v biases of BEiT (k has none).
class LabramBlockImpl : public torch::nn::Cloneable<LabramBlockImpl> {
 public:
  LabramBlockImpl() { reset(); }
  void reset() override {
    const int64_t e = kEmbed, dh = kEmbed / kHeads;
    norm1 = register_module("norm1", layer_norm_eps6(e));
    qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(e, 3 * e).bias(false)));
    q_bias = register_parameter("q_bias", torch::zeros({e}));
    v_bias = register_parameter("v_bias", torch::zeros({e}));
    q_norm = register_module("q_norm", layer_norm_eps6(dh));
    k_norm = register_module("k_norm", layer_norm_eps6(dh));
    proj = register_module("proj", torch::nn::Linear(e, e));
    norm2 = register_module("norm2", layer_norm_eps6(e));
    fc1 = register_module("fc1", torch::nn::Linear(e, kMlpRatio * e));
    fc2 = register_module("fc2", torch::nn::Linear(kMlpRatio * e, e));
    gamma_1 = register_parameter("gamma_1", torch::full({e}, kLayerScaleInit));
    gamma_2 = register_parameter("gamma_2", torch::full({e}, kLayerScaleInit));
  }
  /// x (L, E) -> (L, E)
  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t l = x.size(0), dh = kEmbed / kHeads;
    auto bias = torch::cat({q_bias, torch::zeros_like(q_bias), v_bias});
    auto parts = torch::linear(norm1->forward(x), qkv->weight, bias)  // (L, 3E)
                     .view({l, 3, kHeads, dh})
                     .permute({1, 2, 0, 3});  // (3, H, L, Dh)
    auto q = q_norm->forward(parts[0]) * (1.0 / std::sqrt(static_cast<double>(dh)));
    auto k = k_norm->forward(parts[1]);
    // Full softmax attention over all L tokens, heads batched: the (H, L, L) scores are materialised.
    auto scores = torch::bmm(q, k.transpose(1, 2));                      // (H, L, L)
    auto attended = torch::bmm(torch::softmax(scores, -1), parts[2]);    // (H, L, Dh)
    auto y = x + gamma_1 * proj->forward(attended.transpose(0, 1).reshape({l, kEmbed}));
    return y + gamma_2 * fc2->forward(torch::gelu(fc1->forward(norm2->forward(y))));
  }
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, q_norm{nullptr}, k_norm{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  torch::Tensor q_bias, v_bias, gamma_1, gamma_2;
};
TORCH_MODULE(LabramBlock);

/// Rows [0, n) of a (1, R, E) embedding table; rows past R (sweeps beyond the released model's
/// sizes) are random, like the rest of the weights: the study measures cost, not accuracy.
torch::Tensor embedding_rows(const torch::Tensor& table, int64_t n) {
  if (n <= table.size(1)) return table.narrow(1, 0, n);
  return torch::cat({table, torch::randn({1, n - table.size(1), table.size(2)}, table.options()) * 0.02}, 1);
}

class LabramBaseImpl : public torch::nn::Cloneable<LabramBaseImpl> {
 public:
  LabramBaseImpl() { reset(); }
  void reset() override {
    patch_embed = register_module("patch_embed", TemporalConv());
    cls_token = register_parameter("cls_token", torch::randn({1, 1, kEmbed}) * 0.02);
    pos_embed = register_parameter("pos_embed", torch::randn({1, kPosEmbedRows, kEmbed}) * 0.02);
    time_embed = register_parameter("time_embed", torch::randn({1, kTimeEmbedRows, kEmbed}) * 0.02);
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < kDepth; ++i) blocks->push_back(LabramBlock());
    norm = register_module("norm", layer_norm_eps6(kEmbed));
  }

  /// signal (1, C, S·P) -> (1, 1 + C·S, E); token 1 + c·S + s is channel c, patch s.
  torch::Tensor forward(const torch::Tensor& signal) {
    const int64_t c = signal.size(1), s = signal.size(2) / kPatch;
    auto patches = patch_embed->forward(signal.reshape({1, 1, c * s, kPatch}));  // (1, C·S, E)
    // Spatial embedding per channel (row 0 is the CLS token's), temporal embedding per patch. The
    // released model has 129 and 16 rows (at most 128 channels, 16 patches); both are built here
    // for the C and S given so that any sweep point runs.
    auto pos = embedding_rows(pos_embed, c + 1);  // (1, C + 1, E)
    auto time = embedding_rows(time_embed, s);    // (1, S, E)
    auto tokens = patches.view({1, c, s, kEmbed}) + pos.narrow(1, 1, c).unsqueeze(2) + time.unsqueeze(1);
    auto x = torch::cat({cls_token + pos.narrow(1, 0, 1), tokens.reshape({1, c * s, kEmbed})}, 1)
                 .squeeze(0);  // (L, E)
    for (const auto& block : *blocks) x = block->as<LabramBlock>()->forward(x);
    return norm->forward(x).unsqueeze(0);  // (1, L, E)
  }

  TemporalConv patch_embed{nullptr};
  torch::Tensor cls_token, pos_embed, time_embed;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(LabramBase);

class LabramBaseModel final : public EfficiencyModel {
 public:
  LabramBaseModel() { net_->eval(); }
  std::string name() const override { return "labram_base"; }
  double sample_rate_hz() const override { return 200.0; }
  int64_t patch_samples() const override { return kPatch; }
  /// The released model's size (embedding tables of 129 channels and 16 patches).
  int64_t parameter_count() const override { return model::count_parameters(*net_); }
  torch::Tensor forward(const torch::Tensor& signal, const torch::Tensor& /*channel_locations*/) override {
    LUMAMBA_CHECK_INPUT(signal.dim() == 3 && signal.size(0) == 1 && signal.size(1) > 0 && signal.size(2) > 0 &&
                            signal.size(2) % kPatch == 0,
                        "labram_base: signal must be (1, C, S·{}), got {}", kPatch, signal.sizes());
    torch::NoGradGuard no_grad;
    return net_->forward(signal);
  }
  int64_t analytic_macs(int64_t c, int64_t s) const override {
    // Written from the architecture, independently of the module code above.
    const int64_t tokens = c * s, l = 1 + tokens, e = kEmbed;
    // TemporalConv: 1 → 8 (kernel 15, stride 8, pad 7: 25 outputs per 200-sample patch), then
    // 2 × 8 → 8 with kernel 3.
    const int64_t conv = tokens * 25 * 8 * 15 + 2 * tokens * 25 * 8 * 8 * 3;
    // Per block: qkv 3E², QKᵀ and AV L·L·E each, proj E², MLP 2·4E² (per token).
    const int64_t block = l * (3 * e * e + e * e + 8 * e * e) + 2 * l * l * e;
    return conv + kDepth * block;
  }

 private:
  LabramBase net_;
};

}  // namespace

std::unique_ptr<EfficiencyModel> make_labram_base() { return std::make_unique<LabramBaseModel>(); }

}  // namespace lumamba::bench::peers
