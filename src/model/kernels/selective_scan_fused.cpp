// Fused CPU selective scan as a torch::autograd::Function, and the ref/fused dispatch of
// selective_scan (lumamba/model/selective_scan.h). The arithmetic lives in the torch-free kernel
// kernels/selective_scan_cpu.h; this file only maps tensors (any strides) to views, runs it on
// at::parallel_for and saves what the backward needs (inputs + one state checkpoint every K steps).
// Mirrors mamba_ssm's SelectiveScanFn (selective_scan_interface.py v2.3.2): same inputs, same
// gradients; checked against selective_scan_ref in tests/model/test_selective_scan_fused.cpp.
// Legend: B batch, Di d_inner, L length, N d_state.
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>

#include "lumamba/core/compat.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/model/fmt_shape.h"
#include "lumamba/model/kernels/selective_scan_cpu.h"
#include "lumamba/model/selective_scan.h"

namespace lumamba::model {
namespace {

namespace k = kernels;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using OptTensor = compat::optional<torch::Tensor>;

template <typename T>
k::View1<const T> cview1(const torch::Tensor& t) {
  if (!t.defined()) return {};
  return {t.data_ptr<T>(), t.stride(0)};
}
template <typename T>
k::View2<const T> cview2(const torch::Tensor& t) {
  if (!t.defined()) return {};
  return {t.data_ptr<T>(), t.stride(0), t.stride(1)};
}
template <typename T>
k::View3<const T> cview3(const torch::Tensor& t) {
  if (!t.defined()) return {};
  return {t.data_ptr<T>(), t.stride(0), t.stride(1), t.stride(2)};
}
template <typename T>
k::View1<T> mview1(const torch::Tensor& t) {
  if (!t.defined()) return {};
  return {t.data_ptr<T>(), t.stride(0)};
}
template <typename T>
k::View2<T> mview2(const torch::Tensor& t) {
  if (!t.defined()) return {};
  return {t.data_ptr<T>(), t.stride(0), t.stride(1)};
}
template <typename T>
k::View3<T> mview3(const torch::Tensor& t) {
  if (!t.defined()) return {};
  return {t.data_ptr<T>(), t.stride(0), t.stride(1), t.stride(2)};
}

torch::Tensor opt(const OptTensor& t) { return t.has_value() ? *t : torch::Tensor(); }
OptTensor to_opt(const torch::Tensor& t) { return t.defined() ? OptTensor(t) : OptTensor(compat::nullopt); }

/// LUMAMBA_SCAN_ISA=auto|baseline|avx2|avx512, read once per process (docs/style.md §22): which build of the
/// kernel's loops the fused scan runs (benchmarks compare them in one binary). A build the CPU
/// cannot run is refused with an InputError on first use.
k::ScanIsa fused_scan_isa_from_env() {
  static const k::ScanIsa isa = [] {
    const char* raw = std::getenv("LUMAMBA_SCAN_ISA");
    const std::string value = raw != nullptr ? raw : "";
    k::ScanIsa chosen = k::ScanIsa::kAuto;
    if (value == "baseline") chosen = k::ScanIsa::kBaseline;
    else if (value == "avx2") chosen = k::ScanIsa::kAvx2;
    else if (value == "avx512") chosen = k::ScanIsa::kAvx512;
    else if (!value.empty() && value != "auto") check_option("LUMAMBA_SCAN_ISA", value, {"auto", "baseline", "avx2", "avx512"});
    LUMAMBA_CHECK_INPUT(k::scan_isa_available(chosen), "LUMAMBA_SCAN_ISA={}: this CPU cannot run the {} build of the scan kernel",
                        value, k::scan_isa_name(chosen));
    return chosen;
  }();
  return isa;
}

/// Shape and settings of one call; the tensors travel separately (autograd needs them as arguments).
struct Call {
  k::ScanShape shape;
  k::ScanConfig config;
};

Call make_call(const torch::Tensor& u, const torch::Tensor& A, bool delta_softplus, bool reverse, int64_t chunk) {
  Call c;
  c.shape = {u.size(0), u.size(1), u.size(2), A.size(1)};
  c.config.delta_softplus = delta_softplus;
  c.config.reverse = reverse;
  c.config.chunk_size = chunk;
  c.config.isa = fused_scan_isa_from_env();
  // Grain 1: the kernel already hands out coarse tasks (a block of channels of one batch each).
  c.config.parallel_for = [](int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
    at::parallel_for(0, n, /*grain_size=*/1, fn);
  };
  return c;
}

struct Inputs {
  torch::Tensor u, delta, A, B, C, D, z, delta_bias, initial_state;
};

template <typename T>
k::ScanInputs<T> kernel_inputs(const Inputs& x) {
  k::ScanInputs<T> in;
  in.u = cview3<T>(x.u);
  in.delta = cview3<T>(x.delta);
  in.A = cview2<T>(x.A);
  in.B = cview3<T>(x.B);
  in.C = cview3<T>(x.C);
  in.D = cview1<T>(x.D);
  in.z = cview3<T>(x.z);
  in.delta_bias = cview1<T>(x.delta_bias);
  in.initial_state = cview3<T>(x.initial_state);
  return in;
}

/// Runs the kernel forward; `checkpoints` defined = training (filled for the backward).
SelectiveScanOutput run_forward(const Inputs& x, const Call& call, const torch::Tensor& checkpoints) {
  SelectiveScanOutput out;
  out.y = at::empty_like(x.u);  // keeps u's strides: a time-major u gives a time-major y
  out.final_state = torch::empty({call.shape.n_batch, call.shape.d_inner, call.shape.d_state}, x.u.options());
  AT_DISPATCH_FLOATING_TYPES(x.u.scalar_type(), "selective_scan_fused_forward", [&] {
    k::ScanForwardOutputs<scalar_t> o;
    o.y = mview3<scalar_t>(out.y);
    o.final_state = mview3<scalar_t>(out.final_state);
    o.checkpoints = checkpoints.defined() ? checkpoints.data_ptr<scalar_t>() : nullptr;
    k::selective_scan_forward<scalar_t>(call.shape, kernel_inputs<scalar_t>(x), o, call.config);
  });
  return out;
}

class FusedScanFunction : public torch::autograd::Function<FusedScanFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& u, const torch::Tensor& delta,
                               const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& C, const OptTensor& D,
                               const OptTensor& z, const OptTensor& delta_bias, const OptTensor& initial_state,
                               bool delta_softplus, bool reverse, int64_t chunk) {
    const Inputs x{u, delta, A, B, C, opt(D), opt(z), opt(delta_bias), opt(initial_state)};
    const Call call = make_call(u, A, delta_softplus, reverse, chunk);
    auto checkpoints = torch::empty({k::scan_checkpoint_numel(call.shape, chunk)}, u.options());
    auto out = run_forward(x, call, checkpoints);
    ctx->save_for_backward({u, delta, A, B, C, x.D, x.z, x.delta_bias, x.initial_state, checkpoints});
    ctx->saved_data["delta_softplus"] = delta_softplus;
    ctx->saved_data["reverse"] = reverse;
    ctx->saved_data["chunk"] = chunk;
    return {out.y, out.final_state};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    // The kernel's gradients are not themselves differentiable; refuse create_graph loudly.
    LUMAMBA_CHECK(!torch::GradMode::is_enabled(),
                  "selective_scan_fused: double backward (create_graph) is not supported; use LUMAMBA_SCAN=ref");
    const auto saved = ctx->get_saved_variables();
    const Inputs x{saved[0], saved[1], saved[2], saved[3], saved[4], saved[5], saved[6], saved[7], saved[8]};
    const auto& checkpoints = saved[9];
    const Call call = make_call(x.u, x.A, ctx->saved_data["delta_softplus"].toBool(),
                                ctx->saved_data["reverse"].toBool(), ctx->saved_data["chunk"].toInt());
    auto grad_y = grad_outputs[0];
    if (!grad_y.defined()) grad_y = torch::zeros_like(x.u);  // only final_state was used
    const auto& grad_final = grad_outputs[1];
    // empty_like keeps each input's stride order, also for non-dense views (z, B, C): the Mamba block's
    // time-major views get time-major gradients (one cache line per step and 16 channels in the kernel).
    auto du = at::empty_like(x.u), ddelta = at::empty_like(x.delta), dA = at::empty_like(x.A);
    auto dB = at::empty_like(x.B), dC = at::empty_like(x.C);
    torch::Tensor dD, dz, ddelta_bias, dinitial;
    if (x.D.defined()) dD = at::empty_like(x.D);
    if (x.z.defined()) dz = at::empty_like(x.z);
    if (x.delta_bias.defined()) ddelta_bias = at::empty_like(x.delta_bias);
    if (x.initial_state.defined()) dinitial = at::empty_like(x.initial_state);
    AT_DISPATCH_FLOATING_TYPES(x.u.scalar_type(), "selective_scan_fused_backward", [&] {
      k::ScanBackward<scalar_t> g;
      g.grad_y = cview3<scalar_t>(grad_y);
      g.grad_final_state = cview3<scalar_t>(grad_final);
      g.checkpoints = checkpoints.data_ptr<scalar_t>();
      g.du = mview3<scalar_t>(du);
      g.ddelta = mview3<scalar_t>(ddelta);
      g.dz = mview3<scalar_t>(dz);
      g.dA = mview2<scalar_t>(dA);
      g.dB = mview3<scalar_t>(dB);
      g.dC = mview3<scalar_t>(dC);
      g.dD = mview1<scalar_t>(dD);
      g.ddelta_bias = mview1<scalar_t>(ddelta_bias);
      g.dinitial_state = mview3<scalar_t>(dinitial);
      k::selective_scan_backward<scalar_t>(call.shape, kernel_inputs<scalar_t>(x), g, call.config);
    });
    // One entry per forward argument; the three non-tensor ones get none.
    return {du, ddelta, dA, dB, dC, dD, dz, ddelta_bias, dinitial, {}, {}, {}};
  }
};

