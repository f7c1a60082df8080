// `lumamba benchmark` (see lumamba/experiment/benchmark_suite.h): suites of downstream tasks, run and
// resumed unit by unit (preprocess, baseline, one fine-tuning run per variant and seed), summarised
// as results.json, results.md and an SVG per task.
#include "lumamba/experiment/benchmark_suite.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"
#include "lumamba/core/output_lock.h"
#include "lumamba/core/progress.h"
#include "lumamba/core/svg_plot.h"
#include "lumamba/data/window_dataset.h"
#include "lumamba/eval/baseline.h"
#include "lumamba/preprocess/dataset_builder.h"
#include "lumamba/train/config.h"
#include "lumamba/train/finetune.h"
#include "lumamba/train/optim.h"
#include "lumamba/train/pretrain.h"
#include "lumamba/train/run.h"

namespace lumamba::experiment {
namespace fs = std::filesystem;
using nlohmann::json;

std::string SubjectSplits::split_of(const std::string& subject) const {
  for (const auto& [split, range] : ranges) {
    if (subject >= range[0] && subject <= range[1]) return split;
  }
  return "";
}

namespace {

// ---- reading a suite -------------------------------------------------------------------------

std::string as_string(const YAML::Node& node, const std::string& key, const std::string& source) {
  LUMAMBA_CHECK_INPUT(node.IsScalar(), "{}: '{}' must be a single value", source, key);
  return node.as<std::string>();
}

// A missing key (an invalid node in yaml-cpp) or null is the empty list.
std::vector<std::string> as_list(const YAML::Node& node, const std::string& key, const std::string& source) {
  if (!node || node.IsNull()) return {};
  LUMAMBA_CHECK_INPUT(node.IsSequence(), "{}: '{}' must be a list", source, key);
  std::vector<std::string> out;
  for (const auto& item : node) out.push_back(as_string(item, key, source));
  return out;
}

// ${name} → value; an unknown name is an error naming the variable.
std::string substitute(const std::string& text, const std::map<std::string, std::string>& variables,
                       const std::string& source) {
  static const std::regex kVar(R"(\$\{([A-Za-z0-9_]+)\})");
  std::string out;
  auto begin = std::sregex_iterator(text.begin(), text.end(), kVar);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const auto name = (*it)[1].str();
    const auto v = variables.find(name);
    LUMAMBA_CHECK_INPUT(v != variables.end(), "{}: '${{{}}}' is not a variable of the suite (set {}=PATH)", source,
                        name, name);
    out += text.substr(last, static_cast<size_t>(it->position()) - last) + v->second;
    last = static_cast<size_t>(it->position() + it->length());
  }
  return out + text.substr(last);
}

SubjectSplits parse_splits(const YAML::Node& node, const std::string& source) {
  LUMAMBA_CHECK_INPUT(node.IsMap(), "{}: 'splits' must map train/val/test to [first, last] subjects", source);
  SubjectSplits s;
  for (const auto& kv : node) {
    const auto split = kv.first.as<std::string>();
    check_option("splits", split, {"train", "val", "test"});
    const auto range = as_list(kv.second, "splits." + split, source);
    LUMAMBA_CHECK_INPUT(range.size() == 2 && range[0] <= range[1],
                        "{}: splits.{} must be [first, last] with first <= last", source, split);
    s.ranges[split] = {range[0], range[1]};
  }
  LUMAMBA_CHECK_INPUT(s.ranges.count("train") && s.ranges.count("test"), "{}: 'splits' needs train and test", source);
  return s;
}

// The keys a task may set; the suite's keys of the same name are their defaults.
const std::set<std::string> kTaskKeys = {"name",     "description",          "input",   "files",
                                         "subject_pattern", "splits", "preprocess", "preprocess_overrides",
                                         "finetune",  "finetune_overrides", "quick"};
const std::set<std::string> kSuiteKeys = {"name",           "description", "variables",       "data_roots",
                                          "subject_pattern", "splits",      "preprocess",      "preprocess_overrides",
                                          "seeds",          "inits",       "finetune",        "finetune_overrides",
                                          "baseline",       "preprocess_jobs", "tasks",       "quick",
                                          "pretrain",       "linear_probe", "few_shot"};
const std::set<std::string> kPretrainKeys = {"files", "subjects", "preprocess", "preprocess_overrides", "runs", "quick"};
const std::set<std::string> kPretrainRunKeys = {"name", "config", "overrides"};

// `quick:` keys replace the node's own (the CI variant).
YAML::Node with_quick(const YAML::Node& node, bool quick, const std::set<std::string>& allowed,
                      const std::string& source) {
  YAML::Node out = YAML::Clone(node);
  if (!quick || !node["quick"]) return out;
  LUMAMBA_CHECK_INPUT(node["quick"].IsMap(), "{}: 'quick' must be a mapping of keys to replace", source);
  for (const auto& kv : node["quick"]) {
    const auto key = kv.first.as<std::string>();
    LUMAMBA_CHECK_INPUT(allowed.count(key) && key != "quick" && key != "tasks", "{}: unknown key 'quick.{}'", source,
                        key);
    out[key] = kv.second;
  }
  return out;
}

void check_keys(const YAML::Node& node, const std::set<std::string>& allowed, const std::string& where) {
  for (const auto& kv : node) {
    const auto key = kv.first.as<std::string>();
    LUMAMBA_CHECK_INPUT(allowed.count(key), "{}: unknown key '{}' (known: {})", where, key, fmt::join(allowed, ", "));
  }
}

// The suite's `pretrain:` section (its own `quick:` keys replace the others in the CI variant).
PretrainPlan parse_pretrain(const YAML::Node& top, bool quick, const std::map<std::string, std::string>& vars,
                            const std::string& path) {
  const std::string where = path + ": pretrain";
  LUMAMBA_CHECK_INPUT(top["pretrain"].IsMap(), "{} must be a mapping", where);
  check_keys(top["pretrain"], kPretrainKeys, where);
  const YAML::Node p = with_quick(top["pretrain"], quick, kPretrainKeys, where);
  PretrainPlan plan;
  plan.corpus.name = "pretrain";
  LUMAMBA_CHECK_INPUT(p["files"] && p["subjects"] && top["subject_pattern"],
                      "{}: needs 'files', 'subjects' [first, last] and the suite's subject_pattern", where);
  plan.corpus.files = as_string(p["files"], "files", where);
  plan.corpus.subject_pattern = as_string(top["subject_pattern"], "subject_pattern", path);
  const auto subjects = as_list(p["subjects"], "subjects", where);
  LUMAMBA_CHECK_INPUT(subjects.size() == 2 && subjects[0] <= subjects[1],
                      "{}: subjects must be [first, last] with first <= last", where);
  plan.corpus.splits.ranges["train"] = {subjects[0], subjects[1]};
  plan.presets = as_list(p["preprocess"], "preprocess", where);
  LUMAMBA_CHECK_INPUT(!plan.presets.empty(), "{}: 'preprocess' lists at least one preset", where);
  plan.corpus.preprocess_overrides = as_list(p["preprocess_overrides"], "preprocess_overrides", where);
  LUMAMBA_CHECK_INPUT(p["runs"] && p["runs"].IsSequence() && p["runs"].size() > 0, "{}: 'runs' must be a non-empty list",
                      where);
  std::set<std::string> names;
  for (const auto& r : p["runs"]) {
    LUMAMBA_CHECK_INPUT(r.IsMap(), "{}: each run must be a mapping", where);
    check_keys(r, kPretrainRunKeys, where + " run");
    PretrainRun run;
    LUMAMBA_CHECK_INPUT(r["name"] && r["config"], "{}: a run needs 'name' and 'config'", where);
    run.name = as_string(r["name"], "name", where);
    LUMAMBA_CHECK_INPUT(std::regex_match(run.name, std::regex("[A-Za-z0-9_.-]+")) && run.name != "scratch" &&
                            names.insert(run.name).second,
                        "{}: run name '{}' must be unique, not 'scratch', and use only letters, digits, _ . -", where,
                        run.name);
    run.config = substitute(as_string(r["config"], "config", where), vars, where);
    run.overrides = as_list(r["overrides"], "overrides", where);
    plan.runs.push_back(run);
  }
  return plan;
}

}  // namespace

