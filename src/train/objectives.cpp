// The pre-training losses (see lumamba/train/objectives.h). Mirrors pretrain_task_LuMamba.py
// (generate_mask, generate_lejepa_views, LeJEPA, SIGReg) and the two criteria; docs/reference-model.md §10–§12.
// Legend: B batch, C channels, T samples, P patch_size, S = T/P, Q queries, D embedding width,
// M slices, K t-grid points, V views, N embedding rows, L crop length.
#include "lumamba/train/objectives.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <limits>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/model/fmt_shape.h"

namespace lumamba::train {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// SIGReg's characteristic-function grid (reference: torch.linspace(-5, 5, 17)).
constexpr double kSigregTMin = -5.0, kSigregTMax = 5.0;
constexpr int64_t kSigregTPoints = 17;

// Smooth-L1 (β = 1) mean over the selected elements; 0 when none is selected.
torch::Tensor smooth_l1_mean_where(const torch::Tensor& prediction, const torch::Tensor& target,
                                   const torch::Tensor& selected) {
  auto pred_sel = prediction.masked_select(selected);
  if (pred_sel.numel() == 0) return torch::zeros({}, prediction.options());
  return torch::smooth_l1_loss(pred_sel, target.masked_select(selected), at::Reduction::Mean, /*beta=*/1.0);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

torch::Tensor make_token_mask(int64_t n_channels, int64_t n_samples, int64_t patch_size, double ratio,
                              torch::Generator& generator) {
  LUMAMBA_CHECK_INPUT(n_channels > 0 && n_samples > 0 && patch_size > 0,
                      "token mask needs positive sizes, got C = {}, T = {}, patch_size = {}", n_channels,
                      n_samples, patch_size);
  LUMAMBA_CHECK_INPUT(n_samples % patch_size == 0,
                      "token mask: T = {} samples is not a multiple of patch_size = {}", n_samples, patch_size);
  check_range("mask_ratio", ratio, 0.0, 1.0);
  const int64_t n_patches = n_samples / patch_size;
  const int64_t n_tokens = n_channels * n_patches;
  // Python's int(num_rectangles * masking_ratio): the product in double, truncated.
  const auto n_masked = static_cast<int64_t>(static_cast<double>(n_tokens) * ratio);
  auto order = torch::randperm(n_tokens, generator, torch::kLong);
  auto tokens = torch::zeros({n_tokens}, torch::kBool);  // token c·S + s
  tokens.index_fill_(0, order.slice(0, 0, n_masked), true);
  return tokens.view({n_channels, n_patches, 1})
      .expand({n_channels, n_patches, patch_size})
      .reshape({n_channels, n_samples});  // (C, T)
}

ReconstructionLoss reconstruction_loss(const torch::Tensor& prediction, const torch::Tensor& target,
                                       const torch::Tensor& mask, double unmasked_coeff) {
  LUMAMBA_CHECK_INPUT(prediction.dim() == 3 && prediction.sizes() == target.sizes(),
                      "reconstruction loss: prediction {} and target {} must both be (B, C, T)",
                      prediction.sizes(), target.sizes());
  LUMAMBA_CHECK_INPUT(mask.scalar_type() == torch::kBool, "reconstruction loss: mask must be bool");
  LUMAMBA_CHECK_INPUT(mask.sizes() == prediction.sizes() || mask.sizes() == prediction.sizes().slice(1),
                      "reconstruction loss: mask must be (B, C, T) or (C, T) for prediction {}, got {}",
                      prediction.sizes(), mask.sizes());
  auto full_mask = mask.expand_as(prediction);  // (B, C, T)
  ReconstructionLoss out;
  out.masked = smooth_l1_mean_where(prediction, target, full_mask);
  out.unmasked = smooth_l1_mean_where(prediction, target, full_mask.logical_not());
  out.total = out.masked + unmasked_coeff * out.unmasked;
  return out;
}

torch::Tensor query_specialization_loss(const torch::Tensor& attention_weights, double coeff) {
  LUMAMBA_CHECK_INPUT(attention_weights.dim() == 3,
                      "query specialisation loss: attention weights must be (B·S, Q, C), got {}",
                      attention_weights.sizes());
  const int64_t q = attention_weights.size(1);
  auto similarity = torch::bmm(attention_weights, attention_weights.transpose(1, 2));  // (B·S, Q, Q)
  auto off_diagonal = 1.0 - torch::eye(q, attention_weights.options());                // (Q, Q)
  return coeff * (similarity * off_diagonal).square().mean();
}

// ---------------------------------------------------------------------------------------------

torch::Tensor sigreg_directions(int64_t dim, int64_t num_slices, int64_t step) {
  LUMAMBA_CHECK_INPUT(dim > 0 && num_slices > 0, "SIGReg directions need dim > 0 and num_slices > 0, got {} and {}",
                      dim, num_slices);
  LUMAMBA_CHECK_INPUT(step >= 0, "SIGReg directions: step must be >= 0 (it seeds the generator), got {}", step);
  // A fresh generator constructed with the seed is in the same state as Python's
  // torch.Generator().manual_seed(step): mt19937(seed) and no cached normal sample.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(step));
  auto directions = torch::randn({dim, num_slices}, generator, torch::kFloat32);  // (D, M)
  const int64_t row_dim = 0;  // one norm per column (slice)
  return directions / (directions.norm(2, c10::IntArrayRef(row_dim), /*keepdim=*/true) + 1e-12);
}

torch::Tensor sigreg_t_grid(torch::ScalarType dtype) {
  return torch::linspace(kSigregTMin, kSigregTMax, kSigregTPoints, torch::TensorOptions().dtype(dtype));
}

SigregResult sigreg(const torch::Tensor& embeddings, const torch::Tensor& directions, const BatchShare& share) {
  LUMAMBA_CHECK_INPUT(embeddings.dim() == 2 && embeddings.size(0) > 0,
                      "SIGReg: embeddings must be (N, D) with N > 0, got {}", embeddings.sizes());
  LUMAMBA_CHECK_INPUT(directions.dim() == 2 && directions.size(0) == embeddings.size(1),
                      "SIGReg: directions must be (D = {}, M), got {}", embeddings.size(1), directions.sizes());
  const auto n_rows = static_cast<double>(embeddings.size(0));
  auto projected = embeddings.matmul(directions.to(embeddings.device(), embeddings.scalar_type()));  // (N, M)
  auto t = sigreg_t_grid(embeddings.scalar_type()).to(embeddings.device());                          // (K,)
  auto gaussian_cf = torch::exp(-0.5 * t.square());  // (K,) e^{−t²/2}, the N(0, 1) characteristic function
  auto phase = projected.unsqueeze(2) * t;           // (N, M, K)
  // φ̂(t) = mean_n exp(i·t·p_n), kept as real and imaginary parts (same values as the complex
  // exp of the reference, and differentiable on every LibTorch build).
  torch::Tensor ecf_re, ecf_im;  // (M, K)
  double n_total = n_rows;
  if (share.distributed()) {
    // Sums of every rank's rows, then the mean over the global batch.
    const auto m = projected.size(1), k = t.size(0);
    const auto sums = share.sum_over_ranks(torch::cat({torch::cos(phase).sum(0).reshape({-1}),
                                                       torch::sin(phase).sum(0).reshape({-1})}));  // (2·M·K,)
    n_total = static_cast<double>(share.global_size);
    ecf_re = sums.narrow(0, 0, m * k).view({m, k}) / n_total;
    ecf_im = sums.narrow(0, m * k, m * k).view({m, k}) / n_total;
  } else {
    ecf_re = torch::cos(phase).mean(0);
    ecf_im = torch::sin(phase).mean(0);
  }
  auto err = ((ecf_re - gaussian_cf).square() + ecf_im.square()) * gaussian_cf;  // (M, K)
  SigregResult out;
  out.statistic_per_slice = torch::trapz(err, t, /*dim=*/1) * n_total;  // (M,)
  out.loss = out.statistic_per_slice.mean();
  out.ecf = torch::stack({ecf_re, ecf_im}, -1);  // (M, K, 2)
  return out;
}

torch::Tensor sigreg_loss(const torch::Tensor& embeddings, const torch::Tensor& directions) {
  return sigreg(embeddings, directions).loss;
}

LejepaLoss lejepa_loss(const torch::Tensor& local, const torch::Tensor& global, const torch::Tensor& directions,
                       double lambda, const BatchShare& share) {
  LUMAMBA_CHECK_INPUT(local.dim() == 3 && global.dim() == 3 && local.size(0) > 0 && global.size(0) > 0 &&
                          local.sizes().slice(1) == global.sizes().slice(1),
                      "LeJEPA: local (V_l, B, D) and global (V_g, B, D) view embeddings must share B and D, got "
                      "{} and {}",
                      local.sizes(), global.sizes());
  check_range("lambda_lejepa", lambda, 0.0, 1.0);
  LejepaLoss out;
  auto centers = global.mean(0);  // (B, D)
  out.prediction = (centers - local).square().mean();
  std::vector<torch::Tensor> per_view;
  per_view.reserve(static_cast<size_t>(local.size(0)));
  for (int64_t v = 0; v < local.size(0); ++v) per_view.push_back(sigreg(local[v], directions, share).loss);
  out.sigreg = torch::stack(per_view).mean();
  out.total = (1.0 - lambda) * out.prediction + lambda * out.sigreg;
  return out;
}

RandomCrops random_crops(const torch::Tensor& x, int64_t n_views, int64_t crop_len, torch::Generator& generator,
                         const BatchShare& share) {
  LUMAMBA_CHECK_INPUT(x.dim() == 3, "random crops: input must be (B, C, T), got {}", x.sizes());
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2);
  LUMAMBA_CHECK_INPUT(n_views > 0, "random crops: n_views must be > 0, got {}", n_views);
  LUMAMBA_CHECK_INPUT(crop_len > 0 && crop_len <= t, "random crops: crop length {} must be in [1, T = {}]", crop_len,
                      t);
  RandomCrops out;
  // Reference: per view, torch.randint(0, T − L + 1, (B,)).
  if (share.distributed()) {
    LUMAMBA_CHECK(share.count == b && share.first + b <= share.global_size, "rows [{}, +{}) of {} for a batch of {}",
                  share.first, share.count, share.global_size, b);
    out.start_samples = torch::randint(0, t - crop_len + 1, {n_views, share.global_size}, generator, torch::kLong)
                            .narrow(1, share.first, b)
                            .contiguous();  // (V, B) of the global (V, B_global)
  } else {
    out.start_samples = torch::randint(0, t - crop_len + 1, {n_views, b}, generator, torch::kLong);  // (V, B)
  }
  auto offsets = torch::arange(crop_len, torch::kLong);                                            // (L,)
  auto index = (out.start_samples.view({n_views, b, 1, 1}) + offsets.view({1, 1, 1, crop_len}))
                   .expand({n_views, b, c, crop_len})
                   .to(x.device());  // (V, B, C, L)
  // gather reads the broadcast view of x without copying it V times.
  auto source = x.unsqueeze(0).expand({n_views, b, c, t});  // (V, B, C, T)
  out.views = torch::gather(source, 3, index).reshape({n_views * b, c, crop_len});
  return out;
}

// ---------------------------------------------------------------------------------------------

void validate(const PretrainObjectiveOptions& options) {
  check_option("mode", options.mode(), {"reconstruction", "lejepa", "mixed"});
  check_range("mask_ratio", options.mask_ratio(), 0.0, 1.0);
  check_range("unmasked_loss_coeff", options.unmasked_loss_coeff(), 0.0, kInf);
  check_range("query_spec_coeff", options.query_spec_coeff(), 0.0, kInf);
  check_range("num_global_views", static_cast<double>(options.num_global_views()), 1.0, kInf);
  check_range("num_local_views", static_cast<double>(options.num_local_views()), 1.0, kInf);
  check_range("num_patches_global", static_cast<double>(options.num_patches_global()), 1.0, kInf);
  check_range("num_patches_local", static_cast<double>(options.num_patches_local()), 1.0, kInf);
  check_range("num_slices", static_cast<double>(options.num_slices()), 1.0, kInf);
  check_range("lambda_lejepa", options.lambda_lejepa(), 0.0, 1.0);
  check_range("lejepa_scaling", options.lejepa_scaling(), 0.0, kInf);
}

PretrainLoss compute_pretrain_loss(model::LuMamba& model, const torch::Tensor& signal_zscored,
                                   const torch::Tensor& channel_locations, const torch::Tensor& channel_names,
                                   int64_t step, const PretrainObjectiveOptions& options,
                                   torch::Generator& generator, const BatchShare& share) {
  validate(options);
  LUMAMBA_CHECK_INPUT(signal_zscored.dim() == 3, "pretraining signal must be (B, C, T), got {}",
                      signal_zscored.sizes());
  const int64_t b = signal_zscored.size(0), c = signal_zscored.size(1), t = signal_zscored.size(2);
  const int64_t p = model->options.patch_size();
  PretrainLoss out;

  if (options.uses_reconstruction()) {
    LUMAMBA_CHECK_INPUT(channel_names.defined(), "mode '{}' needs channel names for the decoder", options.mode());
    out.token_mask = make_token_mask(c, t, p, options.mask_ratio(), generator);  // (C, T)
    auto batch_mask = out.token_mask.to(signal_zscored.device()).unsqueeze(0).expand({b, c, t});  // (B, C, T)
    auto forward = model->forward(signal_zscored, channel_locations, batch_mask, channel_names);
    auto recon = reconstruction_loss(forward.reconstruction, signal_zscored, batch_mask,
                                     options.unmasked_loss_coeff());
    out.reconstruction = recon.total;
    out.reconstruction_masked = recon.masked;
    out.reconstruction_unmasked = recon.unmasked;
    out.query_spec = query_specialization_loss(forward.attention_weights, options.query_spec_coeff());
    out.total = share.distributed() ? share.fraction() * (out.reconstruction + out.query_spec)
                                    : out.reconstruction + out.query_spec;
  }

  if (options.uses_lejepa()) {
    const int64_t local_len = options.num_patches_local() * p, global_len = options.num_patches_global() * p;
    LUMAMBA_CHECK_INPUT(global_len <= t && local_len <= t,
                        "LeJEPA crops of {} and {} samples do not fit a window of T = {} samples", global_len,
                        local_len, t);
    LUMAMBA_CHECK_INPUT(channel_locations.dim() == 3 && channel_locations.size(0) == b,
                        "channel_locations must be (B = {}, C, 3), got {}", b, channel_locations.sizes());
    const int64_t n_local = options.num_local_views(), n_global = options.num_global_views();
    // Locals first, then globals, as generate_lejepa_views draws them.
    auto local_crops = random_crops(signal_zscored, n_local, local_len, generator, share);     // (V_l·B, C, L_l)
    auto global_crops = random_crops(signal_zscored, n_global, global_len, generator, share);  // (V_g·B, C, L_g)
    // Crops are view-major (row v·B + b), so the locations repeat view-major too.
    auto local_emb = model->encode(local_crops.views, channel_locations.repeat({n_local, 1, 1}))
                         .mean(1);  // (V_l·B, D)
    auto global_emb = model->encode(global_crops.views, channel_locations.repeat({n_global, 1, 1}))
                          .mean(1);  // (V_g·B, D)
    const int64_t d = local_emb.size(1);
    auto directions = sigreg_directions(d, options.num_slices(), step);  // (D, M)
    auto lejepa = lejepa_loss(local_emb.view({n_local, b, d}), global_emb.view({n_global, b, d}), directions,
                              options.lambda_lejepa(), share);
    out.lejepa = lejepa.total;
    out.lejepa_prediction = lejepa.prediction;
    out.lejepa_sigreg = lejepa.sigreg;
    const double lambda = options.lambda_lejepa();
    auto scaled = share.distributed()
                      ? options.lejepa_scaling() * ((1.0 - lambda) * share.fraction() * lejepa.prediction +
                                                    lambda / static_cast<double>(share.world_size) * lejepa.sigreg)
                      : options.lejepa_scaling() * lejepa.total;
    out.total = out.total.defined() ? out.total + scaled : scaled;
  }
  return out;
}

}  // namespace lumamba::train
