// `lumamba report` (lumamba/eval/report.h) on run folders written here — a fine-tuning run, a
// pretraining run, a predict run with events, an evaluate, a benchmark, a bench-efficiency and a probe
// folder: the kind is recognised, every number in the page's
// metric tables equals the run's JSON, the page needs nothing from outside (no script, no URL), and —
// where Debian's chromium is installed — it renders headless with every SVG non-empty and no error.
#include "lumamba/eval/report.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "lumamba/core/error.h"
#include "lumamba/core/svg_plot.h"
#include "support/scratch.h"

namespace lumamba::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

fs::path finetune_run(const std::string& name) {
  const auto dir = test::fresh_scratch_dir(name);
  write(dir / "config.yaml", "task: demo\nclass_names: normal,abnormal\ntrain.epochs: 3\n");
  std::string lines;
  for (int e = 1; e <= 3; ++e) {
    lines += json{{"epoch", e}, {"step", 10 * e}, {"train_loss", 0.7 - 0.1 * e}, {"val_loss", 0.72 - 0.05 * e},
                  {"val_balanced_accuracy", 0.5 + 0.1 * e}, {"val_auroc", 0.55 + 0.1 * e}, {"lr", 1e-3 / e},
                  {"best", true}}
                 .dump() + "\n";
  }
  write(dir / "metrics.jsonl", lines);
  json windows = {{"accuracy", 0.75}, {"balanced_accuracy", 0.7128514}, {"auroc", 0.8008709}, {"aupr", 0.79},
                  {"cohen_kappa", 0.4255}, {"f1_weighted", 0.71}, {"n_samples", 8},
                  {"confusion", {{3, 1}, {1, 3}}}};
  write(dir / "test_metrics.json", json{{"windows", windows}, {"recordings", {{"balanced_accuracy", 1.0}, {"n_samples", 2}}}}.dump(2));
  write(dir / "test_predictions.csv",
        "recording,window_start_s,label,predicted,p_0,p_1\n"
        "a.edf,0.0000,0,0,0.8,0.2\na.edf,5.0000,0,1,0.4,0.6\na.edf,10.0000,1,1,0.3,0.7\na.edf,15.0000,1,1,0.1,0.9\n"
        "b.edf,0.0000,0,0,0.9,0.1\nb.edf,5.0000,0,0,0.7,0.3\nb.edf,10.0000,1,0,0.6,0.4\nb.edf,15.0000,1,1,0.2,0.8\n");
  return dir;
}

fs::path predict_run(const std::string& name) {
  const auto dir = test::fresh_scratch_dir(name);
  json rec = {{"recording", "a.edf"}, {"n_windows", 4}, {"eeg_seconds", 20.0}, {"mean_probabilities", {0.4, 0.6}},
              {"decision", 1}, {"decision_name", "abnormal"}, {"events", {{"n_events", 1}}}};
  write(dir / "predictions.json",
        json{{"task", {{"n_classes", 2}, {"class_names", {"normal", "abnormal"}}, {"target", "multiclass"}}},
             {"mode", "windows"}, {"recordings", {rec}}, {"eeg_seconds", 20.0},
             {"event_options", {{"threshold", 0.5}}}}
            .dump(2));
  write(dir / "predictions.csv", "recording,window_start_s,label,predicted,p_0,p_1\na.edf,0.0000,,0,0.8,0.2\n"
                                 "a.edf,5.0000,,1,0.3,0.7\na.edf,10.0000,,1,0.2,0.8\na.edf,15.0000,,0,0.9,0.1\n");
  write(dir / "events.csv", "recording,onset_s,duration_s,label,mean_probability,max_probability,n_windows\n"
                            "a.edf,5.0000,10.0000,abnormal,0.7500,0.8000,2\n");
  return dir;
}

fs::path pretrain_run(const std::string& name) {
  const auto dir = test::fresh_scratch_dir(name);
  write(dir / "config.yaml", "mode: mixed\n");
  std::string lines;
  for (int s = 1; s <= 4; ++s) lines += json{{"kind", "train"}, {"step", 10 * s}, {"loss", 1.0 / s}, {"rec", 0.9 / s}}.dump() + "\n";
  lines += json{{"kind", "epoch"}, {"epoch", 1}, {"train_loss", 0.41}, {"val_loss", 0.3876}, {"train_rec", 0.4},
                {"val_rec", 0.38}}.dump() + "\n";
  write(dir / "metrics.jsonl", lines);
  return dir;
}

fs::path evaluate_run(const std::string& name) {
  const auto from = finetune_run(name + "_source");
  const auto dir = test::fresh_scratch_dir(name);
  fs::copy_file(from / "test_metrics.json", dir / "metrics.json");
  fs::copy_file(from / "test_predictions.csv", dir / "predictions.csv");
  return dir;
}

std::string small_svg(const std::string& title) {
  return svg_line_plot({{"a", {1, 2, 3}, {0.5, 0.7, 0.6}, {}}}, {title, "x", "y", "", 500, 300, {}}, {});
}

