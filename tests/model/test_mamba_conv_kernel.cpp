// The Mamba block's fused depthwise conv + SiLU (kernels/conv_silu_cpu, taken without autograd)
// against the LibTorch-ops path of the same block (conv1d with padding, taken when gradients are
// needed), in both time directions, including sequences shorter than the conv (L < K).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "lumamba/model/mamba.h"

namespace lumamba::test {
namespace {

void expect_block_kernel_matches_ops(torch::ScalarType dtype, double tol) {
  torch::manual_seed(8);
  model::Mamba block(model::MambaOptions(16).d_conv(4));
  block->to(dtype);
  for (int64_t len : {9, 2, 1}) {
    for (bool reverse : {false, true}) {
      auto x = torch::randn({3, len, 16}, torch::TensorOptions().dtype(dtype));
      const auto ops = block->forward(x, reverse);
      ASSERT_TRUE(ops.requires_grad()) << "the reference must come from the autograd (ops) path";
      torch::Tensor fused;
      {
        torch::NoGradGuard no_grad;
        fused = block->forward(x, reverse);
      }
      const double err = (fused - ops.detach()).abs().max().item<double>() / ops.detach().abs().max().item<double>();
      EXPECT_LE(err, tol) << "L " << len << (reverse ? " reverse" : "");
    }
  }
}

// float64: only the tap summation order and σ's exp polynomial differ (≤ 2e-16 each).
TEST(MambaConvKernel, EqualsOpsPathFloat64) { expect_block_kernel_matches_ops(torch::kFloat64, 1e-13); }
// float32: the same differences at float32 rounding through x_proj, the scan and out_proj.
TEST(MambaConvKernel, EqualsOpsPathFloat32) { expect_block_kernel_matches_ops(torch::kFloat32, 5e-6); }

}  // namespace
}  // namespace lumamba::test
