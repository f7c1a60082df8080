// Mamba-1 block, bidirectional wrapper and Mamba classifier head (see lumamba/model/mamba.h).
// Forward follows mamba_simple.Mamba's slow path: in_proj → causal depthwise conv → SiLU →
// x_proj → dt_proj (weight only; its bias is the scan's delta_bias) → selective scan → out_proj.
// The reverse direction of the bidirectional wrapper runs the same block in reversed time.
#include "lumamba/model/mamba.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/init.h>
#include <torch/torch.h>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <cmath>

#include "lumamba/core/error.h"
#include "lumamba/model/cpu_kernels.h"
#include "lumamba/model/fmt_shape.h"
#include "lumamba/model/kernels/conv_silu_cpu.h"
#include "lumamba/model/selective_scan.h"

namespace lumamba::model {

// --------------------------------------------------------------------------------- Mamba
MambaImpl::MambaImpl(const MambaOptions& options_) : options(options_) { reset(); }

void MambaImpl::reset() {
  const int64_t dm = options.d_model(), di = options.d_inner(), n = options.d_state();
  const int64_t r = options.resolved_dt_rank();
  in_proj = register_module("in_proj", torch::nn::Linear(torch::nn::LinearOptions(dm, 2 * di).bias(false)));
  conv1d = register_module(
      "conv1d", torch::nn::Conv1d(torch::nn::Conv1dOptions(di, di, options.d_conv())
                                      .groups(di)
                                      .padding(options.d_conv() - 1)
                                      .bias(true)));
  x_proj = register_module("x_proj", torch::nn::Linear(torch::nn::LinearOptions(di, r + 2 * n).bias(false)));
  dt_proj = register_module("dt_proj", torch::nn::Linear(torch::nn::LinearOptions(r, di).bias(true)));
  out_proj = register_module("out_proj", torch::nn::Linear(torch::nn::LinearOptions(di, dm).bias(false)));
  // Training initialisation of mamba_simple.py (docs/reference-model.md §4): S4D-real A, D = 1, dt in [1e-3, 1e-1].
  const double dt_std = std::pow(static_cast<double>(r), -0.5);
  torch::NoGradGuard no_grad;
  torch::nn::init::uniform_(dt_proj->weight, -dt_std, dt_std);
  auto dt = torch::exp(torch::rand({di}) * (std::log(0.1) - std::log(1e-3)) + std::log(1e-3)).clamp_min(1e-4);
  dt_proj->bias.copy_(dt + torch::log(-torch::expm1(-dt)));  // softplus⁻¹(dt)
  A_log = register_parameter(
      "A_log", torch::log(torch::arange(1, n + 1, torch::kFloat32)).repeat({di, 1}).contiguous());
  D = register_parameter("D", torch::ones({di}));
}

namespace {

/// SiLU(conv(x)) as (B, L, Di) time-major through kernels::depthwise_conv_silu: x (B, L, Di) view
/// with a contiguous last dimension (the x half of in_proj's output).
torch::Tensor fused_conv_silu(const torch::Tensor& x, const torch::nn::Conv1dImpl& conv, bool reverse) {
  const int64_t b = x.size(0), l = x.size(1), di = x.size(2), k = conv.weight.size(2);
  // Counted by the MAC tracer (lumamba/bench/mac_trace.h) as K taps per (b, t, channel) output.
  RECORD_FUNCTION("lumamba::depthwise_conv", std::vector<c10::IValue>({x, conv.weight}));
  auto weight_t = conv.weight.view({di, k}).t().contiguous();  // (K, Di)
  auto out = torch::empty({b, l, di}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fused_conv_silu", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* wp = weight_t.data_ptr<scalar_t>();
    const scalar_t* bp = conv.bias.defined() ? conv.bias.data_ptr<scalar_t>() : nullptr;
    scalar_t* op = out.data_ptr<scalar_t>();
    at::parallel_for(0, b * l, 16, [&](int64_t r0, int64_t r1) {
      kernels::depthwise_conv_silu<scalar_t>(xp, x.stride(0), x.stride(1), wp, bp, l, di, k, reverse, op, r0, r1);
    });
  });
  return out;
}

}  // namespace

