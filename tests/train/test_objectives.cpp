// Pre-training objectives vs the PyTorch reference numbers (tests/fixtures/golden/sigreg.safetensors,
// case_c22.safetensors; golden README) plus properties of masking, cropping and the total loss.
#include "lumamba/train/objectives.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <string>

#include "lumamba/core/error.h"
#include "lumamba/data/normalize.h"
#include "support/golden.h"
#include "support/tensor_compare.h"

namespace lumamba::test {
namespace {

using train::PretrainObjectiveOptions;

// The brief's bounds: float32 results within 1e-4 of the float32 reference (relative for scalars,
// ·RMS for tensors); float64 within 1e-9 (only summation order differs).
constexpr double kF32Rel = 1e-4;
constexpr double kF64Rel = 1e-9;

::testing::AssertionResult scalar_close(const torch::Tensor& actual, const torch::Tensor& expected, double rel) {
  const double a = actual.item<double>(), e = expected.reshape({}).item<double>();
  if (std::abs(a - e) <= rel * std::abs(e)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a << " vs " << e << " (rel err " << std::abs(a - e) / std::abs(e)
                                       << " > " << rel << ")";
}

torch::Generator cpu_generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

class ObjectivesGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sigreg_ = new std::map<std::string, torch::Tensor>(load_tensors(open_golden("sigreg.safetensors")));
    case_ = new std::map<std::string, torch::Tensor>(load_tensors(open_golden("case_c22.safetensors")));
  }
  static void TearDownTestSuite() {
    delete sigreg_;
    delete case_;
  }
  static torch::Tensor g(const std::string& name) { return sigreg_->at(name); }
  static torch::Tensor c22(const std::string& name) { return case_->at(name); }
  static std::map<std::string, torch::Tensor>* sigreg_;
  static std::map<std::string, torch::Tensor>* case_;
};
std::map<std::string, torch::Tensor>* ObjectivesGolden::sigreg_ = nullptr;
std::map<std::string, torch::Tensor>* ObjectivesGolden::case_ = nullptr;

// ------------------------------------------------------------------------------------ SIGReg

TEST_F(ObjectivesGolden, SigregDirectionsReproduceTheCpuGeneratorStream) {
  const int64_t step = g("sigreg.global_step").item<int64_t>();
  const int64_t num_slices = g("sigreg.num_slices").item<int64_t>();
  ASSERT_EQ(step, 7);
  auto directions = train::sigreg_directions(384, num_slices, step);  // (D, M)
  const auto& expected = g("sigreg.A");
  ASSERT_EQ(directions.sizes(), expected.sizes());
  const double max_abs = (directions - expected).abs().max().item<double>();
  // Same mt19937 stream and Box–Muller transform: bit-identical on the machines tried (LibTorch
  // 1.13, AVX2). The bound leaves room for a CPU build whose vectorised log/sin/cos round differently.
  EXPECT_LT(max_abs, 1e-6) << "max |A − golden A| = " << max_abs;
  auto column_norms = directions.norm(2, c10::IntArrayRef(int64_t{0}));
  EXPECT_TRUE(torch::allclose(column_norms, torch::ones_like(column_norms), 0.0, 1e-6));
  // A different step draws different directions.
  EXPECT_FALSE(torch::allclose(train::sigreg_directions(384, num_slices, step + 1), directions));
}

TEST_F(ObjectivesGolden, SigregFloat32MatchesLossStatisticEcfAndGradient) {
  auto emb = g("sigreg.emb").clone().requires_grad_(true);  // (N, D)
  auto result = train::sigreg(emb, g("sigreg.A"));
  EXPECT_TRUE(scalar_close(result.loss, g("sigreg.loss"), kF32Rel));
  EXPECT_TRUE(close_rms(result.statistic_per_slice, g("sigreg.T_per_slice"), kF32Rel));
  EXPECT_TRUE(close_rms(result.ecf, g("sigreg.ecf_re_im"), kF32Rel));
  result.loss.backward();
  EXPECT_TRUE(close_rms(emb.grad(), g("sigreg.grad_emb"), kF32Rel));
  EXPECT_TRUE(torch::allclose(train::sigreg_loss(emb.detach(), g("sigreg.A")), result.loss.detach()));
}

TEST_F(ObjectivesGolden, SigregFloat64MatchesLossAndGradient) {
  auto emb = g("sigreg.emb").to(torch::kFloat64).requires_grad_(true);
  auto directions = g("sigreg.A").to(torch::kFloat64);
  auto result = train::sigreg(emb, directions);
  EXPECT_EQ(result.loss.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(scalar_close(result.loss, g("sigreg.loss_f64"), kF64Rel));
  result.loss.backward();
  EXPECT_TRUE(close_rms(emb.grad(), g("sigreg.grad_emb_f64"), kF64Rel));
}

TEST(Sigreg, GaussianSamplesScoreLowerThanCollapsedOnes) {
  torch::manual_seed(3);
  auto directions = train::sigreg_directions(32, 16, 0);
  auto gaussian = torch::randn({512, 32});
  auto collapsed = torch::randn({512, 1}).expand({512, 32}) * 0.01;
  EXPECT_LT(train::sigreg_loss(gaussian, directions).item<double>(),
            train::sigreg_loss(collapsed, directions).item<double>());
  EXPECT_THROW(train::sigreg_loss(gaussian, train::sigreg_directions(31, 16, 0)), InputError);
}

// ------------------------------------------------------------------------------------ LeJEPA

TEST_F(ObjectivesGolden, LejepaMatchesPartsAndLocalGradient) {
  auto local = g("lejepa.a_emb_local").clone().requires_grad_(true);     // (V_l, B, D)
  auto global = g("lejepa.g_emb_global").clone().requires_grad_(true);  // (V_g, B, D)
  const double lambda = g("lejepa.lambda").item<double>();
  auto loss = train::lejepa_loss(local, global, g("sigreg.A"), lambda);
  EXPECT_TRUE(scalar_close(loss.prediction, g("lejepa.sim"), kF32Rel));
  EXPECT_TRUE(scalar_close(loss.sigreg, g("lejepa.sigreg"), kF32Rel));
  EXPECT_TRUE(scalar_close(loss.total, g("lejepa.loss"), kF32Rel));
  loss.total.backward();
  EXPECT_TRUE(close_rms(local.grad(), g("lejepa.grad_a_emb"), kF32Rel));
  // No stop-gradient: the global views are trained too.
  ASSERT_TRUE(global.grad().defined());
  EXPECT_GT(global.grad().abs().sum().item<double>(), 0.0);
}

// ------------------------------------------------------------------------------ reconstruction

TEST_F(ObjectivesGolden, ReconstructionLossMatchesPartsAndGradient) {
  auto prediction = c22("pre.recon").clone().requires_grad_(true);  // (B, C, T)
  auto mask = c22("mask").to(torch::kBool);
  auto loss = train::reconstruction_loss(prediction, c22("input"), mask, g("recon.unmasked_coeff").item<double>());
  EXPECT_TRUE(scalar_close(loss.masked, g("recon.masked_loss"), kF32Rel));
  EXPECT_TRUE(scalar_close(loss.unmasked, g("recon.unmasked_loss"), kF32Rel));
  EXPECT_TRUE(scalar_close(loss.total, g("recon.loss"), kF32Rel));
  loss.total.backward();
  EXPECT_TRUE(close_rms(prediction.grad(), g("recon.grad_pred"), kF32Rel));
  // The golden mask is shared by the batch, so the (C, T) form gives the same loss.
  auto from_token_mask = train::reconstruction_loss(prediction.detach(), c22("input"), mask[0]);
  EXPECT_TRUE(torch::allclose(from_token_mask.total, loss.total.detach()));
}

TEST_F(ObjectivesGolden, QuerySpecializationLossMatches) {
  auto loss = train::query_specialization_loss(c22("pre.xattn.attn_weights"), g("query_spec.coeff").item<double>());
  EXPECT_TRUE(scalar_close(loss, g("query_spec.loss"), kF32Rel));
}

TEST_F(ObjectivesGolden, GoldenMaskHasTheTaskMaskShape) {
  // The golden mask was made by the task's generate_mask: int(C·S·0.5) whole tokens, same for both
  // samples. Our mask follows the same rule (only the random stream differs).
  auto mask = c22("mask").to(torch::kBool);  // (B, C, T)
  const int64_t c = mask.size(1), t = mask.size(2), s = t / 40;
  EXPECT_TRUE(torch::equal(mask[0], mask[1]));
  auto tokens = mask[0].view({c, s, 40});
  EXPECT_TRUE(torch::equal(tokens.all(-1), tokens.any(-1)));
  EXPECT_EQ(tokens.all(-1).sum().item<int64_t>(), c * s / 2);
  auto generator = cpu_generator(0);
  auto ours = train::make_token_mask(c, t, 40, 0.5, generator);
  EXPECT_EQ(ours.view({c, s, 40}).all(-1).sum().item<int64_t>(), c * s / 2);
}

// ------------------------------------------------------------------------------------ masking

TEST(TokenMask, MasksWholeTokensWithTheTaskCount) {
  struct Case {
    int64_t c, t, p;
    double ratio;
  };
  for (const auto& k : {Case{22, 1280, 40, 0.5}, Case{20, 1280, 40, 0.6}, Case{3, 120, 40, 0.5}, Case{5, 80, 8, 0.0},
                        Case{5, 80, 8, 1.0}}) {
    auto generator = cpu_generator(42);
    auto mask = train::make_token_mask(k.c, k.t, k.p, k.ratio, generator);  // (C, T)
    ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{k.c, k.t}));
    ASSERT_EQ(mask.scalar_type(), torch::kBool);
    const int64_t s = k.t / k.p;
    auto tokens = mask.view({k.c, s, k.p});
    EXPECT_TRUE(torch::equal(tokens.all(-1), tokens.any(-1))) << "a token is partly masked";
    const auto expected = static_cast<int64_t>(static_cast<double>(k.c * s) * k.ratio);
    EXPECT_EQ(tokens.all(-1).sum().item<int64_t>(), expected) << k.c << "x" << s << " ratio " << k.ratio;
  }
}

