// The efficiency study's encoders (lumamba/bench/peers.h) and the MAC tracer (mac_trace.h): the
// tracer is checked against arithmetic on single operators, then each encoder's traced count
// against its closed-form formula, and LuMamba's against flops.h's count_macs.
#include <gtest/gtest.h>
#include <torch/nn/functional/conv.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <iostream>
#include <string>

#include "lumamba/core/error.h"
#include "lumamba/model/flops.h"
#include "lumamba/bench/mac_trace.h"
#include "lumamba/bench/peers.h"

namespace lumamba::test {
namespace {

using bench::trace_macs;
using bench::TracedMacs;
using bench::peers::EfficiencyModel;
using bench::peers::make_efficiency_model;

struct Shape {
  int64_t channels, patches;
};

// Runs one forward of `m` on random input of the shape and returns the traced MACs.
TracedMacs trace_forward(EfficiencyModel& m, const Shape& shape) {
  torch::manual_seed(0);
  auto signal = torch::randn({1, shape.channels, shape.patches * m.patch_samples()});
  auto locations = torch::rand({1, shape.channels, 3}) * 0.1;
  torch::Tensor out;
  auto traced = trace_macs([&] { out = m.forward(signal, locations); });
  EXPECT_TRUE(out.defined());
  return traced;
}

std::string describe(const TracedMacs& t) {
  std::string s;
  for (const auto& [op, macs] : t.by_operator) s += op + ": " + std::to_string(macs) + " MACs in " +
                                                     std::to_string(t.calls.at(op)) + " calls\n";
  return s;
}

TEST(MacTrace, MatrixProductIsMnk) {
  auto a = torch::randn({7, 5});
  auto b = torch::randn({5, 3});
  const auto t = trace_macs([&] { (void)torch::mm(a, b); });
  EXPECT_EQ(t.total, 7 * 3 * 5) << describe(t);
  EXPECT_EQ(t.calls.at("aten::mm"), 1);
  // matmul is not a leaf: its mm is counted once.
  auto batched = torch::randn({4, 7, 5});
  const auto tb = trace_macs([&] { (void)torch::matmul(batched, torch::randn({4, 5, 3})); });
  EXPECT_EQ(tb.total, 4 * 7 * 3 * 5) << describe(tb);
}

TEST(MacTrace, ConvolutionIsOutputsTimesInputsPerGroupTimesKernel) {
  // (1, 6, 11, 13) input, 4 output channels, groups 2, kernel 3×5, stride (2, 1), padding (1, 2):
  // output 6 × 13, each output sums 6/2 input channels × 15 taps.
  auto x = torch::randn({1, 6, 11, 13});
  auto w = torch::randn({4, 3, 3, 5});
  torch::Tensor y;
  const auto t = trace_macs([&] {
    y = torch::nn::functional::conv2d(
        x, w, torch::nn::functional::Conv2dFuncOptions().stride({2, 1}).padding({1, 2}).groups(2));
  });
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 4, 6, 13}));
  EXPECT_EQ(t.total, 4 * 6 * 13 * 3 * 15) << describe(t);
  EXPECT_EQ(t.calls.at("aten::convolution"), 1) << describe(t);
  EXPECT_EQ(t.calls.size(), 1u) << "ops inside the convolution must not be counted\n" << describe(t);
}

TEST(MacTrace, CallbackRemovedWhenTheFunctionThrows) {
  EXPECT_THROW(trace_macs([] { throw InputError("boom"); }), InputError);
  // Nothing traced any more: a new trace starts from zero and counts only its own op.
  const auto t = trace_macs([] { (void)torch::mm(torch::randn({2, 2}), torch::randn({2, 2})); });
  EXPECT_EQ(t.total, 8);
}

TEST(MacTrace, NestedTraceCountsOnlyItsOwnOps) {
  auto a = torch::randn({4, 4});
  TracedMacs inner;
  const auto outer = trace_macs([&] {
    (void)torch::mm(a, a);
    inner = trace_macs([&] { (void)torch::mm(a, a); });
  });
  EXPECT_EQ(inner.total, 64);
  EXPECT_EQ(outer.total, 64);  // the inner product belongs to the inner trace
}

TEST(Peers, UnknownNameListsTheKnownOnes) {
  try {
    make_efficiency_model("bendr");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bendr"), std::string::npos) << msg;
    for (const auto& name : bench::peers::efficiency_model_names()) EXPECT_NE(msg.find(name), std::string::npos) << msg;
  }
}

class PeerMacs : public ::testing::TestWithParam<std::string> {};

