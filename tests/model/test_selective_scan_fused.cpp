// Fused CPU selective scan (kernels/selective_scan_cpu + selective_scan_fused) against its reference
// selective_scan_ref (mamba_ssm selective_scan_ref v2.3.2 in LibTorch ops, autograd gradients), a
// central-difference gradient check, the reverse flag, carried state, strides, ISA and threads.
// Legend: B batch, Di d_inner, L length, N d_state, K checkpoint chunk size.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/Parallel.h>

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "lumamba/model/kernels/selective_scan_cpu.h"
#include "lumamba/model/mamba.h"
#include "lumamba/model/selective_scan.h"

namespace lumamba::test {
namespace {

using model::SelectiveScanArgs;

/// float64 fused vs float64 loop, max|a − ref| / max|ref|: only the exp/log1p polynomials (≤ 2 ulp)
/// and the summation order differ (docs/style.md §16: kernels vs their own f64 loop ≤ 1e-12 relative).
constexpr double kF64KernelRelTol = 1e-12;
/// float64 gradients vs autograd through the loop: the adjoint sums over n, t and channels in
/// another order (observed ≤ 1e-15; same 1e-12 bound as the forward).
constexpr double kF64GradRelTol = 1e-12;
/// float32 fused vs float64 loop: float32 rounding of the recurrence (observed ≤ 2e-7).
constexpr double kF32RelTol = 2e-6;
/// float32 gradients vs float64 autograd: sums over up to L·Di float32 terms (observed ≤ 6e-7).
constexpr double kF32GradRelTol = 5e-6;
/// Central differences in float64 with step 1e-6: truncation O(h²) ≈ 1e-12 and rounding
/// ≈ 1e-16/1e-6 relative to the largest gradient (observed ≤ 2e-9).
constexpr double kFiniteDiffStep = 1e-6;
constexpr double kFiniteDiffRelTol = 1e-8;

const std::vector<std::string> kNames = {"u", "delta", "A", "B", "C", "D", "z", "delta_bias", "initial_state"};

double rel_err(const torch::Tensor& a, const torch::Tensor& ref) {
  auto r = ref.detach().to(torch::kFloat64);
  const double scale = r.abs().max().item<double>();
  const double diff = (a.detach().to(torch::kFloat64) - r).abs().max().item<double>();
  return scale > 0 ? diff / scale : diff;
}

struct Case {
  int64_t batch, d_inner, seq_len, d_state, chunk;
};

std::string case_name(const Case& c) {
  return "B" + std::to_string(c.batch) + "_Di" + std::to_string(c.d_inner) + "_L" + std::to_string(c.seq_len) + "_N" +
         std::to_string(c.d_state) + "_K" + std::to_string(c.chunk);
}

/// Random scan inputs with Mamba-like ranges: Δ = softplus(δ + bias) around 0.1..1, A < 0.
struct Inputs {
  std::map<std::string, torch::Tensor> t;
  SelectiveScanArgs args(bool reverse = false, int64_t chunk = 64, bool with_state = true) const {
    SelectiveScanArgs a{t.at("u"), t.at("delta"), t.at("A"), t.at("B"), t.at("C"), t.at("D"), t.at("z"),
                        t.at("delta_bias"), true};
    a.reverse = reverse;
    a.chunk_size = chunk;
    if (with_state) a.initial_state = t.at("initial_state");
    return a;
  }
};

Inputs make_inputs(const Case& c, torch::ScalarType dtype, uint64_t seed) {
  torch::manual_seed(seed);
  auto o = torch::TensorOptions().dtype(torch::kFloat64);
  Inputs in;
  in.t["u"] = torch::randn({c.batch, c.d_inner, c.seq_len}, o);
  in.t["delta"] = torch::randn({c.batch, c.d_inner, c.seq_len}, o) * 0.5 - 1.0;
  in.t["A"] = -torch::exp(torch::randn({c.d_inner, c.d_state}, o) * 0.5);
  in.t["B"] = torch::randn({c.batch, c.d_state, c.seq_len}, o);
  in.t["C"] = torch::randn({c.batch, c.d_state, c.seq_len}, o);
  in.t["D"] = torch::randn({c.d_inner}, o);
  in.t["z"] = torch::randn({c.batch, c.d_inner, c.seq_len}, o);
  in.t["delta_bias"] = torch::randn({c.d_inner}, o) * 0.5;
  in.t["initial_state"] = torch::randn({c.batch, c.d_inner, c.d_state}, o) * 0.5;
  for (auto& kv : in.t) kv.second = kv.second.to(dtype);
  return in;
}

/// Gradients of sum(g ⊙ y) + sum(gf ⊙ final_state) w.r.t. every input, through `scan`.
std::map<std::string, torch::Tensor> gradients(const Inputs& in, bool reverse, int64_t chunk,
                                               const std::function<model::SelectiveScanOutput(const SelectiveScanArgs&)>& scan,
                                               const torch::Tensor& g, const torch::Tensor& gf) {
  Inputs leaf;
  for (const auto& kv : in.t) leaf.t[kv.first] = kv.second.detach().clone().requires_grad_(true);
  auto out = scan(leaf.args(reverse, chunk));
  auto loss = (out.y * g).sum() + (out.final_state * gf).sum();
  std::vector<torch::Tensor> xs;
  for (const auto& name : kNames) xs.push_back(leaf.t.at(name));
  auto grads = torch::autograd::grad({loss}, xs);
  std::map<std::string, torch::Tensor> result;
  for (size_t i = 0; i < kNames.size(); ++i) result[kNames[i]] = grads[i];
  return result;
}

// ---------------------------------------------------------------------------- forward
class FusedScanCases : public ::testing::TestWithParam<Case> {};

TEST_P(FusedScanCases, ForwardEqualsLoopFloat64) {
  const Case c = GetParam();
  const auto in = make_inputs(c, torch::kFloat64, 1);
  torch::NoGradGuard no_grad;
  for (bool reverse : {false, true}) {
    auto ref = model::selective_scan_ref_with_state(in.args(reverse, c.chunk));
    auto got = model::selective_scan_fused_with_state(in.args(reverse, c.chunk));
    EXPECT_LE(rel_err(got.y, ref.y), kF64KernelRelTol) << "reverse " << reverse;
    EXPECT_LE(rel_err(got.final_state, ref.final_state), kF64KernelRelTol) << "reverse " << reverse;
  }
}

TEST_P(FusedScanCases, GradientsEqualAutogradOfLoopFloat64) {
  const Case c = GetParam();
  const auto in = make_inputs(c, torch::kFloat64, 2);
  auto g = torch::randn({c.batch, c.d_inner, c.seq_len}, torch::kFloat64);
  auto gf = torch::randn({c.batch, c.d_inner, c.d_state}, torch::kFloat64);
  for (bool reverse : {false, true}) {
    auto ref = gradients(in, reverse, c.chunk, model::selective_scan_ref_with_state, g, gf);
    auto got = gradients(in, reverse, c.chunk, model::selective_scan_fused_with_state, g, gf);
    for (const auto& name : kNames) {
      EXPECT_LE(rel_err(got.at(name), ref.at(name)), kF64GradRelTol) << "d" << name << " reverse " << reverse;
    }
  }
}

TEST_P(FusedScanCases, Float32CloseToFloat64Loop) {
  const Case c = GetParam();
  const auto in64 = make_inputs(c, torch::kFloat64, 3);
  const auto in32 = make_inputs(c, torch::kFloat32, 3);
  auto g = torch::randn({c.batch, c.d_inner, c.seq_len}, torch::kFloat64);
  auto gf = torch::zeros({c.batch, c.d_inner, c.d_state}, torch::kFloat64);
  auto ref = gradients(in64, false, c.chunk, model::selective_scan_ref_with_state, g, gf);
  auto got = gradients(in32, false, c.chunk, model::selective_scan_fused_with_state, g.to(torch::kFloat32),
                       gf.to(torch::kFloat32));
  for (const auto& name : kNames) {
    EXPECT_LE(rel_err(got.at(name), ref.at(name)), kF32GradRelTol) << "d" << name;
  }
  torch::NoGradGuard no_grad;
  EXPECT_LE(rel_err(model::selective_scan_fused(in32.args()), model::selective_scan_ref(in64.args())), kF32RelTol);
}

// L in {1, 7, 32, 300}, chunks that do not divide L, batch 1 and 3, Di 8..64, N 16 / odd / > 32
// (the runtime-width path) and 8, 32 (the other compile-time widths).
INSTANTIATE_TEST_SUITE_P(Shapes, FusedScanCases,
                         ::testing::Values(Case{1, 8, 32, 16, 64}, Case{3, 8, 32, 16, 16}, Case{1, 8, 1, 16, 64},
                                           Case{3, 16, 7, 5, 5}, Case{1, 64, 7, 16, 3}, Case{3, 64, 300, 16, 16},
                                           Case{1, 24, 300, 5, 64}, Case{3, 8, 300, 16, 1}, Case{1, 40, 33, 40, 8},
                                           Case{3, 16, 50, 8, 7}, Case{1, 32, 65, 32, 64}),
                         [](const ::testing::TestParamInfo<Case>& info) { return case_name(info.param); });

// --------------------------------------------------------------------- finite differences
TEST(FusedScan, FiniteDifferenceGradcheckFloat64) {
  const Case c{2, 3, 6, 5, 4};
  auto in = make_inputs(c, torch::kFloat64, 4);
  auto g = torch::randn({c.batch, c.d_inner, c.seq_len}, torch::kFloat64);
  auto gf = torch::randn({c.batch, c.d_inner, c.d_state}, torch::kFloat64);
  for (bool reverse : {false, true}) {
    auto analytic = gradients(in, reverse, c.chunk, model::selective_scan_fused_with_state, g, gf);
    auto f_dir = [&](const Inputs& x) {
      torch::NoGradGuard no_grad;
      auto out = model::selective_scan_fused_with_state(x.args(reverse, c.chunk));
      return ((out.y * g).sum() + (out.final_state * gf).sum()).item<double>();
    };
    for (const auto& name : kNames) {
      auto numeric = torch::zeros_like(in.t.at(name));
      auto flat = in.t.at(name).view({-1});
      auto num_flat = numeric.view({-1});
      for (int64_t i = 0; i < flat.numel(); ++i) {
        const double x0 = flat[i].item<double>();
        flat[i] = x0 + kFiniteDiffStep;
        const double fp = f_dir(in);
        flat[i] = x0 - kFiniteDiffStep;
        const double fm = f_dir(in);
        flat[i] = x0;
        num_flat[i] = (fp - fm) / (2 * kFiniteDiffStep);
      }
      EXPECT_LE(rel_err(analytic.at(name), numeric), kFiniteDiffRelTol) << "d" << name << " reverse " << reverse;
    }
  }
}

// ------------------------------------------------------------------- reverse, state, layout
TEST(FusedScan, ReverseEqualsFlipScanFlip) {
  const Case c{2, 16, 37, 16, 8};
  const auto in = make_inputs(c, torch::kFloat64, 5);
  torch::NoGradGuard no_grad;
  Inputs flipped = in;
  for (const auto* name : {"u", "delta", "z", "B", "C"}) flipped.t[name] = in.t.at(name).flip({2});
  auto expected = model::selective_scan_fused_with_state(flipped.args(false, c.chunk));
  auto got = model::selective_scan_fused_with_state(in.args(true, c.chunk));
  EXPECT_LE(rel_err(got.y, expected.y.flip({2})), kF64KernelRelTol);
  EXPECT_LE(rel_err(got.final_state, expected.final_state), kF64KernelRelTol);
}

TEST(FusedScan, CarriedStateContinuesTheSequence) {
  const Case c{2, 16, 100, 16, 16};
  const auto in = make_inputs(c, torch::kFloat64, 6);
  torch::NoGradGuard no_grad;
  for (bool reverse : {false, true}) {
    for (int64_t split : {1, 37, 64, 99}) {
      auto whole = model::selective_scan_fused_with_state(in.args(reverse, c.chunk));
      // Forward: [0, split) then [split, L). Reverse: the later piece is scanned first.
      const int64_t first_lo = reverse ? split : 0, first_len = reverse ? c.seq_len - split : split;
      const int64_t second_lo = reverse ? 0 : split, second_len = c.seq_len - first_len;
      auto piece = [&](int64_t lo, int64_t len, const torch::Tensor& h) {
        Inputs p = in;
        for (const auto* name : {"u", "delta", "z", "B", "C"}) p.t[name] = in.t.at(name).narrow(2, lo, len);
        p.t["initial_state"] = h;
        return model::selective_scan_fused_with_state(p.args(reverse, c.chunk));
      };
      auto first = piece(first_lo, first_len, in.t.at("initial_state"));
      auto second = piece(second_lo, second_len, first.final_state);
      auto joined = reverse ? torch::cat({second.y, first.y}, 2) : torch::cat({first.y, second.y}, 2);
      EXPECT_LE(rel_err(joined, whole.y), kF64KernelRelTol) << "split " << split << " reverse " << reverse;
      EXPECT_LE(rel_err(second.final_state, whole.final_state), kF64KernelRelTol);
      // And the reference agrees on the carried state.
      auto ref_first = model::selective_scan_ref_with_state([&] {
        Inputs p = in;
        for (const auto* name : {"u", "delta", "z", "B", "C"}) p.t[name] = in.t.at(name).narrow(2, first_lo, first_len);
        return p.args(reverse, c.chunk);
      }());
      EXPECT_LE(rel_err(first.final_state, ref_first.final_state), kF64KernelRelTol);
    }
  }
}

TEST(FusedScan, StridedTimeMajorViewsAndOptionalInputs) {
  const Case c{2, 24, 45, 16, 8};
  const auto in = make_inputs(c, torch::kFloat64, 7);
  // (B, L, Di) / (B, L, N) buffers seen as (B, Di, L) / (B, N, L), as the Mamba block produces them.
  Inputs strided = in;
  for (const auto* name : {"u", "delta", "z", "B", "C"}) {
    strided.t[name] = in.t.at(name).transpose(1, 2).contiguous().transpose(1, 2);
  }
  auto g = torch::randn({c.batch, c.d_inner, c.seq_len}, torch::kFloat64);
  auto gf = torch::zeros({c.batch, c.d_inner, c.d_state}, torch::kFloat64);
  auto ref = gradients(in, true, c.chunk, model::selective_scan_ref_with_state, g, gf);
  auto got = gradients(strided, true, c.chunk, model::selective_scan_fused_with_state, g, gf);
  for (const auto& name : kNames) EXPECT_LE(rel_err(got.at(name), ref.at(name)), kF64GradRelTol) << "d" << name;
  {
    torch::NoGradGuard no_grad;
    auto y = model::selective_scan_fused(strided.args(true, c.chunk));
    EXPECT_EQ(y.stride(1), 1) << "y keeps u's time-major layout";
  }
  // No D, z, delta_bias, initial state; softplus off; the loss gradient is an expanded (stride 0) tensor.
  Inputs bare = in;
  auto a_ref = [&](const Inputs& x) {
    SelectiveScanArgs a{x.t.at("u"), x.t.at("delta").abs(), x.t.at("A"), x.t.at("B"), x.t.at("C"), {}, {}, {}, false};
    a.chunk_size = 5;
    return a;
  };
  std::vector<torch::Tensor> grads_ref, grads_fused;
  for (int which = 0; which < 2; ++which) {
    std::vector<torch::Tensor> leaves;
    for (const auto* name : {"u", "delta", "A", "B", "C"}) {
      bare.t[name] = in.t.at(name).detach().clone().requires_grad_(true);
      leaves.push_back(bare.t[name]);
    }
    auto args = a_ref(bare);
    auto y = which == 0 ? model::selective_scan_ref(args) : model::selective_scan_fused(args);
    auto grads = torch::autograd::grad({y.sum()}, leaves);
    (which == 0 ? grads_ref : grads_fused) = grads;
  }
  for (size_t i = 0; i < grads_ref.size(); ++i) EXPECT_LE(rel_err(grads_fused[i], grads_ref[i]), kF64GradRelTol) << i;
}

// The Mamba block's views as they are (z a narrow of in_proj's (B, L, 2Di) output, B and C column
// slices of x_proj's (B·L, R + 2N) output): the fused backward hands back gradients laid out
// time-major like their inputs (a channel-major gradient tile is scattered element by element, and
// the views' own backward would then copy it back across), with the values of autograd through the loop.
TEST(FusedScan, GradientsOfNonDenseViewsKeepTheirInputsMemoryOrder) {
  const int64_t b = 2, di = 24, l = 45, n = 16, r = 3;
  torch::manual_seed(11);
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto xz = torch::randn({b, l, 2 * di}, opts).requires_grad_(true);
  auto x_dbl = torch::randn({b * l, r + 2 * n}, opts).requires_grad_(true);
  auto u = torch::randn({b, l, di}, opts).requires_grad_(true);
  auto delta = (torch::randn({b, l, di}, opts) * 0.5 - 1.0).requires_grad_(true);
  auto a = (-torch::arange(1, n + 1, opts).repeat({di, 1})).requires_grad_(true);
  std::vector<torch::Tensor> grads[2];
  for (int fused = 0; fused < 2; ++fused) {
    SelectiveScanArgs args;
    args.u = u.transpose(1, 2);
    args.delta = delta.transpose(1, 2);
    args.A = a;
    args.B = x_dbl.narrow(1, r, n).view({b, l, n}).transpose(1, 2);
    args.C = x_dbl.narrow(1, r + n, n).view({b, l, n}).transpose(1, 2);
    args.z = xz.narrow(2, di, di).transpose(1, 2);
    args.delta_softplus = true;
    auto y = fused ? model::selective_scan_fused(args) : model::selective_scan_ref(args);
    torch::manual_seed(12);  // the same gy for both
    auto gy = torch::randn({b, l, di}, opts).transpose(1, 2);
    grads[fused] = torch::autograd::grad({y}, {args.u, args.delta, args.z, args.B, args.C}, {gy});
  }
  const char* names[] = {"du", "ddelta", "dz", "dB", "dC"};
  for (size_t i = 0; i < grads[1].size(); ++i) {
    EXPECT_LE(rel_err(grads[1][i], grads[0][i]), kF64GradRelTol) << names[i];
    // (B, Di|N, L) gradient stored (B, L, Di|N): the channel/state dimension innermost.
    EXPECT_EQ(grads[1][i].stride(1), 1) << names[i] << " strides " << grads[1][i].strides();
    EXPECT_GT(grads[1][i].stride(2), grads[1][i].stride(1)) << names[i];
  }
}

TEST(FusedScan, InferenceAndTrainingForwardAgreeAndChunkSizeDoesNotMatter) {
  const Case c{2, 16, 77, 16, 64};
  const auto in = make_inputs(c, torch::kFloat32, 8);
  torch::Tensor y_inference;
  {
    torch::NoGradGuard no_grad;
    y_inference = model::selective_scan_fused(in.args());
  }
  for (int64_t chunk : {1, 10, 64, 1000}) {
    Inputs leaf = in;
    leaf.t["u"] = in.t.at("u").clone().requires_grad_(true);
    auto y = model::selective_scan_fused(leaf.args(false, chunk));
    EXPECT_TRUE(torch::equal(y.detach(), y_inference)) << "chunk " << chunk;
  }
}

TEST(FusedScan, ResultDoesNotDependOnThreadCount) {
  const Case c{3, 64, 70, 16, 16};
  const auto in = make_inputs(c, torch::kFloat32, 9);
  auto g = torch::randn({c.batch, c.d_inner, c.seq_len});
  auto gf = torch::zeros({c.batch, c.d_inner, c.d_state});
  const int saved = at::get_num_threads();
  at::set_num_threads(1);
  auto one = gradients(in, false, c.chunk, model::selective_scan_fused_with_state, g, gf);
  at::set_num_threads(2);
  auto two = gradients(in, false, c.chunk, model::selective_scan_fused_with_state, g, gf);
  at::set_num_threads(saved);
  for (const auto& name : kNames) EXPECT_TRUE(torch::equal(one.at(name), two.at(name))) << "d" << name;
}

// Raw kernel, one build of the loops: y, final state and every gradient of sum(g ⊙ y) + sum(gf ⊙ h_L).
std::map<std::string, torch::Tensor> run_kernel_isa(const Case& c, const Inputs& in, bool reverse,
                                                    model::kernels::ScanIsa isa, const torch::Tensor& g,
                                                    const torch::Tensor& gf) {
  namespace k = model::kernels;
  std::map<std::string, torch::Tensor> r;
  const auto& u = in.t.at("u");
  r["y"] = torch::empty_like(u);
  r["final_state"] = torch::empty_like(in.t.at("initial_state"));
  for (const auto& name : kNames) r["d" + name] = torch::zeros_like(in.t.at(name));
  AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "run_kernel_isa", [&] {
    using T = scalar_t;
    auto v3c = [](const torch::Tensor& t) { return k::View3<const T>{t.data_ptr<T>(), t.stride(0), t.stride(1), t.stride(2)}; };
    auto v3 = [](torch::Tensor& t) { return k::View3<T>{t.data_ptr<T>(), t.stride(0), t.stride(1), t.stride(2)}; };
    const k::ScanShape shape{c.batch, c.d_inner, c.seq_len, c.d_state};
    k::ScanInputs<T> x;
    x.u = v3c(u);
    x.delta = v3c(in.t.at("delta"));
    x.A = {in.t.at("A").data_ptr<T>(), in.t.at("A").stride(0), 1};
    x.B = v3c(in.t.at("B"));
    x.C = v3c(in.t.at("C"));
    x.z = v3c(in.t.at("z"));
    x.D = {in.t.at("D").data_ptr<T>(), 1};
    x.delta_bias = {in.t.at("delta_bias").data_ptr<T>(), 1};
    x.initial_state = v3c(in.t.at("initial_state"));
    k::ScanConfig cfg;
    cfg.isa = isa;
    cfg.reverse = reverse;
    cfg.chunk_size = c.chunk;
    std::vector<T> checkpoints(static_cast<size_t>(k::scan_checkpoint_numel(shape, c.chunk)));
    k::ScanForwardOutputs<T> o;
    o.y = v3(r["y"]);
    o.final_state = v3(r["final_state"]);
    o.checkpoints = checkpoints.data();
    k::selective_scan_forward<T>(shape, x, o, cfg);
    k::ScanBackward<T> gr;
    gr.grad_y = v3c(g);
    gr.grad_final_state = v3c(gf);
    gr.checkpoints = checkpoints.data();
    gr.du = v3(r["du"]);
    gr.ddelta = v3(r["ddelta"]);
    gr.dz = v3(r["dz"]);
    gr.dA = {r["dA"].data_ptr<T>(), r["dA"].stride(0), 1};
    gr.dB = v3(r["dB"]);
    gr.dC = v3(r["dC"]);
    gr.dD = {r["dD"].data_ptr<T>(), 1};
    gr.ddelta_bias = {r["ddelta_bias"].data_ptr<T>(), 1};
    gr.dinitial_state = v3(r["dinitial_state"]);
    k::selective_scan_backward<T>(shape, x, gr, cfg);
  });
  return r;
}

// Raw kernel: every build of the loops this CPU runs (baseline x86-64, AVX2+FMA, AVX-512) against
// autograd through the reference loop, forward and backward, in both directions. Di = 40 leaves a
// partial row group (16 + 16 + 8 rows: masked lanes of the 16-row AVX-512 forward), L = 37 with
// K = 8 a partial chunk, N = 5 and 16 both state widths (padded to 8 and exact 16).
TEST(FusedScanKernel, EveryIsaMatchesTheLoop) {
  namespace k = model::kernels;
  int tested = 0;
  for (auto isa : {k::ScanIsa::kBaseline, k::ScanIsa::kAvx2, k::ScanIsa::kAvx512}) {
    if (!k::scan_isa_available(isa)) {
      EXPECT_THROW(run_kernel_isa({1, 16, 4, 4, 2}, make_inputs({1, 16, 4, 4, 2}, torch::kFloat32, 1), false, isa,
                                  torch::zeros({1, 16, 4}), torch::zeros({1, 16, 4})),
                   std::invalid_argument);
      continue;
    }
    ++tested;
    for (const Case c : {Case{2, 40, 37, 16, 8}, Case{1, 24, 20, 5, 64}}) {
      for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
        const auto in = make_inputs(c, dtype, 10);
        torch::manual_seed(11);
        auto g = torch::randn({c.batch, c.d_inner, c.seq_len}).to(dtype);
        auto gf = torch::randn({c.batch, c.d_inner, c.d_state}).to(dtype);
        const auto in64 = make_inputs(c, torch::kFloat64, 10);
        for (bool reverse : {false, true}) {
          const std::string what = std::string(k::scan_isa_name(isa)) + " " + case_name(c) + " " +
                                   (dtype == torch::kFloat64 ? "f64" : "f32") + (reverse ? " reverse" : "");
          const auto got = run_kernel_isa(c, in, reverse, isa, g, gf);
          const auto ref = model::selective_scan_ref_with_state(in64.args(reverse, c.chunk));
          const auto ref_grads = gradients(in64, reverse, c.chunk, model::selective_scan_ref_with_state,
                                           g.to(torch::kFloat64), gf.to(torch::kFloat64));
          const bool f64 = dtype == torch::kFloat64;
          EXPECT_LE(rel_err(got.at("y"), ref.y), f64 ? kF64KernelRelTol : kF32RelTol) << what;
          EXPECT_LE(rel_err(got.at("final_state"), ref.final_state), f64 ? kF64KernelRelTol : kF32RelTol) << what;
          for (const auto& name : kNames) {
            EXPECT_LE(rel_err(got.at("d" + name), ref_grads.at(name)), f64 ? kF64GradRelTol : kF32GradRelTol)
                << what << " d" << name;
          }
        }
      }
    }
  }
  EXPECT_GE(tested, 1);
  EXPECT_STREQ(k::scan_kernel_isa(), k::scan_isa_available(k::ScanIsa::kAvx512) ? "avx512"
                                     : k::scan_isa_available(k::ScanIsa::kAvx2) ? "avx2+fma"
                                                                                : "baseline");
}

