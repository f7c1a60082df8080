// lumamba/model/cpu_kernels.h — when the model may hand a step to one of its hand-written CPU
// kernels (src/model/kernels/) instead of LibTorch ops: the one rule the callers share.
#pragma once

#include <torch/types.h>

#include <initializer_list>

namespace lumamba::model {

/// True when no defined tensor of `tensors` needs a gradient (grad mode off, or none requires
/// grad) and all of them are CPU tensors of one dtype, float32 or float64: the inference kernels
/// (spectrum features, attention, conv + SiLU) have no autograd and no other device or dtype.
/// Undefined tensors are skipped.
bool inference_kernel_applies(std::initializer_list<torch::Tensor> tensors);

}  // namespace lumamba::model
