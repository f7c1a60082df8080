// lumamba/eval/predict.h — `lumamba predict` and `lumamba embed` on recordings: EDF/BDF files, a
// folder of them, a manifest CSV, or (embed) HDF5 windows. Recordings are preprocessed exactly as
// the checkpoint's `lumamba.preprocess` metadata says, one at a time (memory stays bounded by one
// recording), and the model runs on their windows in batches.
#pragma once

#include "lumamba/eval/events.h"

#include <cstdint>
#include <string>
#include <vector>

#include "lumamba/eval/inference.h"
#include "lumamba/io/window_h5.h"
#include "lumamba/preprocess/preset.h"

namespace lumamba::eval {

/// A preset made ready for recordings that come without the training data's label sources (folder
/// names, manifests, annotation files): labels "none" unless windows are event-locked (the
/// recording's own events label them), then `overrides` key=value, validated.
preprocess::PreprocessPreset preset_for_new_recordings(preprocess::PreprocessPreset preset,
                                                      const std::vector<std::string>& overrides);

/// The preprocessing a checkpoint was trained with (its `lumamba.preprocess` metadata), or `preset`
/// (a name or YAML file) when given; then `overrides` (key=value). Labels are "none" unless the
/// windows are event-locked. InputError naming `weights_name` when there is none, or when the
/// windows are not a whole number of the model's patches.
preprocess::PreprocessPreset checkpoint_preset(const LoadedModel& model, const std::string& preset,
                                              const std::vector<std::string>& overrides,
                                              const std::string& weights_name);

/// (N, K) class probabilities of one preprocessed recording's windows (z-scored per channel
/// first), row-major: what `predict` writes for it.
std::vector<double> window_probabilities(LoadedModel& loaded, const io::RecordingWindows& recording,
                                         int64_t batch_size);

/// (N, Q·E) mean-over-patches encoder embeddings of one preprocessed recording's windows, row-major:
/// what `embed` writes for it.
std::vector<float> window_embeddings(LoadedModel& loaded, const io::RecordingWindows& recording, int64_t batch_size);

struct PredictRequest {
  std::vector<std::string> weights;  ///< checkpoint (+ overriding files)
  std::string config_path;           ///< for weights without `lumamba.config`
  std::vector<std::string> overrides;
  std::string input;                 ///< EDF/BDF file, folder (searched recursively) or manifest CSV
  std::string output_dir;
  std::string preset;                ///< preprocessing preset name or YAML file when the checkpoint has none
  std::vector<std::string> preset_overrides;
  int64_t batch_size = 64;
  int n_threads = 1;                 ///< preprocessing threads (channels)
  /// Whole-recording mode: the recording is ONE sequence (lumamba/model/long_recording.h), one
  /// prediction per recording (predictions.csv gets one row per recording, window_start_s 0).
  bool whole_recording = false;
  int64_t chunk_patches = 1024;      ///< whole-recording chunk, patches
  /// Events from the window predictions (lumamba/eval/events.h): OUT/events/<recording>_events.tsv
  /// (BIDS), OUT/events/<recording>_events.edf (EDF+ annotations only) and OUT/events.csv.
  bool events = false;
  EventOptions event_options;
};

struct RecordingPrediction {
  std::string recording;
  int64_t n_windows = 0;
  int64_t n_events = 0;  ///< with PredictRequest::events
  std::vector<double> mean_probabilities;  ///< (K,) mean over the windows
  int64_t decision = -1;                   ///< argmax of the mean probabilities
  double eeg_seconds = 0;
};

struct PredictSummary {
  std::vector<RecordingPrediction> recordings;
  std::vector<std::pair<std::string, std::string>> failures;  ///< (file, reason)
  double eeg_seconds = 0, wall_s = 0;
};

/// Writes OUT/predictions.csv (recording, window_start_s, label when the preset makes one,
/// predicted, p_0..), OUT/recordings.csv and OUT/predictions.json (per recording: mean
/// probabilities, decision, class name). A recording that fails (e.g. its channels cannot form the
/// model's montage) is reported with its reason and the others go on; all failing is an error.
PredictSummary run_predict(const PredictRequest& request);

struct EmbedRequest {
  std::vector<std::string> weights;
  std::string config_path;
  std::vector<std::string> overrides;
  std::string input;        ///< EDF/BDF, folder, manifest, or .h5 windows
  std::string output;       ///< .safetensors (or .csv with format "csv")
  std::string format = "safetensors";
  std::string preset;       ///< when the checkpoint stores no preprocessing
  std::vector<std::string> preset_overrides;
  std::string layout;       ///< channel order of name-less reference HDF5 files
  int64_t batch_size = 64;
  int n_threads = 1;
  /// Whole-recording mode: `embedding` (1, S, Q·E) per recording, one row per patch (below).
  bool whole_recording = false;
  int64_t chunk_patches = 1024;
};

struct EmbedSummary {
  int64_t n_windows = 0, dim = 0, n_recordings = 0;
  int64_t n_patches = 0;  ///< whole-recording mode: patches over all recordings
  double eeg_seconds = 0, wall_s = 0;
};

/// Writes `embedding` (N, Q·E) float32 (mean over the patches of each window), `window_start_s`
/// (N,) float64 and `recording_index` (N,) int64, with the recordings' names (JSON list) in
/// `__metadata__["recordings"]`; or a CSV with recording,window_start_s,e_0..e_{D-1}. Atomic.
/// Whole-recording mode: `embedding` (1, S, Q·E) and `patch_start_s` (S,) for one recording, or
/// `embedding_<i>` / `patch_start_s_<i>` per recording i for several; CSV: one row per patch
/// (recording,patch_start_s,e_0..). Input must be EDF/BDF (HDF5 holds windows, not recordings).
EmbedSummary run_embed(const EmbedRequest& request);

}  // namespace lumamba::eval
