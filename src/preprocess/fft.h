// Private: the real FFT behind lumamba's MNE-identical filters and resampling.
//
// A thin wrapper over pocketfft (C++ header-only, BSD-3-Clause, Max-Planck-Society/Peter Bell) —
// the FFT SciPy's scipy.fft uses, so our transforms round exactly as MNE's (MNE 1.3 calls
// scipy.fft.rfft/irfft). Data stay in FFTPACK half-complex order [r0, r1, i1, r2, i2, …] (with
// r_{n/2} last for even n); pocketfft is compiled in one translation unit (fft.cpp) only.
#pragma once

#include <cstddef>
#include <memory>

namespace lumamba::preprocess::detail {

/// A real FFT of one length (any length: mixed radix, or Bluestein for large prime factors).
/// Plans are immutable; forward()/backward() are const and safe to call from many threads.
class RealFft {
 public:
  explicit RealFft(std::size_t n);
  ~RealFft();
  RealFft(RealFft&&) noexcept;
  RealFft& operator=(RealFft&&) noexcept;

  std::size_t size() const { return n_; }
  /// In place: n real samples -> half-complex spectrum (unnormalised, like scipy.fft.rfft).
  void forward(double* data) const;
  /// In place: half-complex spectrum -> n real samples, each multiplied by fct.
  void backward(double* data, double fct) const;

 private:
  struct Plan;
  std::size_t n_ = 0;
  std::unique_ptr<Plan> plan_;
};

/// scipy.fft's backward normalisation 1/n, computed as SciPy does (in long double, then rounded
/// to double), so irfft results match bit for bit.
double inverse_norm(std::size_t n);

}  // namespace lumamba::preprocess::detail