bool needs_grad(const SelectiveScanArgs& a) {
  if (!torch::GradMode::is_enabled()) return false;
  for (const auto* t : {&a.u, &a.delta, &a.A, &a.B, &a.C, &a.D, &a.z, &a.delta_bias, &a.initial_state}) {
    if (t->defined() && t->requires_grad()) return true;
  }
  return false;
}

const char* impl_name(ScanImpl impl) {
  switch (impl) {
    case ScanImpl::kRef: return "ref";
    case ScanImpl::kFused: return "fused";
    default: return "auto";
  }
}

}  // namespace

bool fused_scan_supported(const SelectiveScanArgs& a) {
  if (!a.u.defined() || a.u.dim() != 3 || !a.A.defined() || a.A.dim() != 2) return false;
  const auto dtype = a.u.scalar_type();
  if (dtype != torch::kFloat32 && dtype != torch::kFloat64) return false;
  if (a.A.size(1) < 1 || a.A.size(1) > k::kScanMaxState || a.u.numel() == 0) return false;
  for (const auto* t : {&a.u, &a.delta, &a.A, &a.B, &a.C, &a.D, &a.z, &a.delta_bias, &a.initial_state}) {
    if (!t->defined()) continue;
    if (!t->device().is_cpu() || t->scalar_type() != dtype || t->layout() != torch::kStrided) return false;
  }
  return true;
}

