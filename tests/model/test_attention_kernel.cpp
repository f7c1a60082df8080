// Multi-head attention: the fused inference kernel (kernels/attention_cpu, taken without autograd)
// against the LibTorch-ops path of the same module (taken when gradients are needed), for the three
// call patterns of the model — self-attention (query = key = value), LUNA's learned queries shared
// by every row (stride 0) against the channels, and distinct query/key tensors — plus head sizes
// that leave a tail (hd = 12) and key counts over one 16-lane block (M = 37).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "lumamba/model/layers.h"

namespace lumamba::test {
namespace {

using model::MultiheadAttention;
using model::MultiheadAttentionOptions;

double rel_err(const torch::Tensor& a, const torch::Tensor& ref) {
  auto r = ref.detach().to(torch::kFloat64);
  return (a.detach().to(torch::kFloat64) - r).abs().max().item<double>() / r.abs().max().item<double>();
}

enum class Pattern { kSelf, kSharedQuery, kDistinct };

struct AttnCase {
  int64_t embed, heads, rows, len_q, len_k;
  Pattern pattern;
};

/// Kernel (no grad) vs ops (grad enabled: the parameters require grad) on the same module.
void expect_kernel_matches_ops(const AttnCase& c, torch::ScalarType dtype, double tol) {
  torch::manual_seed(3);
  MultiheadAttention mha(MultiheadAttentionOptions(c.embed, c.heads));
  mha->eval();
  mha->to(dtype);
  auto o = torch::TensorOptions().dtype(dtype);
  torch::Tensor q, k, v;
  if (c.pattern == Pattern::kSelf) {
    q = k = v = torch::randn({c.rows, c.len_q, c.embed}, o);
  } else {
    q = c.pattern == Pattern::kSharedQuery ? torch::randn({1, c.len_q, c.embed}, o).expand({c.rows, c.len_q, c.embed})
                                           : torch::randn({c.rows, c.len_q, c.embed}, o);
    k = torch::randn({c.rows, c.len_k, c.embed}, o) * 2.0;  // wider scores: softmax away from uniform
    v = torch::randn({c.rows, c.len_k, c.embed}, o);
  }
  const auto ops = mha->forward(q, k, v, /*need_weights=*/true);
  ASSERT_TRUE(ops.output.requires_grad()) << "the reference must come from the autograd (ops) path";
  model::AttentionOutput fused;
  {
    torch::NoGradGuard no_grad;
    fused = mha->forward(q, k, v, true);
  }
  const std::string what = "E" + std::to_string(c.embed) + " h" + std::to_string(c.heads) + " L" +
                           std::to_string(c.len_q) + " M" + std::to_string(c.len_k);
  ASSERT_EQ(fused.output.sizes(), ops.output.sizes()) << what;
  ASSERT_EQ(fused.weights.sizes(), ops.weights.sizes()) << what;
  EXPECT_LE(rel_err(fused.output, ops.output), tol) << what;
  EXPECT_LE(rel_err(fused.weights, ops.weights), tol) << what;
  // Each row's head-averaged weights are a distribution over the keys.
  EXPECT_LE((fused.weights.sum(-1).to(torch::kFloat64) - 1.0).abs().max().item<double>(), 10 * tol) << what;
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(mha->forward(q, k, v, false).weights.defined()) << what;
}

const AttnCase kCases[] = {
    {64, 2, 70, 6, 6, Pattern::kSelf},         // query self-attention of LUNA-Tiny
    {64, 2, 70, 6, 22, Pattern::kSharedQuery},  // cross-attention over 22 channels
    {64, 2, 9, 6, 37, Pattern::kSharedQuery},   // > 16 keys: several lane blocks, padded tail
    {24, 2, 9, 5, 7, Pattern::kDistinct},       // hd = 12: the scalar head_dim tail
    {48, 3, 5, 1, 19, Pattern::kDistinct},      // one query (the LUNA classifier's), hd = 16
};

TEST(AttentionKernel, EqualsOpsPathFloat64) {
  // Only the summation order and the exp polynomial (≤ 2e-16 relative) differ.
  for (const auto& c : kCases) expect_kernel_matches_ops(c, torch::kFloat64, 1e-13);
}

TEST(AttentionKernel, EqualsOpsPathFloat32) {
  // float32 rounding of 64-term dot products and the softmax: observed ≤ 5e-7.
  for (const auto& c : kCases) expect_kernel_matches_ops(c, torch::kFloat32, 5e-6);
}

TEST(AttentionKernel, TrainingWithDropoutTakesTheOpsPath) {
  torch::manual_seed(4);
  MultiheadAttention mha(MultiheadAttentionOptions(16, 2).dropout(0.5));
  mha->train();
  auto x = torch::randn({4, 3, 16});
  torch::NoGradGuard no_grad;  // no autograd, but dropout is active: the kernel must not run
  auto a = mha->forward(x, x, x, true).output;
  auto b = mha->forward(x, x, x, true).output;
  EXPECT_FALSE(torch::allclose(a, b)) << "dropout was not applied";
}

}  // namespace
}  // namespace lumamba::test
