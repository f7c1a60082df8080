// lumamba/preprocess/dataset_builder.h — EDF/BDF recordings → HDF5 window dataset, the job behind
// `lumamba preprocess`: find the recordings (a folder tree or a manifest CSV), assign labels and
// splits, run the preset's steps per recording, write each recording atomically to OUT.h5.parts/
// (so a re-run skips finished ones whose recording, label, split, subject and preset are unchanged,
// and redoes stale ones), assemble OUT.h5 last, and summarise (windows per label, every failed file
// with its reason, every stale part redone). A bad file never stops the run.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "lumamba/io/recording.h"
#include "lumamba/io/window_h5.h"
#include "lumamba/preprocess/preset.h"

namespace lumamba::preprocess {

/// One recording to process.
struct RecordingJob {
  RecordingJob() = default;
  RecordingJob(std::string path_, std::string subject_, std::string split_ = "", int64_t label_ = -1)
      : path(std::move(path_)), subject(std::move(subject_)), split(std::move(split_)), label(label_) {}

  std::string path;
  std::string subject;
  std::string split;             ///< train | val | test | "" (unassigned)
  int64_t label = -1;            ///< recording-level class (TUAB folder, manifest), -1 = none
  std::string annotation_path;   ///< TUAR/TUSL .csv next to the EDF, "" = none
  /// BIDS tables that apply to the recording (lumamba/io/bids.h), "" = none: channels marked bad are
  /// not used and non-EEG types are left out of all_eeg; electrodes.tsv positions are the
  /// recording's own (they win over the preset's table); events.tsv replaces the file's annotations.
  std::string channels_tsv, electrodes_tsv, events_tsv;
};

/// Recordings of a BIDS root (lumamba/io/bids.h: subject = "sub-<label>", sidecar tables, labels
/// from participants.tsv with labels=participants:COLUMN), under a folder (every
/// .edf/.bdf/.vhdr/.set, sorted by path) or listed in a manifest CSV with
/// header `file,label,subject,split` (file relative to the manifest's folder; label an integer or
/// empty). The subject is the manifest's, else taken from the file name by the preset's
/// `subject_pattern` (InputError naming the file when it does not match). Labels and splits follow the preset
/// (docs/reference-model.md §15): TUAB label from the normal/abnormal folder and split from train/eval (eval → test;
/// train subjects 80/20 train/val); TUAR random file-level 80/10/10; TUSL subject-level 80/10/10; seeded by `seed`.
std::vector<RecordingJob> discover_recordings(const std::string& input, const PreprocessPreset& preset,
                                              uint64_t seed = 42);

/// A channel (raw µV, before filtering) that preprocessing keeps but a user should look at: "flat"
/// when every sample is the same value, "clipped" when more than 1 % of the samples sit at the
/// recording's physical limits (min_uv, max_uv; within half a digital step `step_uv`). Returns
/// "" when neither. preprocess logs a warning naming the file and channel for each.
std::string channel_quality_problem(const std::vector<double>& uv, double min_uv, double max_uv, double step_uv);

/// Reads and preprocesses one recording (pick → montage → band-pass → notch → resample → window →
/// labels). Throws InputError naming the file and the reason. n_threads parallelises over channels.
/// `recording_s`, when given, receives the length of the preprocessed recording in seconds (a
/// recording without windows is reported with it).
io::RecordingWindows process_recording(const RecordingJob& job, const PreprocessPreset& preset, int n_threads = 1,
                                       double* recording_s = nullptr);
/// The same from an open reader (e.g. io::ArrayRecordingReader: arrays in memory); `job` gives the
/// subject, split, label and sidecar tables, and its path only names the recording in messages.
io::RecordingWindows process_recording(io::RecordingReader& reader, const RecordingJob& job,
                                       const PreprocessPreset& preset, int n_threads = 1,
                                       double* recording_s = nullptr);

/// One recording preprocessed as a continuous signal (whole-recording mode): the same steps as
/// process_recording up to the resampling, no windows, no labels.
struct ContinuousRecording {
  std::vector<std::string> channel_names;
  std::vector<std::array<double, 3>> channel_locations_m;  ///< (C, 3)
  std::string source_file;
  double sfreq_hz = 0;
  int64_t n_channels = 0, n_samples = 0;
  std::vector<float> signal_uv;  ///< (C, T) row-major
};
ContinuousRecording process_recording_continuous(const RecordingJob& job, const PreprocessPreset& preset,
                                                 int n_threads = 1);
ContinuousRecording process_recording_continuous(io::RecordingReader& reader, const RecordingJob& job,
                                                 const PreprocessPreset& preset, int n_threads = 1);

struct BuildOptions {
  std::string output_path;  ///< OUT.h5; parts go to OUT.h5.parts/
  int n_jobs = 1;           ///< recordings processed in parallel
  bool show_progress = true;
  /// How OUT.h5 holds the recordings: links to the parts (default: nothing stored twice) or copies.
  io::DatasetLayout layout = io::DatasetLayout::kLinked;
  /// Shard `shard_index` of `shard_count` (several machines build one dataset): only the recordings
  /// whose index in `jobs` is shard_index mod shard_count, written to OUT.h5.parts/, and no OUT.h5.
  /// Shards of one output may run at the same time (each locks its own OUT.h5.parts/shards/I-of-N).
  int shard_index = 0, shard_count = 1;
  /// Assemble OUT.h5 from the parts the shards made, processing nothing: recordings without a
  /// current part (failed, without windows, not processed, or made with other settings) are listed.
  bool merge_only = false;
};

/// "I/N" (0 <= I < N) as a shard, or "slurm": SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN of
/// SLURM_ARRAY_TASK_COUNT. InputError names the value or the variable.
std::pair<int, int> parse_shard(const std::string& text);

struct BuildSummary {
  int64_t n_recordings = 0, n_processed = 0, n_reused = 0, n_without_windows = 0;
  /// Recordings that gave no window (too short, or no labelled event): (file, length in s).
  std::vector<std::pair<std::string, double>> without_windows;
  int64_t n_windows = 0;
  double eeg_seconds = 0;  ///< seconds of EEG in the windows made in this run
  double wall_s = 0;
  std::map<std::string, int64_t> windows_per_label;           ///< "0" → n (class labels) or "multi"
  std::vector<std::pair<std::string, std::string>> failures;  ///< (file, reason)
  /// Parts of an earlier run that no longer matched their recording (source file, label, split,
  /// subject, preset or part format changed) and were redone: (file, what changed).
  std::vector<std::pair<std::string, std::string>> redone_stale;
  /// --merge: recordings without a current part (file, why).
  std::vector<std::pair<std::string, std::string>> not_in_parts;
  int shard_index = 0, shard_count = 1;
};

/// The label source a preset's `labels: manifest` means for `input`: a folder or a recording file
/// has no manifest, so its windows get no labels (`none`, with one notice) instead of failing every
/// file; any other preset, or a manifest CSV, is returned unchanged.
PreprocessPreset with_label_source_for(const std::string& input, PreprocessPreset preset);

/// Runs the whole job. OUT.h5 is written (atomically) whenever at least one recording has windows.
BuildSummary build_window_dataset(const std::vector<RecordingJob>& jobs, const PreprocessPreset& preset,
                                  const BuildOptions& options);

std::string summary_to_json(const BuildSummary& summary);

}  // namespace lumamba::preprocess
