// bench_predict — `lumamba predict` on one long recording: throughput (seconds of EEG per second of
// wall time) and peak resident memory. Plain executable (not Google Benchmark: one run of minutes is
// the measurement). Steps:
//   1. writes a synthetic TUH-style EDF+ (250 Hz, so the preset resamples to 256 Hz; labels
//      "EEG FP1-REF" ... for every electrode of the TCP-22 montage; uV, ±3000 uV on ±32767; 30 uV
//      Gaussian noise + a 20 uV 10 Hz rhythm), or reuses --edf PATH when that file exists;
//   2. saves a randomly initialised LuMamba-Tiny classifier (mamba head, 2 classes) with the tuab
//      preset as its `lumamba.preprocess` (the checkpoint `lumamba predict` would get from finetune);
//   3. times preprocess::process_recording alone, then eval::run_predict (batch 64) end to end,
//      resetting the peak RSS (VmHWM, via /proc/self/clear_refs) before each.
// The preset's `labels` is overridden to `none`: tuab reads the label from a normal/abnormal folder
// in the path, which a recording to classify does not have.
// Prints one JSON object. model_s = wall_s - preprocess_s (model load, z-score, forward, CSV writing).
// peak_rss_mib is the whole process's VmHWM during run_predict (libraries and all, like
// `/usr/bin/time -v`); rss_before_mib what was resident when it started.
// Example:
//   env -u OPENBLAS_CORETYPE build-predict/bench/bench_predict --minutes 60 --threads 1 --edf /tmp/long.edf
#include <ATen/Parallel.h>
#include <edflib.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "lumamba/core/blas.h"
#include "lumamba/bench/memory.h"
#include "lumamba/eval/predict.h"
#include "lumamba/bench/bench_harness.h"
#include "lumamba/model/lumamba.h"
#include "lumamba/model/runtime.h"
#include "lumamba/model/weights.h"
#include "lumamba/preprocess/dataset_builder.h"
#include "lumamba/preprocess/preset.h"

namespace {
namespace fs = std::filesystem;

struct Args {
  double minutes = 60;
  int threads = 1;
  int preprocess_threads = 1;  // `lumamba predict` uses 1
  int64_t batch = 64;
  int sfreq_hz = 250;
  std::string edf;             // reused when it exists, else written there
  std::string checkpoint;      // default: <work>/bench_ckpt.safetensors
  std::string work_dir;        // default: a fresh temp folder
  bool skip_preprocess_only = false;
  bool embed = false;            // time eval::run_embed instead of run_predict
  bool whole_recording = false;  // whole-recording mode (one sequence per recording)
  int64_t chunk_patches = 1024;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "bench_predict: %s\nusage: bench_predict [--minutes M=60] [--threads N=1] [--preprocess-threads N=1]\n"
               "       [--batch B=64] [--sfreq HZ=250] [--edf PATH] [--checkpoint PATH] [--work DIR]\n"
               "       [--skip-preprocess-only] [--embed] [--whole-recording] [--chunk-patches N=1024]\n",
               msg);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + k).c_str());
      return argv[++i];
    };
    if (k == "--minutes") a.minutes = std::stod(value());
    else if (k == "--threads") a.threads = std::stoi(value());
    else if (k == "--preprocess-threads") a.preprocess_threads = std::stoi(value());
    else if (k == "--batch") a.batch = std::stoll(value());
    else if (k == "--sfreq") a.sfreq_hz = std::stoi(value());
    else if (k == "--edf") a.edf = value();
    else if (k == "--embed") a.embed = true;
    else if (k == "--whole-recording") a.whole_recording = true;
    else if (k == "--chunk-patches") a.chunk_patches = std::stoll(value());
    else if (k == "--checkpoint") a.checkpoint = value();
    else if (k == "--work") a.work_dir = value();
    else if (k == "--skip-preprocess-only") a.skip_preprocess_only = true;
    else usage(("unknown argument " + k).c_str());
  }
  if (a.minutes <= 0 || a.threads <= 0 || a.batch <= 0 || a.sfreq_hz <= 0) usage("values must be positive");
  return a;
}

// Every electrode the TCP-22 bipolar montage reads (data/montages/tcp22.tsv), TUH "-REF" labels.
const std::vector<std::string> kElectrodes = {"FP1", "FP2", "F7", "F8", "F3", "F4", "C3", "C4", "CZ", "P3",
                                              "P4",  "O1",  "O2", "T3", "T4", "T5", "T6", "A1", "A2"};

