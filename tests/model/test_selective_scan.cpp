// Selective scan and bidirectional Mamba against the golden mamba_block.safetensors
// (mamba_ssm selective_scan_ref outputs and autograd gradients, float32 and float64).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lumamba/model/mamba.h"
#include "lumamba/model/selective_scan.h"
#include "support/golden.h"
#include "support/tensor_compare.h"
#include "support/tolerances.h"

namespace lumamba::test {
namespace {

const std::vector<std::string> kScanInputs = {"u", "delta", "A", "B", "C", "D", "z", "delta_bias"};

void check_scan(torch::ScalarType dtype) {
  auto g = load_tensors(open_golden("mamba_block.safetensors"));
  const bool f64 = dtype == torch::kFloat64;
  const std::string suffix = f64 ? "_f64" : "";
  std::map<std::string, torch::Tensor> x;
  for (const auto& name : kScanInputs) x[name] = g.at("scan." + name).to(dtype).requires_grad_(true);
  model::SelectiveScanArgs args{x["u"], x["delta"], x["A"], x["B"], x["C"], x["D"], x["z"], x["delta_bias"], true};
  auto out = model::selective_scan(args);
  const double tol = f64 ? kF64StageRmsTol : kF32StageRmsTol;
  EXPECT_TRUE(close_rms(out, g.at("scan.out" + suffix), tol));
  (out * g.at("scan.g").to(dtype)).sum().backward();
  for (const auto& name : kScanInputs) {
    EXPECT_TRUE(close_rms(x[name].grad(), g.at("scan.grad_" + name + suffix), f64 ? kF64StageRmsTol : kF32GradRmsTol))
        << "gradient of " << name;
  }
}

TEST(SelectiveScan, GoldenOutputAndGradientsFloat32) { check_scan(torch::kFloat32); }
TEST(SelectiveScan, GoldenOutputAndGradientsFloat64) { check_scan(torch::kFloat64); }

TEST(SelectiveScan, SingleStepIsAnalytic) {
  // L = 1, h_0 = 0: y = (Δ·u·Σ_n B_n C_n + D·u)·SiLU(z), with Δ = softplus(δ + bias).
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto u = torch::tensor({0.7}, opts).view({1, 1, 1});
  auto delta = torch::tensor({-0.3}, opts).view({1, 1, 1});
  auto bias = torch::tensor({0.1}, opts);
  auto A = torch::tensor({-1.0, -2.0}, opts).view({1, 2});
  auto B = torch::tensor({0.5, -1.5}, opts).view({1, 2, 1});
  auto C = torch::tensor({2.0, 0.25}, opts).view({1, 2, 1});
  auto D = torch::tensor({0.9}, opts);
  auto z = torch::tensor({0.4}, opts).view({1, 1, 1});
  model::SelectiveScanArgs args{u, delta, A, B, C, D, z, bias, true};
  const double dt = std::log1p(std::exp(-0.3 + 0.1));
  const double silu = 0.4 / (1.0 + std::exp(-0.4));
  const double expected = (dt * 0.7 * (0.5 * 2.0 + -1.5 * 0.25) + 0.9 * 0.7) * silu;
  EXPECT_NEAR(model::selective_scan(args).item<double>(), expected, 1e-15);
}

TEST(BiMamba, GoldenOutputAndInputGradient) {
  auto g = load_tensors(open_golden("mamba_block.safetensors"));
  auto weights = open_golden("weights.safetensors");
  model::MambaWrapper block(model::MambaWrapperOptions(model::MambaOptions(384)));
  // Take the block-0 tensors of the encoder, renamed to the wrapper's own names.
  torch::NoGradGuard no_grad_load;
  for (auto& kv : block->named_parameters()) {
    kv.value().copy_(model::to_torch(weights.at("mamba_blocks.0." + kv.key())));
  }
  {
    torch::AutoGradMode enable(true);
    auto input = g.at("bimamba.input").clone().requires_grad_(true);
    auto out = block->forward(input);
    EXPECT_TRUE(close_rms(out, g.at("bimamba.output"), kF32StageRmsTol));
    (out * g.at("bimamba.g")).sum().backward();
    EXPECT_TRUE(close_rms(input.grad(), g.at("bimamba.grad_input"), kF32GradRmsTol));
  }
}

}  // namespace
}  // namespace lumamba::test
