// `lumamba probe`: what frozen encoder embeddings carry about a task and about the person, beside
// band powers of the same windows (library: lumamba/eval/embedding_probe.h).
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "common.h"
#include "lumamba/core/atomic_file.h"
#include "lumamba/core/log.h"
#include "lumamba/eval/embedding_probe.h"
#include "lumamba/eval/inference.h"

namespace lumamba::cli {

void add_probe(CLI::App& app, RunFn& run) {
  struct Args {
    CommonArgs common;
    std::vector<std::string> weights, overrides;
    std::string config_path, data, output, title = "LuMamba";
    eval::EmbeddingProbeOptions probe;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand(
      "probe", "what frozen encoder embeddings carry vs band powers: logistic and k-NN probes, subject "
               "identification, effective rank, PCA plots (train+val -> test windows)");
  sub->add_option("--weights", args->weights, "checkpoint(s) (pretrained or fine-tuned); later files override")
      ->required()->delimiter(',');
  sub->add_option("--config", args->config_path, "model config for weights without lumamba.config metadata");
  add_data_flag(*sub, args->data, "labelled HDF5 windows with splits train/val and test")->required();
  add_output_flag(*sub, args->output, "folder for probe.json, pca_by_label.svg, pca_by_subject.svg")
      ->required();
  sub->add_option("--C", args->probe.C, "inverse L2 strength of the logistic regressions (default 1)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--class-weights", args->probe.class_weights, "none | balanced (default; task probe)")
      ->check(CLI::IsMember({"none", "balanced"}));
  sub->add_option("--knn-k", args->probe.knn_k, "neighbours of the k-NN probe (default 10)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--batch", args->probe.batch_size, "windows per forward (default 64)")->check(CLI::PositiveNumber);
  sub->add_option("--title", args->title, "plot title prefix (default LuMamba)");
  sub->add_option("overrides", args->overrides, "model options key=value");
  add_common_flags(*sub, args->common);
  sub->callback([args, &run] {
    run = [args] {
      apply_common(args->common);
      auto loaded = eval::load_model(args->weights, args->config_path, args->overrides);
      data::DatasetOptions options;
      options.require_labels = true;
      const auto ds = data::WindowDataset::open({args->data}, options);
      const auto report = eval::probe_embeddings(loaded.net, ds, args->probe);
      const std::filesystem::path out(args->output);
      std::filesystem::create_directories(out);
      const auto json = report.to_json();
      write_text_file_atomic((out / "probe.json").string(), json + "\n");
      eval::write_embedding_plots(report, ds, (out / "pca_by_label.svg").string(),
                                  (out / "pca_by_subject.svg").string(), args->title);
      const auto line = [](const eval::FeatureProbe& p) {
        return fmt::format("{:<11} {:>5} {:>8.3f} {:>7.3f} {:>8.3f} {:>11.3f} {:>10.1f}", p.features, p.dim,
                           p.task.windows.balanced_accuracy, p.task.windows.auroc, p.knn_balanced_accuracy,
                           p.subject_id_accuracy, p.effective_rank);
      };
      fmt::print("features      dim  LR bal.  LR AUC  k-NN bal.  subject ID  eff. rank\n{}\n{}\n"
                 "({} train / {} test windows; subject identification over {} test subjects, chance {:.3f}; "
                 "PCA explains {:.1f} % + {:.1f} %)\n",
                 line(report.embedding), line(report.band_power), report.n_train, report.n_test,
                 report.subject_id_subjects,
                 report.subject_id_subjects > 0 ? 1.0 / static_cast<double>(report.subject_id_subjects) : 0.0,
                 100 * report.pca.explained[0], 100 * report.pca.explained[1]);
      log::info("wrote {}/probe.json, pca_by_label.svg, pca_by_subject.svg", args->output);
      return 0;
    };
  });
}

}  // namespace lumamba::cli
