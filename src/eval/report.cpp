// Run reports as one HTML page (see lumamba/eval/report.h). The page is built as text: headings,
// tables and the SVG figures of lumamba/core/svg_plot.h inline, a short style sheet, no script.
#include "lumamba/eval/report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/svg_plot.h"
#include "lumamba/io/safetensors.h"

namespace lumamba::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kMaxTimelines = 8;  // recordings drawn; the table lists them all

std::string escape_html(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<json> read_jsonl(const fs::path& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));  // a line cut by a kill is skipped
  }
  return out;
}

json read_json(const fs::path& path) {
  auto j = json::parse(read_text_file(path.string(), "run file"), nullptr, false);
  LUMAMBA_CHECK_INPUT(!j.is_discarded(), "{}: not valid JSON", path.string());
  return j;
}

struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int column(const std::string& name) const {
    const auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  }
};

Csv read_csv(const fs::path& path) {
  Csv csv;
  std::istringstream in(read_text_file(path.string(), "run file"));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> fields;
    std::string field;
    std::istringstream ls(line);
    while (std::getline(ls, field, ',')) fields.push_back(field);
    if (!line.empty() && line.back() == ',') fields.emplace_back();
    if (csv.header.empty()) csv.header = std::move(fields);
    else if (fields.size() == csv.header.size()) csv.rows.push_back(std::move(fields));
  }
  return csv;
}

double to_number(const std::string& s) {
  try {
    return s.empty() ? std::nan("") : std::stod(s);
  } catch (...) {
    return std::nan("");
  }
}

// The page: sections of HTML and a figure count.
struct Page {
  std::string body;
  int n_figures = 0;
  void heading(const std::string& text, const std::string& id) {
    body += fmt::format("<h2 id=\"{}\">{}</h2>\n", id, escape_html(text));
  }
  void paragraph(const std::string& html) { body += "<p>" + html + "</p>\n"; }
  void figure(std::string svg, const std::string& caption) {
    // An XML declaration belongs to an SVG file, not to an SVG inside HTML.
    if (const auto at = svg.find("<?xml"); at != std::string::npos && at < 8) svg.erase(0, svg.find("?>", at) + 2);
    body += "<figure>\n" + svg + fmt::format("<figcaption>{}</figcaption>\n</figure>\n", escape_html(caption));
    ++n_figures;
  }
};

std::string format_value(const json& v) {
  if (v.is_number_float()) return fmt::format("{:.4f}", v.get<double>());
  if (v.is_number()) return v.dump();
  if (v.is_string()) return escape_html(v.get<std::string>());
  return escape_html(v.dump());
}

// ROC (false-positive rate, true-positive rate) and PR (recall, precision) points of scores against
// 0/1 truths, one point per distinct threshold from high to low.
struct Curve {
  std::vector<double> x, y;
};
std::pair<Curve, Curve> roc_and_pr(std::vector<std::pair<double, int>> scored) {
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  double positives = 0;
  for (const auto& s : scored) positives += s.second;
  const double negatives = static_cast<double>(scored.size()) - positives;
  Curve roc{{0}, {0}}, pr;
  double tp = 0, fp = 0;
  for (std::size_t i = 0; i < scored.size(); ++i) {
    tp += scored[i].second;
    fp += 1 - scored[i].second;
    if (i + 1 < scored.size() && scored[i + 1].first == scored[i].first) continue;  // ties: one point
    roc.x.push_back(negatives > 0 ? fp / negatives : 0);
    roc.y.push_back(positives > 0 ? tp / positives : 0);
    pr.x.push_back(positives > 0 ? tp / positives : 0);
    pr.y.push_back(tp / (tp + fp));
  }
  return {roc, pr};
}

std::vector<std::string> class_names_of(const json& task, int64_t k) {
  std::vector<std::string> names;
  if (task.is_object() && task.contains("class_names") && task["class_names"].is_array()) {
    for (const auto& n : task["class_names"]) names.push_back(n.is_string() ? n.get<std::string>() : n.dump());
  }
  for (auto c = static_cast<int64_t>(names.size()); c < k; ++c) names.push_back(fmt::format("class {}", c));
  return names;
}

