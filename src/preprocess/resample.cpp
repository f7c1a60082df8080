// FFT resampling identical to MNE 1.3.0's raw.resample(sfreq) (see resample.h).
//
// mne/filter.py resample(npad='auto', window='boxcar', pad='reflect_limited') +
// mne/cuda.py _setup_cuda_fft_resample / _fft_resample / _smart_pad, step by step: the boxcar
// window folded onto itself is the constant new_len/orig_len; scipy.fft.irfft(X, new_len)
// zero-pads or truncates the half spectrum, which in FFTPACK half-complex order is simply
// "keep the first new_len numbers" (the dropped imaginary part of an even Nyquist bin included).
#include "lumamba/preprocess/resample.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "fft.h"
#include "lumamba/core/error.h"
#include "mne_numeric.h"
#include "parallel.h"

namespace lumamba::preprocess {
namespace {

// resample(npad='auto'): at least 2·min(n // 8, kMaxHalfExtra) extra samples before rounding
// the padded length up to a power of two.
constexpr std::size_t kAutoPadDivisor = 8;
constexpr std::size_t kMaxHalfExtra = 100;

void check_rate(const char* name, double hz) {
  LUMAMBA_CHECK_INPUT(std::isfinite(hz) && hz > 0,
                      "invalid value for '{}': got {}; must be a positive finite rate", name, hz);
}

/// int(round(v)) as MNE writes it (NumPy rounds half to even).
std::ptrdiff_t round_int(double v) { return static_cast<std::ptrdiff_t>(detail::round_half_even(v)); }

}  // namespace

std::size_t resampled_length(std::size_t n_times, double from_hz, double to_hz) {
  check_rate("from_hz", from_hz);
  check_rate("to_hz", to_hz);
  const double ratio = to_hz / from_hz;  // _resamp_ratio_len: float(up) / down
  return static_cast<std::size_t>(std::max<std::ptrdiff_t>(round_int(ratio * static_cast<double>(n_times)), 1));
}

struct Resampler::Impl {
  std::size_t n_times = 0, final_len = 0;
  std::size_t pad_left = 0, pad_right = 0, orig_len = 0, new_len = 0;
  std::ptrdiff_t remove_left = 0, remove_right = 0;
  double window_scale = 1;  // W = ones · new_len / orig_len
  double inv_new = 1;
  detail::RealFft fft_in, fft_out;

  Impl(std::size_t n, double from_hz, double to_hz, std::size_t pad_l, std::size_t pad_r)
      : n_times(n),
        final_len(resampled_length(n, from_hz, to_hz)),
        pad_left(pad_l),
        pad_right(pad_r),
        orig_len(n + pad_l + pad_r),
        new_len(static_cast<std::size_t>(std::max<std::ptrdiff_t>(
            round_int(to_hz / from_hz * static_cast<double>(n + pad_l + pad_r)), 1))),
        window_scale(static_cast<double>(new_len) / static_cast<double>(orig_len)),
        inv_new(detail::inverse_norm(new_len)),
        fft_in(orig_len),
        fft_out(new_len) {
    const double ratio = to_hz / from_hz;
    remove_left = round_int(ratio * static_cast<double>(pad_left));
    remove_right = static_cast<std::ptrdiff_t>(new_len) - static_cast<std::ptrdiff_t>(final_len) - remove_left;
    // MNE trims y[remove_left : new_len - remove_right] (when either is positive) and asserts the
    // result has final_len samples; with npad='auto' both removals are >= 0, so this is the same
    // as taking final_len samples from remove_left.
    LUMAMBA_CHECK(remove_left >= 0 && remove_right >= 0,
                  "resample: inconsistent lengths (n {}, pads {}+{}, new_len {}, final {}, removes {}/{})",
                  n, pad_left, pad_right, new_len, final_len, remove_left, remove_right);
  }

