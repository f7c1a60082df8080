// Selective-scan benchmark (lumamba/bench/bench_scan.h): fused kernel vs reference loop, forward
// and backward, inputs shaped and laid out as LuMamba's Mamba block produces them (docs/reference-model.md §3.6, §4:
// A = -(1..N) S4D init, D = 1, dt in [1e-3, 1e-1]). Verifies fused against the loop before timing.
// Legend: B batch, Di d_inner, L sequence length, N d_state, R dt_rank.
#include "lumamba/model/runtime.h"
#include "lumamba/bench/bench_scan.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lumamba/core/compat.h"
#include "lumamba/core/error.h"
#include "lumamba/model/kernels/selective_scan_cpu.h"

namespace lumamba::bench {
namespace {

/// Longest L / largest B of the correctness check run before timing (the loop is slow).
constexpr int64_t kCheckMaxLen = 512;
constexpr int64_t kCheckMaxBatch = 2;

torch::Tensor leaf(const torch::Tensor& t) { return t.detach().requires_grad_(true); }


double ratio(double num, double den) { return den > 0.0 ? num / den : 0.0; }

}  // namespace

ScanBenchCase::ScanBenchCase(const ScanBenchOptions& o) {
  LUMAMBA_CHECK(o.seq_len >= 1 && o.batch >= 1 && o.d_inner >= 1 && o.d_state >= 1,
                "bench scan: sizes must be >= 1, got L={} B={} Di={} N={}", o.seq_len, o.batch, o.d_inner, o.d_state);
  const int64_t b = o.batch, l = o.seq_len, di = o.d_inner, n = o.d_state;
  auto opts = torch::TensorOptions().dtype(o.float64 ? torch::kFloat64 : torch::kFloat32);
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  if (o.time_major) {
    // As MambaImpl::mix hands them over: every (B, Di, L) / (B, N, L) input a time-major view. z, B
    // and C are narrow views of in_proj's / x_proj's outputs there; here they are dense time-major
    // leaves (their gradients have the same layout either way, and a non-dense leaf would add an
    // AccumulateGrad copy the model never makes).
    auto time_major = [&](int64_t channels, double scale, double shift) {
      return leaf(torch::randn({b, l, channels}, opts).mul_(scale).add_(shift).transpose(1, 2));
    };
    args_.u = time_major(di, 1.0, 0.0);        // silu(conv) output (B, L, Di)
    args_.z = time_major(di, 1.0, 0.0);        // in_proj output, second half
    args_.delta = time_major(di, 0.5, -1.0);   // x_dbl[:, :R] · dt_proj weightᵀ (B·L, Di)
    args_.B = time_major(n, 1.0, 0.0);         // x_proj output columns (B·L, N)
    args_.C = time_major(n, 1.0, 0.0);
  } else {
    args_.u = leaf(torch::randn({b, di, l}, opts));
    args_.z = leaf(torch::randn({b, di, l}, opts));
    args_.delta = leaf(torch::randn({b, di, l}, opts) * 0.5 - 1.0);
    args_.B = leaf(torch::randn({b, n, l}, opts));
    args_.C = leaf(torch::randn({b, n, l}, opts));
  }
  args_.A = leaf(-torch::arange(1, n + 1, opts).repeat({di, 1}));
  args_.D = leaf(torch::ones({di}, opts));
  auto dt_init = torch::exp(torch::rand({di}, opts) * (std::log(0.1) - std::log(1e-3)) + std::log(1e-3));
  args_.delta_bias = leaf(dt_init + torch::log(-torch::expm1(-dt_init)));
  args_.delta_softplus = true;
  args_.chunk_size = o.chunk_size;
  // out_proj's backward hands the scan a time-major grad_y (the (B·L, Di) gradient of y.transpose(1, 2)).
  grad_y_ = o.time_major ? torch::randn({b, l, di}, opts).transpose(1, 2) : torch::randn({b, di, l}, opts);
}

void ScanBenchCase::forward(bool fused) { y_ = fused ? model::selective_scan_fused(args_) : model::selective_scan_ref(args_); }

void ScanBenchCase::backward() {
  LUMAMBA_CHECK(y_.defined(), "bench scan: backward() needs a forward() first");
  y_.backward(grad_y_);
  y_ = torch::Tensor();
}

void ScanBenchCase::inference(bool fused) {
  torch::NoGradGuard no_grad;
  y_ = fused ? model::selective_scan_fused(args_) : model::selective_scan_ref(args_);
  y_ = torch::Tensor();
}

void ScanBenchCase::reset() {
  y_ = torch::Tensor();
  for (auto* t : {&args_.u, &args_.delta, &args_.A, &args_.B, &args_.C, &args_.D, &args_.z, &args_.delta_bias}) {
    t->mutable_grad() = torch::Tensor();
  }
}

double ScanBenchCase::check_against_loop() {
  std::vector<torch::Tensor> outs;
  for (bool fused : {true, false}) {
    reset();
    forward(fused);
    outs.push_back(y_.detach().clone());
    backward();
    outs.push_back(args_.u.grad().clone());
  }
  reset();
  auto rel = [](const torch::Tensor& a, const torch::Tensor& ref) {
    return ((a - ref).abs().max() / ref.abs().max()).item<double>();
  };
  return std::max(rel(outs[0], outs[2]), rel(outs[1], outs[3]));
}

ScanBenchResult run_scan_bench(const ScanBenchOptions& options) {
  ScanBenchResult res;
  res.options = options;
  res.n_threads = at::get_num_threads();
  res.isa = model::fused_scan_isa();
  {
    // Check first (docs/style.md §18), on a cut of the case the loop finishes quickly.
    ScanBenchOptions small = options;
    small.seq_len = std::min(options.seq_len, kCheckMaxLen);
    small.batch = std::min(options.batch, kCheckMaxBatch);
    res.check_rel_err = ScanBenchCase(small).check_against_loop();
  }
  ScanBenchCase c(options);
  auto reset = [&] { c.reset(); };
  auto reset_and_forward = [&](bool fused) {
    return [&c, fused] {
      c.reset();
      c.forward(fused);
    };
  };
  // Fused and loop calls alternate round by round (measure_interleaved), so the speed-ups compare
  // calls made under the same machine conditions.
  const int rounds = options.loop ? std::max(1, options.loop_plan.repetitions) : std::max(1, options.fused_plan.repetitions);
  const int fused_per_round = std::max(1, (options.fused_plan.repetitions + rounds - 1) / rounds);
  std::vector<BenchItem> items = {
      {[&] { c.forward(true); }, reset, fused_per_round, 0.0},
      {[&] { c.backward(); }, reset_and_forward(true), fused_per_round, 0.0},
      {[&] { c.inference(true); }, reset, fused_per_round, 0.0},
  };
  if (options.loop) {
    items.push_back({[&] { c.forward(false); }, reset, 1, options.loop_plan.budget_s});
    items.push_back({[&] { c.backward(); }, reset_and_forward(false), 1, options.loop_plan.budget_s});
  }
  const auto t = measure_interleaved(items, std::max(options.fused_plan.warmup, options.loop_plan.warmup), rounds);
  res.fused_forward = t[0];
  res.fused_backward = t[1];
  res.fused_inference = t[2];
  if (options.loop) {
    res.loop_forward = t[3];
    res.loop_backward = t[4];
  }
  c.reset();
  return res;
}

std::string scan_bench_to_json(const ScanBenchResult& r) {
  const auto& o = r.options;
  nlohmann::json j;
  j["fused_forward_ms"] = r.fused_forward.median_ms;
  j["fused_backward_ms"] = r.fused_backward.median_ms;
  j["fused_inference_forward_ms"] = r.fused_inference.median_ms;
  if (o.loop) {
    j["loop_forward_ms"] = r.loop_forward.median_ms;
    j["loop_backward_ms"] = r.loop_backward.median_ms;
    j["speedup_forward"] = ratio(r.loop_forward.median_ms, r.fused_forward.median_ms);
    j["speedup_backward"] = ratio(r.loop_backward.median_ms, r.fused_backward.median_ms);
    j["speedup_forward_backward"] = ratio(r.loop_forward.median_ms + r.loop_backward.median_ms,
                                          r.fused_forward.median_ms + r.fused_backward.median_ms);
    j["loop_repetitions"] = r.loop_forward.repetitions;
    j["loop_backward_repetitions"] = r.loop_backward.repetitions;
    j["loop_backward_from_warmup"] = r.loop_backward.from_warmup;
  } else {
    j["loop_forward_ms"] = nullptr;
    j["loop_backward_ms"] = nullptr;
  }
  j["fused_backward_over_forward"] = ratio(r.fused_backward.median_ms, r.fused_forward.median_ms);
  j["fused_repetitions"] = r.fused_forward.repetitions;
  j["fused_forward_min_ms"] = r.fused_forward.min_ms;
  j["fused_backward_min_ms"] = r.fused_backward.min_ms;
  // Throughput of the fused training step in state updates (B·Di·L·N) per second.
  const double updates = static_cast<double>(o.batch * o.d_inner * o.seq_len * o.d_state);
  j["fused_forward_gupdates_per_s"] = ratio(updates, r.fused_forward.median_ms * 1e6);
  j["seq_len"] = o.seq_len;
  j["batch"] = o.batch;
  j["d_inner"] = o.d_inner;
  j["d_state"] = o.d_state;
  j["chunk_size"] = o.chunk_size;
  j["dtype"] = o.float64 ? "float64" : "float32";
  j["layout"] = o.time_major ? "time_major" : "contiguous";
  j["threads"] = r.n_threads;
  j["isa"] = r.isa;
  j["cpu"] = model::cpu_model_name();
  j["torch_version"] = compat::torch_version();
  j["check_rel_err"] = r.check_rel_err;
  return j.dump();
}

std::string scan_bench_to_text(const ScanBenchResult& r) {
  const auto& o = r.options;
  std::string s = fmt::format("selective scan B={} Di={} L={} N={} K={} {} {} threads={} isa={}\n", o.batch, o.d_inner,
                              o.seq_len, o.d_state, o.chunk_size, o.float64 ? "float64" : "float32",
                              o.time_major ? "time-major" : "contiguous", r.n_threads, r.isa);
  s += fmt::format("  check vs loop (max rel err): {:.2e}\n", r.check_rel_err);
  s += fmt::format("  fused  forward {:9.2f} ms  backward {:9.2f} ms  inference {:9.2f} ms  (median of {})\n",
                   r.fused_forward.median_ms, r.fused_backward.median_ms, r.fused_inference.median_ms,
                   r.fused_forward.repetitions);
  if (o.loop) {
    s += fmt::format("  loop   forward {:9.2f} ms  backward {:9.2f} ms  (median of {} / {}{})\n",
                     r.loop_forward.median_ms, r.loop_backward.median_ms, r.loop_forward.repetitions,
                     r.loop_backward.repetitions, r.loop_backward.from_warmup ? ", single cold run" : "");
    s += fmt::format("  speed-up forward+backward {:.1f}x\n",
                     ratio(r.loop_forward.median_ms + r.loop_backward.median_ms,
                           r.fused_forward.median_ms + r.fused_backward.median_ms));
  }
  return s;
}

}  // namespace lumamba::bench