void check(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string("EDFlib: ") + what + " failed");
}

void write_edf(const std::string& path, double minutes, int sfreq_hz) {
  const int n_signals = static_cast<int>(kElectrodes.size());
  const int h = edfopen_file_writeonly(path.c_str(), EDFLIB_FILETYPE_EDFPLUS, n_signals);
  if (h < 0) throw std::runtime_error("EDFlib: cannot open " + path + " for writing");
  constexpr double kPhysMax = 3000.0;  // uV
  constexpr int kDigMax = 32767;
  for (int s = 0; s < n_signals; ++s) {
    check(edf_set_samplefrequency(h, s, sfreq_hz), "samplefrequency");
    check(edf_set_physical_minimum(h, s, -kPhysMax), "physical_minimum");
    check(edf_set_physical_maximum(h, s, kPhysMax), "physical_maximum");
    check(edf_set_digital_minimum(h, s, -kDigMax), "digital_minimum");
    check(edf_set_digital_maximum(h, s, kDigMax), "digital_maximum");
    check(edf_set_label(h, s, ("EEG " + kElectrodes[static_cast<size_t>(s)] + "-REF").c_str()), "label");
    check(edf_set_physical_dimension(h, s, "uV"), "physical_dimension");
  }
  check(edf_set_startdatetime(h, 2020, 1, 2, 3, 4, 5), "startdatetime");
  check(edf_set_patientname(h, "bench_predict"), "patientname");
  const auto n_records = static_cast<int64_t>(std::llround(minutes * 60.0));  // 1 s data records
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 30.0);
  std::vector<int> buf(static_cast<size_t>(sfreq_hz));
  const double scale = kDigMax / kPhysMax;
  for (int64_t r = 0; r < n_records; ++r) {
    for (int s = 0; s < n_signals; ++s) {
      for (int i = 0; i < sfreq_hz; ++i) {
        const double t = static_cast<double>(r) + static_cast<double>(i) / sfreq_hz;
        const double uv = noise(rng) + 20.0 * std::sin(2 * M_PI * 10.0 * t + 0.3 * s);
        buf[static_cast<size_t>(i)] =
            static_cast<int>(std::clamp<long>(std::lround(uv * scale), -kDigMax, kDigMax));
      }
      check(edfwrite_digital_samples(h, buf.data()), "write_digital_samples");
    }
  }
  check(edfclose_file(h), "close");
}

void write_checkpoint(const std::string& path) {
  const auto options = lumamba::model::LuMambaOptions().num_classes(2).classifier_option("mamba");
  torch::manual_seed(0);
  lumamba::model::LuMamba net(options);
  lumamba::model::save_checkpoint(
      path, *net, options, lumamba::preprocess::preset_to_json(lumamba::preprocess::builtin_preset("tuab")),
      {{"lumamba.task",
        R"({"name":"bench","target":"multiclass","n_classes":2,"class_names":["normal","abnormal"]})"}});
}

}  // namespace