TEST(FusedScan, DoubleBackwardIsRefused) {
  const Case c{1, 8, 6, 4, 4};
  Inputs leaf = make_inputs(c, torch::kFloat64, 14);
  leaf.t["u"] = leaf.t["u"].requires_grad_(true);
  auto y = model::selective_scan_fused(leaf.args());
  EXPECT_THROW(torch::autograd::grad({y.sum()}, {leaf.t["u"]}, {}, /*retain_graph=*/true, /*create_graph=*/true),
               std::exception);
}

TEST(FusedScanKernel, RejectsBadArguments) {
  model::kernels::ScanShape shape{1, 1, 4, 300};
  model::kernels::ScanInputs<float> in;
  model::kernels::ScanForwardOutputs<float> out;
  EXPECT_THROW(model::kernels::selective_scan_forward<float>(shape, in, out, {}), std::invalid_argument);
}

TEST(FusedScan, DispatchPicksFusedOnCpuAndRefOtherwise) {
  const Case c{1, 8, 5, 4, 64};
  auto in = make_inputs(c, torch::kFloat32, 11);
  EXPECT_TRUE(model::fused_scan_supported(in.args()));
  auto half = in;
  for (auto& kv : half.t) kv.second = kv.second.to(torch::kBFloat16);
  EXPECT_FALSE(model::fused_scan_supported(half.args()));
  auto mixed = in;
  mixed.t["A"] = mixed.t["A"].to(torch::kFloat64);
  EXPECT_FALSE(model::fused_scan_supported(mixed.args()));
  if (model::scan_impl_from_env() != model::ScanImpl::kRef) {
    Inputs leaf = in;
    leaf.t["u"] = in.t.at("u").clone().requires_grad_(true);
    auto y = model::selective_scan(leaf.args());
    ASSERT_TRUE(y.grad_fn() != nullptr);
    EXPECT_NE(y.grad_fn()->name().find("FusedScanFunction"), std::string::npos) << y.grad_fn()->name();
  }
  // The reference still runs where the fused kernel does not apply (bf16 here).
  torch::NoGradGuard no_grad;
  EXPECT_EQ(model::selective_scan(half.args()).scalar_type(), torch::kBFloat16);
}

