// lumamba/bench/peers.h — the encoders `lumamba bench efficiency` measures: LuMamba-Tiny and two
// comparison encoders built only to be measured (forward only, random weights, never trained):
//   luna_base    LUNA-Base (Döner et al. 2025): LuMamba's channel-unification front end (Q = 4,
//                E = 64) followed by 8 pre-norm transformer blocks with rotary attention over the
//                S patches (D = Q·E = 256, 8 heads, MLP ratio 4). Patch 40 samples at 256 Hz.
//   labram_base  LaBraM-Base (Jiang et al. 2024): a temporal-conv patch embedder (200 samples at
//                200 Hz → 200 dims) and 12 transformer blocks (200 dims, 10 heads, MLP ratio 4,
//                qk-norm, layer scale) over all C·S channel×patch tokens plus a CLS token.
// Sizes and citations: docs/efficiency.md. Legend: C channels, S patches, T = S·patch samples.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lumamba::bench::peers {

/// One encoder as the efficiency study sees it.
class EfficiencyModel {
 public:
  virtual ~EfficiencyModel() = default;
  /// "lumamba_tiny", "luna_base" or "labram_base".
  virtual std::string name() const = 0;
  /// Sampling rate the model expects (256 Hz for LuMamba and LUNA, 200 Hz for LaBraM), so that
  /// sweeps can be expressed in seconds of EEG.
  virtual double sample_rate_hz() const = 0;
  /// Samples per patch (40, 40, 200).
  virtual int64_t patch_samples() const = 0;
  virtual int64_t parameter_count() const = 0;
  /// Encoder forward at batch 1, inference mode: signal (1, C, S·patch_samples), channel_locations
  /// (1, C, 3) in metres (ignored by LaBraM). Returns the encoder output (its shape is the model's).
  virtual torch::Tensor forward(const torch::Tensor& signal, const torch::Tensor& channel_locations) = 0;
  /// Multiply-accumulates of one such forward, from a closed-form formula in the shapes (the
  /// conventions of lumamba/bench/mac_trace.h, so that it equals the traced count exactly).
  virtual int64_t analytic_macs(int64_t channels, int64_t patches) const = 0;
};

/// Builds one of efficiency_model_names() with random weights (float32, CPU, eval mode).
/// Throws InputError for an unknown name (the message lists the known ones).
std::unique_ptr<EfficiencyModel> make_efficiency_model(const std::string& name);
std::vector<std::string> efficiency_model_names();

}  // namespace lumamba::bench::peers
