// lumamba/eval/forward_file.h — the scripting/parity interface behind `lumamba forward`:
// run the model on the tensors of a safetensors file and write its outputs to another one.
//
// Input tensors: `input` (B, C, T) float32/64; `channel_locations` (B, C, 3) metres, or the
// comma-separated `channels` entry of `__metadata__` looked up in the electrode table; optional
// `mask` (B, C, T) uint8/bool; for a pretraining config `channel_names_idx` (B, C) int64, or the
// `channels` metadata. Outputs: `embedding` (B, S, Q·E), `embedding_mean` (B, Q·E), `logits`
// (B, classes) or `reconstruction` (B, C, T), plus `attention_weights` (B·S, Q, C).
#pragma once

#include <string>
#include <vector>

#include "lumamba/model/options.h"

namespace lumamba::eval {

struct ForwardFileRequest {
  std::vector<std::string> weights_paths;  ///< later files override earlier ones (e.g. a head)
  std::string config_path;                 ///< "" = use `lumamba.config` of the first weights file
  std::vector<std::string> overrides;      ///< "key=value" applied to the config
  std::string input_path;
  std::string output_path;
  bool float64 = false;  ///< run weights and inputs in float64 end to end
  bool zscore = false;   ///< per-channel z-score of `input` before the network
};

struct ForwardFileSummary {
  model::LuMambaOptions options;
  int64_t batch = 0, n_channels = 0, n_samples = 0;
  std::vector<std::string> output_names;
};

ForwardFileSummary run_forward_file(const ForwardFileRequest& request);

}  // namespace lumamba::eval