TEST_P(PeerMacs, TracedEqualsAnalytic) {
  auto m = make_efficiency_model(GetParam());
  EXPECT_EQ(m->name(), GetParam());
  for (const Shape shape : {Shape{4, 3}, Shape{22, 8}, Shape{19, 5}, Shape{3, 1}}) {
    const auto t = trace_forward(*m, shape);
    EXPECT_EQ(t.total, m->analytic_macs(shape.channels, shape.patches))
        << GetParam() << " C=" << shape.channels << " S=" << shape.patches << "\n" << describe(t);
  }
}

INSTANTIATE_TEST_SUITE_P(AllModels, PeerMacs, ::testing::Values("lumamba_tiny", "luna_base", "labram_base"));

TEST(Peers, LuMambaTracedEqualsCountMacsEncoderParts) {
  auto m = make_efficiency_model("lumamba_tiny");
  for (const Shape shape : {Shape{22, 8}, Shape{5, 2}}) {
    const auto t = trace_forward(*m, shape);
    // count_macs of the LuMamba-Tiny options, every part but the head's.
    const auto parts = model::count_macs(model::LuMambaOptions(), shape.channels, shape.patches * 40).parts;
    int64_t encoder = 0;
    for (const auto& [name, macs] : parts) {
      if (name != "decoder_head" && name != "classifier") encoder += macs;
    }
    EXPECT_EQ(t.total, encoder) << describe(t);
    // The scan is counted at lumamba::selective_scan, once per direction and block.
    EXPECT_EQ(t.calls.at("lumamba::selective_scan"), 4);
  }
}

TEST(Peers, FiveSecondsOf22Channels) {
  // The study's reference point: 22 channels, 5 s of EEG at each model's rate (S = 32 patches of
  // 40 samples at 256 Hz; S = 5 patches of 200 samples at 200 Hz). Printed for docs/efficiency.md.
  for (const auto& name : bench::peers::efficiency_model_names()) {
    auto m = make_efficiency_model(name);
    const int64_t patches = static_cast<int64_t>(5.0 * m->sample_rate_hz()) / m->patch_samples();
    const auto t = trace_forward(*m, Shape{22, patches});
    EXPECT_EQ(t.total, m->analytic_macs(22, patches)) << name;
    std::cout << name << " C=22 S=" << patches << ": " << t.total << " MACs\n" << describe(t);
  }
}

TEST(Peers, ParameterCounts) {
  // LuMamba-Tiny's encoder as `lumamba info` reports it (tests/cli/CMakeLists.txt).
  EXPECT_EQ(make_efficiency_model("lumamba_tiny")->parameter_count(), 4094777);
  // The papers give LUNA-Base ≈ 7M (including its heads) and LaBraM-Base ≈ 5.8M; our encoders
  // count only the encoder: within 10 %.
  const int64_t luna = make_efficiency_model("luna_base")->parameter_count();
  EXPECT_NEAR(static_cast<double>(luna), 7.0e6, 0.1 * 7.0e6) << luna;
  const int64_t labram = make_efficiency_model("labram_base")->parameter_count();
  EXPECT_NEAR(static_cast<double>(labram), 5.8e6, 0.1 * 5.8e6) << labram;
  std::cout << "parameters: luna_base " << luna << ", labram_base " << labram << "\n";
}

TEST(Peers, OutputShapes) {
  const Shape shape{6, 3};
  auto luna = make_efficiency_model("luna_base");
  auto x = torch::randn({1, shape.channels, shape.patches * 40});
  auto loc = torch::rand({1, shape.channels, 3});
  EXPECT_EQ(luna->forward(x, loc).sizes(), (std::vector<int64_t>{1, 3, 256}));
  EXPECT_EQ(make_efficiency_model("lumamba_tiny")->forward(x, loc).sizes(), (std::vector<int64_t>{1, 3, 384}));
  auto labram = make_efficiency_model("labram_base");
  auto out = labram->forward(torch::randn({1, shape.channels, shape.patches * 200}), loc);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 1 + 6 * 3, 200}));
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  // Past the released model's 16 patches and 128 channels it still runs (random extra rows).
  EXPECT_EQ(labram->forward(torch::randn({1, 130, 200}), torch::Tensor()).size(1), 1 + 130);
  EXPECT_EQ(labram->forward(torch::randn({1, 2, 17 * 200}), torch::Tensor()).size(1), 1 + 2 * 17);
  EXPECT_THROW(luna->forward(torch::randn({1, 4, 41}), torch::rand({1, 4, 3})), InputError);
}

}  // namespace
}  // namespace lumamba::test