BenchmarkSuite load_benchmark_suite(const std::string& path, bool quick,
                                    const std::map<std::string, std::string>& variables) {
  YAML::Node doc;
  try {
    doc = YAML::Load(read_text_file(path));
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}: cannot parse: {}", path, e.what()));
  }
  LUMAMBA_CHECK_INPUT(doc.IsMap(), "{}: a suite must be a mapping", path);
  check_keys(doc, kSuiteKeys, path);
  const YAML::Node top = with_quick(doc, quick, kSuiteKeys, path);
  BenchmarkSuite suite;
  suite.source = path;
  suite.quick = quick;
  suite.name = top["name"] ? as_string(top["name"], "name", path) : fs::path(path).stem().string();
  if (top["description"]) suite.description = as_string(top["description"], "description", path);
  std::map<std::string, std::string> vars;
  if (top["variables"]) {
    LUMAMBA_CHECK_INPUT(top["variables"].IsMap(), "{}: 'variables' must be a mapping", path);
    for (const auto& kv : top["variables"]) vars[kv.first.as<std::string>()] = as_string(kv.second, "variables", path);
  }
  for (const auto& [k, v] : variables) {
    LUMAMBA_CHECK_INPUT(vars.count(k), "{}: no variable '{}' (the suite has: {})", path, k,
                        fmt::join([&] {
                          std::vector<std::string> names;
                          for (const auto& kv : vars) names.push_back(kv.first);
                          return names;
                        }(), ", "));
    vars[k] = v;
  }
  for (const auto& root : as_list(top["data_roots"], "data_roots", path)) {
    suite.data_roots.push_back(substitute(root, vars, path));
  }
  if (top["seeds"]) {
    suite.seeds.clear();
    for (const auto& s : as_list(top["seeds"], "seeds", path)) suite.seeds.push_back(std::stoll(s));
  }
  LUMAMBA_CHECK_INPUT(!suite.seeds.empty(), "{}: 'seeds' is empty", path);
  if (top["inits"]) {
    LUMAMBA_CHECK_INPUT(top["inits"].IsMap() || top["inits"].IsNull(), "{}: 'inits' must map names to checkpoints",
                        path);
    for (const auto& kv : top["inits"]) {
      const auto name = kv.first.as<std::string>();
      LUMAMBA_CHECK_INPUT(name != "scratch" && !name.empty(), "{}: init name '{}' is reserved", path, name);
      suite.inits[name] = substitute(as_string(kv.second, "inits." + name, path), vars, path);
    }
  }
  if (top["pretrain"]) suite.pretrain = parse_pretrain(top, quick, vars, path);
  for (const auto& run : suite.pretrain.runs) {
    LUMAMBA_CHECK_INPUT(!suite.inits.count(run.name), "{}: '{}' is both an init and a pretraining run", path, run.name);
  }
  if (top["linear_probe"]) suite.linear_probe = top["linear_probe"].as<bool>();
  if (top["few_shot"] && top["few_shot"].size() > 0) {  // `few_shot: {}` (e.g. in quick:) turns it off
    const std::string where = path + ": few_shot";
    LUMAMBA_CHECK_INPUT(top["few_shot"].IsMap(), "{} must be a mapping with fractions and variants", where);
    check_keys(top["few_shot"], {"fractions", "variants"}, where);
    for (const auto& f : as_list(top["few_shot"]["fractions"], "fractions", where)) {
      double value = 0;
      try {
        value = std::stod(f);
      } catch (const std::exception&) {
        throw InputError(fmt::format("{}: fraction '{}' is not a number", where, f));
      }
      LUMAMBA_CHECK_INPUT(value > 0 && value < 1, "{}: fraction {} must be in (0, 1)", where, f);
      suite.few_shot_fractions.push_back(value);
    }
    suite.few_shot_variants = as_list(top["few_shot"]["variants"], "variants", where);
    LUMAMBA_CHECK_INPUT(!suite.few_shot_fractions.empty() && !suite.few_shot_variants.empty(),
                        "{}: needs fractions and variants", where);
  }
  if (top["finetune"]) suite.finetune = substitute(as_string(top["finetune"], "finetune", path), vars, path);
  suite.finetune_overrides = as_list(top["finetune_overrides"], "finetune_overrides", path);
  if (top["baseline"]) {
    check_keys(top["baseline"], {"C", "class_weights"}, path + ": baseline");
    if (top["baseline"]["C"]) suite.baseline_c = top["baseline"]["C"].as<double>();
    if (top["baseline"]["class_weights"]) suite.baseline_class_weights = top["baseline"]["class_weights"].as<std::string>();
  }
  check_option("baseline.class_weights", suite.baseline_class_weights, {"none", "balanced"});
  if (top["preprocess_jobs"]) suite.preprocess_jobs = top["preprocess_jobs"].as<int64_t>();

  LUMAMBA_CHECK_INPUT(top["tasks"] && top["tasks"].IsSequence() && top["tasks"].size() > 0,
                      "{}: 'tasks' must be a non-empty list", path);
  std::set<std::string> names;
  for (const auto& raw : top["tasks"]) {
    const std::string where = fmt::format("{}: task {}", path, names.size() + 1);
    LUMAMBA_CHECK_INPUT(raw.IsMap(), "{} must be a mapping", where);
    check_keys(raw, kTaskKeys, where);
    const YAML::Node t = with_quick(raw, quick, kTaskKeys, where);
    // A task key falls back to the suite's key of the same name.
    const auto get = [&](const char* key) { return t[key] ? t[key] : top[key]; };
    BenchmarkTask task;
    LUMAMBA_CHECK_INPUT(t["name"], "{}: 'name' is required", where);
    task.name = as_string(t["name"], "name", where);
    LUMAMBA_CHECK_INPUT(std::regex_match(task.name, std::regex("[A-Za-z0-9_.-]+")) && names.insert(task.name).second,
                        "{}: task name '{}' must be unique and use only letters, digits, _ . -", where, task.name);
    if (t["description"]) task.description = as_string(t["description"], "description", where);
    if (t["input"]) task.input = substitute(as_string(t["input"], "input", where), vars, where);
    if (get("files")) task.files = as_string(get("files"), "files", where);
    LUMAMBA_CHECK_INPUT(task.input.empty() != task.files.empty(), "{}: give either 'input' or 'files'", where);
    if (!task.files.empty()) {
      LUMAMBA_CHECK_INPUT(get("subject_pattern") && get("splits"), "{}: 'files' needs subject_pattern and splits",
                          where);
      task.subject_pattern = as_string(get("subject_pattern"), "subject_pattern", where);
      task.splits = parse_splits(get("splits"), where);
      LUMAMBA_CHECK_INPUT(!suite.data_roots.empty(), "{}: 'files' needs the suite's data_roots", where);
    }
    if (get("preprocess")) task.preprocess = as_string(get("preprocess"), "preprocess", where);
    task.preprocess_overrides = as_list(get("preprocess_overrides"), "preprocess_overrides", where);
    task.finetune = t["finetune"] ? substitute(as_string(t["finetune"], "finetune", where), vars, where) : suite.finetune;
    LUMAMBA_CHECK_INPUT(!task.finetune.empty(), "{}: 'finetune' (a configs/finetune/*.yaml preset) is required",
                        where);
    task.finetune_overrides = as_list(t["finetune_overrides"], "finetune_overrides", where);
    suite.tasks.push_back(task);
  }
  return suite;
}

