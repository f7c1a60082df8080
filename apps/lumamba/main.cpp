// lumamba — command-line entry point. Wires the subcommands together and maps errors to exit
// codes: 0 ok, 1 user input error, 2 usage error, 3 internal error. stdout is reserved for the
// commands' JSON output; logs and errors go to stderr.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "common.h"
#include "lumamba/core/blas.h"
#include "lumamba/core/error.h"
#include "lumamba/core/log.h"

int main(int argc, char** argv) {
  lumamba::reexec_with_fast_openblas_core(argv);  // before any BLAS call: OpenBLAS reads its core once
  CLI::App app{"lumamba — LuMamba EEG foundation model (C++/LibTorch)"};
  app.require_subcommand(1);
  lumamba::cli::RunFn run;
  lumamba::cli::add_info(app, run);
  lumamba::cli::add_forward(app, run);
  lumamba::cli::add_bench(app, run);
  lumamba::cli::add_preprocess(app, run);
  lumamba::cli::add_pretrain(app, run);
  lumamba::cli::add_finetune(app, run);
  lumamba::cli::add_evaluate(app, run);
  lumamba::cli::add_baseline(app, run);
  lumamba::cli::add_probe(app, run);
  lumamba::cli::add_predict(app, run);
  lumamba::cli::add_embed(app, run);
  lumamba::cli::add_benchmark(app, run);
  lumamba::cli::add_report(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return run();
  } catch (const lumamba::InputError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const lumamba::InternalError& e) {
    std::fprintf(stderr, "internal error (please report): %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  }
}
