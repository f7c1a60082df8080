// Named tolerances, each with its reason (docs/style.md §16).
#pragma once

namespace lumamba::test {

/// float32 model stages vs the PyTorch float32 reference: max|a−ref| ≤ k·RMS(ref). torch's own
/// float32 differs from float64 by up to 7e-5·RMS (golden README); a different summation order
/// stays within 2e-4.
inline constexpr double kF32StageRmsTol = 2e-4;
/// float64 stages vs the PyTorch float64 re-run: only rounding-order differences remain.
inline constexpr double kF64StageRmsTol = 1e-10;
/// Gradients of the float32 scan vs the golden float32 gradients (same bound as the stages).
inline constexpr double kF32GradRmsTol = 2e-4;

}  // namespace lumamba::test