// Curves of per-epoch values: one series per key, x = epoch.
void epoch_figure(Page& page, const std::vector<json>& epochs, const std::vector<std::string>& keys,
                  const std::string& title, const std::string& y_label) {
  std::vector<PlotSeries> series;
  for (const auto& key : keys) {
    PlotSeries s{key, {}, {}, {}};
    for (const auto& e : epochs) {
      if (e.contains(key) && e[key].is_number() && e.contains("epoch") && e["epoch"].is_number()) {
        s.x.push_back(e["epoch"].get<double>());
        s.y.push_back(e[key].get<double>());
      }
    }
    if (!s.x.empty()) series.push_back(std::move(s));
  }
  if (series.empty()) return;
  LinearAxes axes;
  axes.markers = true;
  page.figure(svg_line_plot(series, {title, "epoch", y_label, "", 760, 380, {}}, axes), title);
}

std::vector<std::string> keys_matching(const std::vector<json>& lines, const std::function<bool(const std::string&)>& keep) {
  std::set<std::string> keys;
  for (const auto& l : lines) {
    for (const auto& [k, v] : l.items()) {
      if (v.is_number() && keep(k)) keys.insert(k);
    }
  }
  return {keys.begin(), keys.end()};
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

void config_section(Page& page, const fs::path& dir) {
  page.heading("Configuration and provenance", "provenance");
  std::string rows = fmt::format("<tr><th>run folder</th><td>{}</td></tr>\n", escape_html(fs::absolute(dir).string()));
  const auto best = dir / "checkpoints" / "best.safetensors";
  const auto last = dir / "checkpoints" / "last.safetensors";
  const auto checkpoint = fs::exists(best) ? best : last;
  if (fs::exists(checkpoint)) {
    rows += fmt::format("<tr><th>checkpoint</th><td>{}</td></tr>\n", escape_html(checkpoint.string()));
    try {
      const auto file = io::SafetensorsFile::open(checkpoint.string());
      for (const auto& [key, value] : file.metadata()) {
        rows += fmt::format("<tr><th>{}</th><td><code>{}</code></td></tr>\n", escape_html(key),
                            escape_html(value.size() > 600 ? value.substr(0, 600) + " …" : value));
      }
    } catch (const Error& e) {
      rows += fmt::format("<tr><th>checkpoint metadata</th><td>unreadable: {}</td></tr>\n", escape_html(e.what()));
    }
  }
  if (fs::exists(dir / "provenance.json")) {
    const auto provenance = read_json(dir / "provenance.json");
    for (const auto& [key, value] : provenance.items()) {
      rows += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", escape_html(key), format_value(value));
    }
  }
  page.body += "<table class=\"provenance\">\n" + rows + "</table>\n";
  if (fs::exists(dir / "config.yaml")) {
    page.body += "<details><summary>config.yaml</summary><pre>" +
                 escape_html(read_text_file((dir / "config.yaml").string(), "run file")) + "</pre></details>\n";
  }
}

// Metrics of one evaluation (test_metrics.json's "windows" / "recordings") as table rows.
std::string metrics_rows(const std::string& level, const json& m) {
  std::string rows;
  for (const char* key : {"balanced_accuracy", "auroc", "aupr", "cohen_kappa", "f1_weighted", "f1_macro", "accuracy",
                          "n_samples"}) {
    if (!m.contains(key)) continue;
    rows += fmt::format("<tr><td>{0}</td><td>{1}</td><td class=\"num\" data-metric=\"{0}.{1}\">{2}</td></tr>\n", level,
                        key, format_value(m[key]));
  }
  return rows;
}

// Probability timelines of recordings: x = window start, one series per class shown, and the
// true labels (step) or detected events when given.
void timeline_figures(Page& page, const Csv& windows, const std::vector<std::string>& classes,
                      const std::map<std::string, std::vector<std::pair<double, double>>>& events, double threshold) {
  const int rec_col = windows.column("recording"), start_col = windows.column("window_start_s"),
            label_col = windows.column("label");
  if (rec_col < 0 || start_col < 0) return;
  std::map<std::string, std::vector<const std::vector<std::string>*>> by_recording;
  for (const auto& row : windows.rows) by_recording[row[static_cast<std::size_t>(rec_col)]].push_back(&row);
  std::size_t drawn = 0;
  for (const auto& [recording, rows] : by_recording) {
    if (drawn++ == kMaxTimelines) {
      page.paragraph(fmt::format("{} more recordings are in the CSV, not drawn.", by_recording.size() - kMaxTimelines));
      break;
    }
    std::vector<PlotSeries> series;
    const std::size_t first_class = classes.size() == 2 ? 1 : 0;  // binary: p(class 1) says it all
    for (std::size_t c = first_class; c < classes.size(); ++c) {
      const int col = windows.column(fmt::format("p_{}", c));
      if (col < 0) continue;
      PlotSeries s{"p(" + classes[c] + ")", {}, {}, {}};
      for (const auto* row : rows) {
        s.x.push_back(to_number((*row)[static_cast<std::size_t>(start_col)]));
        s.y.push_back(to_number((*row)[static_cast<std::size_t>(col)]));
      }
      series.push_back(std::move(s));
    }
    if (label_col >= 0 && classes.size() == 2) {
      PlotSeries truth{"true label", {}, {}, {}};
      for (const auto* row : rows) {
        const double label = to_number((*row)[static_cast<std::size_t>(label_col)]);
        if (!std::isfinite(label)) continue;
        truth.x.push_back(to_number((*row)[static_cast<std::size_t>(start_col)]));
        truth.y.push_back(label);
      }
      if (!truth.x.empty()) series.push_back(std::move(truth));
    }
    const auto it = events.find(recording);
    if (it != events.end() && !it->second.empty()) {
      PlotSeries ev{"detected events", {}, {}, {}};
      for (const auto& [onset, end] : it->second) {
        ev.x.insert(ev.x.end(), {onset, end, std::nan("")});
        ev.y.insert(ev.y.end(), {1.04, 1.04, std::nan("")});
      }
      series.push_back(std::move(ev));
    }
    if (series.empty()) continue;
    LinearAxes axes;
    axes.y_lo = 0;
    axes.y_hi = 1.08;
    axes.markers = rows.size() <= 40;
    PlotOptions o{recording, "window start (s)", "probability", "", 760, 300, {}};
    if (threshold > 0) o.reference_lines.push_back({threshold, fmt::format("threshold {:.2f}", threshold)});
    page.figure(svg_line_plot(series, o, axes), "Window probabilities of " + recording);
  }
}

void roc_pr_figures(Page& page, const Csv& windows, const std::vector<std::string>& classes) {
  const int label_col = windows.column("label");
  if (label_col < 0 || classes.size() < 2) return;
  std::vector<PlotSeries> roc_series, pr_series;
  const std::size_t first_class = classes.size() == 2 ? 1 : 0;
  for (std::size_t c = first_class; c < classes.size(); ++c) {
    const int col = windows.column(fmt::format("p_{}", c));
    if (col < 0) continue;
    std::vector<std::pair<double, int>> scored;
    for (const auto& row : windows.rows) {
      const double label = to_number(row[static_cast<std::size_t>(label_col)]);
      const double p = to_number(row[static_cast<std::size_t>(col)]);
      if (std::isfinite(label) && std::isfinite(p)) scored.emplace_back(p, static_cast<int>(label) == static_cast<int>(c));
    }
    if (scored.empty()) continue;
    const auto [roc, pr] = roc_and_pr(scored);
    const std::string name = classes.size() == 2 ? classes[c] : classes[c] + " vs rest";
    roc_series.push_back({name, roc.x, roc.y, {}});
    pr_series.push_back({name, pr.x, pr.y, {}});
  }
  if (roc_series.empty()) return;
  LinearAxes unit;
  unit.x_lo = unit.y_lo = 0;
  unit.x_hi = unit.y_hi = 1;
  unit.diagonal = true;
  page.figure(svg_line_plot(roc_series, {"ROC curve (test windows)", "false-positive rate", "true-positive rate", "",
                                         480, 420, {}}, unit),
              "ROC curve of the test windows; dashed: chance");
  unit.diagonal = false;
  page.figure(svg_line_plot(pr_series, {"Precision-recall (test windows)", "recall", "precision", "", 480, 420, {}},
                            unit),
              "Precision-recall curve of the test windows");
}

// Test metrics (windows and recordings, a baseline beside them), confusion matrix, ROC and PR curves
// and recording timelines: a fine-tuning run's test_metrics.json/test_predictions.csv or an
// evaluate folder's metrics.json/predictions.csv.
void evaluation_section(Page& page, const fs::path& metrics_path, const fs::path& predictions_path,
                        std::vector<std::string> classes, const std::string& baseline) {
  if (fs::exists(metrics_path)) {
    const auto metrics = read_json(metrics_path);
    page.heading("Test metrics", "metrics");
    std::string rows;
    for (const char* level : {"windows", "recordings"}) {
      if (metrics.contains(level)) rows += metrics_rows(level, metrics[level]);
    }
    page.body += "<table class=\"metrics\">\n<tr><th>level</th><th>metric</th><th>value</th></tr>\n" + rows + "</table>\n";
    if (!baseline.empty()) {
      auto b = read_json(baseline);
      if (b.contains("test")) b = b["test"];
      else if (b.contains("windows")) b = b["windows"];
      page.body += fmt::format("<h3>Baseline</h3>\n<p><code>{}</code></p>\n<table class=\"metrics baseline\">\n"
                               "<tr><th>level</th><th>metric</th><th>value</th></tr>\n{}</table>\n",
                               escape_html(baseline), metrics_rows("baseline", b));
    } else {
      page.paragraph("No baseline given: compare with <code>lumamba baseline</code> (band power + logistic "
                     "regression) on the same windows (<code>lumamba report RUN --baseline baseline.json</code>) "
                     "before trusting these numbers.");
    }
    if (metrics.contains("windows") && metrics["windows"].contains("confusion")) {
      std::vector<std::vector<double>> cm;
      for (const auto& row : metrics["windows"]["confusion"]) {
        cm.emplace_back();
        for (const auto& v : row) cm.back().push_back(v.get<double>());
      }
      while (classes.size() < cm.size()) classes.push_back(fmt::format("class {}", classes.size()));
      std::vector<std::string> names(classes.begin(), classes.begin() + static_cast<std::ptrdiff_t>(cm.size()));
      page.figure(svg_heat_map(names, names, cm, {"Confusion matrix (test windows)", "predicted class", "true class", "",
                                                  420, 360, {}}),
                  "Confusion matrix of the test windows: rows true, columns predicted");
    }
  }
  if (fs::exists(predictions_path)) {
    const auto windows = read_csv(predictions_path);
    roc_pr_figures(page, windows, classes);
    page.heading("Test recordings", "timelines");
    timeline_figures(page, windows, classes, {}, 0);
  }
}

// Markdown of lumamba's own reports (headings, paragraphs, list items, pipe tables) as HTML.
std::string markdown_to_html(const std::string& markdown) {
  std::string html;
  std::vector<std::string> table;
  const auto flush_table = [&] {
    if (table.empty()) return;
    html += "<table class=\"metrics\">\n";
    bool header = true;
    for (const auto& line : table) {
      if (line.find("---") != std::string::npos && line.find_first_not_of("|-: ") == std::string::npos) continue;
      std::vector<std::string> cells;
      std::string cell;
      std::istringstream ls(line.substr(1));
      while (std::getline(ls, cell, '|')) cells.push_back(cell);
      html += "<tr>";
      for (const auto& c : cells) {
        const auto b = c.find_first_not_of(' '), e = c.find_last_not_of(' ');
        html += fmt::format(header ? "<th>{}</th>" : "<td>{}</td>",
                            escape_html(b == std::string::npos ? "" : c.substr(b, e - b + 1)));
      }
      html += "</tr>\n";
      header = false;
    }
    html += "</table>\n";
    table.clear();
  };
  std::istringstream in(markdown);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '|') {
      table.push_back(line);
      continue;
    }
    flush_table();
    if (line.empty()) continue;
    if (line[0] == '#') {
      const auto level = std::min<std::size_t>(line.find_first_not_of('#'), 3);
      html += fmt::format("<h{0}>{1}</h{0}>\n", level + 1, escape_html(line.substr(line.find_first_not_of("# "))));
    } else if (line.rfind("- ", 0) == 0) {
      html += "<ul><li>" + escape_html(line.substr(2)) + "</li></ul>\n";
    } else {
      html += "<p>" + escape_html(line) + "</p>\n";
    }
  }
  flush_table();
  return html;
}

