// Whole-model benchmark (lumamba/bench/bench_model.h): LuMamba inference and fine-tuning step on
// random (B, C, T) windows, GFLOP/s from count_macs (flops.h) next to SGEMM GFLOP/s measured in the
// same run, peak RSS of the training phase, and a stage-by-stage profile of the forward.
// Legend: B batch, C channels, T samples, P patch_size, S = T/P patches, E embed_dim, Q num_queries,
// D = Q·E, Di d_inner.
#include "lumamba/model/runtime.h"
#include "lumamba/bench/bench_model.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "lumamba/core/blas.h"
#include "lumamba/core/compat.h"
#include "lumamba/core/error.h"
#include "lumamba/bench/memory.h"
#include "lumamba/core/log.h"
#include "lumamba/model/fmt_shape.h"

namespace lumamba::bench {
namespace {

/// Batched vs single-sample logits of sample 0: float32 GEMMs of different M may block (and so
/// round) differently, nothing more; a real batch-mixing bug gives O(1) differences.
constexpr double kBatchCheckRelTol = 1e-4;
/// SGEMM calls per round of the interleaved measurement (each is short next to a forward).
constexpr int kSgemmPerRound = 3;

double ratio(double num, double den) { return den > 0.0 ? num / den : 0.0; }


double max_rel_diff(const torch::Tensor& a, const torch::Tensor& ref) {
  const double scale = ref.abs().max().item<double>();
  return ratio((a - ref).abs().max().item<double>(), scale);
}

/// The model's inputs: random windows on a fixed random montage (same for every sample).
struct ModelInputs {
  torch::Tensor signal;     // (B, C, T)
  torch::Tensor locations;  // (B, C, 3) metres
  torch::Tensor no_mask;    // (B, C, T) all false: fine-tuning passes it (docs/reference-model.md §2)
  torch::Tensor labels;     // (B,) int64 classes
};

ModelInputs make_inputs(const ModelBenchOptions& o) {
  ModelInputs in;
  in.signal = torch::randn({o.batch, o.n_channels, o.n_samples});
  // Electrodes scattered over a 20 cm cube around the head centre.
  auto montage = torch::rand({1, o.n_channels, 3}) * 0.2 - 0.1;  // (1, C, 3)
  in.locations = montage.expand({o.batch, o.n_channels, 3}).contiguous();
  in.no_mask = torch::zeros({o.batch, o.n_channels, o.n_samples}, torch::kBool);
  in.labels = torch::randint(0, std::max<int64_t>(1, o.model.num_classes()), {o.batch}, torch::kLong);
  return in;
}

}  // namespace

std::vector<StageTiming> profile_forward_stages(model::LuMamba& model, const torch::Tensor& signal,
                                                const torch::Tensor& locations, const BenchPlan& plan) {
  // Replays LuMambaImpl::encode + head (lumamba.cpp prepare_tokens / run_encoder, no mask): keep
  // the two in step when either changes.
  torch::NoGradGuard no_grad;
  model->eval();
  const auto& o = model->options;
  const int64_t b = signal.size(0), c = signal.size(1), s = signal.size(2) / o.patch_size();
  const int64_t e = o.embed_dim();
  std::vector<StageTiming> stages;
  auto time_stage = [&](const std::string& name, const std::function<void()>& fn) {
    stages.push_back({name, measure(fn, plan)});
  };
  torch::Tensor patch, freq, features, loc_emb, tokens, queries, encoded;
  time_stage("patch_embed", [&] { patch = model->patch_embed->forward(signal); });  // (B, C·S, E)
  time_stage("freq_embed", [&] { freq = model->freq_embed->forward(signal, nullptr); });
  // The two halves of freq_embed: FFT magnitude/phase features, then the Mlp.
  auto patches = signal.reshape({b, c, s, o.patch_size()});
  time_stage("freq_embed.fft_features", [&] { features = model::functional::fft_features(patches); });
  time_stage("freq_embed.mlp", [&] { model->freq_embed->frequency_to_embed->forward(features); });
  time_stage("location_embed", [&] {
    auto nerf = model::functional::nerf_positional_encoding(model::functional::normalize_locations(locations), e);  // (B, C, E)
    loc_emb = (*model->channel_location_embedder)[0]->as<model::Mlp>()->forward(nerf);
  });
  time_stage("token_regroup", [&] {
    // Token sum plus the per-sample location embedding broadcast over S, regrouped
    // (B, C, S, E) -> (B·S, C, E) (the default, non-quirk path of prepare_tokens).
    auto with_location = (patch + freq).view({b, c, s, e}) + loc_emb.unsqueeze(2);
    tokens = with_location.transpose(1, 2).reshape({b * s, c, e});
  });
  time_stage("cross_attn", [&] { queries = model->cross_attn->forward(tokens, nullptr).queries; });
  {
    // The parts of CrossAttentionBlockImpl::forward (luna.cpp), replayed.
    auto& xa = *model->cross_attn;
    const int64_t rows = tokens.size(0);
    torch::Tensor keys, values, attn_out, ffn_out;
    time_stage("cross_attn.kv_norm", [&] {
      keys = xa.keys_norm->forward(tokens);
      values = xa.values_norm->forward(tokens);
    });
    time_stage("cross_attn.attention", [&] {
      auto q = xa.queries_norm->forward(xa.query_embed).expand({rows, xa.num_queries, xa.embed_dim});
      attn_out = xa.cross_attention->forward(q, keys, values).output;
    });
    time_stage("cross_attn.ffn", [&] { ffn_out = xa.ffn->forward(attn_out) + attn_out; });
    time_stage("cross_attn.query_self_attn", [&] {
      auto y = ffn_out;
      for (const auto& layer : *xa.query_self_attn->layers) y = layer->as<model::TransformerEncoderLayer>()->forward(y);
    });
  }
  {
    // One Mamba direction of block 0, and its selective scan alone (the rest is GEMMs, conv, SiLU).
    auto x = queries.reshape({b, s, o.d_model()});
    auto normed = model->norm_layers[0]->as<torch::nn::LayerNorm>()->forward(x);
    auto& mamba = *model->mamba_blocks[0]->as<model::MambaWrapper>()->mamba_fwd;
    time_stage("mamba_blocks.one_direction", [&] { mamba.forward(normed); });
  }
  time_stage("mamba_blocks", [&] {
    auto x = queries.reshape({b, s, o.d_model()});  // (B, S, D)
    for (int64_t i = 0; i < o.num_blocks(); ++i) {
      auto normed = model->norm_layers[i]->as<torch::nn::LayerNorm>()->forward(x);
      x = x + model->mamba_blocks[i]->as<model::MambaWrapper>()->forward(normed, nullptr, "");
    }
    encoded = x;
  });
  time_stage("head", [&] {
    if (model->luna_classifier) model->luna_classifier->forward(encoded, nullptr);
    else if (model->mamba_classifier) model->mamba_classifier->forward(encoded);
    else if (model->linear_classifier) model->linear_classifier->forward(encoded);
  });
  return stages;
}

ModelBenchResult run_model_bench(const ModelBenchOptions& o) {
  LUMAMBA_CHECK_INPUT(o.batch >= 1 && o.n_channels >= 1, "bench model: --batch and --channels must be >= 1, got {} and {}",
                      o.batch, o.n_channels);
  LUMAMBA_CHECK_INPUT(o.n_samples >= o.model.patch_size() && o.n_samples % o.model.patch_size() == 0,
                      "bench model: --seq-len must be a positive multiple of patch_size = {} samples, got {}",
                      o.model.patch_size(), o.n_samples);
  LUMAMBA_CHECK_INPUT(o.sgemm_size >= 1, "bench model: --sgemm-size must be >= 1, got {}", o.sgemm_size);
  LUMAMBA_CHECK_INPUT(!o.train || o.model.num_classes() > 0,
                      "bench model: the training step needs a classification model (num_classes > 0)");
  ModelBenchResult res;
  res.options = o;
  res.n_threads = at::get_num_threads();
  res.blas = describe_blas(detect_blas());
  res.macs = model::count_macs(o.model, o.n_channels, o.n_samples);

  torch::manual_seed(0);
  model::LuMamba model(o.model);
  const auto in = make_inputs(o);

  {
    // Check first (docs/style.md §18): sample 0 of the batch gives the logits it gives alone.
    torch::NoGradGuard no_grad;
    model->eval();
    auto batched = model->forward(in.signal, in.locations).logits;  // (B, classes)
    auto alone = model->forward(in.signal.narrow(0, 0, 1), in.locations.narrow(0, 0, 1)).logits;
    res.check_rel_err = max_rel_diff(batched.narrow(0, 0, 1), alone);
    LUMAMBA_CHECK(std::isfinite(res.check_rel_err) && res.check_rel_err <= kBatchCheckRelTol,
                  "bench model: batched logits differ from single-sample ones (rel err {:.3e} > {:.0e})",
                  res.check_rel_err, kBatchCheckRelTol);
  }

  if (o.train) {
    model->train();
    torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-4).weight_decay(0.05));
    auto step = [&] {
      optimizer.zero_grad();
      auto logits = model->forward(in.signal, in.locations, in.no_mask).logits;  // (B, classes)
      auto loss = torch::nn::functional::cross_entropy(logits, in.labels);
      loss.backward();
      optimizer.step();
      res.train_loss = loss.item<double>();
    };
    // Peak RSS of the training phase only: drop what the check left in the allocator's caches, reset
    // the kernel's high-water mark, run the steps (warm-up included: the first AdamW step allocates
    // the moments), read VmHWM.
    const bool reset = reset_peak_resident_memory();
    const auto before = read_resident_memory();
    res.train_step = measure(step, o.train_plan);
    const auto after = read_resident_memory();
    res.peak_rss_mib = after.peak_mib();
    res.rss_before_train_mib = before.rss_mib();
    res.peak_rss_method = reset ? "VmHWM after allocator release + writing 5 to /proc/self/clear_refs"
                                : "VmHWM since process start (clear_refs not writable)";
    if (!reset) log::warn("bench model: cannot reset VmHWM; peak_rss_mib includes the earlier phases");
    LUMAMBA_CHECK(std::isfinite(res.train_loss), "bench model: training loss is not finite ({})", res.train_loss);
    optimizer.zero_grad();
  }

  // Inference interleaved with the SGEMMs round by round (measure_interleaved): the fraction of
  // SGEMM speed compares calls made under the same machine conditions.
  model->eval();
  const int64_t n = o.sgemm_size;
  auto sgemm_a = torch::randn({n, n}), sgemm_b = torch::randn({n, n}), sgemm_out = torch::empty({n, n});
  // The Mamba in_proj product, x (B·S, D) · Wᵀ with W (2·Di, D): the model's largest GEMM.
  const auto mamba = o.model.encoder_mamba();
  res.model_gemm_m = o.batch * (o.n_samples / o.model.patch_size());
  res.model_gemm_k = mamba.d_model();
  res.model_gemm_n = 2 * mamba.d_inner();
  auto gemm_x = torch::randn({res.model_gemm_m, res.model_gemm_k});
  auto gemm_w = torch::randn({res.model_gemm_n, res.model_gemm_k});
  auto gemm_out = torch::empty({res.model_gemm_m, res.model_gemm_n});
  auto forward = [&] {
    torch::NoGradGuard no_grad;
    model->forward(in.signal, in.locations);
  };
  std::vector<BenchItem> items = {
      {forward, {}, 1, o.inference_plan.budget_s},
      {[&] { torch::mm_out(sgemm_out, sgemm_a, sgemm_b); }, {}, kSgemmPerRound, 0.0},
      {[&] { torch::mm_out(gemm_out, gemm_x, gemm_w.t()); }, {}, kSgemmPerRound, 0.0},
  };
  const auto t = measure_interleaved(items, std::max(1, o.inference_plan.warmup),
                                     std::max(1, o.inference_plan.repetitions));
  res.inference = t[0];
  res.sgemm = t[1];
  res.sgemm_model_shape = t[2];

  if (o.profile_stages) res.stages = profile_forward_stages(model, in.signal, in.locations, o.stage_plan);
  return res;
}