// ---------------------------------------------------------------------- Mamba reverse
TEST(MambaReverse, ReverseFlagEqualsFlipMambaFlip) {
  torch::manual_seed(12);
  model::Mamba mamba(model::MambaOptions(32).d_state(16).d_conv(4).expand(2));
  mamba->to(torch::kFloat64);
  auto x = torch::randn({2, 23, 32}, torch::kFloat64);
  torch::NoGradGuard no_grad;
  auto expected = mamba->forward(x.flip({1})).flip({1});
  auto got = mamba->forward(x, /*reverse=*/true);
  EXPECT_LE(rel_err(got, expected), kF64KernelRelTol);
}

TEST(MambaReverse, WrapperEqualsFlipDefinitionWithGradients) {
  torch::manual_seed(13);
  model::MambaWrapper block(model::MambaWrapperOptions(model::MambaOptions(32).d_state(16)));
  block->to(torch::kFloat64);
  auto x = torch::randn({2, 19, 32}, torch::kFloat64).requires_grad_(true);
  model::Trace trace;
  auto out = block->forward(x, &trace, "b.");
  auto g = torch::randn_like(out);
  auto gx = torch::autograd::grad({(out * g).sum()}, {x})[0];
  ASSERT_TRUE(trace.count("b.mamba_rev_reversed_time"));
  // Literal definition (FEMBA MambaWrapper): Mamba_fwd(x) + flip(Mamba_rev(flip(x))).
  auto x2 = x.detach().clone().requires_grad_(true);
  auto rev_ref = block->mamba_rev->forward(x2.flip({1}));  // reversed time
  EXPECT_LE(rel_err(trace.at("b.mamba_rev_reversed_time"), rev_ref), kF64KernelRelTol);
  auto expected = block->mamba_fwd->forward(x2) + rev_ref.flip({1});
  auto gx2 = torch::autograd::grad({(expected * g).sum()}, {x2})[0];
  EXPECT_LE(rel_err(out, expected), kF64KernelRelTol);
  EXPECT_LE(rel_err(gx, gx2), kF64GradRelTol);
}

}  // namespace
}  // namespace lumamba::test