TEST(TokenMask, IsReproducibleAndBroadcastOverTheBatch) {
  auto gen_a = cpu_generator(5), gen_b = cpu_generator(5);
  auto mask_a = train::make_token_mask(4, 64, 8, 0.5, gen_a);
  EXPECT_TRUE(torch::equal(mask_a, train::make_token_mask(4, 64, 8, 0.5, gen_b)));
  EXPECT_FALSE(torch::equal(mask_a, train::make_token_mask(4, 64, 8, 0.5, gen_a)));  // the stream moved on
  auto batch = mask_a.unsqueeze(0).expand({3, 4, 64});
  for (int64_t b = 0; b < 3; ++b) EXPECT_TRUE(torch::equal(batch[b], mask_a));
  EXPECT_THROW(train::make_token_mask(4, 60, 8, 0.5, gen_a), InputError);
}

// ------------------------------------------------------------------------------------ crops

TEST(RandomCrops, ShapesStartsAndContentMatchTheSource) {
  torch::manual_seed(1);
  auto x = torch::randn({3, 4, 100}).requires_grad_(true);  // (B, C, T)
  auto generator = cpu_generator(9);
  const int64_t n_views = 5, len = 30;
  auto crops = train::random_crops(x, n_views, len, generator);
  ASSERT_EQ(crops.views.sizes(), (std::vector<int64_t>{n_views * 3, 4, len}));
  ASSERT_EQ(crops.start_samples.sizes(), (std::vector<int64_t>{n_views, 3}));
  EXPECT_GE(crops.start_samples.min().item<int64_t>(), 0);
  EXPECT_LE(crops.start_samples.max().item<int64_t>(), 100 - len);
  for (int64_t v = 0; v < n_views; ++v) {
    for (int64_t b = 0; b < 3; ++b) {
      const int64_t start = crops.start_samples[v][b].item<int64_t>();
      EXPECT_TRUE(torch::equal(crops.views[v * 3 + b], x[b].slice(1, start, start + len))) << v << "," << b;
    }
  }
  // Starts are independent per sample and not patch aligned: 15 draws from 71 values are not all
  // equal and not all multiples of a patch.
  EXPECT_GT(std::get<0>(torch::_unique(crops.start_samples)).numel(), 1);
  // Differentiable: each source sample's gradient counts how many crops cover it.
  crops.views.sum().backward();
  EXPECT_DOUBLE_EQ(x.grad().sum().item<double>(), static_cast<double>(n_views * 3 * 4 * len));
  // A full-length crop is the input itself.
  auto full = train::random_crops(x.detach(), 2, 100, generator);
  EXPECT_TRUE(torch::equal(full.views, x.detach().repeat({2, 1, 1})));
  EXPECT_THROW(train::random_crops(x, 1, 101, generator), InputError);
}