namespace {

double gflops_per_s(double macs, double ms) { return ratio(2.0 * macs, ms * 1e6); }

struct Derived {
  double windows_per_s, model_gflops, sgemm_gflops, model_shape_gflops, train_samples_per_s;
};

Derived derive(const ModelBenchResult& r) {
  const auto& o = r.options;
  const double macs_per_batch = static_cast<double>(r.macs.total()) * static_cast<double>(o.batch);
  const double n = static_cast<double>(o.sgemm_size);
  Derived d{};
  d.windows_per_s = ratio(static_cast<double>(o.batch) * 1e3, r.inference.median_ms);
  d.model_gflops = gflops_per_s(macs_per_batch, r.inference.median_ms);
  d.sgemm_gflops = gflops_per_s(n * n * n, r.sgemm.median_ms);
  d.model_shape_gflops = gflops_per_s(static_cast<double>(r.model_gemm_m * r.model_gemm_k * r.model_gemm_n),
                                      r.sgemm_model_shape.median_ms);
  d.train_samples_per_s = ratio(static_cast<double>(o.batch) * 1e3, r.train_step.median_ms);
  return d;
}

}  // namespace

std::string model_bench_to_json(const ModelBenchResult& r) {
  const auto& o = r.options;
  const auto d = derive(r);
  nlohmann::ordered_json j;
  j["windows_per_s"] = d.windows_per_s;
  j["model_gflops_per_s"] = d.model_gflops;
  j["sgemm_gflops_per_s"] = d.sgemm_gflops;
  j["sgemm_size"] = fmt::format("{0}x{0}x{0}", o.sgemm_size);
  j["model_fraction_of_sgemm"] = ratio(d.model_gflops, d.sgemm_gflops);
  if (o.train) {
    j["train_samples_per_s"] = d.train_samples_per_s;
    j["peak_rss_mib"] = r.peak_rss_mib;
  } else {
    j["train_samples_per_s"] = nullptr;
    j["peak_rss_mib"] = nullptr;
  }
  j["forward_ms"] = r.inference.median_ms;
  j["forward_min_ms"] = r.inference.min_ms;
  j["forward_repetitions"] = r.inference.repetitions;
  if (o.train) {
    j["train_step_ms"] = r.train_step.median_ms;
    j["train_step_min_ms"] = r.train_step.min_ms;
    j["train_repetitions"] = r.train_step.repetitions;
    // Backward ≈ 2 forwards of MACs (weight and input gradients), so a step ≈ 3 forwards.
    j["train_gflops_per_s_estimate"] =
        gflops_per_s(3.0 * static_cast<double>(r.macs.total()) * static_cast<double>(o.batch), r.train_step.median_ms);
    j["train_loss"] = r.train_loss;
    j["rss_before_train_mib"] = r.rss_before_train_mib;
    j["peak_rss_method"] = r.peak_rss_method;
  }
  j["sgemm_ms"] = r.sgemm.median_ms;
  j["sgemm_model_shape"] = fmt::format("{}x{}x{}", r.model_gemm_m, r.model_gemm_k, r.model_gemm_n);
  j["sgemm_model_shape_gflops_per_s"] = d.model_shape_gflops;
  j["model_fraction_of_model_shape_sgemm"] = ratio(d.model_gflops, d.model_shape_gflops);
  j["macs_per_window"] = r.macs.total();
  nlohmann::ordered_json parts;
  for (const auto& [name, macs] : r.macs.parts) parts[name] = macs;
  j["macs_per_window_by_module"] = parts;
  if (!r.stages.empty()) {
    nlohmann::ordered_json stages;
    for (const auto& s : r.stages) stages[s.name] = s.timing.median_ms;
    j["stages_ms"] = stages;
  }
  j["batch"] = o.batch;
  j["channels"] = o.n_channels;
  j["seq_len"] = o.n_samples;
  j["n_patches"] = o.n_samples / o.model.patch_size();
  j["num_classes"] = o.model.num_classes();
  j["classifier_option"] = o.model.classifier_option();
  j["threads"] = r.n_threads;
  j["blas"] = r.blas;
  j["cpu"] = model::cpu_model_name();
  j["torch_version"] = compat::torch_version();
  j["check_rel_err"] = r.check_rel_err;
  return j.dump();
}

