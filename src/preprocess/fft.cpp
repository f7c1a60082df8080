// Private real-FFT wrapper (see fft.h): the only translation unit that includes pocketfft.
//
// Why pocketfft rather than FFTW or a hand-written FFT: MNE 1.3 runs scipy.fft, which *is*
// pocketfft, so using the same algorithm keeps our rounding identical to MNE's; it handles every
// length MNE produces (powers of two for overlap-add, 5-smooth lengths for short signals, and
// arbitrary lengths such as round(1.6 · 2^k) when resampling 160 -> 256 Hz); its licence
// (BSD-3-Clause) is compatible with Apache-2.0, unlike FFTW's GPL. Debian has no libpocketfft-dev,
// so the header is vendored (src/preprocess/pocketfft/, see its README.md).
#include "fft.h"

#include "lumamba/core/error.h"

// We parallelise over channels ourselves; pocketfft's own thread pool would only compete.
#define POCKETFFT_NO_MULTITHREADING
// SIMD lanes only serve pocketfft's multi-array drivers, which we do not use; without them its
// buffers come from plain malloc instead of aligned_alloc(64, n) with n not a multiple of 64
// (accepted by glibc, rejected by AddressSanitizer).
#define POCKETFFT_NO_VECTORS
#include <pocketfft_hdronly.h>  // SYSTEM include dir: src/preprocess/pocketfft

namespace lumamba::preprocess::detail {

struct RealFft::Plan {
  explicit Plan(std::size_t n) : plan(n) {}
  pocketfft::detail::pocketfft_r<double> plan;
};

RealFft::RealFft(std::size_t n) : n_(n) {
  LUMAMBA_CHECK(n > 0, "zero-length FFT requested");
  plan_ = std::make_unique<Plan>(n);
}
RealFft::~RealFft() = default;
RealFft::RealFft(RealFft&&) noexcept = default;
RealFft& RealFft::operator=(RealFft&&) noexcept = default;

void RealFft::forward(double* data) const { plan_->plan.exec(data, 1.0, /*r2hc=*/true); }

void RealFft::backward(double* data, double fct) const {
  plan_->plan.exec(data, fct, /*r2hc=*/false);
}

double inverse_norm(std::size_t n) {
  // scipy/fft/_pocketfft/pypocketfft.cxx norm_fct(inorm=2): T(1 / ldbl_t(N)).
  return static_cast<double>(1.0L / static_cast<long double>(n));
}

}  // namespace lumamba::preprocess::detail