TaskRecordings find_task_recordings(const BenchmarkSuite& suite, const BenchmarkTask& task) {
  LUMAMBA_CHECK_INPUT(task.input.empty(), "task {}: its recordings come from '{}' (input), not from data_roots",
                      task.name, task.input);
  const std::regex file_re(task.files), subject_re(task.subject_pattern);
  std::map<std::string, fs::path> by_name;  // file name → first path found (roots in order)
  for (const auto& root : suite.data_roots) {
    LUMAMBA_CHECK_INPUT(fs::is_directory(root),
                        "task {}: data root '{}' is not a folder (get the data, or set the suite's variable)",
                        task.name, root);
    for (const auto& e : fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied)) {
      const auto name = e.path().filename().string();
      if (e.is_regular_file() && std::regex_match(name, file_re) && !by_name.count(name)) {
        by_name[name] = fs::absolute(e.path()).lexically_normal();
      }
    }
  }
  TaskRecordings out;
  out.manifest_csv = "file,label,subject,split\n";
  for (const auto& [name, p] : by_name) {
    std::smatch m;
    const auto stem = p.stem().string();
    LUMAMBA_CHECK_INPUT(std::regex_search(stem, m, subject_re), "{}: subject_pattern '{}' does not match '{}'",
                        p.string(), task.subject_pattern, stem);
    const auto subject = m.size() > 1 && m[1].matched ? m[1].str() : m[0].str();
    const auto split = task.splits.split_of(subject);
    ++out.n_files;
    if (split.empty()) {
      ++out.n_left_out;
      continue;
    }
    LUMAMBA_CHECK_INPUT(p.string().find(',') == std::string::npos, "{}: a path with a comma cannot go in a manifest",
                        p.string());
    out.manifest_csv += fmt::format("{},,{},{}\n", p.string(), subject, split);
    ++out.files_per_split[split];
  }
  LUMAMBA_CHECK_INPUT(out.n_files > 0, "task {}: no file under [{}] matches '{}'", task.name,
                      fmt::join(suite.data_roots, ", "), task.files);
  for (const auto& [split, range] : task.splits.ranges) {
    if (split == "val") continue;  // a task may validate on none (fine-tuning then holds out train windows)
    LUMAMBA_CHECK_INPUT(out.files_per_split[split] > 0, "task {}: no recording in split '{}' ({} files found)",
                        task.name, split, out.n_files);
  }
  return out;
}