torch::Tensor MambaImpl::forward(const torch::Tensor& hidden_states, bool reverse) {
  LUMAMBA_CHECK(hidden_states.dim() == 3 && hidden_states.size(2) == options.d_model(),
                "Mamba expects (B, L, {}), got {}", options.d_model(), hidden_states.sizes());
  const int64_t l = hidden_states.size(1), di = options.d_inner(), k = options.d_conv();
  auto xz = in_proj->forward(hidden_states);  // (B, L, 2Di)
  auto z = xz.narrow(2, di, di).transpose(1, 2);  // (B, Di, L) view
  if (inference_kernel_applies({xz, conv1d->weight, conv1d->bias})) {
    return mix(fused_conv_silu(xz.narrow(2, 0, di), *conv1d, reverse), z, reverse, nullptr);
  }
  auto x = xz.narrow(2, 0, di).transpose(1, 2);  // (B, Di, L) view
  if (!reverse) {
    x = conv1d->forward(x).narrow(2, 0, l);  // causal: output[t] uses x[t-3..t]
  } else {
    // flip ∘ causal conv ∘ flip = anti-causal conv with the taps reversed: output[t] uses x[t..t+3].
    // Same padding (K-1 both sides), keep the last L outputs.
    x = torch::conv1d(x, conv1d->weight.flip({2}), conv1d->bias, /*stride=*/1, /*padding=*/k - 1,
                      /*dilation=*/1, /*groups=*/di)
            .narrow(2, k - 1, l);
  }
  // (B, L, Di): x_proj reads it, and the scan reads it as a time-major (B, Di, L) view.
  return mix(torch::silu(x).transpose(1, 2).contiguous(), z, reverse, nullptr);
}

torch::Tensor MambaImpl::forward_chunk(const torch::Tensor& chunk, MambaStreamState& state, bool reverse) {
  LUMAMBA_CHECK(chunk.dim() == 3 && chunk.size(2) == options.d_model() && chunk.size(1) > 0,
                "Mamba chunk must be (B, L > 0, {}), got {}", options.d_model(), chunk.sizes());
  const int64_t b = chunk.size(0), di = options.d_inner(), k = options.d_conv();
  auto xz = in_proj->forward(chunk).transpose(1, 2);  // (B, 2Di, Lc)
  auto x = xz.narrow(1, 0, di);
  auto z = xz.narrow(1, di, di);
  if (!state.conv_context.defined()) state.conv_context = torch::zeros({b, di, k - 1}, x.options());
  // The conv sees the neighbouring chunk's inputs instead of the sequence's zero padding: before the
  // chunk in forward time, after it in reverse time. "Valid" convolution over the extended chunk.
  torch::Tensor extended, conv;
  const int64_t valid = 0;  // no padding (a literal 0 would also match conv1d's string overload)
  if (!reverse) {
    extended = torch::cat({state.conv_context, x}, 2);  // (B, Di, K−1 + Lc)
    conv = torch::conv1d(extended, conv1d->weight, conv1d->bias, /*stride=*/1, /*padding=*/valid, /*dilation=*/1, di);
    state.conv_context = extended.narrow(2, extended.size(2) - (k - 1), k - 1).contiguous();
  } else {
    extended = torch::cat({x, state.conv_context}, 2);  // (B, Di, Lc + K−1)
    conv = torch::conv1d(extended, conv1d->weight.flip({2}), conv1d->bias, /*stride=*/1, /*padding=*/valid, /*dilation=*/1, di);
    state.conv_context = extended.narrow(2, 0, k - 1).contiguous();
  }
  return mix(torch::silu(conv).transpose(1, 2).contiguous(), z, reverse, &state);
}

