// lumamba/preprocess/resample.h — FFT resampling identical to MNE 1.3's raw.resample(sfreq).
//
// Mirrors mne.filter.resample(x, up=to_hz, down=from_hz, npad='auto', window='boxcar',
// pad='reflect_limited') and mne.cuda._fft_resample / _smart_pad: pad each side so the padded
// length is a power of two (at least 2·min(n//8, 100) extra samples), rfft, halve (up) or double
// (down) the Nyquist bin, scale by new_len/old_len, irfft to round(ratio·padded) samples, trim.
// Works for any ratio (up-sampling too, and ratio 1, where MNE's resample is not an identity).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace lumamba::preprocess {

/// round(to/from · n_times) (ties to even, as NumPy), at least 1: the output length.
std::size_t resampled_length(std::size_t n_times, double from_hz, double to_hz);

/// Resampling prepared for signals of one length: FFT plans made once; apply() is const and
/// thread-safe.
class Resampler {
 public:
  /// from_hz, to_hz > 0 and finite; n_times >= 1 (InputError naming the parameter otherwise).
  Resampler(std::size_t n_times, double from_hz, double to_hz);
  ~Resampler();
  Resampler(Resampler&&) noexcept;
  Resampler& operator=(Resampler&&) noexcept;
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  std::size_t n_times() const;
  std::size_t out_times() const;
  std::size_t pad_left() const;   // MNE's npads[0]
  std::size_t pad_right() const;  // npads[1]
  std::size_t padded_length() const;  // FFT length in (power of two)
  std::size_t resampled_padded_length() const;  // FFT length out (new_len)

  /// x has n_times samples; out receives out_times samples.
  void apply(const double* x, double* out) const;
  std::vector<double> apply(const std::vector<double>& x) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// One-shot raw.resample(to_hz) of a signal sampled at from_hz.
std::vector<double> resample(const std::vector<double>& x, double from_hz, double to_hz);

/// Every channel (all of one length) on n_threads workers (0 = all cores); returns new buffers.
std::vector<std::vector<double>> resample(const std::vector<std::vector<double>>& channels,
                                          double from_hz, double to_hz, int n_threads = 1);

}  // namespace lumamba::preprocess
