// lumamba/data/normalize.h — the input normalisation every window gets before the network.
#pragma once

#include <torch/types.h>

namespace lumamba::data {

/// Per-sample, per-channel z-score over time with unbiased std + 1e-8, as the reference normalises its
/// input (docs/reference-model.md §2): (..., T) -> (..., T).
torch::Tensor zscore_channels(const torch::Tensor& x);

}  // namespace lumamba::data