  void run(const double* x, double* out) const {
    std::vector<double> buf(std::max(orig_len, new_len), 0.0);
    detail::smart_pad_reflect_limited(x, n_times, pad_left, pad_right, buf.data());
    fft_in.forward(buf.data());
    // _fft_resample: the Nyquist bin of the shorter length is doubled (down) or halved (up).
    const bool shorter = new_len < orig_len;
    const std::size_t use_len = shorter ? new_len : orig_len;
    if (use_len % 2 == 0) {
      const std::size_t k = use_len / 2;
      const double factor = shorter ? 2.0 : 0.5;
      buf[2 * k - 1] *= factor;  // real part
      if (2 * k < orig_len) buf[2 * k] *= factor;  // imaginary part (absent for orig_len's Nyquist)
    }
    for (std::size_t i = 0; i < orig_len; ++i) buf[i] *= window_scale;
    // irfft(X, new_len): keep the first new_len half-complex numbers, zeros beyond orig_len.
    std::fill(buf.begin() + static_cast<std::ptrdiff_t>(std::min(orig_len, new_len)),
              buf.begin() + static_cast<std::ptrdiff_t>(new_len), 0.0);
    fft_out.backward(buf.data(), inv_new);
    std::copy(buf.begin() + remove_left, buf.begin() + remove_left + static_cast<std::ptrdiff_t>(final_len), out);
  }
};

namespace {

/// npad='auto' as MNE 1.3 computes it: (pad_left, pad_right).
std::pair<std::size_t, std::size_t> auto_pads(std::size_t n) {
  const std::size_t min_add = std::min(n / kAutoPadDivisor, kMaxHalfExtra) * 2;
  const std::size_t npad = detail::next_pow2(n + min_add) - n;
  return {npad / 2, npad / 2 + npad % 2};
}

}  // namespace

Resampler::Resampler(std::size_t n_times, double from_hz, double to_hz) {
  check_rate("from_hz", from_hz);
  check_rate("to_hz", to_hz);
  LUMAMBA_CHECK_INPUT(n_times >= 1, "invalid value for 'n_times': got 0; need at least 1 sample");
  const auto [pad_l, pad_r] = auto_pads(n_times);
  impl_ = std::make_unique<Impl>(n_times, from_hz, to_hz, pad_l, pad_r);
}
Resampler::~Resampler() = default;
Resampler::Resampler(Resampler&&) noexcept = default;
Resampler& Resampler::operator=(Resampler&&) noexcept = default;

std::size_t Resampler::n_times() const { return impl_->n_times; }
std::size_t Resampler::out_times() const { return impl_->final_len; }
std::size_t Resampler::pad_left() const { return impl_->pad_left; }
std::size_t Resampler::pad_right() const { return impl_->pad_right; }
std::size_t Resampler::padded_length() const { return impl_->orig_len; }
std::size_t Resampler::resampled_padded_length() const { return impl_->new_len; }

void Resampler::apply(const double* x, double* out) const { impl_->run(x, out); }

std::vector<double> Resampler::apply(const std::vector<double>& x) const {
  LUMAMBA_CHECK_INPUT(x.size() == impl_->n_times,
                      "invalid signal length: got {} samples; this resampler was prepared for {}",
                      x.size(), impl_->n_times);
  std::vector<double> out(impl_->final_len);
  impl_->run(x.data(), out.data());
  return out;
}

std::vector<double> resample(const std::vector<double>& x, double from_hz, double to_hz) {
  check_rate("from_hz", from_hz);
  check_rate("to_hz", to_hz);
  if (x.empty()) return {};  // MNE warns and returns a copy
  return Resampler(x.size(), from_hz, to_hz).apply(x);
}

std::vector<std::vector<double>> resample(const std::vector<std::vector<double>>& channels,
                                          double from_hz, double to_hz, int n_threads) {
  check_rate("from_hz", from_hz);
  check_rate("to_hz", to_hz);
  if (channels.empty()) return {};
  const std::size_t n = channels.front().size();
  for (std::size_t c = 0; c < channels.size(); ++c) {
    LUMAMBA_CHECK_INPUT(channels[c].size() == n,
                        "channel {} has {} samples but channel 0 has {}; all must be equal", c,
                        channels[c].size(), n);
  }
  std::vector<std::vector<double>> out(channels.size());
  if (n == 0) return out;
  const Resampler resampler(n, from_hz, to_hz);
  detail::parallel_for(channels.size(), n_threads,
                       [&](std::size_t c) { out[c] = resampler.apply(channels[c]); });
  return out;
}

}  // namespace lumamba::preprocess
