// Reference selective scan: mamba_ssm selective_scan_ref (v2.3.2) written with LibTorch ops.
// See lumamba/model/selective_scan.h for the recurrence and shapes. The lumamba extensions stay
// literal here: `reverse` flips the inputs and the output, the carried state seeds/ends the loop.
#include <torch/torch.h>

#include "lumamba/core/error.h"
#include "lumamba/model/fmt_shape.h"
#include "lumamba/model/selective_scan.h"

namespace lumamba::model {

void check_selective_scan_args(const SelectiveScanArgs& a) {
  LUMAMBA_CHECK(a.u.defined() && a.u.dim() == 3, "selective_scan: u must be (B, Di, L), got {}",
                a.u.defined() ? a.u.sizes() : c10::IntArrayRef{});
  const int64_t b = a.u.size(0), di = a.u.size(1), l = a.u.size(2);
  LUMAMBA_CHECK(a.delta.sizes() == a.u.sizes(), "selective_scan: delta {} != u {}", a.delta.sizes(), a.u.sizes());
  LUMAMBA_CHECK(a.A.dim() == 2 && a.A.size(0) == di, "selective_scan: A must be (Di={}, N), got {}", di, a.A.sizes());
  const int64_t n = a.A.size(1);
  for (const auto* t : {&a.B, &a.C}) {
    LUMAMBA_CHECK(t->dim() == 3 && t->size(0) == b && t->size(1) == n && t->size(2) == l,
                  "selective_scan: B and C must be (B={}, N={}, L={}), got {}", b, n, l, t->sizes());
  }
  if (a.D.defined()) LUMAMBA_CHECK(a.D.dim() == 1 && a.D.size(0) == di, "selective_scan: D must be ({}), got {}", di, a.D.sizes());
  if (a.delta_bias.defined())
    LUMAMBA_CHECK(a.delta_bias.dim() == 1 && a.delta_bias.size(0) == di,
                  "selective_scan: delta_bias must be ({}), got {}", di, a.delta_bias.sizes());
  if (a.z.defined()) LUMAMBA_CHECK(a.z.sizes() == a.u.sizes(), "selective_scan: z {} != u {}", a.z.sizes(), a.u.sizes());
  if (a.initial_state.defined()) {
    LUMAMBA_CHECK(a.initial_state.dim() == 3 && a.initial_state.size(0) == b && a.initial_state.size(1) == di &&
                      a.initial_state.size(2) == n,
                  "selective_scan: initial_state must be (B={}, Di={}, N={}), got {}", b, di, n,
                  a.initial_state.sizes());
  }
  LUMAMBA_CHECK(a.chunk_size >= 1, "selective_scan: chunk_size must be >= 1, got {}", a.chunk_size);
}

SelectiveScanOutput selective_scan_ref_with_state(const SelectiveScanArgs& args) {
  check_selective_scan_args(args);
  if (args.reverse) {
    // Literal definition of the reverse flag: scan the time-flipped sequence, flip the output back.
    SelectiveScanArgs f = args;
    f.reverse = false;
    for (auto* t : {&f.u, &f.delta, &f.B, &f.C, &f.z}) {
      if (t->defined()) *t = t->flip({2});
    }
    auto out = selective_scan_ref_with_state(f);
    out.y = out.y.flip({2});
    return out;
  }
  const auto& a = args;
  auto delta = a.delta;
  if (a.delta_bias.defined()) delta = delta + a.delta_bias.unsqueeze(-1);
  if (a.delta_softplus) delta = torch::softplus(delta);
  const int64_t l = a.u.size(2);
  // (B, Di, L, N)
  auto delta_a = torch::exp(delta.unsqueeze(-1) * a.A.unsqueeze(0).unsqueeze(2));
  auto delta_b_u = (delta * a.u).unsqueeze(-1) * a.B.transpose(1, 2).unsqueeze(1);
  auto h = a.initial_state.defined() ? a.initial_state
                                     : torch::zeros({a.u.size(0), a.u.size(1), a.A.size(1)}, a.u.options());  // (B, Di, N)
  std::vector<torch::Tensor> ys;
  ys.reserve(static_cast<size_t>(l));
  for (int64_t t = 0; t < l; ++t) {
    h = delta_a.select(2, t) * h + delta_b_u.select(2, t);
    // y_t[b, d] = sum_n h[b, d, n] · C[b, n, t]
    ys.push_back(torch::bmm(h, a.C.select(2, t).unsqueeze(-1)).squeeze(-1));
  }
  auto y = torch::stack(ys, 2);  // (B, Di, L)
  if (a.D.defined()) y = y + a.u * a.D.unsqueeze(-1);
  if (a.z.defined()) y = y * torch::silu(a.z);
  return {y, h};
}

torch::Tensor selective_scan_ref(const SelectiveScanArgs& args) { return selective_scan_ref_with_state(args).y; }

}  // namespace lumamba::model
