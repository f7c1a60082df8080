// Magnitude and phase of per-patch spectra (lumamba/model/kernels/spectrum_features_cpu.h).
// float: a branch-free atan2 (Cephes atanf polynomial on [0, tan π/8] after the reduction
// a -> (a−1)/(a+1) above it, then quadrant selects) that GCC vectorises over a row's bins under
// -fno-trapping-math; target_clones builds AVX-512, AVX2 and baseline copies picked at load time.
// double (tests, float64 runs) calls std::atan2: speed does not matter there, accuracy does.
#include "lumamba/model/kernels/spectrum_features_cpu.h"

#include "cpu_clones.h"

#include <cmath>
#include <type_traits>

namespace lumamba::model::kernels {
namespace {

/// atan2(y, x) for float, std::atan2's special cases for finite inputs (signed zeros included):
/// a = min(|x|,|y|)/max(|x|,|y|) in [0, 1]; atan a by the Cephes atanf polynomial (≤ 2 ulp),
/// then π/2 − · when |y| > |x|, π − · when x is negative (or −0), and y's sign.
[[gnu::always_inline]] inline float atan2_lane(float y, float x) {
  constexpr float kPi = 3.14159265358979f, kHalfPi = 1.57079632679490f, kQuarterPi = 0.78539816339745f;
  constexpr float kTanPi8 = 0.414213562373095f;
  const float ax = std::fabs(x), ay = std::fabs(y);
  const float hi = ax > ay ? ax : ay, lo = ax > ay ? ay : ax;
  const float a = hi > 0.0f ? lo / hi : 0.0f;
  const bool reduce = a > kTanPi8;
  const float t = reduce ? (a - 1.0f) / (a + 1.0f) : a;
  const float z = t * t;
  float p = 8.05374449538e-2f;
  p = p * z - 1.38776856032e-1f;
  p = p * z + 1.99777106478e-1f;
  p = p * z - 3.33329491539e-1f;
  float r = p * z * t + t + (reduce ? kQuarterPi : 0.0f);
  r = ay > ax ? kHalfPi - r : r;
  r = std::signbit(x) ? kPi - r : r;
  return std::copysign(r, y);
}

template <typename T>
LUMAMBA_CPU_CLONES void magnitude_phase_rows(const T* __restrict spectrum, int64_t rows, int64_t bins,
                                                  bool last_bin_is_real, T* __restrict out) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* __restrict s = spectrum + r * 2 * bins;
    T* __restrict mag = out + r * 2 * bins;
    T* __restrict phase = mag + bins;
    for (int64_t k = 0; k < bins; ++k) {
      const T re = s[2 * k], im = s[2 * k + 1];
      mag[k] = std::sqrt(re * re + im * im);
      if constexpr (std::is_same_v<T, float>) {
        phase[k] = atan2_lane(im, re);
      } else {
        phase[k] = std::atan2(im, re);
      }
    }
    // Real bins: the phase of (re, +0), i.e. 0 or π.
    phase[0] = std::signbit(s[0]) ? T(M_PI) : T(0);
    if (last_bin_is_real && bins > 1) phase[bins - 1] = std::signbit(s[2 * (bins - 1)]) ? T(M_PI) : T(0);
  }
}

}  // namespace

template <typename T>
void spectrum_magnitude_phase(const T* spectrum, int64_t rows, int64_t bins, bool last_bin_is_real, T* out) {
  if (rows <= 0 || bins <= 0) return;
  magnitude_phase_rows<T>(spectrum, rows, bins, last_bin_is_real, out);
}

template void spectrum_magnitude_phase<float>(const float*, int64_t, int64_t, bool, float*);
template void spectrum_magnitude_phase<double>(const double*, int64_t, int64_t, bool, double*);

}  // namespace lumamba::model::kernels
