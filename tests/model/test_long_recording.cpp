// Whole-recording mode (lumamba/model/long_recording.h): chunked streaming equals the one-shot
// model on the same sequence. float64 everywhere, so any difference beyond rounding is a bug in
// the carried state (conv context, scan state) or in the streamed statistics (z-score, GroupNorm).
// Legend: C channels, T samples, P patch size, S patches, D = Q·E.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <tuple>

#include "lumamba/core/error.h"
#include "lumamba/data/normalize.h"
#include "lumamba/model/long_recording.h"
#include "lumamba/model/lumamba.h"
#include "lumamba/model/mamba.h"

namespace lumamba::test {
namespace {

using model::LuMamba;
using model::LuMambaOptions;

/// Chunked vs one-shot, float64: the same operations on the same numbers except GEMM blocking over
/// a different number of rows, the order in which the streamed float64 statistics are merged
/// (Chan's formula) and rsqrt vs GroupNorm's own rstd (observed ≤ 9e-15 relative).
constexpr double kF64RelTol = 1e-10;

double rel_err(const torch::Tensor& a, const torch::Tensor& ref) {
  return (a - ref).abs().max().item<double>() / ref.abs().max().item<double>();
}

// A recording with per-channel offsets and scales (the z-score must take them out) and a drift.
std::tuple<torch::Tensor, torch::Tensor> recording(int64_t c, int64_t t) {
  torch::manual_seed(7);
  auto offsets = torch::linspace(-200, 300, c, torch::kFloat64).unsqueeze(1);
  auto scales = torch::linspace(5, 60, c, torch::kFloat64).unsqueeze(1);
  auto drift = torch::linspace(0, 40, t, torch::kFloat64).unsqueeze(0);
  auto signal = torch::randn({c, t}, torch::kFloat64) * scales + offsets + drift;
  auto locations = torch::randn({c, 3}, torch::kFloat64) * 0.08;
  return {signal, locations};
}

LuMamba float64_model(const LuMambaOptions& options) {
  torch::manual_seed(3);
  LuMamba net(options);
  net->to(torch::kFloat64);
  net->eval();
  return net;
}

TEST(MambaChunks, ForwardChunksEqualOneShotInBothDirections) {
  torch::manual_seed(11);
  model::Mamba mamba(model::MambaOptions(24).d_state(8));
  mamba->to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 29, 24}, torch::kFloat64);  // (B, L, Dm)
  for (const bool reverse : {false, true}) {
    const auto whole = mamba->forward(x, reverse);
    for (const int64_t chunk : {1, 2, 5, 29}) {  // chunks shorter than the conv context too
      model::MambaStreamState state;
      auto out = torch::empty_like(whole);
      const int64_t n = (29 + chunk - 1) / chunk;
      for (int64_t k = 0; k < n; ++k) {
        const int64_t i = reverse ? n - 1 - k : k;
        const int64_t first = i * chunk, len = std::min<int64_t>(chunk, 29 - first);
        out.narrow(1, first, len).copy_(mamba->forward_chunk(x.narrow(1, first, len), state, reverse));
      }
      EXPECT_LT(rel_err(out, whole), kF64RelTol) << "reverse " << reverse << " chunk " << chunk;
    }
  }
}

TEST(WholeRecording, ChunkedEqualsOneShotOverSeveralChunks) {
  auto net = float64_model(LuMambaOptions().num_classes(2).classifier_option("mamba"));
  const int64_t c = 5, p = net->options.patch_size(), s = 45;
  auto [signal, locations] = recording(c, s * p + 17);  // a partial last patch, dropped
  torch::NoGradGuard no_grad;
  const auto one_shot = net->encode(data::zscore_channels(signal.narrow(1, 0, s * p).unsqueeze(0)),
                                    locations.unsqueeze(0));  // (1, S, D)
  for (const int64_t chunk : {8, 16, 45, 1000}) {
    model::WholeRecordingOptions options;
    options.chunk_patches = chunk;
    const auto chunked = model::encode_whole_recording(*net, signal, locations, options);
    ASSERT_EQ(chunked.sizes(), one_shot.sizes());
    EXPECT_LT(rel_err(chunked, one_shot), kF64RelTol) << "chunk " << chunk;
  }
}

TEST(WholeRecording, HeadsOnTheWholeSequenceEqualTheirOneShotForward) {
  for (const char* head : {"mamba", "luna", "linear"}) {
    auto net = float64_model(LuMambaOptions().num_classes(3).classifier_option(head));
    auto [signal, locations] = recording(4, 30 * net->options.patch_size());
    torch::NoGradGuard no_grad;
    const auto one_shot = net->forward(data::zscore_channels(signal.unsqueeze(0)), locations.unsqueeze(0));
    model::WholeRecordingOptions options;
    options.chunk_patches = 7;
    const auto enc = model::encode_whole_recording(*net, signal, locations, options);
    const auto logits = model::classify_whole_recording(*net, enc, options);
    EXPECT_LT(rel_err(logits, one_shot.logits), kF64RelTol) << head;
  }
}

TEST(WholeRecording, RejectsBadShapesWithClearMessages) {
  auto net = float64_model(LuMambaOptions().num_classes(2));
  model::WholeRecordingOptions options;
  auto signal = torch::randn({3, 10}, torch::kFloat64);
  EXPECT_THROW(model::encode_whole_recording(*net, signal, torch::zeros({3, 3}, torch::kFloat64), options),
               InputError);  // shorter than one patch
  signal = torch::randn({3, 400}, torch::kFloat64);
  EXPECT_THROW(model::encode_whole_recording(*net, signal, torch::zeros({2, 3}, torch::kFloat64), options),
               InputError);  // locations of another channel count
}

}  // namespace
}  // namespace lumamba::test
