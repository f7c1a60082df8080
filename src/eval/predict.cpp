#include "lumamba/eval/predict.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/core/progress.h"
#include "lumamba/data/normalize.h"
#include "lumamba/model/long_recording.h"
#include "lumamba/model/weights.h"
#include "lumamba/io/edf_annotations.h"
#include "lumamba/io/recording.h"
#include "lumamba/preprocess/dataset_builder.h"
#include "lumamba/preprocess/preset.h"

namespace lumamba::eval {
namespace fs = std::filesystem;
namespace {

struct WindowTensors {
  torch::Tensor signal;     // (N, C, T) z-scored
  torch::Tensor locations;  // (N, C, 3)
};

// Electrode positions (C, 3) in metres as a float32 tensor.
torch::Tensor locations_tensor(const std::vector<std::array<double, 3>>& positions_m) {
  const auto c = static_cast<int64_t>(positions_m.size());
  auto loc = torch::empty({c, 3}, torch::kFloat32);
  auto acc = loc.accessor<float, 2>();
  for (int64_t i = 0; i < c; ++i) {
    for (int64_t d = 0; d < 3; ++d) acc[i][d] = static_cast<float>(positions_m[static_cast<size_t>(i)][static_cast<size_t>(d)]);
  }
  return loc;
}

WindowTensors to_tensors(const io::RecordingWindows& rec) {
  const int64_t n = rec.n_windows, c = rec.n_channels, t = rec.n_samples;
  auto signal = torch::from_blob(const_cast<float*>(rec.signal_uv.data()), {n, c, t}, torch::kFloat32);
  auto loc = locations_tensor(rec.channel_locations_m);
  return {data::zscore_channels(signal), loc.unsqueeze(0).expand({n, c, 3}).contiguous()};
}

// Runs fn(first_row, output) over batches of a recording's windows (no grad).
template <typename Fn>
void over_batches(const WindowTensors& w, int64_t batch_size, Fn&& fn) {
  torch::NoGradGuard no_grad;
  const int64_t n = w.signal.size(0);
  for (int64_t s = 0; s < n; s += batch_size) {
    const int64_t e = std::min(n, s + batch_size);
    fn(s, w.signal.slice(0, s, e), w.locations.slice(0, s, e));
  }
}

}  // namespace

preprocess::PreprocessPreset preset_for_new_recordings(preprocess::PreprocessPreset preset,
                                                      const std::vector<std::string>& overrides) {
  if (preset.labels != "events") preset.labels = "none";
  preprocess::apply_preset_overrides(preset, overrides);
  preprocess::validate(preset);
  return preset;
}

// The preprocessing a checkpoint was trained with; `preset` (name or YAML file) when it has none.
preprocess::PreprocessPreset checkpoint_preset(const LoadedModel& model, const std::string& preset,
                                            const std::vector<std::string>& overrides, const std::string& weights) {
  preprocess::PreprocessPreset p;
  if (!preset.empty()) {
    p = preprocess::preset_from_name_or_file(preset);
  } else {
    LUMAMBA_CHECK_INPUT(model.preprocess_json != "{}" && !model.preprocess_json.empty(),
                        "{}: the checkpoint stores no preprocessing (reference weights?): pass --preset "
                        "(e.g. tuab, or a YAML file)", weights);
    // The stored JSON is preset_to_json's: drop what it derives (window_samples) before re-reading.
    auto stored = nlohmann::json::parse(model.preprocess_json, nullptr, false);
    LUMAMBA_CHECK_INPUT(stored.is_object(), "{}: metadata lumamba.preprocess is not a JSON object", weights);
    stored.erase("window_samples");
    p = preprocess::preset_from_text(stored.dump(), weights + " (lumamba.preprocess)");
  }
  p = preset_for_new_recordings(std::move(p), overrides);
  LUMAMBA_CHECK_INPUT(p.window_samples() % model.options.patch_size() == 0,
                      "windows of {} samples are not a multiple of the model's patch size {}", p.window_samples(),
                      model.options.patch_size());
  return p;
}

std::vector<double> window_probabilities(LoadedModel& loaded, const io::RecordingWindows& rec, int64_t batch_size) {
  const int64_t k = loaded.task.n_classes;
  std::vector<double> probs(static_cast<size_t>(rec.n_windows * k));
  over_batches(to_tensors(rec), batch_size, [&](int64_t first, const torch::Tensor& x, const torch::Tensor& loc) {
    const auto p = probabilities_from_logits(loaded.net->forward(x, loc).logits, loaded.task.target)
                       .to(torch::kFloat64)
                       .contiguous();
    std::copy(p.data_ptr<double>(), p.data_ptr<double>() + p.numel(), probs.begin() + first * k);
  });
  return probs;
}

std::vector<float> window_embeddings(LoadedModel& loaded, const io::RecordingWindows& rec, int64_t batch_size) {
  const int64_t d = loaded.options.d_model();
  std::vector<float> embedding(static_cast<size_t>(rec.n_windows * d));
  over_batches(to_tensors(rec), batch_size, [&](int64_t row, const torch::Tensor& x, const torch::Tensor& loc) {
    const auto e = loaded.net->encode(x, loc).mean(1).to(torch::kFloat32).contiguous();  // (b, D)
    std::copy(e.data_ptr<float>(), e.data_ptr<float>() + e.numel(), embedding.begin() + row * d);
  });
  return embedding;
}

namespace {

std::vector<preprocess::RecordingJob> jobs_for(const std::string& input, const preprocess::PreprocessPreset& preset) {
  LUMAMBA_CHECK_INPUT(fs::exists(input), "{}: no such file or folder", input);
  auto jobs = preprocess::discover_recordings(input, preset);
  LUMAMBA_CHECK_INPUT(!jobs.empty(), "{}: no .edf/.bdf recordings found", input);
  return jobs;
}

// A continuous recording as model inputs: signal (C, T) not z-scored, locations (C, 3).
std::pair<torch::Tensor, torch::Tensor> continuous_tensors(const preprocess::ContinuousRecording& rec) {
  auto signal = torch::from_blob(const_cast<float*>(rec.signal_uv.data()), {rec.n_channels, rec.n_samples},
                                 torch::kFloat32);
  return {signal, locations_tensor(rec.channel_locations_m)};
}

model::WholeRecordingOptions whole_options(int64_t chunk_patches) {
  model::WholeRecordingOptions o;
  o.chunk_patches = chunk_patches;
  o.show_progress = true;
  return o;
}

// What the model says about one recording: rows of K probabilities (windows, or the whole
// recording as one row) with their start times and labels when the preset makes them.
struct RecordingScores {
  int64_t n_rows = 0;
  std::vector<double> probs;     // (n_rows, K) row-major
  std::vector<double> starts_s;  // (n_rows,)
  std::vector<int64_t> labels;   // (n_rows,) or empty
  double eeg_seconds = 0;
  double window_s = 0;           // length of a row's window
};

RecordingScores score_windows(LoadedModel& loaded, const preprocess::RecordingJob& job,
                              const preprocess::PreprocessPreset& preset, const PredictRequest& req) {
  const auto rec = preprocess::process_recording(job, preset, req.n_threads);
  LUMAMBA_CHECK_INPUT(rec.n_windows > 0, "shorter than one window");
  RecordingScores out;
  out.n_rows = rec.n_windows;
  out.probs = window_probabilities(loaded, rec, req.batch_size);
  out.starts_s = rec.window_start_s;
  out.window_s = static_cast<double>(rec.n_samples) / rec.sfreq_hz;
  if (!rec.labels.empty() && rec.n_label_columns == 0) out.labels = rec.labels;
  out.eeg_seconds = static_cast<double>(rec.n_windows * rec.n_samples) / rec.sfreq_hz;
  return out;
}

RecordingScores score_whole_recording(LoadedModel& loaded, const preprocess::RecordingJob& job,
                                      const preprocess::PreprocessPreset& preset, const PredictRequest& req) {
  const auto rec = preprocess::process_recording_continuous(job, preset, req.n_threads);
  const auto [signal, loc] = continuous_tensors(rec);
  const auto options = whole_options(req.chunk_patches);
  const auto enc = model::encode_whole_recording(*loaded.net, signal, loc, options);  // (1, S, D)
  const auto p = probabilities_from_logits(model::classify_whole_recording(*loaded.net, enc, options),
                                           loaded.task.target)
                     .to(torch::kFloat64)
                     .contiguous();
  RecordingScores out;
  out.n_rows = 1;
  out.probs.assign(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
  out.starts_s = {0.0};
  out.eeg_seconds = static_cast<double>(enc.size(1) * loaded.options.patch_size()) / rec.sfreq_hz;
  return out;
}

}  // namespace

PredictSummary run_predict(const PredictRequest& req) {
  const auto start = std::chrono::steady_clock::now();
  auto loaded = load_model(req.weights, req.config_path, req.overrides);
  LUMAMBA_CHECK_INPUT(!loaded.options.is_pretraining(),
                      "{}: a pretraining checkpoint has no classifier; fine-tune it first (lumamba finetune) or "
                      "use lumamba embed", req.weights.front());
  const auto preset = checkpoint_preset(loaded, req.preset, req.preset_overrides, req.weights.front());
  const auto jobs = jobs_for(req.input, preset);
  fs::create_directories(req.output_dir);
  const int64_t k = loaded.task.n_classes;
  LUMAMBA_CHECK_INPUT(!req.events || !req.whole_recording, "--events needs window predictions; it cannot be "
                      "combined with --whole-recording");
  const bool multilabel = loaded.task.target == "multilabel";
  std::string events_csv = kEventsCsvHeader;
  if (req.events) fs::create_directories(fs::path(req.output_dir) / "events");

  std::ostringstream windows_csv, recordings_csv;
  windows_csv << "recording,window_start_s,label,predicted";
  for (int64_t c = 0; c < k; ++c) windows_csv << ",p_" << c;
  windows_csv << "\n";
  recordings_csv << "recording,n_windows,eeg_seconds,decision,decision_name";
  for (int64_t c = 0; c < k; ++c) recordings_csv << ",mean_p_" << c;
  recordings_csv << "\n";
  nlohmann::json report = nlohmann::json::array();

  PredictSummary summary;
  Progress progress("recordings", static_cast<int64_t>(jobs.size()));
  for (const auto& job : jobs) {
    const std::string name = fs::path(job.path).filename().string();
    RecordingScores scores;
    try {
      scores = req.whole_recording ? score_whole_recording(loaded, job, preset, req)
                                   : score_windows(loaded, job, preset, req);
    } catch (const InputError& e) {
      log::error("{}: {}", name, e.what());
      summary.failures.emplace_back(job.path, e.what());
      progress.advance(1);
      continue;
    }
    RecordingPrediction rp;
    rp.recording = name;
    rp.n_windows = scores.n_rows;
    rp.eeg_seconds = scores.eeg_seconds;
    rp.mean_probabilities.assign(static_cast<size_t>(k), 0.0);
    for (int64_t i = 0; i < scores.n_rows; ++i) {
      const double* p = scores.probs.data() + i * k;
      const int64_t predicted = std::max_element(p, p + k) - p;
      const int64_t label = scores.labels.empty() ? -1 : scores.labels[static_cast<size_t>(i)];
      windows_csv << name << ',' << fmt::format("{:.4f}", scores.starts_s[static_cast<size_t>(i)]) << ','
                  << (label >= 0 ? std::to_string(label) : "") << ',' << predicted;
      for (int64_t c = 0; c < k; ++c) {
        windows_csv << ',' << fmt::format("{:.6g}", p[c]);
        rp.mean_probabilities[static_cast<size_t>(c)] += p[c] / static_cast<double>(scores.n_rows);
      }
      windows_csv << "\n";
    }
    rp.decision = std::max_element(rp.mean_probabilities.begin(), rp.mean_probabilities.end()) -
                  rp.mean_probabilities.begin();
    nlohmann::json event_files;
    if (req.events) {
      const auto events = detect_events(scores.starts_s, scores.window_s, scores.probs, k, loaded.task.class_names,
                                        multilabel, req.event_options);
      rp.n_events = static_cast<int64_t>(events.size());
      const auto stem = (fs::path(req.output_dir) / "events" / fs::path(job.path).stem()).string();
      write_text_file_atomic(stem + "_events.tsv", events_tsv(events));
      std::vector<io::Annotation> annotations;
      for (const auto& e : events) annotations.push_back({e.onset_s, e.duration_s, event_annotation_text(e)});
      io::write_edf_annotations(stem + "_events.edf", annotations,
                                io::open_recording(job.path)->header().start_datetime);
      events_csv += events_csv_rows(name, events);
      event_files = {{"n_events", rp.n_events}, {"tsv", stem + "_events.tsv"}, {"edf", stem + "_events.edf"}};
    }
    const std::string decision_name = static_cast<size_t>(rp.decision) < loaded.task.class_names.size()
                                          ? loaded.task.class_names[static_cast<size_t>(rp.decision)]
                                          : std::to_string(rp.decision);
    recordings_csv << name << ',' << rp.n_windows << ',' << fmt::format("{:.2f}", rp.eeg_seconds) << ','
                   << rp.decision << ',' << decision_name;
    for (const double m : rp.mean_probabilities) recordings_csv << ',' << fmt::format("{:.6g}", m);
    recordings_csv << "\n";
    report.push_back({{"recording", name},
                      {"path", job.path},
                      {"n_windows", rp.n_windows},
                      {"eeg_seconds", rp.eeg_seconds},
                      {"mean_probabilities", rp.mean_probabilities},
                      {"decision", rp.decision},
                      {"decision_name", decision_name}});
    if (req.events) report.back()["events"] = event_files;
    summary.eeg_seconds += rp.eeg_seconds;
    summary.recordings.push_back(std::move(rp));
    progress.advance(1, fmt::format("{:.0f} s of EEG", summary.eeg_seconds));
  }
  progress.finish();
  LUMAMBA_CHECK_INPUT(!summary.recordings.empty(), "no recording could be predicted: {}",
                      summary.failures.empty() ? std::string("none found") : summary.failures.front().second);
  summary.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json out{{"task", nlohmann::json::parse(loaded.task.to_json())},
                     {"mode", req.whole_recording ? "whole_recording" : "windows"},
                     {"recordings", report},
                     {"failures", nlohmann::json::array()},
                     {"eeg_seconds", summary.eeg_seconds},
                     {"wall_s", summary.wall_s}};
  for (const auto& [file, reason] : summary.failures) out["failures"].push_back({{"file", file}, {"reason", reason}});
  write_text_file_atomic((fs::path(req.output_dir) / "predictions.csv").string(), windows_csv.str());
  write_text_file_atomic((fs::path(req.output_dir) / "recordings.csv").string(), recordings_csv.str());
  if (req.events) {
    const auto& o = req.event_options;
    out["event_options"] = {{"threshold", o.threshold},
                            {"smoothing_windows", o.smoothing_windows},
                            {"min_duration_s", o.min_duration_s},
                            {"merge_gap_s", o.merge_gap_s},
                            {"classes", o.classes}};
    write_text_file_atomic((fs::path(req.output_dir) / "events.csv").string(), events_csv);
  }
  write_text_file_atomic((fs::path(req.output_dir) / "predictions.json").string(), out.dump(2) + "\n");
  return summary;
}

namespace {

// Whole-recording embeddings: (1, S, D) per recording, written as described in predict.h.
EmbedSummary embed_whole_recordings(LoadedModel& loaded, const EmbedRequest& req) {
  const auto start = std::chrono::steady_clock::now();
  const auto ext = fs::path(req.input).extension();
  LUMAMBA_CHECK_INPUT(ext != ".h5" && ext != ".hdf5",
                      "{}: --whole-recording needs recordings (EDF/BDF, folder, manifest); HDF5 files hold windows",
                      req.input);
  const auto preset = checkpoint_preset(loaded, req.preset, req.preset_overrides, req.weights.front());
  const auto jobs = jobs_for(req.input, preset);
  const int64_t d = loaded.options.d_model(), p = loaded.options.patch_size();
  std::vector<torch::Tensor> embeddings, patch_starts;
  std::vector<std::string> names;
  EmbedSummary summary;
  for (const auto& job : jobs) {
    const auto rec = preprocess::process_recording_continuous(job, preset, req.n_threads);
    const auto [signal, loc] = continuous_tensors(rec);
    log::info("{}: {} channels, {:.1f} min at {} Hz -> {} patches", fs::path(job.path).filename().string(),
              rec.n_channels, static_cast<double>(rec.n_samples) / rec.sfreq_hz / 60, rec.sfreq_hz,
              rec.n_samples / p);
    auto enc = model::encode_whole_recording(*loaded.net, signal, loc, whole_options(req.chunk_patches))
                   .to(torch::kFloat32)
                   .contiguous();  // (1, S, D)
    const int64_t s = enc.size(1);
    embeddings.push_back(enc);
    patch_starts.push_back(torch::arange(s, torch::kFloat64) * (static_cast<double>(p) / rec.sfreq_hz));
    names.push_back(fs::path(job.path).filename().string());
    summary.n_patches += s;
    summary.eeg_seconds += static_cast<double>(s * p) / rec.sfreq_hz;
  }
  if (req.format == "csv") {
    std::ostringstream out;
    out << "recording,patch_start_s";
    for (int64_t j = 0; j < d; ++j) out << ",e_" << j;
    out << "\n";
    for (size_t r = 0; r < embeddings.size(); ++r) {
      const float* e = embeddings[r].data_ptr<float>();
      const double* t = patch_starts[r].data_ptr<double>();
      for (int64_t i = 0; i < embeddings[r].size(1); ++i) {
        out << names[r] << ',' << fmt::format("{:.4f}", t[i]);
        for (int64_t j = 0; j < d; ++j) out << ',' << fmt::format("{:.7g}", e[i * d + j]);
        out << "\n";
      }
    }
    write_text_file_atomic(req.output, out.str());
  } else {
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (size_t r = 0; r < embeddings.size(); ++r) {
      const std::string suffix = embeddings.size() == 1 ? "" : "_" + std::to_string(r);
      tensors.emplace_back("embedding" + suffix, embeddings[r]);
      tensors.emplace_back("patch_start_s" + suffix, patch_starts[r]);
    }
    model::save_tensors(req.output, tensors,
                        {{"recordings", nlohmann::json(names).dump()},
                         {"lumamba.embedding", "whole-recording encoder output (1, S, Q*E) per recording"}});
  }
  summary.n_recordings = static_cast<int64_t>(names.size());
  summary.dim = d;
  summary.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace

EmbedSummary run_embed(const EmbedRequest& req) {
  const auto start = std::chrono::steady_clock::now();
  check_option("--format", req.format, {"safetensors", "csv"});
  auto loaded = load_model(req.weights, req.config_path, req.overrides);
  if (req.whole_recording) return embed_whole_recordings(loaded, req);
  const int64_t d = loaded.options.d_model();
  std::vector<float> embedding;
  std::vector<double> starts;
  std::vector<int64_t> recording_index;
  std::vector<std::string> names;

  const bool from_h5 = fs::path(req.input).extension() == ".h5" || fs::path(req.input).extension() == ".hdf5";
  if (from_h5) {
    data::DatasetOptions options;
    options.layout = req.layout;
    const auto ds = data::WindowDataset::open({req.input}, options);
    const auto windows = all_windows(ds);
    embedding = embed_windows(loaded.net, ds, windows, req.batch_size, true);
    starts = ds.window_start_s();
    for (const int64_t w : windows) recording_index.push_back(ds.recording_index(w));
    for (const auto& r : ds.recordings()) names.push_back(r.name);
  } else {
    const auto preset = checkpoint_preset(loaded, req.preset, req.preset_overrides, req.weights.front());
    const auto jobs = jobs_for(req.input, preset);
    Progress progress("recordings", static_cast<int64_t>(jobs.size()));
    for (const auto& job : jobs) {
      const auto rec = preprocess::process_recording(job, preset, req.n_threads);
      const auto e = window_embeddings(loaded, rec, req.batch_size);
      embedding.insert(embedding.end(), e.begin(), e.end());
      starts.insert(starts.end(), rec.window_start_s.begin(), rec.window_start_s.end());
      recording_index.insert(recording_index.end(), static_cast<size_t>(rec.n_windows),
                             static_cast<int64_t>(names.size()));
      names.push_back(fs::path(job.path).filename().string());
      progress.advance(1);
    }
    progress.finish();
  }
  const auto n = static_cast<int64_t>(starts.size());
  LUMAMBA_CHECK_INPUT(n > 0, "{}: no windows to embed", req.input);
  if (req.format == "csv") {
    std::ostringstream out;
    out << "recording,window_start_s";
    for (int64_t j = 0; j < d; ++j) out << ",e_" << j;
    out << "\n";
    for (int64_t i = 0; i < n; ++i) {
      out << names[static_cast<size_t>(recording_index[static_cast<size_t>(i)])] << ','
          << fmt::format("{:.4f}", starts[static_cast<size_t>(i)]);
      for (int64_t j = 0; j < d; ++j) out << ',' << fmt::format("{:.7g}", embedding[static_cast<size_t>(i * d + j)]);
      out << "\n";
    }
    write_text_file_atomic(req.output, out.str());
  } else {
    auto emb = torch::from_blob(embedding.data(), {n, d}, torch::kFloat32);
    auto st = torch::from_blob(starts.data(), {n}, torch::kFloat64);
    auto ri = torch::from_blob(recording_index.data(), {n}, torch::kInt64);
    model::save_tensors(req.output, {{"embedding", emb}, {"window_start_s", st}, {"recording_index", ri}},
                        {{"recordings", nlohmann::json(names).dump()},
                         {"lumamba.embedding", "mean over the patches of each window of the encoder output (N, Q*E)"}});
  }
  EmbedSummary s;
  s.n_windows = n;
  s.dim = d;
  s.n_recordings = static_cast<int64_t>(names.size());
  s.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

}  // namespace lumamba::eval
