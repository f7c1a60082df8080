// lumamba/model/flops.h — multiply-accumulate counts of one LuMamba forward, from the shapes.
//
// Counted: every matrix product (linear layers, attention QKᵀ and AV, convolutions, the real DFT
// of each patch counted as a direct DFT), and the selective scan at 3 MACs per (t, channel, state)
// (Δ·A, the state update and the C read-out). Not counted: norms, activations, softmax, exp.
// The same numbers feed `lumamba info` and the benchmarks' GFLOP/s (2 FLOPs per MAC).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lumamba/model/options.h"

namespace lumamba::model {

struct MacCount {
  std::vector<std::pair<std::string, int64_t>> parts;  ///< module name -> MACs
  int64_t total() const;
};

/// MACs of one forward of one sample with C channels and T samples (T a multiple of patch_size):
/// encoder plus the head the options select (decoder when num_classes == 0).
MacCount count_macs(const LuMambaOptions& options, int64_t n_channels, int64_t n_samples);

/// MACs of one Mamba block (one direction) over a sequence of length L.
int64_t mamba_macs(const MambaOptions& options, int64_t seq_len);

}  // namespace lumamba::model
