#include "lumamba/data/normalize.h"

namespace lumamba::data {

torch::Tensor zscore_channels(const torch::Tensor& x) {
  auto mean = x.mean(-1, /*keepdim=*/true);
  auto std = x.std(-1, /*unbiased=*/true, /*keepdim=*/true);
  return (x - mean) / (std + 1e-8);
}

}  // namespace lumamba::data
