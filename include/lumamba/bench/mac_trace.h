// lumamba/bench/mac_trace.h — multiply-accumulates counted from the operators a forward actually
// runs, with the shapes they run on (a FLOP counter in the spirit of fvcore / torch.utils.flop_counter,
// built on LibTorch's RecordFunction callbacks on the calling thread).
//
// Conventions (the same as lumamba/model/flops.h): a matrix product (mm, addmm, bmm, baddbmm,
// matmul-class leaves) counts M·N·K; a convolution counts output elements × (in_channels/groups) ×
// kernel elements; a real FFT of length n counts as the direct real DFT, 2·n·(n/2+1) per transform;
// the selective scan (lumamba::selective_scan) counts 3 per (t, channel, state) plus 1 per
// (t, channel) for the D skip; lumamba::batched_matmul (attention products computed without a
// BLAS call: broadcast multiply + sum, or the fused attention kernel, src/model/layers.cpp) counts
// like bmm; lumamba::depthwise_conv (the Mamba block's fused conv + SiLU, src/model/mamba.cpp)
// counts K taps per output. Element-wise ops, norms, softmax and activations count 0.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace lumamba::bench {

struct TracedMacs {
  int64_t total = 0;
  std::map<std::string, int64_t> by_operator;  ///< "aten::addmm" -> MACs
  std::map<std::string, int64_t> calls;        ///< "aten::addmm" -> number of calls counted
};

/// Runs fn on this thread and returns the MACs of the operators it dispatched.
TracedMacs trace_macs(const std::function<void()>& fn);

}  // namespace lumamba::bench