// Every *.svg the run wrote (benchmark, bench efficiency and probe plots), inline.
void svg_files_section(Page& page, const fs::path& dir, const std::string& heading) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".svg") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return;
  page.heading(heading, "figures");
  for (const auto& f : files) {
    page.figure(read_text_file(f.string(), "figure"), f.filename().string());
  }
}

// A CSV as an HTML table (bench efficiency's rows).
std::string csv_table(const Csv& csv) {
  std::string html = "<table class=\"metrics\">\n<tr>";
  for (const auto& h : csv.header) html += "<th>" + escape_html(h) + "</th>";
  html += "</tr>\n";
  for (const auto& row : csv.rows) {
    html += "<tr>";
    for (const auto& v : row) html += "<td>" + escape_html(v) + "</td>";
    html += "</tr>\n";
  }
  return html + "</table>\n";
}

void finetune_report(Page& page, const fs::path& dir, const std::string& baseline) {
  config_section(page, dir);
  json task;
  for (const char* name : {"best.safetensors", "last.safetensors"}) {
    const auto p = dir / "checkpoints" / name;
    if (!fs::exists(p)) continue;
    try {
      const auto meta = io::SafetensorsFile::open(p.string()).metadata();
      if (const auto it = meta.find("lumamba.task"); it != meta.end()) task = json::parse(it->second, nullptr, false);
    } catch (const Error&) {
    }
    break;
  }
  const auto lines = read_jsonl(dir / "metrics.jsonl");
  std::vector<json> epochs;
  for (const auto& l : lines) {
    if (!l.contains("kind") || l["kind"] == "epoch") epochs.push_back(l);
  }
  page.heading("Learning curves", "curves");
  page.paragraph(fmt::format("{} epochs in <code>metrics.jsonl</code>.", epochs.size()));
  epoch_figure(page, epochs, keys_matching(epochs, [](const std::string& k) { return ends_with(k, "_loss"); }),
               "Loss per epoch", "loss");
  epoch_figure(page, epochs,
               keys_matching(epochs, [](const std::string& k) { return starts_with(k, "val_") && !ends_with(k, "_loss"); }),
               "Validation metrics per epoch", "metric");
  epoch_figure(page, epochs, {"lr"}, "Learning rate at the end of each epoch", "learning rate");

  const int64_t k = task.is_object() && task.contains("n_classes") ? task["n_classes"].get<int64_t>() : 2;
  evaluation_section(page, dir / "test_metrics.json", dir / "test_predictions.csv", class_names_of(task, k), baseline);
}

