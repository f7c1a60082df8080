// bench_scan — Google Benchmark of the selective scan: fused CPU kernel vs reference loop, forward
// and backward, B = 8, Di = 768, N = 16 (LuMamba-Tiny), L in {32, 256, 1024, 4096}. Inputs and
// operations come from lumamba/bench/bench_scan.h (the same code as `lumamba bench scan`); each
// iteration is timed by the shared harness (bench_harness.h) and reported as manual time.
// Threads: --threads=N (default 1), printed in the context. Example:
//   build/bench/bench_scan --benchmark_filter=fused --threads=2
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "lumamba/core/blas.h"
#include "lumamba/bench/bench_harness.h"
#include "lumamba/bench/bench_scan.h"
#include "lumamba/model/kernels/selective_scan_cpu.h"

namespace {

using lumamba::bench::ScanBenchCase;
using lumamba::bench::ScanBenchOptions;

constexpr int64_t kBatch = 8, kDInner = 768, kDState = 16;

/// One case per L, built (and checked against the loop) once.
ScanBenchCase& case_for(int64_t seq_len) {
  static std::map<int64_t, std::unique_ptr<ScanBenchCase>> cases;
  auto& c = cases[seq_len];
  if (!c) {
    ScanBenchOptions o;
    o.seq_len = seq_len;
    o.batch = kBatch;
    o.d_inner = kDInner;
    o.d_state = kDState;
    c = std::make_unique<ScanBenchCase>(o);
  }
  return *c;
}

void set_counters(benchmark::State& state, int64_t seq_len) {
  // State updates h[b, d, n] per second: B·Di·L·N per call.
  state.counters["updates_per_s"] = benchmark::Counter(static_cast<double>(kBatch * kDInner * seq_len * kDState),
                                                       benchmark::Counter::kIsIterationInvariantRate);
}

void run_forward(benchmark::State& state, bool fused) {
  const int64_t seq_len = state.range(0);
  auto& c = case_for(seq_len);
  for (auto _ : state) {
    c.reset();
    state.SetIterationTime(lumamba::bench::time_ms([&] { c.forward(fused); }) * 1e-3);
  }
  c.reset();
  set_counters(state, seq_len);
}

void run_backward(benchmark::State& state, bool fused) {
  const int64_t seq_len = state.range(0);
  auto& c = case_for(seq_len);
  for (auto _ : state) {
    c.reset();
    c.forward(fused);  // untimed: the backward needs its graph
    state.SetIterationTime(lumamba::bench::time_ms([&] { c.backward(); }) * 1e-3);
  }
  c.reset();
  set_counters(state, seq_len);
}

void BM_ScanFusedForward(benchmark::State& state) { run_forward(state, true); }
void BM_ScanFusedBackward(benchmark::State& state) { run_backward(state, true); }
void BM_ScanLoopForward(benchmark::State& state) { run_forward(state, false); }
void BM_ScanLoopBackward(benchmark::State& state) { run_backward(state, false); }

void fused_args(benchmark::internal::Benchmark* b) {
  for (int64_t l : {32, 256, 1024, 4096}) b->Arg(l);
  b->UseManualTime()->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);
}
void loop_args(benchmark::internal::Benchmark* b) {
  for (int64_t l : {32, 256, 1024}) b->Arg(l);
  b->UseManualTime()->Unit(benchmark::kMillisecond)->Repetitions(3)->ReportAggregatesOnly(true);
}
// The loop at L = 4096 takes seconds per call: one iteration, one repetition.
void loop_long_args(benchmark::internal::Benchmark* b) {
  b->Arg(4096)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond)->Repetitions(1);
}

BENCHMARK(BM_ScanFusedForward)->Apply(fused_args);
BENCHMARK(BM_ScanFusedBackward)->Apply(fused_args);
BENCHMARK(BM_ScanLoopForward)->Apply(loop_args);
BENCHMARK(BM_ScanLoopBackward)->Apply(loop_args);
BENCHMARK(BM_ScanLoopForward)->Name("BM_ScanLoopForward_long")->Apply(loop_long_args);
BENCHMARK(BM_ScanLoopBackward)->Name("BM_ScanLoopBackward_long")->Apply(loop_long_args);

}  // namespace

int main(int argc, char** argv) {
  lumamba::reexec_with_fast_openblas_core(argv);  // before any BLAS call (lumamba/core/blas.h)
  // --threads=N is ours (pinned before anything runs, docs/style.md §11); the rest goes to Google Benchmark.
  int n_threads = 1;
  int out_argc = 0;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) n_threads = std::atoi(argv[i] + 10);
    else argv[out_argc++] = argv[i];
  }
  at::set_num_threads(n_threads);
  benchmark::AddCustomContext("threads", std::to_string(at::get_num_threads()));
  benchmark::AddCustomContext("scan_isa", lumamba::model::fused_scan_isa());
  {
    // Check before timing: fused vs loop on a short case of the benchmarked shape.
    ScanBenchOptions o;
    o.seq_len = 64;
    o.batch = 2;
    o.d_inner = kDInner;
    const double err = ScanBenchCase(o).check_against_loop();
    benchmark::AddCustomContext("check_rel_err", std::to_string(err));
    if (!(err < 1e-4)) {
      std::fprintf(stderr, "bench_scan: fused scan disagrees with the loop (rel err %g)\n", err);
      return 1;
    }
  }
  benchmark::Initialize(&out_argc, argv);
  if (benchmark::ReportUnrecognizedArguments(out_argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
