// lumamba/model/long_recording.h — a whole recording as ONE sequence, in bounded memory.
//
// Windowed mode (the default of predict/embed) cuts a recording into independent 5 s windows and
// z-scores each window. Whole-recording mode feeds the encoder the entire recording, S = T / P
// patches (an hour at 256 Hz: 23,040), and keeps memory O(C·chunk + S·D):
//   1. streaming statistics passes over the signal: per-channel mean and std (the z-score of the
//      whole recording), then the three GroupNorm layers of the patch embedder one after the other
//      (each layer's input depends on the previous layer's statistics), merged chunk by chunk with
//      Chan's parallel formulas in float64;
//   2. the front end chunk by chunk (patch + frequency embedding with those statistics, location
//      embedding, cross-attention over channels) into the latent (1, S, Q·E);
//   3. each bidirectional Mamba block over the whole latent: the forward Mamba chunk by chunk with
//      its conv context and scan state carried forward, then the reverse Mamba from the last chunk
//      to the first over the same stored block input, carrying its state backwards.
// Every step is per patch or a carried recurrence, so the result equals LuMamba::encode on the
// whole recording z-scored by its own statistics (one-shot), up to rounding.
// Legend: C channels, T samples, P patch size, S = T / P, D = Q·E.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "lumamba/model/lumamba.h"

namespace lumamba::model {

struct WholeRecordingOptions {
  /// Patches per chunk of the front end and of the Mamba blocks. Default: 1024 (~2.7 min at 256 Hz).
  int64_t chunk_patches = 1024;
  /// Print a progress line (patches, rate, ETA) on stderr.
  bool show_progress = false;
};

/// Encoder output of a whole recording: signal (C, T) preprocessed but NOT z-scored (the z-score
/// is taken over the whole recording here), channel_locations (C, 3) in metres. T is cut to a
/// multiple of P (the last partial patch is dropped). Returns (1, S, D). Inference only.
torch::Tensor encode_whole_recording(LuMambaImpl& model, const torch::Tensor& signal,
                                     const torch::Tensor& channel_locations, const WholeRecordingOptions& options);

/// The model's classification head on a whole-recording encoder output (1, S, D) -> logits
/// (1, classes); the Mamba head runs chunk by chunk with carried state. Throws for a pretraining model.
torch::Tensor classify_whole_recording(LuMambaImpl& model, const torch::Tensor& encoder_out,
                                       const WholeRecordingOptions& options);

}  // namespace lumamba::model