void pretrain_report(Page& page, const fs::path& dir) {
  config_section(page, dir);
  const auto lines = read_jsonl(dir / "metrics.jsonl");
  std::vector<json> steps, epochs;
  for (const auto& l : lines) (l.value("kind", "") == "train" ? steps : epochs).push_back(l);
  page.heading("Learning curves", "curves");
  page.paragraph(fmt::format("{} logged steps and {} epochs in <code>metrics.jsonl</code>.", steps.size(), epochs.size()));
  if (!steps.empty()) {
    std::vector<PlotSeries> series;
    for (const auto& key : keys_matching(steps, [](const std::string& k) {
           return k == "loss" || k == "rec" || k == "sigreg" || k == "lejepa" || starts_with(k, "rec_");
         })) {
      PlotSeries s{key, {}, {}, {}};
      for (const auto& l : steps) {
        if (l.contains(key) && l.contains("step")) {
          s.x.push_back(l["step"].get<double>());
          s.y.push_back(l[key].get<double>());
        }
      }
      series.push_back(std::move(s));
    }
    if (!series.empty()) page.figure(svg_line_plot(series, {"Training loss per logged step", "step", "loss", "", 760, 380, {}},
                                                   {}),
                                     "Training loss per logged step");
  }
  epoch_figure(page, epochs, keys_matching(epochs, [](const std::string& k) { return ends_with(k, "_loss"); }),
               "Loss per epoch", "loss");
  epoch_figure(page, epochs, keys_matching(epochs, [](const std::string& k) {
                 return (starts_with(k, "train_") || starts_with(k, "val_")) && !ends_with(k, "_loss") &&
                        !ends_with(k, "_steps") && !ends_with(k, "_windows") && k.find("zero") == std::string::npos;
               }),
               "Loss components per epoch", "value");
  if (!epochs.empty()) {
    page.heading("Epochs", "epochs");
    std::string rows;
    for (const auto& e : epochs) {
      rows += fmt::format("<tr><td class=\"num\">{}</td><td class=\"num\" data-metric=\"epoch{}.train_loss\">{}</td>"
                          "<td class=\"num\" data-metric=\"epoch{}.val_loss\">{}</td></tr>\n",
                          format_value(e.value("epoch", json())), e.value("epoch", json()).dump(),
                          format_value(e.value("train_loss", json())), e.value("epoch", json()).dump(),
                          format_value(e.value("val_loss", json())));
    }
    page.body += "<table class=\"metrics\">\n<tr><th>epoch</th><th>train loss</th><th>val loss</th></tr>\n" + rows +
                 "</table>\n";
  }
}

