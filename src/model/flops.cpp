// MAC counting (see lumamba/model/flops.h). Formulas mirror the forward code module by module and
// count what it runs at batch 1, so that they equal the operators traced by mac_trace.h exactly
// (tests/bench/test_peers.cpp): where the code computes more or less than the textbook layer, the
// formula follows the code and says so.
#include "lumamba/model/flops.h"

#include "lumamba/core/error.h"

namespace lumamba::model {

int64_t MacCount::total() const {
  int64_t sum = 0;
  for (const auto& p : parts) sum += p.second;
  return sum;
}

int64_t mamba_macs(const MambaOptions& o, int64_t l) {
  const int64_t dm = o.d_model(), di = o.d_inner(), n = o.d_state(), r = o.resolved_dt_rank();
  return l * dm * 2 * di          // in_proj
         // Depthwise causal conv, K taps for each of the L outputs (the fused inference kernel
         // computes just those; the ops path of training also computes K − 1 discarded padding
         // outputs, MambaImpl::forward).
         + l * di * o.d_conv()
         + l * di * (r + 2 * n)   // x_proj
         + l * r * di             // dt_proj
         + 3 * l * di * n         // selective scan
         + l * di                 // D skip
         + l * di * dm;           // out_proj
}

namespace {
// Multi-head attention with Lq queries over Lk keys of width e (projections included).
int64_t attention_macs(int64_t lq, int64_t lk, int64_t e) {
  return lq * e * e + 2 * lk * e * e  // q, k, v projections
         + 2 * lq * lk * e            // QKᵀ and AV
         + lq * e * e;                // out_proj
}
}  // namespace

MacCount count_macs(const LuMambaOptions& o, int64_t c, int64_t t) {
  LUMAMBA_CHECK_INPUT(c > 0 && t > 0 && t % o.patch_size() == 0,
                      "MAC count needs C > 0 and T a positive multiple of {}, got C={} T={}", o.patch_size(), c, t);
  const int64_t p = o.patch_size(), s = t / p, e = o.embed_dim(), q = o.num_queries(), d = o.d_model();
  const int64_t tokens = c * s, ff = o.ff_dim();
  MacCount m;
  // Patch embedding: conv (1 → E/4, k = P/2−1, stride P/4, pad P/4−1), then two (E/4 → E/4, k = 3).
  const int64_t ch = e / 4, half = p / 2, k1 = half - 1, stride = half / 2, pad = half / 2 - 1;
  const int64_t w = (p + 2 * pad - k1) / stride + 1;
  m.parts.emplace_back("patch_embed", tokens * ch * w * k1 + 2 * tokens * ch * w * ch * 3);
  const int64_t bins = p / 2 + 1, f = 2 * bins;
  m.parts.emplace_back("freq_embed", tokens * (2 * p * bins + f * 4 * f + 4 * f * e));
  m.parts.emplace_back("channel_location_embedder", c * (e * 2 * e + 2 * e * e));
  const int64_t qsa = 3 * (attention_macs(q, q, e) + 2 * q * e * ff);
  // The learned queries are the same for every patch row: MultiheadAttentionImpl::forward projects
  // them once per forward (q·E² once, not S times), hence the (S − 1)·q·E² taken back.
  m.parts.emplace_back("cross_attn", s * (attention_macs(q, c, e) + 2 * q * e * ff + qsa) - (s - 1) * q * e * e);
  const auto mamba = o.encoder_mamba();
  const int64_t directions = o.bidirectional() ? 2 : 1;
  m.parts.emplace_back("mamba_blocks", o.num_blocks() * directions * mamba_macs(mamba, s));
  if (o.is_pretraining()) {
    const int64_t per_row = attention_macs(c, c, e) + attention_macs(c, q, e) + 2 * c * e * 4 * e  // decoder layer
                            + c * (e * 4 * e + 4 * e * p);                                       // Mlp
    m.parts.emplace_back("decoder_head", s * per_row);
  } else if (o.classifier_option() == "luna") {
    m.parts.emplace_back("classifier", attention_macs(1, s, d) + d * 4 * d + 4 * d * o.num_classes());
  } else if (o.classifier_option() == "mamba") {
    const auto head = o.head_mamba();
    m.parts.emplace_back("classifier", s * d * head.d_model() + mamba_macs(head, s) + head.d_model() * o.num_classes());
  } else {
    m.parts.emplace_back("classifier", d * o.num_classes());
  }
  return m;
}

}  // namespace lumamba::model