// benchmark, bench efficiency and probe folders: their own tables and SVG files.
fs::path benchmark_run(const std::string& name) {
  const auto dir = test::fresh_scratch_dir(name);
  write(dir / "results.json", "{}");
  write(dir / "results.md", "# Benchmark `demo`\n\nSome text.\n\n| task | model | bal. acc. |\n|---|---|---|\n"
                            "| a | band power + LR | 0.586 |\n| a | LuMamba | 0.733 ± 0.020 |\n\n- a list item\n");
  write(dir / "task_a.svg", small_svg("task a"));
  return dir;
}

fs::path efficiency_run(const std::string& name) {
  const auto dir = test::fresh_scratch_dir(name);
  write(dir / "efficiency.json", json{{"machine", {{"cpu", "test CPU"}, {"threads", 2}}}}.dump());
  write(dir / "efficiency.csv", "model,seconds,macs\nlumamba_tiny,5,187746304\n");
  write(dir / "macs.svg", small_svg("MACs"));
  write(dir / "time.svg", small_svg("time"));
  return dir;
}

fs::path probe_run(const std::string& name) {
  const auto dir = test::fresh_scratch_dir(name);
  write(dir / "probe.json", json{{"embedding", {{"dim", 384}}}}.dump());
  write(dir / "pca_by_label.svg", small_svg("by label"));
  write(dir / "pca_by_subject.svg", small_svg("by subject"));
  return dir;
}

// Every <td ... data-metric="LEVEL.KEY">VALUE</td> of the page.
std::map<std::string, std::string> metric_cells(const std::string& html) {
  std::map<std::string, std::string> out;
  const std::regex re("data-metric=\"([^\"]+)\">([^<]*)<");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator(); ++it) {
    out[(*it)[1]] = (*it)[2];
  }
  return out;
}

void expect_self_contained(const std::string& html) {
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  // The only URL is the SVG namespace name (an identifier, never fetched).
  std::string rest = html;
  for (std::size_t at; (at = rest.find("xmlns=\"http://www.w3.org/2000/svg\"")) != std::string::npos;) rest.erase(at, 34);
  EXPECT_EQ(rest.find("http://"), std::string::npos);
  for (const char* bad : {">nan", ">inf", "\"nan", ",nan", "-nan"}) EXPECT_EQ(html.find(bad), std::string::npos) << bad;
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("<?xml"), std::string::npos);
}

TEST(Report, FinetuneRunNumbersEqualTheRunsJson) {
  const auto dir = finetune_run("report_finetune");
  const auto r = write_run_report(dir.string());
  EXPECT_EQ(r.kind, "finetune");
  EXPECT_EQ(r.path, (dir / "report.html").string());
  // loss, validation metrics, lr, confusion matrix, ROC, PR, 2 recording timelines
  EXPECT_EQ(r.n_figures, 8);
  const auto html = read(r.path);
  expect_self_contained(html);
  const auto cells = metric_cells(html);
  const auto metrics = json::parse(read(dir / "test_metrics.json"));
  for (const char* level : {"windows", "recordings"}) {
    for (const auto& [key, value] : metrics[level].items()) {
      if (!value.is_number()) continue;
      const auto it = cells.find(std::string(level) + "." + key);
      ASSERT_NE(it, cells.end()) << level << "." << key;
      if (value.is_number_integer()) EXPECT_EQ(it->second, value.dump());
      else EXPECT_NEAR(std::stod(it->second), value.get<double>(), 5e-5) << key;
    }
  }
  EXPECT_NE(html.find("No baseline given"), std::string::npos);
  // With a baseline (lumamba baseline's JSON: its "test" object), its numbers are in the page too.
  write(dir / "baseline.json", json{{"test", {{"balanced_accuracy", 0.586}, {"auroc", 0.629}}}}.dump());
  const auto with = read(write_run_report(dir.string(), (dir / "with.html").string(), (dir / "baseline.json").string()).path);
  EXPECT_EQ(metric_cells(with).at("baseline.balanced_accuracy"), "0.5860");
  EXPECT_NE(html.find("train.epochs: 3"), std::string::npos);  // the configuration
  EXPECT_EQ(std::count(html.begin(), html.end(), '\n') > 50, true);
}

TEST(Report, PredictAndPretrainRuns) {
  const auto predict = write_run_report(predict_run("report_predict").string());
  EXPECT_EQ(predict.kind, "predict");
  EXPECT_EQ(predict.n_figures, 1);
  const auto html = read(predict.path);
  expect_self_contained(html);
  EXPECT_NE(html.find("detected events"), std::string::npos);
  EXPECT_NE(html.find("threshold 0.50"), std::string::npos);
  EXPECT_EQ(metric_cells(html).at("eeg_seconds"), "20.0000");

  const auto pretrain = write_run_report(pretrain_run("report_pretrain").string());
  EXPECT_EQ(pretrain.kind, "pretrain");
  EXPECT_EQ(pretrain.n_figures, 3);  // per-step loss, loss per epoch, components
  const auto cells = metric_cells(read(pretrain.path));
  EXPECT_EQ(cells.at("epoch1.val_loss"), "0.3876");

  EXPECT_THROW(write_run_report(test::fresh_scratch_dir("report_empty").string()), InputError);
}

