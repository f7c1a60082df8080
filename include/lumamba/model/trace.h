// lumamba/model/trace.h — optional capture of intermediate tensors by stage name.
//
// Why: parity tests compare every stage with the golden reference (golden/README.md names), and
// debugging a port needs the same view. Passing nullptr costs nothing on the hot path.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>

namespace lumamba::model {

/// Stage name (golden naming without the "pre."/"cls."/"stage." prefix) -> tensor.
using Trace = std::map<std::string, torch::Tensor>;

inline void record(Trace* trace, const std::string& name, const torch::Tensor& t) {
  if (trace != nullptr) (*trace)[name] = t.detach();
}

}  // namespace lumamba::model
