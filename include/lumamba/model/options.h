// lumamba/model/options.h — model hyper-parameters, keyed exactly like the reference YAML
// (config/model/LuMamba_tiny.yaml + LuMamba.py constructor arguments; docs/reference-model.md §1).
//
// LuMamba-Tiny is the default. Every size in the model follows these options; nothing is
// hard-coded to Q=6, E=64, 2 blocks, d_state 16 or 22 channels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/arg.h>

namespace lumamba::model {

/// Options of one Mamba-1 ("simple") block, mamba_ssm v2.3.2 defaults.
struct MambaOptions {
  explicit MambaOptions(int64_t d_model = 0) : d_model_(d_model) {}
  /// Model (residual stream) width.
  TORCH_ARG(int64_t, d_model);
  /// SSM state size N. Default: 16.
  TORCH_ARG(int64_t, d_state) = 16;
  /// Causal depthwise convolution width. Default: 4.
  TORCH_ARG(int64_t, d_conv) = 4;
  /// d_inner = expand · d_model. Default: 2.
  TORCH_ARG(int64_t, expand) = 2;
  /// Rank of the Δ projection; 0 = "auto" = ceil(d_model / 16). Default: 0.
  TORCH_ARG(int64_t, dt_rank) = 0;

 public:
  int64_t d_inner() const { return expand_ * d_model_; }
  int64_t resolved_dt_rank() const { return dt_rank_ > 0 ? dt_rank_ : (d_model_ + 15) / 16; }
};

/// Options of the whole LuMamba network. Field names are the reference config keys.
struct LuMambaOptions {
  /// Samples per patch P (T must be a multiple). Default: 40.
  TORCH_ARG(int64_t, patch_size) = 40;
  /// Learned queries Q of the channel-unification cross-attention. Default: 6.
  TORCH_ARG(int64_t, num_queries) = 6;
  /// Token width E. Default: 64.
  TORCH_ARG(int64_t, embed_dim) = 64;
  /// Attention heads (cross-attention, query self-attention, decoder, LUNA head). Default: 2.
  TORCH_ARG(int64_t, num_heads) = 2;
  /// Feed-forward width ratio of the channel-unification block. Default: 4.0.
  TORCH_ARG(double, mlp_ratio) = 4.0;
  /// Bidirectional Mamba blocks. Default: 2.
  TORCH_ARG(int64_t, num_blocks) = 2;
  /// Mamba expand factor ("exp" in the reference YAML). Default: 2.
  TORCH_ARG(int64_t, exp) = 2;
  /// Mamba state size. Default: 16.
  TORCH_ARG(int64_t, d_state) = 16;
  /// Mamba causal convolution width. Default: 4.
  TORCH_ARG(int64_t, d_conv) = 4;
  /// Mamba Δ rank; 0 = auto (ceil(Q·E/16)). Default: 0.
  TORCH_ARG(int64_t, dt_rank) = 0;
  /// Run a reversed-time Mamba next to the forward one in each block. Default: true.
  TORCH_ARG(bool, bidirectional) = true;
  /// How the two directions combine: "add" or "ew_multiply". Default: "add".
  TORCH_ARG(std::string, bidirectional_strategy) = "add";
  /// Classification head: "luna" (reference default when unset/null), "mamba" or "linear".
  TORCH_ARG(std::string, classifier_option) = "luna";
  /// Normalisation of the encoder output before the classification head: "none" (the reference)
  /// or "batch" (BatchNorm over windows and patches; fine-tuning sets its inference statistics from
  /// the training windows in eval mode after every epoch). The encoder's output is mostly a
  /// window-independent vector (learned queries, electrode-position embeddings), which under AdamW
  /// drives the head's first layer into GELU's flat region and leaves a model trained from scratch
  /// at ln 2; removing it per feature lets the head learn (docs/training.md). Default: "none".
  TORCH_ARG(std::string, head_norm) = "none";
  /// Classes of the head; 0 = pretraining model with the reconstruction decoder. Default: 0.
  TORCH_ARG(int64_t, num_classes) = 0;
  /// Channel-name vocabulary size of the decoder's channel embedding. Default: 90.
  TORCH_ARG(int64_t, vocab_size) = 90;
  /// Hidden width of the FEMBA Mamba head (hard-coded 256 in the reference). Default: 256.
  TORCH_ARG(int64_t, mamba_head_dim) = 256;
  /// Std of the N(0, σ²) jitter added to normalised electrode coordinates in training. Default: 0.02.
  TORCH_ARG(double, location_jitter) = 0.02;
  /// Dropout of LUNA's cross-attention block (its attention, query self-attention layers and
  /// MLP) in training, as the reference's fixed 0.1. Default: 0.1.
  TORCH_ARG(double, dropout) = 0.1;
  /// Reference quirk: the PyTorch code also jitters at evaluation whenever a mask is passed.
  /// false = deterministic inference (our default); true = reproduce the reference. Default: false.
  TORCH_ARG(bool, location_jitter_in_eval) = false;
  /// Reference quirk: `ch_loc_emb.repeat(S,1,1)` gives patch row b·S+s the location embedding of
  /// sample (b·S+s) mod B. false = each sample gets its own embedding (intended behaviour);
  /// true = reproduce the tiling. Identical whenever all samples share a montage. Default: false.
  TORCH_ARG(bool, reference_location_tiling) = false;

 public:
  int64_t d_model() const { return num_queries_ * embed_dim_; }
  int64_t ff_dim() const { return static_cast<int64_t>(mlp_ratio_ * static_cast<double>(embed_dim_)); }
  MambaOptions encoder_mamba() const {
    return MambaOptions(d_model()).d_state(d_state_).d_conv(d_conv_).expand(exp_).dt_rank(dt_rank_);
  }
  MambaOptions head_mamba() const {
    // FEMBA MambaClassifier: Mamba(d_model=256, expand=2) with mamba_ssm defaults otherwise.
    return MambaOptions(mamba_head_dim_).d_state(d_state_).d_conv(d_conv_).expand(2);
  }
  bool is_pretraining() const { return num_classes_ == 0; }
};

/// Throws InputError naming the field when a value is out of range or inconsistent.
void validate(const LuMambaOptions& options);

/// Parses a config: YAML or JSON text with the flat keys above, or a document with a top-level
/// `model:` mapping (Mamba sizes optionally under `model.mamba`), like golden/config.json.
/// Unknown keys are an InputError listing them. `source` names the file in messages.
LuMambaOptions options_from_text(const std::string& text, const std::string& source);
LuMambaOptions options_from_file(const std::string& path);
/// JSON with the flat keys (what checkpoints store under `lumamba.config`).
std::string options_to_json(const LuMambaOptions& options);
/// Applies "key=value" overrides (same keys) to options; InputError on unknown keys/bad values.
void apply_overrides(LuMambaOptions& options, const std::vector<std::string>& key_values);

}  // namespace lumamba::model
