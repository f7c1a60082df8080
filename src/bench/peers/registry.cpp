// The efficiency study's encoders by name (lumamba/bench/peers.h), and LuMamba-Tiny as one of them:
// the real LuMamba network, measured through encode() (the study compares encoders, so no head).
#include <torch/nn/module.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lumamba/core/error.h"
#include "lumamba/model/flops.h"
#include "lumamba/model/lumamba.h"
#include "peers_impl.h"

namespace lumamba::bench::peers {
namespace {

class LuMambaTiny final : public EfficiencyModel {
 public:
  // LuMamba-Tiny = the LuMambaOptions defaults (configs/model/lumamba_tiny.yaml). A 2-class linear
  // head is the smallest head to build; it is never run and not counted.
  LuMambaTiny() : options_(model::LuMambaOptions().num_classes(2).classifier_option("linear")), net_(options_) {
    net_->eval();
    int64_t head = 0;
    for (const auto& child : net_->named_children()) {
      if (child.key() == "classifier") head += model::count_parameters(*child.value());
    }
    encoder_parameters_ = model::count_parameters(*net_) - head;
  }
  std::string name() const override { return "lumamba_tiny"; }
  double sample_rate_hz() const override { return 256.0; }
  int64_t patch_samples() const override { return options_.patch_size(); }
  int64_t parameter_count() const override { return encoder_parameters_; }
  torch::Tensor forward(const torch::Tensor& signal, const torch::Tensor& channel_locations) override {
    torch::NoGradGuard no_grad;
    return net_->encode(signal, channel_locations);  // (1, S, D)
  }
  int64_t analytic_macs(int64_t channels, int64_t patches) const override {
    // flops.h counts what the encoder runs; drop the head's part.
    const auto macs = model::count_macs(options_, channels, patches * options_.patch_size());
    int64_t total = 0;
    for (const auto& [part, n] : macs.parts) {
      if (part != "classifier" && part != "decoder_head") total += n;
    }
    return total;
  }

 private:
  model::LuMambaOptions options_;
  model::LuMamba net_;
  int64_t encoder_parameters_ = 0;
};

}  // namespace

std::unique_ptr<EfficiencyModel> make_lumamba_tiny() { return std::make_unique<LuMambaTiny>(); }

std::vector<std::string> efficiency_model_names() { return {"lumamba_tiny", "luna_base", "labram_base"}; }

std::unique_ptr<EfficiencyModel> make_efficiency_model(const std::string& name) {
  if (name == "lumamba_tiny") return make_lumamba_tiny();
  if (name == "luna_base") return make_luna_base();
  if (name == "labram_base") return make_labram_base();
  throw InputError(fmt::format("unknown efficiency model '{}': must be one of {}", name,
                               fmt::join(efficiency_model_names(), ", ")));
}

}  // namespace lumamba::bench::peers
