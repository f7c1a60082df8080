// The pretrained encoder that ships in models/ (models/README.md): found by its short name, loads
// into the network its own metadata describes, and says where it comes from (data, licence,
// attribution: the data's ODC-By licence requires the attribution to travel with the weights).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "lumamba/eval/inference.h"
#include "lumamba/io/safetensors.h"
#include "lumamba/io/shipped_models.h"

namespace {
using namespace lumamba;

constexpr const char* kName = "lumamba-tiny-eegmmidb";

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

TEST(ShippedModel, EegmmidbEncoderResolvesByNameAndCarriesItsProvenance) {
  unsetenv("LUMAMBA_MODELS");
  const auto path = io::resolve_checkpoint(kName);
  EXPECT_TRUE(contains(path, std::string("models/") + kName + ".safetensors")) << path;

  const auto file = io::SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  ASSERT_TRUE(meta.count("lumamba.provenance")) << "models/ must hold files stamped by tools/models/stamp_provenance.py";
  const auto provenance = nlohmann::json::parse(meta.at("lumamba.provenance"));
  EXPECT_EQ(provenance.at("name").get<std::string>(), kName);
  EXPECT_TRUE(contains(provenance.at("data_licence").get<std::string>(), "ODC-By"));
  const auto attribution = provenance.at("attribution").get<std::string>();
  EXPECT_TRUE(contains(attribution, "Schalk")) << attribution;
  EXPECT_TRUE(contains(attribution, "Goldberger")) << attribution;
  // The held-out subjects of every eegmmidb benchmark (S080-S100) are not in the corpus.
  EXPECT_EQ(provenance.at("subjects").get<std::string>(), "S001-S079");
  ASSERT_TRUE(meta.count("lumamba.pretrain"));
  EXPECT_EQ(nlohmann::json::parse(meta.at("lumamba.pretrain")).at("mode").get<std::string>(), "mixed");
  ASSERT_TRUE(meta.count("lumamba.preprocess"));
}

TEST(ShippedModel, EegmmidbEncoderLoadsIntoTheNetworkItDescribes) {
  unsetenv("LUMAMBA_MODELS");
  const auto loaded = eval::load_model({kName});
  EXPECT_TRUE(loaded.options.is_pretraining());
  int64_t n_params = 0;
  for (const auto& p : loaded.net->parameters()) n_params += p.numel();
  EXPECT_EQ(n_params, 4194337);  // LuMamba-Tiny with the reconstruction decoder (docs/pretraining.md)
  // A diverged run saved with NaN weights would still load: every tensor must be finite.
  for (const auto& p : loaded.net->named_parameters()) {
    ASSERT_TRUE(torch::isfinite(p.value()).all().item<bool>()) << p.key();
  }
}

}  // namespace
