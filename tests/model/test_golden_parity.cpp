// Golden parity of the whole network, stage by stage, against the PyTorch reference
// (tests/fixtures/golden/case_c{16,22,26}.safetensors; golden README lists every stage).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lumamba/model/lumamba.h"
#include "lumamba/model/weights.h"
#include "support/golden.h"
#include "support/tensor_compare.h"
#include "support/tolerances.h"

namespace lumamba::test {
namespace {

using model::LuMamba;
using model::LuMambaOptions;

// Golden name ("pre.xattn.mha_out", "stage.patch_embed", "cls.logits") -> trace name.
std::string trace_name(const std::string& golden) {
  const auto dot = golden.find('.');
  return golden.substr(dot + 1);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct ParityCase {
  std::string file;
  torch::ScalarType dtype;
};

class GoldenParity : public ::testing::TestWithParam<ParityCase> {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    weights_ = std::make_unique<io::SafetensorsFile>(open_golden("weights.safetensors"));
    case_file_ = std::make_unique<io::SafetensorsFile>(open_golden(GetParam().file));
    golden_ = load_tensors(*case_file_);
  }

  LuMamba make_model(LuMambaOptions options, const std::vector<const io::SafetensorsFile*>& files) {
    LuMamba net(options);
    model::load_state_dict(*net, files);
    net->eval();
    net->to(GetParam().dtype);
    return net;
  }
  torch::Tensor in(const std::string& name) { return golden_.at(name).to(GetParam().dtype); }

  // Compares every golden tensor with the prefix (float32 stages in float32 runs, `_f64` stages in
  // float64 runs); returns how many were compared.
  int compare(const std::string& prefix, const model::Trace& trace, const std::set<std::string>& skip = {}) {
    const bool f64 = GetParam().dtype == torch::kFloat64;
    int n = 0;
    for (const auto& [name, ref] : golden_) {
      if (name.rfind(prefix, 0) != 0 || skip.count(name)) continue;
      if (f64 != ends_with(name, "_f64")) continue;
      const std::string base = f64 ? name.substr(0, name.size() - 4) : name;
      const auto it = trace.find(trace_name(base));
      EXPECT_NE(it, trace.end()) << "no traced stage for golden " << name;
      if (it == trace.end()) continue;
      EXPECT_TRUE(close_rms(it->second, ref, f64 ? kF64StageRmsTol : kF32StageRmsTol)) << GetParam().file << " " << name;
      ++n;
    }
    return n;
  }

  std::unique_ptr<io::SafetensorsFile> weights_, case_file_;
  std::map<std::string, torch::Tensor> golden_;
};

TEST_P(GoldenParity, PretrainingPathMatchesEveryStage) {
  auto net = make_model(LuMambaOptions().num_classes(0), {weights_.get()});
  model::Trace trace;
  torch::NoGradGuard no_grad;
  auto out = net->forward(in("input"), in("channel_locations"), golden_.at("mask").to(torch::kBool),
                          golden_.at("channel_names_idx"), &trace);
  const int stages = compare("pre.", trace) + compare("stage.", trace);
  EXPECT_GE(stages, GetParam().dtype == torch::kFloat64 ? 3 : 6);
  EXPECT_EQ(out.reconstruction.sizes(), golden_.at("input").sizes());
}

TEST_P(GoldenParity, ClassificationPathMatchesEveryStage) {
  auto net = make_model(LuMambaOptions().num_classes(2), {weights_.get()});
  model::Trace trace;
  torch::NoGradGuard no_grad;
  // Fine-tuning passes an all-false mask; without jitter that equals no mask (golden README).
  auto all_false = torch::zeros(golden_.at("input").sizes(), torch::kBool);
  auto out = net->forward(in("input"), in("channel_locations"), all_false, c10::nullopt, &trace);
  EXPECT_GE(compare("cls.", trace), 3);
  // encode() (no mask at all) gives the same encoder output.
  auto encoded = net->encode(in("input"), in("channel_locations"));
  EXPECT_TRUE(close_rms(encoded, out.encoder_out, 1e-12));
}

TEST_P(GoldenParity, MambaHeadLogits) {
  auto head = open_golden("weights_mamba_head.safetensors");
  auto net = make_model(LuMambaOptions().num_classes(2).classifier_option("mamba"), {weights_.get(), &head});
  torch::NoGradGuard no_grad;
  auto out = net->forward(in("input"), in("channel_locations"));
  if (GetParam().dtype == torch::kFloat32) {
    EXPECT_TRUE(close_rms(out.logits, golden_.at("cls_mamba_head.logits"), kF32StageRmsTol));
  } else {
    // No float64 golden for this head: float64 must agree with the float32 reference to float32 accuracy.
    EXPECT_TRUE(close_rms(out.logits, golden_.at("cls_mamba_head.logits"), kF32StageRmsTol));
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenParity,
                         ::testing::Values(ParityCase{"case_c22.safetensors", torch::kFloat32},
                                           ParityCase{"case_c22.safetensors", torch::kFloat64},
                                           ParityCase{"case_c16.safetensors", torch::kFloat32},
                                           ParityCase{"case_c16.safetensors", torch::kFloat64},
                                           ParityCase{"case_c26.safetensors", torch::kFloat32},
                                           ParityCase{"case_c26.safetensors", torch::kFloat64}),
                         [](const auto& info) {
                           auto name = info.param.file.substr(5, 3);
                           return name + (info.param.dtype == torch::kFloat64 ? "_f64" : "_f32");
                         });

TEST(GoldenParityQuirks, ReferenceTilingDiffersOnlyForMixedMontages) {
  auto weights = open_golden("weights.safetensors");
  auto golden = load_tensors(open_golden("case_c22.safetensors"));
  auto x = golden.at("input");
  auto loc = golden.at("channel_locations").clone();
  loc[1] = loc[1].flip(0);  // second sample: another channel order, i.e. a different montage
  torch::NoGradGuard no_grad;
  auto run = [&](bool reference_tiling) {
    LuMamba net(LuMambaOptions().num_classes(2).reference_location_tiling(reference_tiling));
    model::load_state_dict(*net, {&weights});
    net->eval();
    return net->forward(x, loc).logits;
  };
  auto ours = run(false), reference = run(true);
  // Each sample alone must give the same logits as in the batch with our tiling.
  LuMamba single(LuMambaOptions().num_classes(2));
  model::load_state_dict(*single, {&weights});
  single->eval();
  auto alone = single->forward(x.narrow(0, 1, 1), loc.narrow(0, 1, 1)).logits;
  EXPECT_TRUE(close_rms(ours.narrow(0, 1, 1), alone, 1e-5));
  EXPECT_GT((ours - reference).abs().max().item<double>(), 1e-4);
}

}  // namespace
}  // namespace lumamba::test