// ------------------------------------------------------------------------------------ options

TEST(PretrainObjectiveOptions, DefaultsAreTheReferenceConfig) {
  PretrainObjectiveOptions options;
  EXPECT_EQ(options.mode(), "reconstruction");
  EXPECT_DOUBLE_EQ(options.mask_ratio(), 0.5);
  EXPECT_DOUBLE_EQ(options.unmasked_loss_coeff(), 0.05);
  EXPECT_DOUBLE_EQ(options.query_spec_coeff(), 0.8);
  EXPECT_EQ(options.num_global_views(), 2);
  EXPECT_EQ(options.num_local_views(), 4);
  EXPECT_EQ(options.num_patches_global(), 16);
  EXPECT_EQ(options.num_patches_local(), 4);
  EXPECT_EQ(options.num_slices(), 128);
  EXPECT_DOUBLE_EQ(options.lambda_lejepa(), 0.002);
  EXPECT_DOUBLE_EQ(options.lejepa_scaling(), 0.05);
  EXPECT_NO_THROW(train::validate(options));
  EXPECT_THROW(train::validate(PretrainObjectiveOptions().mode("jepa")), InputError);
  EXPECT_THROW(train::validate(PretrainObjectiveOptions().mask_ratio(1.5)), InputError);
  EXPECT_THROW(train::validate(PretrainObjectiveOptions().num_local_views(0)), InputError);
  EXPECT_THROW(train::validate(PretrainObjectiveOptions().lambda_lejepa(-0.1)), InputError);
  EXPECT_THROW(train::validate(PretrainObjectiveOptions().num_slices(0)), InputError);
}