namespace {

// ---- running -----------------------------------------------------------------------------------

// FNV-1a: a short fingerprint of the settings of a unit, stored with its result, so that a changed
// suite redoes the unit instead of reusing a stale result.
std::string fingerprint(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

// The JSON of a finished unit when it exists and was made with the same settings; null otherwise.
json finished(const fs::path& path, const std::string& settings) {
  if (!fs::exists(path)) return nullptr;
  const auto j = json::parse(read_text_file(path.string()), nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("settings", "") != settings) return nullptr;
  return j;
}

preprocess::PreprocessPreset task_preset(const BenchmarkTask& task) {
  auto preset = preprocess::preset_from_name_or_file(task.preprocess);
  preprocess::apply_preset_overrides(preset, task.preprocess_overrides);
  return preset;
}

json metrics_json(const eval::ClassificationMetrics& m) {
  std::vector<int64_t> predicted(static_cast<size_t>(m.n_classes), 0);
  for (const auto& row : m.confusion) {
    for (size_t k = 0; k < row.size() && k < predicted.size(); ++k) predicted[k] += row[k];
  }
  const auto num = [](double v) { return std::isfinite(v) ? json(v) : json(); };
  return {{"n", m.n_samples},         {"balanced_accuracy", num(m.balanced_accuracy)}, {"auroc", num(m.auroc)},
          {"aupr", num(m.aupr)},      {"cohen_kappa", num(m.cohen_kappa)},             {"f1_weighted", num(m.f1_weighted)},
          {"predicted_per_class", predicted}};
}

const std::vector<std::pair<std::string, std::string>> kMetrics = {
    {"balanced_accuracy", "bal. acc."}, {"auroc", "AUROC"}, {"aupr", "AUPR"}, {"cohen_kappa", "kappa"}};

std::string machine_description() {
  std::string model;
  std::ifstream cpu("/proc/cpuinfo");
  for (std::string line; std::getline(cpu, line);) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return fmt::format("{} ({} logical CPUs{}{})", model.empty() ? "unknown CPU" : model,
                     std::thread::hardware_concurrency(), host[0] ? ", host " : "", host);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string fmt_metric(const json& summary, const std::string& key) {
  const auto& m = summary.at("mean").at(key);
  if (m.is_null()) return "n/a";
  const auto& s = summary.at("std").at(key);
  return summary.value("n_seeds", 1) > 1 && !s.is_null() ? fmt::format("{:.3f} ± {:.3f}", m.get<double>(), s.get<double>())
                                                         : fmt::format("{:.3f}", m.get<double>());
}

std::string fmt_duration(double s) {
  return s >= 3600 ? fmt::format("{:.1f} h", s / 3600) : s >= 60 ? fmt::format("{:.0f} min", s / 60) : fmt::format("{:.0f} s", s);
}

// Mean and sample std over the runs' test metrics.
json summarise_runs(const json& runs) {
  json mean = json::object(), std_dev = json::object();
  for (const auto& [key, label] : kMetrics) {
    std::vector<double> v;
    for (const auto& r : runs) {
      const auto& x = r.at("test").at(key);
      if (!x.is_null()) v.push_back(x.get<double>());
    }
    if (v.empty()) {
      mean[key] = nullptr;
      std_dev[key] = nullptr;
      continue;
    }
    const auto summary = train::summarise_over_runs({{key, v}}).at(key);
    mean[key] = summary.mean;
    std_dev[key] = summary.std;
  }
  return {{"n_seeds", runs.size()}, {"mean", mean}, {"std", std_dev}};
}

std::string variant_label(const std::string& variant, int64_t n_seeds) {
  return fmt::format("LuMamba {} ({} seed{})", variant, n_seeds, n_seeds == 1 ? "" : "s");
}

void write_task_plot(const fs::path& path, const json& task) {
  std::vector<std::string> categories;
  for (const auto& [key, label] : kMetrics) categories.push_back(label);
  std::vector<IntervalSeries> series;
  const auto add = [&](const std::string& name, const json& summary) {
    IntervalSeries s{name, {}, {}};
    for (const auto& [key, label] : kMetrics) {
      const auto& m = summary.at("mean").at(key);
      const auto& d = summary.at("std").at(key);
      s.centre.push_back(m.is_null() ? NAN : m.get<double>());
      s.half_width.push_back(d.is_null() ? 0.0 : d.get<double>());
    }
    series.push_back(s);
  };
  if (task.contains("baseline")) add("band power + LR", task["baseline"]["summary"]);
  for (const auto& [variant, v] : task["variants"].items()) {
    add(variant_label(variant, v["summary"]["n_seeds"].get<int64_t>()), v["summary"]);
  }
  PlotOptions options;
  options.title = fmt::format("{}: test windows", task["name"].get<std::string>());
  options.note = "mean ± std over seeds; chance: bal. acc. 0.5 (2 classes), AUROC 0.5, kappa 0";
  options.y_label = "metric";
  options.width_px = 860;
  options.height_px = 420;
  options.reference_lines.push_back({0.5, "chance (2 classes)"});
  write_text_file_atomic(path.string(), svg_interval_plot(categories, series, options, -0.2, 1.0));
}

// One windows file made by preprocessing (reused when its preprocess.json records the same
// settings): returns that summary JSON. `settings` fingerprints the preset and the recordings.
json preprocess_unit(const std::string& label, const std::string& input, const preprocess::PreprocessPreset& preset,
                     const std::string& h5, const fs::path& summary_path, const std::string& settings,
                     int64_t jobs) {
  json pre = finished(summary_path, settings);
  if (!pre.is_null() && fs::exists(h5)) return pre;
  log::info("== {}: preprocess ({})", label, preset.name);
  const auto recordings = preprocess::discover_recordings(input, preset);
  preprocess::BuildOptions build;
  build.output_path = h5;
  build.n_jobs = static_cast<int>(jobs);
  const auto summary = preprocess::build_window_dataset(recordings, preset, build);
  for (const auto& [file, reason] : summary.failures) log::error("{}", reason);
  if (!summary.failures.empty()) {
    log::error("{}: {} of {} recordings failed (listed above and in {})", label, summary.failures.size(),
               recordings.size(), summary_path.string());
  }
  LUMAMBA_CHECK_INPUT(summary.n_windows > 0, "{}: preprocessing made no windows", label);
  pre = json::parse(preprocess::summary_to_json(summary));
  pre["settings"] = settings;
  std::map<std::string, int64_t> per_split;
  for (const auto& job : recordings) ++per_split[job.split];
  pre["recordings_per_split"] = per_split;
  write_text_file_atomic(summary_path.string(), pre.dump(2) + "\n");
  return pre;
}

// A fine-tuning variant: its init checkpoint ("" = scratch), extra overrides and a fingerprint of
// where the init came from (a redone pretraining run must redo the fine-tuning runs from it).
// "mixed" at 0.25 of the training subjects → "mixed_25pct".
std::string few_shot_variant_name(const std::string& variant, double fraction) {
  return fmt::format("{}_{}pct", variant, std::lround(fraction * 100));
}

struct Variant {
  std::string name, init;
  std::vector<std::string> overrides;
  std::string init_settings;
};

// What a pretraining run's metrics.jsonl says: mean training throughput and, at the last epoch
// end, the validation parts of its objective beside predicting zeros; and its curves as SVG
// (training loss per log line, validation loss per epoch end, against the step).
json pretraining_curves(const fs::path& run_dir, const fs::path& svg_path, const std::string& name) {
  json summary = json::object();
  std::ifstream in(run_dir / "metrics.jsonl");
  PlotSeries train_curve{"training loss", {}, {}, {}}, val_curve{"validation loss", {}, {}, {}};
  double rate_sum = 0;
  int64_t rate_n = 0;
  json last_epoch;
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("kind")) continue;
    if (j["kind"] == "train") {
      train_curve.x.push_back(j["step"].get<double>());
      train_curve.y.push_back(j["loss"].get<double>());
      rate_sum += j.value("samples_per_s", 0.0);
      ++rate_n;
    } else if (j["kind"] == "epoch" && j.contains("val_loss")) {
      val_curve.x.push_back(j["step"].get<double>());
      val_curve.y.push_back(j["val_loss"].get<double>());
      last_epoch = j;
    }
  }
  if (rate_n > 0) summary["windows_per_s"] = rate_sum / static_cast<double>(rate_n);
  if (!last_epoch.is_null()) {
    for (const char* key : {"val_loss", "val_rec_masked", "val_zero_rec_masked", "val_lejepa_pred", "val_sigreg"}) {
      if (last_epoch.contains(key)) summary[key] = last_epoch[key];
    }
  }
  if (!train_curve.x.empty()) {
    PlotOptions options;
    options.title = fmt::format("pretraining `{}`", name);
    options.x_label = "optimiser step";
    options.y_label = "loss (objective's total)";
    write_svg_log_log_plot(svg_path.string(), {train_curve, val_curve}, options);
  }
  return summary;
}

// The suite's pretraining: corpus files, then each run (resumed when interrupted). Returns one
// variant per run, its init the run's best checkpoint.
std::vector<Variant> run_pretraining(const BenchmarkSuite& suite, const PretrainPlan& plan, const fs::path& out,
                                     Progress& progress, json& results, double& total_wall) {
  std::vector<Variant> variants;
  if (plan.runs.empty()) return variants;
  const fs::path dir = out / "pretrain";
  fs::create_directories(dir);
  json pj{{"corpus", json::array()}, {"runs", json::array()}};
  const auto rec = find_task_recordings(suite, plan.corpus);
  const auto manifest = (dir / "manifest.csv").string();
  write_text_file_atomic(manifest, rec.manifest_csv);
  std::vector<std::string> files;
  std::string corpus_settings;
  for (const auto& name : plan.presets) {
    auto preset = preprocess::preset_from_name_or_file(name);
    preprocess::apply_preset_overrides(preset, plan.corpus.preprocess_overrides);
    const auto h5 = (dir / (preset.name + ".h5")).string();
    const auto settings = fingerprint(preprocess::preset_to_json(preset) + "\n" + rec.manifest_csv);
    const auto pre = preprocess_unit("pretraining corpus", manifest, preset, h5, dir / (preset.name + ".json"),
                                     settings, suite.preprocess_jobs);
    total_wall += pre["wall_s"].get<double>();
    pj["corpus"].push_back({{"preset", preset.name}, {"file", h5}, {"recordings", rec.files_per_split},
                            {"windows", pre["windows"]}, {"failed", pre["failed"]}, {"wall_s", pre["wall_s"]}});
    files.push_back(h5);
    corpus_settings += settings;
    progress.advance(1, fmt::format("pretraining corpus: {}", preset.name));
  }
  for (const auto& run : plan.runs) {
    const fs::path run_dir = dir / run.name;
    auto flat = train::FlatConfig::from_yaml(read_text_file(run.config), run.config);
    for (const auto& kv : run.overrides) flat.apply_override(kv, true);
    flat.set("data", fmt::format("{}", fmt::join(files, ",")));
    const auto settings = fingerprint(corpus_settings + "\n" + flat.to_yaml());
    json r = finished(run_dir / "result.json", settings);
    if (r.is_null()) {
      const bool same = fs::exists(run_dir / "settings.txt") &&
                        read_text_file((run_dir / "settings.txt").string()) == settings;
      if (!same) {
        fs::remove_all(run_dir);
        fs::create_directories(run_dir);
        write_text_file_atomic((run_dir / "settings.txt").string(), settings);
      }
      const bool resume = same && fs::exists(train::training_state_path((run_dir / "checkpoints").string()));
      log::info("== pretrain {}{} -> {}", run.name, resume ? " (resuming)" : "", run_dir.string());
      const auto t0 = std::chrono::steady_clock::now();
      const auto result = train::run_pretrain(train::pretrain_config(flat), flat, run_dir.string(), resume);
      LUMAMBA_CHECK_INPUT(result.has_best, "pretraining run {}: no validated checkpoint", run.name);
      r = {{"settings", settings},       {"name", run.name},
           {"steps", result.steps},      {"best_val_loss", result.best_val_loss},
           {"checkpoint", result.best_checkpoint},
           {"wall_s", seconds_since(t0)}};  // of the invocation that finished the run
      write_text_file_atomic((run_dir / "result.json").string(), r.dump(2) + "\n");
    }
    total_wall += r["wall_s"].get<double>();
    r["curves"] = pretraining_curves(run_dir, out / fmt::format("pretrain_{}.svg", run.name), run.name);
    pj["runs"].push_back(r);
    variants.push_back({run.name, r["checkpoint"].get<std::string>(), {}, settings});
    progress.advance(1, fmt::format("pretrain {}", run.name));
  }
  results["pretrain"] = pj;
  return variants;
}

std::string markdown_table(const json& results) {
  std::string md = fmt::format("# Benchmark `{}`{}\n\n{}\n\nMachine: {}. Test windows of held-out subjects; "
                               "mean ± sample std over seeds; the baseline is deterministic.\n\n",
                               results["suite"].get<std::string>(), results["quick"].get<bool>() ? " (--quick)" : "",
                               results["description"].get<std::string>(), results["machine"].get<std::string>());
  md += "| task | model | bal. acc. | AUROC | AUPR | kappa | predicted per class | test windows | wall time |\n";
  md += "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& t : results["tasks"]) {
    const auto name = t["name"].get<std::string>();
    if (t.contains("error")) {
      md += fmt::format("| {} | failed: {} | | | | | | | |\n", name, t["error"].get<std::string>());
      continue;
    }
    const auto row = [&](const std::string& model, const json& summary, const std::string& predicted, int64_t n,
                         const std::string& wall) {
      md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", name, model,
                        fmt_metric(summary, "balanced_accuracy"), fmt_metric(summary, "auroc"),
                        fmt_metric(summary, "aupr"), fmt_metric(summary, "cohen_kappa"), predicted, n, wall);
    };
    if (t.contains("baseline")) {
      const auto& b = t["baseline"];
      row("band power + LR", b["summary"], fmt::format("{}", fmt::join(b["test"]["predicted_per_class"].get<std::vector<int64_t>>(), "/")),
          b["test"]["n"].get<int64_t>(), fmt_duration(b["wall_s"].get<double>()));
    }
    for (const auto& [variant, v] : t["variants"].items()) {
      std::vector<std::string> per_seed;
      double wall = 0;
      int64_t n = 0;
      for (const auto& r : v["runs"]) {
        per_seed.push_back(fmt::format("{}", fmt::join(r["test"]["predicted_per_class"].get<std::vector<int64_t>>(), "/")));
        wall += r["wall_s"].get<double>();
        n = r["test"]["n"].get<int64_t>();
      }
      row(variant_label(variant, static_cast<int64_t>(v["runs"].size())), v["summary"], fmt::format("{}", fmt::join(per_seed, "; ")),
          n, fmt_duration(wall));
    }
  }
  md += "\nPer task (recordings per split, files left out, failures, preprocessing time):\n\n";
  for (const auto& t : results["tasks"]) {
    if (!t.contains("recordings")) continue;
    md += fmt::format("- `{}`: {}; recordings {}; left out (no split) {}; failed {}; windows {}; preprocessing {}\n",
                      t["name"].get<std::string>(), t["description"].get<std::string>(), t["recordings"].dump(),
                      t.value("left_out", 0), t["preprocess"]["failed"].get<int64_t>(),
                      t["preprocess"]["windows_per_label"].dump(), fmt_duration(t["preprocess"]["wall_s"].get<double>()));
  }
  if (results.contains("pretrain")) {
    md += "\nPretraining (its best checkpoints are the init variants of the same name):\n\n";
    for (const auto& c : results["pretrain"]["corpus"]) {
      md += fmt::format("- corpus `{}`: recordings {}, windows {}, failed {}\n", c["preset"].get<std::string>(),
                        c["recordings"].dump(), c["windows"].dump(), c["failed"].dump());
    }
    for (const auto& r : results["pretrain"]["runs"]) {
      std::string parts;
      const json curves = r.value("curves", json::object());
      if (curves.contains("val_rec_masked") && curves.contains("val_zero_rec_masked")) {
        parts += fmt::format(", masked reconstruction error {:.4f} (predicting zeros {:.4f})",
                             curves["val_rec_masked"].get<double>(), curves["val_zero_rec_masked"].get<double>());
      }
      if (curves.contains("val_sigreg")) parts += fmt::format(", SIGReg {:.3f}", curves["val_sigreg"].get<double>());
      if (curves.contains("windows_per_s")) {
        parts += fmt::format(", {:.1f} windows/s", curves["windows_per_s"].get<double>());
      }
      md += fmt::format("- run `{}`: {} steps, best validation loss {:.4f}{}, {} (curves: pretrain_{}.svg)\n",
                        r["name"].get<std::string>(), r["steps"].get<int64_t>(), r["best_val_loss"].get<double>(),
                        parts, fmt_duration(r["wall_s"].get<double>()), r["name"].get<std::string>());
    }
  }
  md += fmt::format("\nTotal wall time of the units (summed over sessions): {}.\n",
                    fmt_duration(results["wall_s"].get<double>()));
  return md;
}

}  // namespace