std::string model_bench_to_text(const ModelBenchResult& r) {
  const auto& o = r.options;
  const auto d = derive(r);
  std::string s = fmt::format("LuMamba B={} C={} T={} (S={}) head={}/{} threads={}\n  {}\n", o.batch, o.n_channels,
                              o.n_samples, o.n_samples / o.model.patch_size(), o.model.classifier_option(),
                              o.model.num_classes(), r.n_threads, r.blas);
  s += fmt::format("  {:<34} {:>12}\n", "measure", "value");
  s += fmt::format("  {:<34} {:>12.2f}   ({:.2f} ms per batch, median of {})\n", "inference windows/s",
                   d.windows_per_s, r.inference.median_ms, r.inference.repetitions);
  s += fmt::format("  {:<34} {:>12.1f}   ({:.3f} GMAC per window)\n", "model GFLOP/s", d.model_gflops,
                   static_cast<double>(r.macs.total()) * 1e-9);
  s += fmt::format("  {:<34} {:>12.1f}   ({}³; model at {:.0f} % of it)\n", "SGEMM GFLOP/s", d.sgemm_gflops,
                   o.sgemm_size, 100.0 * ratio(d.model_gflops, d.sgemm_gflops));
  s += fmt::format("  {:<34} {:>12.1f}   ({}x{}x{}, Mamba in_proj)\n", "SGEMM GFLOP/s, model's largest GEMM",
                   d.model_shape_gflops, r.model_gemm_m, r.model_gemm_k, r.model_gemm_n);
  if (o.train) {
    s += fmt::format("  {:<34} {:>12.2f}   ({:.2f} ms per step, median of {})\n", "training samples/s",
                     d.train_samples_per_s, r.train_step.median_ms, r.train_step.repetitions);
    s += fmt::format("  {:<34} {:>12.1f}   (RSS {:.1f} MiB before the phase)\n", "training peak RSS MiB",
                     r.peak_rss_mib, r.rss_before_train_mib);
  }
  if (!r.stages.empty()) {
    double total = 0.0;
    for (const auto& st : r.stages) {
      if (st.name.find('.') == std::string::npos) total += st.timing.median_ms;
    }
    s += "  forward stages (ms, median):\n";
    for (const auto& st : r.stages) {
      s += fmt::format("    {:<28} {:>10.2f}  {:>5.1f} %\n", st.name, st.timing.median_ms,
                       100.0 * ratio(st.timing.median_ms, total));
    }
  }
  return s;
}

}  // namespace lumamba::bench