// ------------------------------------------------------------------------------- total loss

// A small pretraining model: P = 8, E = 16, Q = 2 (D = 32), one bi-Mamba block.
class PretrainLossSmallModel : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    net_ = model::LuMamba(model::LuMambaOptions()
                              .patch_size(8)
                              .embed_dim(16)
                              .num_queries(2)
                              .num_heads(2)
                              .num_blocks(1)
                              .d_state(4)
                              .num_classes(0));
    signal_ = data::zscore_channels(torch::randn({b_, c_, t_}) * 20.0);  // (B, C, T)
    locations_ = torch::rand({1, c_, 3}).expand({b_, c_, 3}).contiguous() * 0.1;     // (B, C, 3) m
    names_ = torch::randint(0, 90, {1, c_}, torch::kLong).expand({b_, c_}).contiguous();
  }
  // Small crops so the window (20 patches) holds both view lengths.
  PretrainObjectiveOptions options(const std::string& mode) const {
    return PretrainObjectiveOptions().mode(mode).num_patches_global(8).num_patches_local(2).num_slices(16);
  }
  static double grad_abs_sum(const torch::nn::Module& module) {
    double total = 0.0;
    for (const auto& p : module.parameters()) {
      if (p.grad().defined()) total += p.grad().abs().sum().item<double>();
    }
    return total;
  }
  static bool finite(const torch::Tensor& x) { return x.defined() && std::isfinite(x.item<double>()); }

  const int64_t b_ = 3, c_ = 5, t_ = 160;
  model::LuMamba net_{nullptr};
  torch::Tensor signal_, locations_, names_;
};