TEST(Report, EvaluateBenchmarkEfficiencyAndProbeFolders) {
  const auto evaluate = write_run_report(evaluate_run("report_evaluate").string());
  EXPECT_EQ(evaluate.kind, "evaluate");
  EXPECT_EQ(evaluate.n_figures, 5);  // confusion, ROC, PR, 2 timelines
  EXPECT_EQ(metric_cells(read(evaluate.path)).at("windows.auroc"), "0.8009");

  const auto benchmark = write_run_report(benchmark_run("report_benchmark").string());
  EXPECT_EQ(benchmark.kind, "benchmark");
  EXPECT_EQ(benchmark.n_figures, 1);
  auto html = read(benchmark.path);
  expect_self_contained(html);
  EXPECT_NE(html.find("<td>0.733 ± 0.020</td>"), std::string::npos);
  EXPECT_NE(html.find("<th>bal. acc.</th>"), std::string::npos);
  EXPECT_EQ(html.find("<?xml"), std::string::npos);  // the SVG files' XML declarations are dropped inline

  const auto efficiency = write_run_report(efficiency_run("report_efficiency").string());
  EXPECT_EQ(efficiency.kind, "bench efficiency");
  EXPECT_EQ(efficiency.n_figures, 2);
  html = read(efficiency.path);
  EXPECT_NE(html.find("<td>187746304</td>"), std::string::npos);
  EXPECT_NE(html.find("test CPU"), std::string::npos);

  const auto probe = write_run_report(probe_run("report_probe").string());
  EXPECT_EQ(probe.kind, "probe");
  EXPECT_EQ(probe.n_figures, 2);
}

// Headless Chromium: the page renders, every SVG has a non-empty box, no error event fires, and the
// numbers Chromium sees in the metric cells are those in the JSON. A check script is added to a copy
// of the page (the report itself has none).
TEST(Report, RendersInHeadlessChromium) {
  if (std::system("command -v chromium > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it): browser check skipped";
  }
  for (const auto& dir : {finetune_run("report_chromium_ft"), predict_run("report_chromium_pr"),
                          pretrain_run("report_chromium_pt"), evaluate_run("report_chromium_ev"),
                          benchmark_run("report_chromium_bm"), efficiency_run("report_chromium_ef"),
                          probe_run("report_chromium_pb")}) {
    SCOPED_TRACE(dir.string());
    const auto r = write_run_report(dir.string());
    auto html = read(r.path);
    const std::string catcher =
        "<script>window.lumambaErrors=[];window.addEventListener('error',e=>window.lumambaErrors.push("
        "String(e.message||e.target&&e.target.outerHTML)),true);</script>";
    html.insert(html.find("<head>") + 6, catcher);
    const std::string check =
        "<script>const boxes=[...document.querySelectorAll('svg')].map(s=>{const b=s.getBoundingClientRect();"
        "return [b.width,b.height];});const cells={};document.querySelectorAll('[data-metric]').forEach(c=>"
        "{cells[c.dataset.metric]=c.textContent;});document.body.insertAdjacentHTML('beforeend','<pre id=\"lumamba-check\">'"
        "+JSON.stringify({boxes,cells,errors:window.lumambaErrors}).replace(/</g,'&lt;')+'</pre>');</script>";
    html.insert(html.rfind("</body>"), check);
    const auto page = dir / "checked.html";
    write(page, html);
    const auto dom = dir / "dom.html";
    const std::string cmd = "timeout 120 chromium --headless --no-sandbox --disable-gpu --dump-dom file://" +
                            page.string() + " > " + dom.string() + " 2> " + (dir / "chromium.log").string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << read(dir / "chromium.log");
    const auto out = read(dom);
    const auto start = out.rfind("<pre id=\"lumamba-check\">");  // the element, after the script that made it
    ASSERT_NE(start, std::string::npos) << out.substr(0, 2000);
    const auto body = out.substr(start + 24, out.find("</pre>", start) - start - 24);
    std::string text;
    for (std::size_t i = 0; i < body.size(); ++i) {  // the DOM dump escapes & < > and quotes
      if (body.compare(i, 5, "&amp;") == 0) text += '&', i += 4;
      else if (body.compare(i, 4, "&lt;") == 0) text += '<', i += 3;
      else if (body.compare(i, 4, "&gt;") == 0) text += '>', i += 3;
      else if (body.compare(i, 6, "&quot;") == 0) text += '"', i += 5;
      else text += body[i];
    }
    const auto j = json::parse(text);
    EXPECT_TRUE(j["errors"].empty()) << j["errors"].dump();
    ASSERT_EQ(static_cast<int>(j["boxes"].size()), r.n_figures);
    for (const auto& b : j["boxes"]) {
      EXPECT_GT(b[0].get<double>(), 100) << j["boxes"].dump();
      EXPECT_GT(b[1].get<double>(), 100) << j["boxes"].dump();
    }
    const auto seen = j["cells"].get<std::map<std::string, std::string>>();
    EXPECT_EQ(seen, metric_cells(read(r.path)));
  }
}

}  // namespace
}  // namespace lumamba::eval
