// Shipped models by name: $LUMAMBA_MODELS first, a path stays a path, an unknown name is an error
// that lists what there is.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "lumamba/core/error.h"
#include "lumamba/io/shipped_models.h"
#include "support/scratch.h"

namespace {
using namespace lumamba;

TEST(ShippedModels, NameResolvesInLumambaModelsAndPathsStayPaths) {
  const auto a = test::fresh_scratch_dir("shipped_models_a"), b = test::fresh_scratch_dir("shipped_models_b");
  std::ofstream(a / "tiny-one.safetensors") << "x";
  std::ofstream(b / "tiny-one.safetensors") << "y";
  std::ofstream(b / "tiny-two.safetensors") << "z";
  std::ofstream(b / "notes.txt") << "not a model";
  ASSERT_EQ(setenv("LUMAMBA_MODELS", (a.string() + ":" + b.string()).c_str(), 1), 0);
  EXPECT_EQ(io::shipped_model_dirs().at(0), a.string());
  EXPECT_EQ(io::shipped_model_dirs().at(1), b.string());
  EXPECT_EQ(io::resolve_checkpoint("tiny-one"), (a / "tiny-one.safetensors").string());  // first folder wins
  EXPECT_EQ(io::resolve_checkpoint("tiny-two"), (b / "tiny-two.safetensors").string());
  const auto path = (b / "tiny-one.safetensors").string();
  EXPECT_EQ(io::resolve_checkpoint(path), path);
  const auto names = io::shipped_model_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "tiny-two"), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), "notes"), names.end());
  try {
    io::resolve_checkpoint("tiny-three");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("tiny-three: no such checkpoint file and no shipped model"), std::string::npos) << what;
    EXPECT_NE(what.find("tiny-one, tiny-two"), std::string::npos) << what;
  }
  // A missing path is not looked up as a name.
  try {
    io::resolve_checkpoint((a / "missing.safetensors").string());
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).find("looked in"), std::string::npos) << e.what();
  }
  unsetenv("LUMAMBA_MODELS");
}

}  // namespace