TEST_F(PretrainLossSmallModel, EveryModeGivesFiniteLossesAndEncoderGradients) {
  for (const std::string mode : {"reconstruction", "lejepa", "mixed"}) {
    SCOPED_TRACE(mode);
    net_->train();
    net_->zero_grad();
    auto generator = cpu_generator(11);
    auto loss = train::compute_pretrain_loss(net_, signal_, locations_, names_, /*step=*/3, options(mode), generator);
    ASSERT_TRUE(finite(loss.total));
    const bool recon = mode != "lejepa", lejepa = mode != "reconstruction";
    EXPECT_EQ(finite(loss.reconstruction), recon);
    EXPECT_EQ(finite(loss.reconstruction_masked), recon);
    EXPECT_EQ(finite(loss.reconstruction_unmasked), recon);
    EXPECT_EQ(finite(loss.query_spec), recon);
    EXPECT_EQ(loss.token_mask.defined(), recon);
    EXPECT_EQ(finite(loss.lejepa), lejepa);
    EXPECT_EQ(finite(loss.lejepa_prediction), lejepa);
    EXPECT_EQ(finite(loss.lejepa_sigreg), lejepa);
    double expected_total = 0.0;
    if (recon) expected_total += loss.reconstruction.item<double>() + loss.query_spec.item<double>();
    if (lejepa) expected_total += 0.05 * loss.lejepa.item<double>();
    EXPECT_NEAR(loss.total.item<double>(), expected_total, 1e-5 * std::abs(expected_total));
    if (lejepa) {
      EXPECT_NEAR(loss.lejepa.item<double>(),
                  0.998 * loss.lejepa_prediction.item<double>() + 0.002 * loss.lejepa_sigreg.item<double>(), 1e-6);
    }

    loss.total.backward();
    EXPECT_GT(grad_abs_sum(*net_->patch_embed), 0.0);
    EXPECT_GT(grad_abs_sum(*net_->cross_attn), 0.0);
    EXPECT_GT(grad_abs_sum(*net_->mamba_blocks), 0.0);
    // LeJEPA-only never runs the decoder, so its parameters get no gradient (the reference needs
    // find_unused_parameters for the same reason). zero_grad() keeps earlier modes' grads as zeros.
    if (recon) {
      EXPECT_GT(grad_abs_sum(*net_->decoder_head), 0.0);
    } else {
      EXPECT_EQ(grad_abs_sum(*net_->decoder_head), 0.0);
    }
  }
}

TEST_F(PretrainLossSmallModel, ReconstructionTotalIsReconstructionPlusQuerySpecialisation) {
  // eval(): no dropout and no location jitter, so an independent forward is identical.
  net_->eval();
  auto generator = cpu_generator(4);
  auto loss = train::compute_pretrain_loss(net_, signal_, locations_, names_, 0, options("reconstruction"), generator);
  ASSERT_EQ(loss.token_mask.sizes(), (std::vector<int64_t>{c_, t_}));

  auto batch_mask = loss.token_mask.unsqueeze(0).expand({b_, c_, t_});
  auto out = net_->forward(signal_, locations_, batch_mask, names_);
  auto recon = train::reconstruction_loss(out.reconstruction, signal_, batch_mask, 0.05);
  auto qs = train::query_specialization_loss(out.attention_weights, 0.8);
  EXPECT_TRUE(torch::allclose(loss.reconstruction_masked, recon.masked, 1e-6, 0.0));
  EXPECT_TRUE(torch::allclose(loss.reconstruction_unmasked, recon.unmasked, 1e-6, 0.0));
  EXPECT_TRUE(torch::allclose(loss.query_spec, qs, 1e-6, 0.0));
  EXPECT_TRUE(torch::allclose(loss.total, recon.total + qs, 1e-6, 0.0));
  // The same generator seed gives the same mask.
  auto generator_again = cpu_generator(4);
  EXPECT_TRUE(torch::equal(train::make_token_mask(c_, t_, 8, 0.5, generator_again), loss.token_mask));
}

TEST_F(PretrainLossSmallModel, RejectsBadInputs) {
  auto generator = cpu_generator(0);
  // Crops longer than the window.
  EXPECT_THROW(train::compute_pretrain_loss(net_, signal_, locations_, names_, 0,
                                            options("lejepa").num_patches_global(21), generator),
               InputError);
  // The decoder needs channel names.
  EXPECT_THROW(train::compute_pretrain_loss(net_, signal_, locations_, torch::Tensor(), 0, options("mixed"), generator),
               InputError);
  EXPECT_THROW(train::compute_pretrain_loss(net_, signal_, locations_, names_, 0, options("both"), generator),
               InputError);
}

}  // namespace
}  // namespace lumamba::test