void predict_report(Page& page, const fs::path& dir) {
  const auto p = read_json(dir / "predictions.json");
  const json task = p.value("task", json::object());
  const int64_t k = task.value("n_classes", int64_t{2});
  const auto classes = class_names_of(task, k);
  page.heading("Task and settings", "provenance");
  page.body += fmt::format("<table class=\"provenance\"><tr><th>task</th><td><code>{}</code></td></tr>"
                           "<tr><th>mode</th><td>{}</td></tr><tr><th>EEG</th><td data-metric=\"eeg_seconds\">{}</td></tr>"
                           "<tr><th>event options</th><td><code>{}</code></td></tr></table>\n",
                           escape_html(task.dump()), format_value(p.value("mode", json())),
                           format_value(p.value("eeg_seconds", json())),
                           escape_html(p.value("event_options", json()).dump()));
  page.heading("Recordings", "recordings");
  std::string rows;
  for (const auto& r : p.value("recordings", json::array())) {
    std::vector<std::string> means;
    for (const auto& m : r.value("mean_probabilities", json::array())) means.push_back(format_value(m));
    rows += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td>"
                        "<td class=\"num\">{}</td></tr>\n",
                        format_value(r.value("recording", json())), format_value(r.value("n_windows", json())),
                        format_value(r.value("eeg_seconds", json())), format_value(r.value("decision_name", json())),
                        fmt::join(means, " / "),
                        r.contains("events") ? format_value(r["events"].value("n_events", json())) : std::string("–"));
  }
  page.body += "<table class=\"metrics\">\n<tr><th>recording</th><th>windows</th><th>EEG (s)</th><th>decision</th>"
               "<th>mean probabilities</th><th>events</th></tr>\n" + rows + "</table>\n";
  std::map<std::string, std::vector<std::pair<double, double>>> events;
  if (fs::exists(dir / "events.csv")) {
    const auto csv = read_csv(dir / "events.csv");
    const int r = csv.column("recording"), o = csv.column("onset_s"), d = csv.column("duration_s");
    for (const auto& row : csv.rows) {
      const double onset = to_number(row[static_cast<std::size_t>(o)]);
      events[row[static_cast<std::size_t>(r)]].emplace_back(onset, onset + to_number(row[static_cast<std::size_t>(d)]));
    }
  }
  if (fs::exists(dir / "predictions.csv")) {
    page.heading("Window probabilities", "timelines");
    const double threshold = p.contains("event_options") ? p["event_options"].value("threshold", 0.0) : 0.0;
    timeline_figures(page, read_csv(dir / "predictions.csv"), classes, events, threshold);
  }
}

