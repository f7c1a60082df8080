// When the inference kernels apply (lumamba/model/cpu_kernels.h).
#include "lumamba/model/cpu_kernels.h"

#include <torch/torch.h>

namespace lumamba::model {

bool inference_kernel_applies(std::initializer_list<torch::Tensor> tensors) {
  const bool grad_mode = torch::GradMode::is_enabled();
  c10::optional<torch::ScalarType> dtype;
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    if (grad_mode && t.requires_grad()) return false;
    if (!t.device().is_cpu()) return false;
    if (!dtype) dtype = t.scalar_type();
    if (t.scalar_type() != *dtype) return false;
  }
  return dtype && (*dtype == torch::kFloat32 || *dtype == torch::kFloat64);
}

}  // namespace lumamba::model
