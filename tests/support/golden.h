// Golden reference files (tests/fixtures/golden/, copied from ../shared/golden; see its README).
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <string>

#include "lumamba/io/safetensors.h"
#include "lumamba/model/weights.h"

namespace lumamba::test {

inline std::string golden_path(const std::string& name) {
  return std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/golden/" + name;
}

/// Opens a golden file; fails the test with a hint when it is missing.
inline io::SafetensorsFile open_golden(const std::string& name) {
  const auto path = golden_path(name);
  if (!std::ifstream(path).good()) {
    ADD_FAILURE() << "golden file missing: " << path << " (copy it from ../shared/golden/)";
  }
  return io::SafetensorsFile::open(path);
}

/// All tensors of a file as torch tensors.
inline std::map<std::string, torch::Tensor> load_tensors(const io::SafetensorsFile& file) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& view : file.tensors()) out[view.name] = model::to_torch(view);
  return out;
}

}  // namespace lumamba::test