void evaluate_report(Page& page, const fs::path& dir, const std::string& baseline) {
  page.heading("Evaluation", "provenance");
  page.paragraph(fmt::format("<code>lumamba evaluate</code> output in <code>{}</code>.", escape_html(fs::absolute(dir).string())));
  const auto csv = read_csv(dir / "predictions.csv");
  int64_t k = 0;
  while (csv.column(fmt::format("p_{}", k)) >= 0) ++k;
  evaluation_section(page, dir / "metrics.json", dir / "predictions.csv", class_names_of(json(), std::max<int64_t>(k, 2)),
                     baseline);
}

void benchmark_report(Page& page, const fs::path& dir) {
  page.heading("Benchmark results", "results");
  page.body += markdown_to_html(read_text_file((dir / "results.md").string(), "run file"));
  svg_files_section(page, dir, "Figures");
}

void efficiency_report(Page& page, const fs::path& dir) {
  const auto j = read_json(dir / "efficiency.json");
  page.heading("Machine", "provenance");
  std::string rows;
  if (j.contains("machine")) {
    for (const auto& [key, value] : j["machine"].items()) {
      rows += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", escape_html(key), format_value(value));
    }
  }
  page.body += "<table class=\"provenance\">\n" + rows + "</table>\n";
  svg_files_section(page, dir, "Figures");
  if (fs::exists(dir / "efficiency.csv")) {
    page.heading("Trials", "trials");
    page.body += csv_table(read_csv(dir / "efficiency.csv"));
  }
}

