// Config parsing: reference keys, the golden config.json layout, YAML, overrides and errors.
#include <gtest/gtest.h>

#include "lumamba/core/error.h"
#include "lumamba/model/options.h"
#include "support/golden.h"

namespace lumamba::test {
namespace {

using model::LuMambaOptions;

TEST(Options, DefaultIsLuMambaTiny) {
  const LuMambaOptions o;
  EXPECT_EQ(o.patch_size(), 40);
  EXPECT_EQ(o.num_queries(), 6);
  EXPECT_EQ(o.embed_dim(), 64);
  EXPECT_EQ(o.d_model(), 384);
  EXPECT_EQ(o.ff_dim(), 256);
  EXPECT_EQ(o.encoder_mamba().d_inner(), 768);
  EXPECT_EQ(o.encoder_mamba().resolved_dt_rank(), 24);
  EXPECT_EQ(o.head_mamba().resolved_dt_rank(), 16);
}

TEST(Options, GoldenConfigJsonWithModelMapping) {
  const auto o = model::options_from_file(golden_path("config.json"));
  EXPECT_EQ(o.num_classes(), 2);
  EXPECT_EQ(o.classifier_option(), "luna");  // null -> LUNA head, as in the reference
  EXPECT_EQ(o.exp(), 2);
  EXPECT_EQ(o.d_state(), 16);
  EXPECT_EQ(o.dt_rank(), 24);
  EXPECT_EQ(o.bidirectional_strategy(), "add");
}

TEST(Options, FlatYaml) {
  const auto o = model::options_from_text(
      "patch_size: 20\nnum_queries: 4\nembed_dim: 32\nexp: 3\nd_state: 8\nclassifier_option: mamba\n"
      "num_classes: 5\nbidirectional_strategy: ew_multiply\n",
      "test.yaml");
  EXPECT_EQ(o.patch_size(), 20);
  EXPECT_EQ(o.num_queries(), 4);
  EXPECT_EQ(o.exp(), 3);
  EXPECT_EQ(o.encoder_mamba().d_inner(), 3 * 4 * 32);
  EXPECT_EQ(o.classifier_option(), "mamba");
  EXPECT_EQ(o.bidirectional_strategy(), "ew_multiply");
}

TEST(Options, UnknownKeysAreListed) {
  try {
    model::options_from_text("patch_sise: 40\nembed_dim: 64\nmodel_depth: 3\n", "bad.yaml");
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bad.yaml"), std::string::npos);
    EXPECT_NE(msg.find("patch_sise"), std::string::npos);
    EXPECT_NE(msg.find("model_depth"), std::string::npos);
  }
}

TEST(Options, InvalidValuesNameTheField) {
  EXPECT_THROW(model::options_from_text("bidirectional_strategy: concat\n", "x"), InputError);
  EXPECT_THROW(model::options_from_text("classifier_option: transformer\n", "x"), InputError);
  EXPECT_THROW(model::options_from_text("num_heads: 3\n", "x"), InputError);  // 64 % 3 != 0
  EXPECT_THROW(model::options_from_text("embed_dim: sixty\n", "x"), InputError);
  EXPECT_THROW(model::options_from_text("{ not json", "x"), InputError);
  // An impossible size is a message, not a LibTorch out-of-memory abort: 24 blocks x 6 x exp 2 x
  // (4 x 2048)^2 = 1.9e10 parameters.
  try {
    model::options_from_text("embed_dim: 2048\nnum_blocks: 24\nnum_queries: 4\nnum_heads: 8\n", "x");
    ADD_FAILURE() << "no size check";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model size"), std::string::npos) << e.what();
  }
  // LuMamba-Tiny and a 20x larger config pass.
  EXPECT_NO_THROW(model::options_from_text("embed_dim: 256\nnum_blocks: 8\nnum_queries: 6\n", "x"));
}

TEST(Options, OverridesAndJsonRoundTrip) {
  LuMambaOptions o;
  model::apply_overrides(o, {"num_classes=3", "classifier_option=linear", "location_jitter_in_eval=true"});
  EXPECT_EQ(o.num_classes(), 3);
  EXPECT_EQ(o.classifier_option(), "linear");
  EXPECT_TRUE(o.location_jitter_in_eval());
  const auto back = model::options_from_text(model::options_to_json(o), "json");
  EXPECT_EQ(model::options_to_json(back), model::options_to_json(o));
  EXPECT_THROW(model::apply_overrides(o, {"num_clases=3"}), InputError);
  EXPECT_THROW(model::apply_overrides(o, {"num_classes"}), InputError);
}

}  // namespace
}  // namespace lumamba::test

namespace lumamba::test {
namespace {
TEST(Options, ShippedTinyConfigEqualsDefaults) {
  const auto path = std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/../../configs/model/lumamba_tiny.yaml";
  const auto o = model::options_from_file(path);
  EXPECT_EQ(model::options_to_json(o), model::options_to_json(model::LuMambaOptions()));
}
}  // namespace
}  // namespace lumamba::test
