// Parameter counts measured on the reference (golden config.json / docs/reference-model.md §6) and MAC counts
// checked against an independent formula (linear-layer MACs = weights × tokens).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lumamba/model/flops.h"
#include "lumamba/model/lumamba.h"

namespace lumamba::test {
namespace {

using model::count_parameters;
using model::LuMamba;
using model::LuMambaOptions;

int64_t head_params(LuMamba& net) {
  int64_t n = 0;
  for (const auto& child : net->named_children()) {
    if (child.key() == "classifier" || child.key() == "decoder_head" || child.key() == "channel_emb") {
      n += count_parameters(*child.value());
    }
  }
  return n;
}

TEST(ParameterCounts, MatchReference) {
  LuMamba pretrain(LuMambaOptions().num_classes(0));
  EXPECT_EQ(count_parameters(*pretrain), 4194337);
  EXPECT_EQ(count_parameters(*pretrain) - head_params(pretrain), 4094777);  // encoder
  LuMamba luna(LuMambaOptions().num_classes(2));
  EXPECT_EQ(count_parameters(*luna), 5280955);
  LuMamba mamba(LuMambaOptions().num_classes(2).classifier_option("mamba"));
  EXPECT_EQ(count_parameters(*mamba), 4631611);
  LuMamba linear(LuMambaOptions().num_classes(2).classifier_option("linear"));
  EXPECT_EQ(count_parameters(*linear), 4095547);
  EXPECT_EQ(count_parameters(*pretrain->mamba_blocks[0]->as<model::MambaWrapper>()->mamba_fwd), 963840);
}

TEST(ParameterCounts, EverySizeFollowsTheConfig) {
  // A non-Tiny config: Q=4, E=32, 3 blocks, d_state 8, 7 channels, P = 20.
  auto options = LuMambaOptions().num_queries(4).embed_dim(32).num_blocks(3).d_state(8).patch_size(20).num_classes(3);
  LuMamba net(options);
  net->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 7, 200});
  auto out = net->forward(x, torch::rand({2, 7, 3}));
  EXPECT_EQ(out.encoder_out.sizes(), (std::vector<int64_t>{2, 10, 128}));
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(out.attention_weights.sizes(), (std::vector<int64_t>{20, 4, 7}));
  EXPECT_EQ(net->mamba_blocks->size(), 3u);
  EXPECT_EQ(net->mamba_blocks[0]->as<model::MambaWrapper>()->mamba_fwd->A_log.sizes(),
            (std::vector<int64_t>{256, 8}));
  auto pre = LuMamba(LuMambaOptions(options).num_classes(0));
  pre->eval();
  auto rec = pre->forward(x, torch::rand({2, 7, 3}), torch::zeros({2, 7, 200}, torch::kBool),
                          torch::randint(0, 90, {2, 7}));
  EXPECT_EQ(rec.reconstruction.sizes(), x.sizes());
}

TEST(MacCount, MambaLinearLayersEqualWeightsTimesTokens) {
  const LuMambaOptions options;
  const int64_t s = 32;
  LuMamba net(options);
  auto mamba = net->mamba_blocks[0]->as<model::MambaWrapper>()->mamba_fwd;
  const int64_t linear_weights = mamba->in_proj->weight.numel() + mamba->x_proj->weight.numel() +
                                 mamba->dt_proj->weight.numel() + mamba->out_proj->weight.numel();
  const int64_t di = options.encoder_mamba().d_inner(), n = options.d_state();
  // K conv taps per output of the depthwise conv (L outputs, as the inference kernel computes
  // them), then 3 scan MACs per state + D skip, per token and channel.
  const int64_t k = options.d_conv();
  const int64_t expected = s * linear_weights + s * di * k + s * di * (3 * n + 1);
  EXPECT_EQ(model::mamba_macs(options.encoder_mamba(), s), expected);
  const auto total = model::count_macs(LuMambaOptions(options).num_classes(2), 22, 1280);
  int64_t blocks = 0;
  for (const auto& p : total.parts) if (p.first == "mamba_blocks") blocks = p.second;
  EXPECT_EQ(blocks, 2 * 2 * expected);
  EXPECT_GT(total.total(), blocks);
}

}  // namespace
}  // namespace lumamba::test