void probe_report(Page& page, const fs::path& dir) {
  page.heading("Embedding probe", "probe");
  page.paragraph("Frozen-encoder embeddings against band powers (<code>lumamba probe</code>): the test embeddings "
                 "projected on their first two principal components, coloured by label and by subject.");
  svg_files_section(page, dir, "Embeddings in 2-D");
  page.body += "<details open><summary>probe.json</summary><pre>" +
               escape_html(read_json(dir / "probe.json").dump(2)) + "</pre></details>\n";
}

constexpr const char* kStyle = R"(body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#1a1a1a}
h1{font-size:1.5em}h2{margin-top:2em;border-bottom:1px solid #ccc}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f4f4f4}code,pre{font-size:.85em}pre{background:#f7f7f7;padding:1em;overflow:auto}
figure{margin:1.5em 0}figcaption{color:#555;font-size:.9em}svg{max-width:100%;height:auto}
.provenance td{word-break:break-all}.meta{color:#555})";

}  // namespace

ReportResult write_run_report(const std::string& run_dir, const std::string& output, const std::string& baseline) {
  const fs::path dir(run_dir);
  LUMAMBA_CHECK_INPUT(fs::is_directory(dir), "{}: not a folder (lumamba report takes a run folder)", run_dir);
  Page page;
  ReportResult result;
  if (fs::exists(dir / "predictions.json")) {
    result.kind = "predict";
    predict_report(page, dir);
  } else if (fs::exists(dir / "metrics.jsonl") && fs::exists(dir / "config.yaml")) {
    const auto lines = read_jsonl(dir / "metrics.jsonl");
    const bool pretraining = std::any_of(lines.begin(), lines.end(), [](const json& l) { return l.contains("kind"); });
    result.kind = pretraining ? "pretrain" : "finetune";
    if (pretraining) pretrain_report(page, dir);
    else finetune_report(page, dir, baseline);
  } else if (fs::exists(dir / "metrics.json") && fs::exists(dir / "predictions.csv")) {
    result.kind = "evaluate";
    evaluate_report(page, dir, baseline);
  } else if (fs::exists(dir / "results.json") && fs::exists(dir / "results.md")) {
    result.kind = "benchmark";
    benchmark_report(page, dir);
  } else if (fs::exists(dir / "efficiency.json")) {
    result.kind = "bench efficiency";
    efficiency_report(page, dir);
  } else if (fs::exists(dir / "probe.json")) {
    result.kind = "probe";
    probe_report(page, dir);
  } else {
    throw InputError(fmt::format("{}: not a run folder lumamba report reads (it looks for predictions.json of "
                                 "`predict`, config.yaml + metrics.jsonl of `finetune`/`pretrain`, metrics.json + "
                                 "predictions.csv of `evaluate`, results.json + results.md of `benchmark`, "
                                 "efficiency.json of `bench efficiency`, probe.json of `probe`)", run_dir));
  }
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  const std::string title = fmt::format("lumamba {} report — {}", result.kind, fs::absolute(dir).filename().string());
  const std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n<style>\n{1}\n"
      "</style>\n</head>\n<body>\n<h1>{0}</h1>\n<p class=\"meta\">Written {2} from the files in <code>{3}</code>; "
      "self-contained (no script, nothing fetched).</p>\n{4}</body>\n</html>\n",
      escape_html(title), kStyle, stamp, escape_html(fs::absolute(dir).string()), page.body);
  result.path = output.empty() ? (dir / "report.html").string() : output;
  result.n_figures = page.n_figures;
  write_text_file_atomic(result.path, html);
  return result;
}

}  // namespace lumamba::eval