SelectiveScanOutput selective_scan_fused_with_state(const SelectiveScanArgs& a) {
  check_selective_scan_args(a);
  LUMAMBA_CHECK(fused_scan_supported(a),
                "selective_scan_fused: needs CPU float32/float64 tensors of one dtype and 1 <= N <= {}; got u {} "
                "{} on {}",
                k::kScanMaxState, a.u.sizes(), std::string(c10::toString(a.u.scalar_type())), a.u.device().str());
  if (!needs_grad(a)) {
    // Inference: no checkpoints, O(N) state per row.
    const Inputs x{a.u, a.delta, a.A, a.B, a.C, a.D, a.z, a.delta_bias, a.initial_state};
    return run_forward(x, make_call(a.u, a.A, a.delta_softplus, a.reverse, a.chunk_size), torch::Tensor());
  }
  auto out = FusedScanFunction::apply(a.u, a.delta, a.A, a.B, a.C, to_opt(a.D), to_opt(a.z), to_opt(a.delta_bias),
                                      to_opt(a.initial_state), a.delta_softplus, a.reverse, a.chunk_size);
  return {out[0], out[1]};
}

torch::Tensor selective_scan_fused(const SelectiveScanArgs& args) { return selective_scan_fused_with_state(args).y; }

const char* fused_scan_isa() {
  const k::ScanIsa isa = fused_scan_isa_from_env();
  return isa == k::ScanIsa::kAuto ? k::scan_kernel_isa() : k::scan_isa_name(isa);
}

ScanImpl scan_impl_from_env() {
  // Read once per process (docs/style.md §22: process-wide switches are read once and logged).
  static const ScanImpl impl = [] {
    const char* raw = std::getenv("LUMAMBA_SCAN");
    const std::string value = raw != nullptr ? raw : "";
    ScanImpl chosen = ScanImpl::kAuto;
    if (value == "ref") chosen = ScanImpl::kRef;
    else if (value == "fused") chosen = ScanImpl::kFused;
    else if (!value.empty() && value != "auto") check_option("LUMAMBA_SCAN", value, {"ref", "fused", "auto"});
    log::info("selective scan: {} (LUMAMBA_SCAN={}; fused CPU kernel: {})", impl_name(chosen),
              value.empty() ? "unset" : value, fused_scan_isa());
    return chosen;
  }();
  return impl;
}

SelectiveScanOutput selective_scan_with_state(const SelectiveScanArgs& args) {
  // The MAC tracer (lumamba/bench/mac_trace.h) counts the scan here, once, whichever kernel runs;
  // the inputs are built only while a RecordFunction callback is active.
  RECORD_FUNCTION("lumamba::selective_scan", std::vector<c10::IValue>({args.u, args.A, args.D}));
  const ScanImpl impl = scan_impl_from_env();
  if (impl != ScanImpl::kRef && fused_scan_supported(args)) return selective_scan_fused_with_state(args);
  if (impl == ScanImpl::kFused) {
    static const bool warned = [&] {
      log::warn("selective scan: LUMAMBA_SCAN=fused but the fused kernel does not apply to {} {} tensors; "
                "using the reference (logged once)",
                std::string(c10::toString(args.u.scalar_type())), args.u.device().str());
      return true;
    }();
    (void)warned;
  }
  return selective_scan_ref_with_state(args);
}

torch::Tensor selective_scan(const SelectiveScanArgs& args) { return selective_scan_with_state(args).y; }

}  // namespace lumamba::model
