// `lumamba benchmark` suites: reading (quick variant, task defaults, variables, errors), finding a
// task's recordings by subject, the TUH suite's plan on TUH-format fixture trees, and the
// interval plot. The whole quick suite end to end is a CLI test (tests/cli/test_cli.cpp).
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "lumamba/core/error.h"
#include "lumamba/core/svg_plot.h"
#include "lumamba/experiment/benchmark_suite.h"
#include "support/scratch.h"

namespace lumamba::experiment {
namespace {
namespace fs = std::filesystem;
using test::fresh_scratch_dir;

const std::string kSource = LUMAMBA_SOURCE_DIR;
const std::string kData = LUMAMBA_TEST_FIXTURES_DIR;

// Runs `body` with the repository root as working directory (suites name paths relative to it).
template <typename F>
void in_source_dir(F body) {
  const auto cwd = fs::current_path();
  fs::current_path(kSource);
  try {
    body();
  } catch (...) {
    fs::current_path(cwd);
    throw;
  }
  fs::current_path(cwd);
}

TEST(BenchmarkSuite, EegmmidbSuiteAndItsQuickVariant) {
  const auto path = kSource + "/configs/benchmark/eegmmidb.yaml";
  const auto full = load_benchmark_suite(path, false, {{"eegmmidb_root", "/data/x"}});
  ASSERT_EQ(full.tasks.size(), 3u);
  EXPECT_EQ(full.seeds, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(full.data_roots, (std::vector<std::string>{"data/eegmmidb_S001", "/data/x"}));
  const auto& imagined = full.tasks[0];
  EXPECT_EQ(imagined.name, "imagined_left_right");
  EXPECT_EQ(imagined.subject_pattern, "(S\\d{3})R");  // the suite's, as a default
  EXPECT_EQ(imagined.splits.split_of("S079"), "train");
  EXPECT_EQ(imagined.splits.split_of("S085"), "val");
  EXPECT_EQ(imagined.splits.split_of("S100"), "test");
  EXPECT_EQ(imagined.finetune, "configs/finetune/eegmmidb_movement.yaml");
  EXPECT_EQ(full.tasks[2].splits.split_of("S021"), "test");  // the task's own splits
  EXPECT_EQ(full.tasks[2].splits.split_of("S017"), "train");

  const auto quick = load_benchmark_suite(path, true);
  EXPECT_TRUE(quick.quick);
  EXPECT_EQ(quick.seeds, (std::vector<int64_t>{1}));
  EXPECT_EQ(quick.data_roots, (std::vector<std::string>{"data/eegmmidb_S001"}));
  EXPECT_EQ(quick.tasks[0].files, "S001R(03|07|11)\\.edf");
  for (const auto& t : quick.tasks) {
    EXPECT_EQ(t.splits.split_of("S001R03"), "train") << t.name;
    EXPECT_EQ(t.splits.split_of("S001R07"), "val") << t.name;
    EXPECT_EQ(t.splits.split_of("S001R11"), "test") << t.name;
  }

  // Pretraining: the three objectives on the training subjects only, each also as a linear probe;
  // the quick variant pretrains one objective for 10 steps on the bundled runs, without probes.
  ASSERT_EQ(full.pretrain.runs.size(), 3u);
  EXPECT_EQ(full.pretrain.runs[2].name, "mixed");
  EXPECT_EQ(full.pretrain.runs[2].config, "configs/pretrain/mixed.yaml");
  EXPECT_EQ(full.pretrain.presets.size(), 2u);
  EXPECT_EQ(full.pretrain.corpus.splits.split_of("S079"), "train");
  for (const char* held_out : {"S080", "S090", "S100"}) EXPECT_EQ(full.pretrain.corpus.splits.split_of(held_out), "");
  EXPECT_TRUE(full.linear_probe);
  ASSERT_EQ(quick.pretrain.runs.size(), 1u);
  EXPECT_EQ(quick.pretrain.runs[0].overrides.front(), "train.max_steps=10");
  EXPECT_EQ(quick.pretrain.corpus.splits.split_of("S001R13"), "train");
  EXPECT_FALSE(quick.linear_probe);
  EXPECT_EQ(full.few_shot_fractions, (std::vector<double>{0.1, 0.25, 0.5}));
  EXPECT_EQ(full.few_shot_variants, (std::vector<std::string>{"scratch", "mixed"}));
  EXPECT_TRUE(quick.few_shot_variants.empty());
}

TEST(BenchmarkSuite, FewShotSectionIsReadAndChecked) {
  const auto dir = fresh_scratch_dir("suite_few_shot");
  const auto load = [&](const std::string& few_shot) {
    std::ofstream(dir / "s.yaml") << "finetune: f.yaml\nsubject_pattern: '(S\\d{3})'\ndata_roots: [.]\n"
                                  << "tasks: [{name: a, input: x}]\nfew_shot: " << few_shot << "\n";
    return load_benchmark_suite((dir / "s.yaml").string(), false);
  };
  const auto suite = load("{fractions: [0.1, 0.25], variants: [scratch]}");
  EXPECT_EQ(suite.few_shot_fractions, (std::vector<double>{0.1, 0.25}));
  EXPECT_EQ(suite.few_shot_variants, (std::vector<std::string>{"scratch"}));
  for (const char* bad : {"{fractions: [1.0], variants: [scratch]}", "{fractions: [x], variants: [scratch]}",
                          "{fractions: [0.5]}", "{fractions: [0.5], variants: [scratch], seeds: 2}"}) {
    try {
      load(bad);
      ADD_FAILURE() << bad;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("few_shot"), std::string::npos) << bad << ": " << e.what();
    }
  }
}

TEST(BenchmarkSuite, PretrainSectionErrorsNameTheKey) {
  const auto dir = fresh_scratch_dir("suite_bad_pretrain");
  const auto message = [&](const std::string& pretrain, const std::string& extra = "") {
    std::ofstream(dir / "s.yaml") << "finetune: f.yaml\nsubject_pattern: '(S\\d{3})'\ndata_roots: [.]\n" << extra
                                  << "tasks: [{name: a, input: x}]\npretrain: " << pretrain << "\n";
    try {
      load_benchmark_suite((dir / "s.yaml").string(), false);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string corpus = "files: 'x', subjects: [S001, S002], preprocess: [p.yaml]";
  EXPECT_EQ(message("{" + corpus + ", runs: [{name: m, config: c.yaml}]}"), "no error");
  EXPECT_NE(message("{" + corpus + "}").find("'runs'"), std::string::npos);
  EXPECT_NE(message("{" + corpus + ", runs: [{name: scratch, config: c.yaml}]}").find("'scratch'"), std::string::npos);
  EXPECT_NE(message("{" + corpus + ", runs: [{name: m, config: c.yaml}, {name: m, config: d.yaml}]}").find("unique"),
            std::string::npos);
  EXPECT_NE(message("{" + corpus + ", runs: [{name: m, config: c.yaml, steps: 3}]}").find("unknown key 'steps'"),
            std::string::npos);
  EXPECT_NE(message("{files: 'x', subjects: [S002, S001], preprocess: [p.yaml], runs: [{name: m, config: c.yaml}]}")
                .find("first <= last"),
            std::string::npos);
  EXPECT_NE(message("{" + corpus + ", runs: [{name: m, config: c.yaml}]}", "inits: {m: w.safetensors}\n")
                .find("both an init and a pretraining run"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(BenchmarkSuite, BadSuitesAreClearErrors) {
  const auto dir = fresh_scratch_dir("suite_bad");
  const auto write = [&](const std::string& text) {
    std::ofstream(dir / "s.yaml") << text;
    return (dir / "s.yaml").string();
  };
  const std::string ok_task = "tasks: [{name: a, input: x, preprocess: tuab}]\n";
  const auto message = [&](const std::string& text, const std::map<std::string, std::string>& vars = {}) {
    try {
      load_benchmark_suite(write(text), false, vars);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("finetune: f.yaml\nseedz: [1]\n" + ok_task).find("unknown key 'seedz'"), std::string::npos);
  EXPECT_NE(message(ok_task).find("'finetune'"), std::string::npos);
  EXPECT_NE(message("finetune: f.yaml\ntasks: [{name: a, input: '${root}'}]\n").find("${root}"), std::string::npos);
  EXPECT_NE(message("finetune: f.yaml\n" + ok_task, {{"root", "/x"}}).find("no variable 'root'"), std::string::npos);
  EXPECT_NE(message("finetune: f.yaml\ntasks: [{name: a, files: 'x', subject_pattern: 'S', splits: {train: [b, a], "
                    "test: [c, d]}}]\ndata_roots: [.]\n")
                .find("first <= last"),
            std::string::npos);
  EXPECT_NE(message("finetune: f.yaml\ntasks: [{name: a}]\n").find("either 'input' or 'files'"), std::string::npos);
  fs::remove_all(dir);
}

TEST(BenchmarkSuite, RecordingsAreSplitBySubjectNeverByFile) {
  const auto dir = fresh_scratch_dir("suite_recordings");
  for (int s = 1; s <= 100; ++s) {
    fs::create_directories(dir / fmt::format("S{:03d}", s));
    for (const int r : {3, 4, 8, 12}) std::ofstream(dir / fmt::format("S{:03d}", s) / fmt::format("S{:03d}R{:02d}.edf", s, r)) << "x";
  }
  auto suite = load_benchmark_suite(kSource + "/configs/benchmark/eegmmidb.yaml", false,
                                    {{"eegmmidb_root", dir.string()}});
  suite.data_roots = {dir.string()};
  const auto rec = find_task_recordings(suite, suite.tasks[0]);  // R04, R08, R12 of S001-S100
  EXPECT_EQ(rec.n_files, 300);
  EXPECT_EQ(rec.n_left_out, 0);
  EXPECT_EQ(rec.files_per_split.at("train"), 79 * 3);
  EXPECT_EQ(rec.files_per_split.at("val"), 10 * 3);
  EXPECT_EQ(rec.files_per_split.at("test"), 11 * 3);
  std::map<std::string, std::set<std::string>> splits_of;
  std::istringstream lines(rec.manifest_csv);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "file,label,subject,split");
  while (std::getline(lines, line)) {
    const auto subject = line.substr(line.find(",,") + 2, 4);
    splits_of[subject].insert(line.substr(line.rfind(',') + 1));
    EXPECT_NE(line.find("/" + subject + "R"), std::string::npos) << line;
  }
  EXPECT_EQ(splits_of.size(), 100u);
  for (const auto& [subject, splits] : splits_of) EXPECT_EQ(splits.size(), 1u) << subject;
  // Executed runs (R03): the task's own splits; subjects beyond its last range are left out.
  const auto executed = find_task_recordings(suite, suite.tasks[2]);
  EXPECT_EQ(executed.n_files, 100);
  EXPECT_EQ(executed.files_per_split.at("train"), 17);
  EXPECT_EQ(executed.files_per_split.at("val"), 3);
  EXPECT_EQ(executed.files_per_split.at("test"), 22);  // S021-S042 here (the real data has 6 of them)
  EXPECT_EQ(executed.n_left_out, 58);
  fs::remove_all(dir);
}

TEST(BenchmarkSuite, TuhSuitePlansOnFixtureTrees) {
  // TUH-format trees made of the bundled TUH fixture recordings: the plan (dry run) must show the
  // presets' labels and splits: TUAB eval -> test, train subjects -> train/val.
  const auto dir = fresh_scratch_dir("suite_tuh");
  const std::vector<std::string> patients = {"aaaaaool", "aaaaahln", "aaaaaaaa", "aaaaaaab", "aaaaaaac"};
  for (size_t i = 0; i < patients.size(); ++i) {
    for (const auto* sub : {"train/normal/01_tcp_ar", "train/abnormal/01_tcp_ar", "eval/normal/01_tcp_ar"}) {
      if (std::string(sub).rfind("eval", 0) == 0 && i > 1) continue;
      fs::create_directories(dir / "tuab" / sub);
      fs::copy_file(kData + "/edf/aaaaaool_s001_t000.edf", dir / "tuab" / sub / (patients[i] + "_s001_t000.edf"));
    }
  }
  fs::create_directories(dir / "tuar" / "01_tcp_ar");
  fs::create_directories(dir / "tusl");
  for (const auto& p : {"aaaaaool_s001_t000", "aaaaahln_s001_t000"}) {
    fs::copy_file(kData + "/edf/" + p + ".edf", dir / "tuar" / "01_tcp_ar" / (std::string(p) + ".edf"));
    fs::copy_file(kData + "/tuh/" + p + ".csv_bi", dir / "tuar" / "01_tcp_ar" / (std::string(p) + ".csv_bi"));
    fs::copy_file(kData + "/edf/" + p + ".edf", dir / "tusl" / (std::string(p) + ".edf"));
  }
  in_source_dir([&] {
    const auto suite = load_benchmark_suite("configs/benchmark/tuh.yaml", false,
                                            {{"tuab_root", (dir / "tuab").string()},
                                             {"tuar_root", (dir / "tuar").string()},
                                             {"tusl_root", (dir / "tusl").string()}});
    ASSERT_EQ(suite.tasks.size(), 3u);
    EXPECT_EQ(suite.tasks[1].finetune, "configs/finetune/tuar.yaml");
    BenchmarkOptions options;
    options.output_dir = (dir / "out").string();
    options.dry_run = true;
    const auto plan = nlohmann::json::parse(run_benchmark_suite(suite, options));
    ASSERT_EQ(plan.size(), 3u);
    const auto& tuab = plan[0]["recordings"];
    EXPECT_EQ(tuab["test"], 2);                                   // eval/ of 2 patients
    EXPECT_EQ(tuab.value("train", 0) + tuab.value("val", 0), 10);  // 5 patients x normal/abnormal
    EXPECT_EQ(tuab.value("val", 0), 2);                           // 20 % of 5 patients, both of their files
    EXPECT_EQ(plan[0]["runs"], 3);                                // scratch x 3 seeds
    int64_t n_tuar = 0;
    for (const auto& [split, n] : plan[1]["recordings"].items()) n_tuar += n.get<int64_t>();
    EXPECT_EQ(n_tuar, 2);
  });
  fs::remove_all(dir);
}

TEST(SvgIntervalPlot, OneMarkerPerPresentValueAndBarsForSpread) {
  const std::vector<IntervalSeries> series = {{"baseline", {0.7, 0.8}, {0.0, 0.0}},
                                              {"model", {0.6, NAN}, {0.05, 0.0}}};
  PlotOptions options;
  options.title = "t";
  const auto svg = svg_interval_plot({"bal. acc.", "AUROC"}, series, options, 0.0, 1.0);
  const auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = svg.find(needle); at != std::string::npos; at = svg.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("class=\"marker\""), 3u);  // the missing AUROC of "model" is not drawn
  EXPECT_EQ(count("class=\"errorbar\""), 1u);
  EXPECT_EQ(count("class=\"xtick\""), 2u);
  EXPECT_THROW(svg_interval_plot({"a"}, series, options, 0.0, 1.0), InputError);
}

}  // namespace
}  // namespace lumamba::experiment