std::string run_benchmark_suite(const BenchmarkSuite& suite, const BenchmarkOptions& options) {
  LUMAMBA_CHECK_INPUT(!options.output_dir.empty(), "benchmark: give the output folder (--output DIR)");
  for (const auto& t : options.only_tasks) {
    LUMAMBA_CHECK_INPUT(std::any_of(suite.tasks.begin(), suite.tasks.end(), [&](const auto& x) { return x.name == t; }),
                        "{}: no task '{}'", suite.source, t);
  }
  for (const auto& [name, path] : suite.inits) {
    LUMAMBA_CHECK_INPUT(fs::exists(path), "{}: init '{}': no checkpoint at '{}'", suite.source, name, path);
  }
  std::vector<const BenchmarkTask*> tasks;
  for (const auto& t : suite.tasks) {
    if (options.only_tasks.empty() ||
        std::find(options.only_tasks.begin(), options.only_tasks.end(), t.name) != options.only_tasks.end()) {
      tasks.push_back(&t);
    }
  }
  const fs::path out(options.output_dir);
  const OutputLock lock(out.string());  // one benchmark per output folder

  // Variant names, and the pretraining runs that selected variants need.
  std::vector<std::string> all_variants = {"scratch"};
  for (const auto& kv : suite.inits) all_variants.push_back(kv.first);
  for (const auto& run : suite.pretrain.runs) all_variants.push_back(run.name);
  std::map<std::string, std::string> base_of;  // derived variant → the variant whose init it uses
  for (const auto& v : all_variants) base_of[v] = v;
  const size_t n_base = all_variants.size();
  if (suite.linear_probe) {
    for (size_t i = 0; i < n_base; ++i) {
      all_variants.push_back(all_variants[i] + "_probe");
      base_of[all_variants.back()] = all_variants[i];
    }
  }
  for (const auto& v : suite.few_shot_variants) {
    LUMAMBA_CHECK_INPUT(std::find(all_variants.begin(), all_variants.begin() + static_cast<std::ptrdiff_t>(n_base), v) !=
                            all_variants.begin() + static_cast<std::ptrdiff_t>(n_base),
                        "{}: few_shot variant '{}' is not scratch, an init or a pretraining run", suite.source, v);
    for (const double f : suite.few_shot_fractions) {
      all_variants.push_back(few_shot_variant_name(v, f));
      base_of[all_variants.back()] = v;
    }
  }
  const auto selected = [&](const std::string& variant) {
    return options.only_variants.empty() ||
           std::find(options.only_variants.begin(), options.only_variants.end(), variant) != options.only_variants.end();
  };
  for (const auto& v : options.only_variants) {
    LUMAMBA_CHECK_INPUT(std::find(all_variants.begin(), all_variants.end(), v) != all_variants.end(),
                        "{}: no variant '{}' (the suite has: {})", suite.source, v, fmt::join(all_variants, ", "));
  }
  PretrainPlan pretrain = suite.pretrain;
  pretrain.runs.clear();
  for (const auto& run : suite.pretrain.runs) {
    const bool needed = std::any_of(all_variants.begin(), all_variants.end(), [&](const std::string& v) {
      return base_of.at(v) == run.name && selected(v);
    });
    if (needed) pretrain.runs.push_back(run);
  }
  const auto n_variants = static_cast<int64_t>(std::count_if(all_variants.begin(), all_variants.end(), selected));
  const int64_t runs_per_task = n_variants * static_cast<int64_t>(suite.seeds.size());
  if (options.dry_run) {
    json plan = json::array();
    for (const auto* t : tasks) {
      json j{{"task", t->name}, {"runs", runs_per_task}};
      if (t->input.empty()) {
        const auto rec = find_task_recordings(suite, *t);
        j["recordings"] = rec.files_per_split;
        j["left_out"] = rec.n_left_out;
      } else {
        const auto preset = task_preset(*t);
        std::map<std::string, int64_t> per_split;
        for (const auto& job : preprocess::discover_recordings(t->input, preset)) ++per_split[job.split];
        j["recordings"] = per_split;
      }
      log::info("task {}: recordings per split {}, {} fine-tuning runs", t->name, j["recordings"].dump(), runs_per_task);
      plan.push_back(j);
    }
    if (!pretrain.runs.empty()) {
      const auto rec = find_task_recordings(suite, pretrain.corpus);
      log::info("pretraining: corpus of {} recordings ({} left out) in {} file(s), runs: {}", rec.files_per_split.at("train"),
                rec.n_left_out, pretrain.presets.size(), pretrain.runs.size());
      plan.push_back({{"pretrain", {{"recordings", rec.files_per_split}, {"left_out", rec.n_left_out},
                                    {"runs", pretrain.runs.size()}}}});
    }
    return plan.dump(2);
  }

  // Units: preprocess + baseline + runs, per task; the ETA assumes the remaining units take as long
  // as those done in this invocation (fine-tuning dominates).
  const auto n_pretrain_units =
      static_cast<int64_t>(pretrain.runs.empty() ? 0 : pretrain.presets.size() + pretrain.runs.size());
  Progress progress("units", n_pretrain_units + static_cast<int64_t>(tasks.size()) * (2 + runs_per_task));
  json results{{"suite", suite.name}, {"description", suite.description}, {"source", suite.source},
               {"quick", suite.quick}, {"machine", machine_description()}, {"seeds", suite.seeds}, {"tasks", json::array()}};
  double total_wall = 0;

  // Variants: scratch, the given checkpoints, the suite's pretraining runs; each also as a linear
  // probe (frozen encoder) when asked.
  std::vector<Variant> variants = {{"scratch", "", {}, ""}};
  for (const auto& [name, path] : suite.inits) {
    variants.push_back({name, path, {}, fmt::format("{} {}", fs::file_size(path),
                                                    fs::last_write_time(path).time_since_epoch().count())});
  }
  for (auto& v : run_pretraining(suite, pretrain, out, progress, results, total_wall)) variants.push_back(std::move(v));
  const size_t n_made = variants.size();
  if (suite.linear_probe) {
    for (size_t i = 0; i < n_made; ++i) {
      Variant probe = variants[i];
      probe.name += "_probe";
      probe.overrides.push_back("train.mode=linear_probe");
      variants.push_back(probe);
    }
  }
  for (const auto& name : suite.few_shot_variants) {
    // By index: push_back below may reallocate `variants`, which would leave an iterator dangling
    // (it once gave the second and third fractions of an init an empty init path).
    const auto base = static_cast<std::size_t>(
        std::find_if(variants.begin(), variants.begin() + static_cast<std::ptrdiff_t>(n_made),
                     [&](const Variant& v) { return v.name == name; }) -
        variants.begin());
    if (base == n_made) continue;  // its pretraining was not selected
    for (const double f : suite.few_shot_fractions) {
      Variant few = variants[base];
      few.name = few_shot_variant_name(name, f);
      few.overrides.push_back(fmt::format("train.subject_fraction={}", f));
      variants.push_back(few);
    }
  }
  variants.erase(std::remove_if(variants.begin(), variants.end(), [&](const Variant& v) { return !selected(v.name); }),
                 variants.end());
  for (const auto* task : tasks) {
    const fs::path dir = out / task->name;
    fs::create_directories(dir);
    json tj{{"name", task->name}, {"description", task->description}, {"variants", json::object()}};
    try {
      // 1. Preprocess (parts are reused by build_window_dataset itself when a unit is redone).
      const auto preset = task_preset(*task);
      std::string input = task->input, recordings_text = task->input;
      if (input.empty()) {
        const auto rec = find_task_recordings(suite, *task);
        input = (dir / "manifest.csv").string();
        write_text_file_atomic(input, rec.manifest_csv);
        recordings_text = rec.manifest_csv;
        tj["recordings"] = rec.files_per_split;
        tj["left_out"] = rec.n_left_out;
      }
      const auto h5 = (dir / "windows.h5").string();
      const auto pre_settings = fingerprint(preprocess::preset_to_json(preset) + "\n" + recordings_text);
      const json pre = preprocess_unit("task " + task->name, input, preset, h5, dir / "preprocess.json", pre_settings,
                                       suite.preprocess_jobs);
      if (!tj.contains("recordings")) tj["recordings"] = pre["recordings_per_split"];
      tj["preprocess"] = pre;
      total_wall += pre["wall_s"].get<double>();
      progress.advance(1, fmt::format("{}: preprocessed", task->name));

      // 2. Baseline.
      data::DatasetOptions ds_options;
      ds_options.require_labels = true;
      const auto base_settings = fingerprint(fmt::format("{} C={} class_weights={}", pre_settings, suite.baseline_c,
                                                         suite.baseline_class_weights));
      json base = finished(dir / "baseline.json", base_settings);
      if (base.is_null()) {
        log::info("== {}: band-power baseline", task->name);
        const auto t0 = std::chrono::steady_clock::now();
        const auto ds = data::WindowDataset::open({h5}, ds_options);
        eval::BaselineOptions bo;
        bo.C = suite.baseline_c;
        bo.class_weights = suite.baseline_class_weights;
        const auto report = eval::run_band_power_baseline(ds, bo);
        LUMAMBA_CHECK_INPUT(!report.test.multilabel, "task {}: the benchmark summarises multiclass tasks only",
                            task->name);
        eval::write_predictions_csv((dir / "baseline_predictions.csv").string(), ds, report.test_windows,
                                    report.probabilities, report.n_classes);
        base = {{"settings", base_settings},
                {"test", metrics_json(report.test.windows)},
                {"test_recordings", metrics_json(report.test.recordings)},
                {"n_train", report.n_train},
                {"wall_s", seconds_since(t0)},
                {"report", json::parse(report.to_json())}};
        write_text_file_atomic((dir / "baseline.json").string(), base.dump(2) + "\n");
      }
      json base_runs = json::array({base});
      base["summary"] = summarise_runs(base_runs);
      tj["baseline"] = base;
      total_wall += base["wall_s"].get<double>();
      log::info("{} baseline: {}", task->name, base["test"].dump());
      progress.advance(1, fmt::format("{}: baseline", task->name));

      // 3. Fine-tuning runs.
      for (const auto& v : variants) {
        const auto& variant = v.name;
        json runs = json::array();
        for (const int64_t seed : suite.seeds) {
          const fs::path run_dir = dir / variant / fmt::format("seed_{}", seed);
          auto flat = train::FlatConfig::from_yaml(read_text_file(task->finetune), task->finetune);
          for (const auto& kv : suite.finetune_overrides) flat.apply_override(kv, true);
          for (const auto& kv : task->finetune_overrides) flat.apply_override(kv, true);
          for (const auto& kv : v.overrides) flat.apply_override(kv, true);
          flat.set("data", h5);
          flat.set("out", run_dir.string());
          flat.set("train.seed", std::to_string(seed));
          if (!v.init.empty()) flat.set("init", v.init);
          const auto run_settings = fingerprint(pre_settings + "\n" + flat.to_yaml() + "\n" + v.init_settings);
          json r = finished(run_dir / "result.json", run_settings);
          if (r.is_null()) {
            // A run dir made with other settings would be resumed into a mix: start it afresh.
            const bool same = fs::exists(run_dir / "settings.txt") && read_text_file((run_dir / "settings.txt").string()) == run_settings;
            if (!same) {
              fs::remove_all(run_dir);
              fs::create_directories(run_dir);
              write_text_file_atomic((run_dir / "settings.txt").string(), run_settings);
            }
            const bool resume = same && fs::exists(train::training_state_path((run_dir / "checkpoints").string()));
            log::info("== {}: fine-tune {} seed {}{} -> {}", task->name, variant, seed, resume ? " (resuming)" : "",
                      run_dir.string());
            const auto t0 = std::chrono::steady_clock::now();
            flat.get_string("out", "");  // read by us, not by finetune_config (which rejects unread keys)
            const auto config = train::finetune_config(flat);
            const auto result = train::run_finetune(config, flat, run_dir.string(), resume);
            LUMAMBA_CHECK_INPUT(result.has_test && !result.test.multilabel,
                                "task {}: fine-tuning gave no multiclass test metrics", task->name);
            r = {{"settings", run_settings},
                 {"seed", seed},
                 {"test", metrics_json(result.test.windows)},
                 {"test_recordings", metrics_json(result.test.recordings)},
                 {"best_epoch", result.best_epoch},
                 {"epochs", result.epochs_completed},  // all invocations
                 {"train_windows", result.train_windows},
                 {"steps", result.steps},
                 {"wall_s", seconds_since(t0)}};  // of the invocation that finished the run
            write_text_file_atomic((run_dir / "result.json").string(), r.dump(2) + "\n");
          }
          total_wall += r["wall_s"].get<double>();
          log::info("{} {} seed {}: {}", task->name, variant, seed, r["test"].dump());
          runs.push_back(r);
          progress.advance(1, fmt::format("{}: {} seed {}", task->name, variant, seed));
        }
        tj["variants"][variant] = {{"init", v.init}, {"runs", runs}, {"summary", summarise_runs(runs)}};
      }
      write_task_plot(out / (task->name + ".svg"), tj);
    } catch (const InputError& e) {
      // One task's failure is reported and the others still run.
      log::error("task {} failed: {}", task->name, e.what());
      tj["error"] = e.what();
    }
    results["tasks"].push_back(tj);
  }
  progress.finish();
  results["wall_s"] = total_wall;
  const auto text = results.dump(2);
  write_text_file_atomic((out / "results.json").string(), text + "\n");
  write_text_file_atomic((out / "results.md").string(), markdown_table(results));
  log::info("wrote {}/results.json, results.md and one SVG per task", out.string());
  return text;
}

}  // namespace lumamba::experiment