int main(int argc, char** argv) {
  lumamba::reexec_with_fast_openblas_core(argv);  // before any BLAS call (lumamba/core/blas.h)
  const Args a = parse(argc, argv);
  try {
    lumamba::model::configure_threads(a.threads);
    const fs::path work = a.work_dir.empty()
                              ? fs::temp_directory_path() / ("bench_predict_" + std::to_string(::getpid()))
                              : fs::path(a.work_dir);
    fs::create_directories(work);
    const std::string edf = a.edf.empty() ? (work / "long.edf").string() : a.edf;
    double write_s = 0;
    if (!fs::exists(edf)) {
      std::fprintf(stderr, "bench_predict: writing %.0f min at %d Hz to %s\n", a.minutes, a.sfreq_hz, edf.c_str());
      write_s = lumamba::bench::time_ms([&] { write_edf(edf, a.minutes, a.sfreq_hz); }) * 1e-3;
    } else {
      std::fprintf(stderr, "bench_predict: reusing %s (--minutes/--sfreq ignored)\n", edf.c_str());
    }
    const std::string ckpt = a.checkpoint.empty() ? (work / "bench_ckpt.safetensors").string() : a.checkpoint;
    if (!fs::exists(ckpt)) write_checkpoint(ckpt);
    const std::vector<std::string> preset_overrides = {"labels=none"};

    // Preprocessing alone (what run_predict does first for each recording).
    double preprocess_s = -1, preprocess_peak_mib = -1;
    int64_t windows = 0;
    if (!a.skip_preprocess_only) {
      auto preset = lumamba::preprocess::builtin_preset("tuab");
      lumamba::preprocess::apply_preset_overrides(preset, preset_overrides);
      lumamba::preprocess::RecordingJob job;
      job.path = edf;
      lumamba::bench::reset_peak_resident_memory();
      const double base = lumamba::bench::read_resident_memory().rss_mib();
      preprocess_s = lumamba::bench::time_ms([&] {
                       const auto rec = lumamba::preprocess::process_recording(job, preset, a.preprocess_threads);
                       windows = rec.n_windows;
                     }) * 1e-3;
      preprocess_peak_mib = lumamba::bench::read_resident_memory().peak_mib() - base;
    }

    const bool reset_ok = lumamba::bench::reset_peak_resident_memory();
    const double rss_before = lumamba::bench::read_resident_memory().rss_mib();
    double eeg_seconds = 0, wall_s = 0;
    bool failed = false;
    if (a.embed) {
      lumamba::eval::EmbedRequest req;
      req.weights = {ckpt};
      req.input = edf;
      req.output = (work / "embedding.safetensors").string();
      req.preset_overrides = preset_overrides;
      req.batch_size = a.batch;
      req.n_threads = a.preprocess_threads;
      req.whole_recording = a.whole_recording;
      req.chunk_patches = a.chunk_patches;
      lumamba::eval::EmbedSummary summary;
      wall_s = lumamba::bench::time_ms([&] { summary = lumamba::eval::run_embed(req); }) * 1e-3;
      // Windowed mode embeds whole windows only; the EEG it covered is windows × 5 s.
      eeg_seconds = a.whole_recording ? summary.eeg_seconds : static_cast<double>(summary.n_windows) * 5.0;
      if (!a.whole_recording) windows = summary.n_windows;
    } else {
      lumamba::eval::PredictRequest req;
      req.weights = {ckpt};
      req.input = edf;
      req.output_dir = (work / "predout").string();
      req.preset_overrides = preset_overrides;
      req.batch_size = a.batch;
      req.n_threads = a.preprocess_threads;
      req.whole_recording = a.whole_recording;
      req.chunk_patches = a.chunk_patches;
      lumamba::eval::PredictSummary summary;
      wall_s = lumamba::bench::time_ms([&] { summary = lumamba::eval::run_predict(req); }) * 1e-3;
      eeg_seconds = summary.eeg_seconds;
      failed = !summary.failures.empty();
      if (!summary.recordings.empty() && !a.whole_recording) windows = summary.recordings.front().n_windows;
    }
    const double peak = lumamba::bench::read_resident_memory().peak_mib();

    std::ostringstream j;
    j.precision(4);
    j << std::fixed;
    j << "{\"command\": \"" << (a.embed ? "embed" : "predict") << "\", \"mode\": \""
      << (a.whole_recording ? "whole_recording" : "windows") << "\", \"minutes\": " << eeg_seconds / 60.0
      << ", \"eeg_seconds\": " << eeg_seconds << ", \"wall_s\": " << wall_s
      << ", \"eeg_seconds_per_s\": " << eeg_seconds / wall_s
      << ", \"preprocess_s\": " << preprocess_s << ", \"model_s\": " << (preprocess_s >= 0 ? wall_s - preprocess_s : -1)
      << ", \"peak_rss_mib\": " << peak << ", \"rss_before_mib\": " << rss_before
      << ", \"peak_rss_reset\": " << (reset_ok ? "true" : "false")
      << ", \"preprocess_peak_above_base_mib\": " << preprocess_peak_mib << ", \"threads\": " << at::get_num_threads()
      << ", \"preprocess_threads\": " << a.preprocess_threads << ", \"batch\": " << a.batch
      << ", \"windows\": " << windows << ", \"edf_write_s\": " << write_s << ", \"edf\": \"" << edf << "\"}";
    std::cout << j.str() << std::endl;
    return failed ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_predict: %s\n", e.what());
    return 1;
  }
}
