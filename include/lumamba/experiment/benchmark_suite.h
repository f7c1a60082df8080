// lumamba/experiment/benchmark_suite.h — `lumamba benchmark SUITE.yaml`: a suite of downstream tasks
// run end to end, each as preprocess → band-power baseline → fine-tuning with N seeds, from scratch
// and from every listed `init=` checkpoint → test metrics; then results.json, results.md (mean ± std
// over seeds with the baseline's row) and one SVG per task. Suites live in configs/benchmark/.
//
// Layout of OUT/: results.json, results.md, <task>.svg; pretrain/ (manifest.csv, <preset>.h5 +
// <preset>.json per corpus file, <run>/ a pretraining run with result.json when finished); and per
// task <task>/manifest.csv, windows.h5 (+ .parts/), preprocess.json, baseline.json,
// baseline_predictions.csv, <variant>/seed_<s>/ (a fine-tuning run) with result.json when finished.
// Resumable: a finished preprocess/baseline/run (its JSON exists and records the same settings) is
// not redone; an interrupted fine-tuning run continues from its last checkpoint.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lumamba::experiment {

/// Subject ranges per split, inclusive, compared as text ("S001" ≤ s ≤ "S079").
struct SubjectSplits {
  std::map<std::string, std::array<std::string, 2>> ranges;  ///< split → [first, last]
  /// The split of `subject` ("" when in no range).
  std::string split_of(const std::string& subject) const;
};

struct BenchmarkTask {
  std::string name, description;
  /// Recordings: either `input` (a folder or manifest, handed to preprocessing as is: the preset's
  /// labels and splits apply, e.g. the TUAB tree) or every file under `data_roots` whose name
  /// matches `files` (a regular expression), with subjects from `subject_pattern` and splits from
  /// `splits`; recordings of subjects outside every range are left out (and counted).
  std::string input;
  std::string files;
  std::string subject_pattern;
  SubjectSplits splits;
  std::string preprocess = "events";             ///< shipped preset name or a YAML file
  std::vector<std::string> preprocess_overrides;  ///< key=value
  std::string finetune;                           ///< fine-tuning preset (default: the suite's)
  std::vector<std::string> finetune_overrides;    ///< key=value, after the suite's
};

/// One pretraining run of a suite; its best checkpoint becomes an init variant of the same name.
struct PretrainRun {
  std::string name;
  std::string config;                  ///< configs/pretrain/*.yaml
  std::vector<std::string> overrides;  ///< key=value
};

/// Pretraining inside a suite: an unlabelled corpus (recordings chosen like a task's: `files` under
/// the suite's data_roots, subjects in `corpus.splits.train`; one windows file per preset, e.g. all
/// channels and a 10-20 subset) and the runs that pretrain on all of its files.
struct PretrainPlan {
  BenchmarkTask corpus;               ///< files, subject_pattern, splits (train only)
  std::vector<std::string> presets;   ///< preprocessing presets, one windows file each
  std::vector<PretrainRun> runs;      ///< empty = no pretraining
};

struct BenchmarkSuite {
  std::string name, description, source;
  bool quick = false;  ///< read with its `quick:` section
  std::vector<std::string> data_roots;
  std::vector<int64_t> seeds = {1, 2, 3};
  std::map<std::string, std::string> inits;  ///< variant name → checkpoint ("scratch" always runs first)
  PretrainPlan pretrain;                     ///< its runs are init variants after `inits`
  bool linear_probe = false;                 ///< also each variant with a frozen encoder ("<variant>_probe")
  /// Few-shot curve: these variants also with a fraction of the training subjects ("<variant>_25pct";
  /// train.subject_fraction), same step budget.
  std::vector<double> few_shot_fractions;
  std::vector<std::string> few_shot_variants;
  std::string finetune;                      ///< fine-tuning preset (configs/finetune/*.yaml); tasks may set their own
  std::vector<std::string> finetune_overrides;
  double baseline_c = 1.0;
  std::string baseline_class_weights = "none";
  int64_t preprocess_jobs = 2;
  std::vector<BenchmarkTask> tasks;
};

/// Reads a suite. `quick` applies its `quick:` section (suite keys, and each task's `quick:` keys)
/// over the rest: the CI variant on bundled data. `variables` fill `${name}` in paths (suite
/// `variables:` give defaults). Unknown keys are errors naming the file.
BenchmarkSuite load_benchmark_suite(const std::string& path, bool quick,
                                    const std::map<std::string, std::string>& variables = {});

/// The recordings of a task with their subjects and splits, as a manifest CSV text
/// (`file,label,subject,split`), and how many files were left out (subject in no split).
struct TaskRecordings {
  std::string manifest_csv;
  std::map<std::string, int64_t> files_per_split;
  int64_t n_files = 0, n_left_out = 0;
};
TaskRecordings find_task_recordings(const BenchmarkSuite& suite, const BenchmarkTask& task);

struct BenchmarkOptions {
  std::string output_dir;
  std::vector<std::string> only_tasks;  ///< empty = all
  /// Only these variants (scratch, an init, a pretraining run, `<variant>_probe`); empty = all. A
  /// pretraining run is done only when one of its variants is selected.
  std::vector<std::string> only_variants;
  bool dry_run = false;                 ///< list tasks, recordings per split and runs; run nothing
};

/// Runs (or resumes) the suite; returns the results.json text.
std::string run_benchmark_suite(const BenchmarkSuite& suite, const BenchmarkOptions& options);

}  // namespace lumamba::experiment