torch::Tensor MambaImpl::mix(const torch::Tensor& x_tm, const torch::Tensor& z, bool reverse, MambaStreamState* state) {
  const int64_t b = x_tm.size(0), l = x_tm.size(1);
  const int64_t di = options.d_inner(), n = options.d_state(), r = options.resolved_dt_rank();
  // x_tm (B, L, Di): x_proj reads it, and the scan reads it as a time-major (B, Di, L) view, so the
  // fused scan's y comes out time-major and out_proj needs no transpose copy.
  auto x_dbl = x_proj->forward(x_tm.view({b * l, di}));                // (B·L, R + 2N)
  // δ = dt_proj.weight · x_dbl[:, :R]ᵀ (mamba_ssm), computed as x_dbl[:, :R] · weightᵀ: the same
  // products, laid out time-major (B·L, Di) like u, so the scan gathers both the same way.
  auto dt = torch::matmul(x_dbl.narrow(1, 0, r), dt_proj->weight.t());  // (B·L, Di)
  SelectiveScanArgs args;
  args.u = x_tm.transpose(1, 2);                        // (B, Di, L), time-major strides
  args.delta = dt.view({b, l, di}).transpose(1, 2);    // (B, Di, L), time-major strides
  args.A = -torch::exp(A_log);
  args.B = x_dbl.narrow(1, r, n).view({b, l, n}).transpose(1, 2);      // (B, N, L)
  args.C = x_dbl.narrow(1, r + n, n).view({b, l, n}).transpose(1, 2);  // (B, N, L)
  args.D = D;
  args.z = z;
  args.delta_bias = dt_proj->bias;
  args.delta_softplus = true;
  args.reverse = reverse;
  torch::Tensor y;  // (B, Di, L)
  if (state == nullptr) {
    y = selective_scan(args);
  } else {
    args.initial_state = state->ssm_state;
    auto out = selective_scan_with_state(args);
    y = out.y;
    state->ssm_state = out.final_state;
  }
  return out_proj->forward(y.transpose(1, 2));  // (B, L, Dm)
}

// -------------------------------------------------------------------------- MambaWrapper
MambaWrapperImpl::MambaWrapperImpl(const MambaWrapperOptions& options_) : options(options_) { reset(); }

void MambaWrapperImpl::reset() {
  check_option("bidirectional_strategy", options.bidirectional_strategy(), {"add", "ew_multiply"});
  mamba_fwd = register_module("mamba_fwd", Mamba(options.mamba()));
  if (options.bidirectional()) mamba_rev = register_module("mamba_rev", Mamba(options.mamba()));
}

torch::Tensor MambaWrapperImpl::forward(const torch::Tensor& x, Trace* trace, const std::string& prefix) {
  auto out = mamba_fwd->forward(x);
  record(trace, prefix + "mamba_fwd", out);
  if (!options.bidirectional()) return out;
  // Reversed-time direction computed in natural order (Mamba::forward reverse flag, no flips).
  auto rev = mamba_rev->forward(x, /*reverse=*/true);  // (B, L, Dm)
  if (trace != nullptr) record(trace, prefix + "mamba_rev_reversed_time", rev.flip({1}));
  out = options.bidirectional_strategy() == "add" ? out + rev : out * rev;
  record(trace, prefix + "bimamba", out);
  return out;
}

// ------------------------------------------------------------------------ MambaClassifier
MambaClassifierImpl::MambaClassifierImpl(const MambaClassifierOptions& options_) : options(options_) {
  reset();
}

void MambaClassifierImpl::reset() {
  const int64_t hidden = options.mamba().d_model();
  fc1 = register_module("fc1", torch::nn::Linear(options.in_features(), hidden));
  mamba_1 = register_module("mamba_1", Mamba(options.mamba()));
  fc3 = register_module("fc3", torch::nn::Linear(hidden, options.num_classes()));
}

torch::Tensor MambaClassifierImpl::forward(const torch::Tensor& x) {
  auto h = mamba_1->forward(torch::gelu(fc1->forward(x)));  // (B, L, H)
  return fc3->forward(h.mean(1));                           // (B, classes)
}

}  // namespace lumamba::model
