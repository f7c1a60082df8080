// Zero-phase FIR design and overlap-add application, identical to MNE 1.3.0 (see fir_filter.h).
//
// Design follows mne/filter.py create_filter -> _triage_filter_params -> _construct_fir_filter
// -> _firwin_design -> scipy.signal.firwin (SciPy 1.10, hamming window) step by step, keeping
// NumPy's order of float operations (so taps match to ~1 ulp). Application follows
// _overlap_add_filter / _1d_overlap_filter: reflect_limited padding of min(n_taps, n) − 1 samples,
// n_fft from MNE's cost model, block-wise rfft · H -> irfft accumulated in segment order.
#include "lumamba/preprocess/fir_filter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "fft.h"
#include "lumamba/core/error.h"
#include "mne_numeric.h"
#include "parallel.h"

namespace lumamba::preprocess {
namespace {

// mne.filter._length_factors['hamming'] (Ifeachor & Jervis): taps ≈ 3.3 / transition (cycles).
constexpr double kHammingLengthFactor = 3.3;
// scipy.signal.windows.general_hamming(alpha=0.54): coefficients [alpha, 1 - alpha].
constexpr double kHammingAlpha = 0.54;
// mne.filter.notch_filter defaults: notch_widths = freqs / 200, trans_bandwidth = 1 Hz.
constexpr double kNotchWidthDivisor = 200.0;
constexpr double kNotchTransBandwidthHz = 1.0;
constexpr double kPi = 3.141592653589793;  // np.pi

bool is_finite_positive(double v) { return std::isfinite(v) && v > 0; }

/// np.linspace(-pi, pi, m) (NumPy 1.24: i·step + start, last element set to stop).
std::vector<double> linspace_pi(std::size_t m) {
  std::vector<double> y(m);
  if (m == 0) return y;
  const double start = -kPi;
  const double stop = kPi;
  const double delta = stop - start;
  if (m > 1) {
    const double step = delta / static_cast<double>(m - 1);
    for (std::size_t i = 0; i < m; ++i) y[i] = static_cast<double>(i) * step + start;
    y[m - 1] = stop;
  } else {
    y[0] = start;
  }
  return y;
}

/// scipy.signal.get_window('hamming', m, fftbins=False): general_cosine with [0.54, 1 - 0.54].
std::vector<double> hamming_symmetric(std::size_t m) {
  if (m <= 1) return std::vector<double>(m, 1.0);  // _len_guards
  const std::vector<double> fac = linspace_pi(m);
  const double a0 = kHammingAlpha;
  const double a1 = 1. - kHammingAlpha;
  std::vector<double> w(m);
  for (std::size_t i = 0; i < m; ++i) {
    double v = 0.0;
    v += a0 * std::cos(0.0 * fac[i]);
    v += a1 * std::cos(1.0 * fac[i]);
    w[i] = v;
  }
  return w;
}

/// numpy.sinc: sin(pi·x)/(pi·x) with x == 0 replaced by 1e-20.
double numpy_sinc(double x) {
  const double y = kPi * (x == 0 ? 1.0e-20 : x);
  return std::sin(y) / y;
}

/// scipy.signal.firwin(numtaps, cutoff, window='hamming', pass_zero=True, fs=2): a low-pass with
/// the cutoff in units of Nyquist (MNE always calls it with fs = 2, so nyq = 1).
std::vector<double> firwin_lowpass(std::size_t numtaps, double cutoff) {
  const double nyq = 0.5 * 2.0;
  const double right = cutoff / nyq;
  LUMAMBA_CHECK(right > 0 && right < 1, "firwin cutoff {} outside (0, 1)", right);
  // bands = [[0, right]]: h = 0 + right·sinc(right·m) − 0·sinc(0·m)
  const double alpha = 0.5 * static_cast<double>(numtaps - 1);
  std::vector<double> h(numtaps);
  for (std::size_t i = 0; i < numtaps; ++i) {
    const double m = static_cast<double>(i) - alpha;
    double v = right * numpy_sinc(right * m);
    v -= 0.0 * numpy_sinc(0.0 * m);
    h[i] = v;
  }
  const std::vector<double> win = hamming_symmetric(numtaps);
  for (std::size_t i = 0; i < numtaps; ++i) h[i] *= win[i];
  // scale=True, first band starts at 0 -> scale_frequency 0, c = cos(0) = 1, s = np.sum(h).
  const double s = detail::numpy_sum(h.data(), h.size());
  for (double& v : h) v /= s;
  return h;
}

/// mne.filter._firwin_design(N, freq, gain, 'hamming', sfreq): sums low-passes, one per gain
/// step, each as long as its own transition band needs, centred in N taps.
std::vector<double> firwin_design(std::size_t n, const std::vector<double>& freq,
                                  const std::vector<double>& gain, double sfreq_hz) {
  LUMAMBA_CHECK(freq.size() > 1 && freq.size() == gain.size() && freq.front() == 0 && n % 2 == 1,
                "bad firwin design input");
  std::vector<double> h(n, 0.0);
  double prev_freq = freq.back();
  double prev_gain = gain.back();
  if (gain.back() == 1) h[n / 2] = 1;  // start with "all up"
  for (std::size_t k = freq.size() - 1; k-- > 0;) {
    const double this_freq = freq[k];
    const double this_gain = gain[k];
    if (this_gain != prev_gain) {
      const double transition = (prev_freq - this_freq) / 2.;
      auto this_n = static_cast<std::size_t>(detail::round_half_even(kHammingLengthFactor / transition));
      this_n += (1 - this_n % 2);  // make it odd
      LUMAMBA_CHECK_INPUT(this_n <= n,
                          "The requested filter length {} is too short for the requested {:.2f} Hz "
                          "transition band, which requires {} samples",
                          n, transition * sfreq_hz / 2., this_n);
      const std::vector<double> this_h = firwin_lowpass(this_n, (prev_freq + this_freq) / 2.);
      const std::size_t offset = (n - this_n) / 2;
      for (std::size_t i = 0; i < this_n; ++i) {
        if (this_gain == 0) {
          h[offset + i] -= this_h[i];
        } else {
          h[offset + i] += this_h[i];
        }
      }
    }
    prev_gain = this_gain;
    prev_freq = this_freq;
  }
  return h;
}

/// _triage_filter_params' 'auto' filter length: '%ss' % (3.3 / min_tb) -> _to_samples ->
/// ceil(seconds · sfreq), made odd (Python's str(float) round-trips, so the string is a no-op).
int64_t auto_filter_length(double min_trans_bandwidth_hz, double sfreq_hz) {
  const double seconds = kHammingLengthFactor * 1.0 / min_trans_bandwidth_hz;
  auto length = static_cast<int64_t>(std::max(std::ceil(seconds * 1.0 * sfreq_hz), 1.0));
  length += (length - 1) % 2;  // firwin: odd
  return length;
}

/// _construct_fir_filter: normalise to Nyquist, design with firwin, check the length is odd.
void construct(FirFilterDesign& d) {
  const double nyq = d.sfreq_hz / 2.;
  std::vector<double> freq_norm(d.freq_hz.size());
  for (std::size_t i = 0; i < freq_norm.size(); ++i) freq_norm[i] = d.freq_hz[i] / nyq;
  LUMAMBA_CHECK(freq_norm.front() == 0 && freq_norm.back() == 1,
                "freq must start at 0 and end at Nyquist");
  LUMAMBA_CHECK(d.filter_length % 2 == 1, "even zero-phase filter length {}", d.filter_length);
  d.taps = firwin_design(static_cast<std::size_t>(d.filter_length), freq_norm, d.gain, d.sfreq_hz);
}

void check_sfreq(double sfreq_hz) {
  LUMAMBA_CHECK_INPUT(is_finite_positive(sfreq_hz),
                      "invalid value for 'sfreq_hz': got {}; must be a positive finite rate",
                      sfreq_hz);
}

}  // namespace

std::string FirFilterDesign::describe() const {
  std::string edges;
  if (kind == "bandstop") {
    edges = "stop bands";
    for (std::size_t i = 0; i + 1 < freq_hz.size(); ++i) {
      if (gain[i] == 0 && gain[i + 1] == 0) edges += fmt::format(" {:g}-{:g} Hz", freq_hz[i], freq_hz[i + 1]);
    }
  } else {
    edges = "pass band";
    for (std::size_t i = 0; i + 1 < freq_hz.size(); ++i) {
      if (gain[i] == 1 && gain[i + 1] == 1) edges += fmt::format(" {:g}-{:g} Hz", freq_hz[i], freq_hz[i + 1]);
    }
  }
  return fmt::format(
      "FIR {} (zero-phase, firwin, hamming) at {:g} Hz: {}; transition bandwidths lower {:g} Hz, "
      "upper {:g} Hz; length {} samples ({:.3f} s)",
      kind, sfreq_hz, edges, l_trans_bandwidth_hz, h_trans_bandwidth_hz, filter_length,
      static_cast<double>(filter_length) / sfreq_hz);
}

FirFilterDesign design_filter(double sfreq_hz, std::optional<double> l_freq_hz,
                              std::optional<double> h_freq_hz) {
  check_sfreq(sfreq_hz);
  const double nyq = sfreq_hz / 2.;
  if (l_freq_hz && *l_freq_hz == 0) l_freq_hz.reset();  // create_filter: l_freq == 0 -> None
  LUMAMBA_CHECK_INPUT(l_freq_hz || h_freq_hz,
                      "design_filter needs 'l_freq_hz' and/or 'h_freq_hz' (got neither)");
  if (l_freq_hz) {
    // MNE only checks l > 0; l >= Nyquist would fail later inside firwin, so say it here.
    LUMAMBA_CHECK_INPUT(std::isfinite(*l_freq_hz) && *l_freq_hz > 0 && *l_freq_hz < nyq,
                        "invalid value for 'l_freq_hz': got {}; highpass frequency must be in "
                        "(0, Nyquist = {}) for sfreq_hz = {}", *l_freq_hz, nyq, sfreq_hz);
  }
  if (h_freq_hz) {
    LUMAMBA_CHECK_INPUT(std::isfinite(*h_freq_hz) && *h_freq_hz > 0 && *h_freq_hz < nyq,
                        "invalid value for 'h_freq_hz': got {}; lowpass frequency must be in "
                        "(0, Nyquist = {}) for sfreq_hz = {}", *h_freq_hz, nyq, sfreq_hz);
  }
  if (l_freq_hz && h_freq_hz) {
    LUMAMBA_CHECK_INPUT(*l_freq_hz < *h_freq_hz,
                        "invalid values 'l_freq_hz' = {} >= 'h_freq_hz' = {}: MNE's band-stop "
                        "form is not supported here (use design_notch)", *l_freq_hz, *h_freq_hz);
  }

  FirFilterDesign d;
  d.sfreq_hz = sfreq_hz;
  double l_stop = 0, h_stop = 0;
  if (l_freq_hz) {  // high-pass component
    const double l_freq = *l_freq_hz;
    d.l_trans_bandwidth_hz = std::min(std::max(0.25 * l_freq, 2.), l_freq);
    l_stop = l_freq - d.l_trans_bandwidth_hz;
    LUMAMBA_CHECK_INPUT(l_stop >= 0,
                        "Filter specification invalid: lower stop frequency negative ({:.2f} Hz)",
                        l_stop);
  }
  if (h_freq_hz) {  // low-pass component
    const double h_freq = *h_freq_hz;
    d.h_trans_bandwidth_hz = std::min(std::max(0.25 * h_freq, 2.), nyq - h_freq);
    h_stop = h_freq + d.h_trans_bandwidth_hz;
    LUMAMBA_CHECK_INPUT(h_stop <= nyq,
                        "Effective band-stop frequency ({}) is too high (maximum based on "
                        "Nyquist is {})", h_stop, nyq);
  }
  const double inf = std::numeric_limits<double>::infinity();
  const double h_check = h_freq_hz ? d.h_trans_bandwidth_hz : inf;
  const double l_check = l_freq_hz ? d.l_trans_bandwidth_hz : inf;
  const double min_tb = std::min(h_check, l_check);
  d.filter_length = auto_filter_length(min_tb, sfreq_hz);

  if (l_freq_hz && h_freq_hz) {
    d.kind = "bandpass";
    d.freq_hz = {l_stop, *l_freq_hz, *h_freq_hz, h_stop};
    d.gain = {0, 1, 1, 0};
    if (h_stop != nyq) {
      d.freq_hz.push_back(nyq);
      d.gain.push_back(0);
    }
    if (l_stop != 0) {
      d.freq_hz.insert(d.freq_hz.begin(), 0.0);
      d.gain.insert(d.gain.begin(), 0.0);
    }
  } else if (h_freq_hz) {
    d.kind = "lowpass";
    d.freq_hz = {0, *h_freq_hz, h_stop};
    d.gain = {1, 1, 0};
    if (h_stop != nyq) {
      d.freq_hz.push_back(nyq);
      d.gain.push_back(0);
    }
  } else {
    d.kind = "highpass";
    d.freq_hz = {l_stop, *l_freq_hz, nyq};
    d.gain = {0, 1, 1};
    if (l_stop != 0) {
      d.freq_hz.insert(d.freq_hz.begin(), 0.0);
      d.gain.insert(d.gain.begin(), 0.0);
    }
  }
  construct(d);
  return d;
}

FirFilterDesign design_band_pass(double sfreq_hz, double l_freq_hz, double h_freq_hz) {
  LUMAMBA_CHECK_INPUT(l_freq_hz > 0,
                      "invalid value for 'l_freq_hz': got {}; a band-pass needs l_freq_hz > 0",
                      l_freq_hz);
  return design_filter(sfreq_hz, l_freq_hz, h_freq_hz);
}

FirFilterDesign design_notch(double sfreq_hz, const std::vector<double>& freqs_hz) {
  check_sfreq(sfreq_hz);
  LUMAMBA_CHECK_INPUT(!freqs_hz.empty(), "design_notch: 'freqs_hz' is empty");
  const double nyq = sfreq_hz / 2.;
  // notch_filter: lows/highs around each line frequency; then filter_data(x, Fs, highs, lows,
  // l_trans_bandwidth=tb_2, h_trans_bandwidth=tb_2) -> create_filter's band-stop branch ->
  // _triage_filter_params(..., l_freq=lows, h_freq=highs, reverse=True).
  const double tb_2 = kNotchTransBandwidthHz / 2.0;
  const std::size_t n = freqs_hz.size();
  std::vector<double> f_p1(n), f_s1(n), f_s2(n), f_p2(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double f = freqs_hz[i];
    LUMAMBA_CHECK_INPUT(std::isfinite(f) && f > 0,
                        "invalid value for 'freqs_hz[{}]': got {}; must be a positive frequency", i, f);
    const double nw = f / kNotchWidthDivisor;
    const double low = f - nw / 2.0 - tb_2;
    const double high = f + nw / 2.0 + tb_2;
    LUMAMBA_CHECK_INPUT(low > 0, "invalid value for 'freqs_hz[{}]': got {}; highpass frequency {} "
                        "must be greater than zero", i, f, low);
    LUMAMBA_CHECK_INPUT(high < nyq, "invalid value for 'freqs_hz[{}]': got {}; lowpass frequency "
                        "{} must be less than Nyquist ({}) for sfreq_hz = {}", i, f, high, nyq, sfreq_hz);
    // reverse=True: l_stop = low − tb; l_stop += tb; l_freq += tb (and mirrored for h).
    double l_stop = low - tb_2;
    l_stop += tb_2;
    const double l_freq = low + tb_2;
    LUMAMBA_CHECK_INPUT(l_stop >= 0, "notch at {} Hz: lower stop frequency negative", f);
    double h_stop = high + tb_2;
    h_stop -= tb_2;
    const double h_freq = high - tb_2;
    LUMAMBA_CHECK_INPUT(h_stop <= nyq, "notch at {} Hz: effective band-stop frequency ({}) is too "
                        "high (maximum based on Nyquist is {})", f, h_stop, nyq);
    // create_filter binds (f_s1, f_s2, f_p1, f_p2) = (l_freq, h_freq, l_stop, h_stop).
    f_s1[i] = l_freq;
    f_s2[i] = h_freq;
    f_p1[i] = l_stop;
    f_p2[i] = h_stop;
  }
  FirFilterDesign d;
  d.sfreq_hz = sfreq_hz;
  d.kind = "bandstop";
  d.l_trans_bandwidth_hz = tb_2;
  d.h_trans_bandwidth_hz = tb_2;
  d.filter_length = auto_filter_length(tb_2, sfreq_hz);

  // freq = r_[f_p1, f_s1, f_s2, f_p2], gain = r_[1s, 0s, 0s, 1s], sorted by frequency.
  std::vector<std::pair<double, double>> points;
  for (double v : f_p1) points.emplace_back(v, 1.0);
  for (double v : f_s1) points.emplace_back(v, 0.0);
  for (double v : f_s2) points.emplace_back(v, 0.0);
  for (double v : f_p2) points.emplace_back(v, 1.0);
  std::stable_sort(points.begin(), points.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& p : points) {
    d.freq_hz.push_back(p.first);
    d.gain.push_back(p.second);
  }
  if (d.freq_hz.front() != 0) {
    d.freq_hz.insert(d.freq_hz.begin(), 0.0);
    d.gain.insert(d.gain.begin(), 1.0);
  }
  if (d.freq_hz.back() != nyq) {
    d.freq_hz.push_back(nyq);
    d.gain.push_back(1.0);
  }
  for (std::size_t i = 2; i < d.gain.size(); ++i) {
    LUMAMBA_CHECK_INPUT(std::abs(d.gain[i] - 2 * d.gain[i - 1] + d.gain[i - 2]) <= 1,
                        "design_notch: stop bands are not sufficiently separated (freqs_hz)");
  }
  construct(d);
  return d;
}

FirFilterDesign design_notch(double sfreq_hz, double freq_hz) {
  return design_notch(sfreq_hz, std::vector<double>{freq_hz});
}

std::size_t overlap_add_fft_length(std::size_t n_taps, std::size_t n_times) {
  LUMAMBA_CHECK(n_taps >= 1 && n_times >= 1, "overlap_add_fft_length({}, {})", n_taps, n_times);
  const std::size_t n_edge = std::min(n_taps, n_times) - 1;
  const std::size_t n_x = n_times + 2 * n_edge;
  const std::size_t min_fft = 2 * n_taps - 1;
  const std::size_t max_fft = n_x;
  if (max_fft < min_fft) return detail::next_fast_len(min_fft);  // a single block
  // N = 2^(ceil(log2(min_fft)) … ceil(log2(max_fft))); cost = ceil(n_x/(N − n_h + 1))·N·(log2 N + 1)
  // + 4e-5·N·n_x; the first minimum wins (np.argmin).
  const auto n_x_d = static_cast<double>(n_x);
  std::size_t best = 0;
  double best_cost = std::numeric_limits<double>::infinity();
  for (std::size_t big_n = detail::next_pow2(min_fft); big_n <= detail::next_pow2(max_fft); big_n *= 2) {
    const auto nd = static_cast<double>(big_n);
    double cost = std::ceil(n_x_d / static_cast<double>(big_n - n_taps + 1)) * nd * (std::log2(nd) + 1);
    cost += 4e-5 * nd * n_x_d;
    if (cost < best_cost) {
      best_cost = cost;
      best = big_n;
    }
  }
  return best;
}

struct OverlapAddFilter::Impl {
  std::vector<double> taps;
  std::size_t n_times = 0, n_edge = 0, n_fft = 0;
  detail::RealFft fft;
  std::vector<double> h_fft;  // half-complex spectrum of the zero-padded taps
  double inv_n = 0;

  Impl(std::vector<double> taps_in, std::size_t n)
      : taps(std::move(taps_in)),
        n_times(n),
        n_edge(std::min(taps.size(), n) - 1),
        n_fft(overlap_add_fft_length(taps.size(), n)),
        fft(n_fft),
        h_fft(n_fft, 0.0),
        inv_n(detail::inverse_norm(n_fft)) {
    std::copy(taps.begin(), taps.end(), h_fft.begin());
    fft.forward(h_fft.data());
  }

  void run(double* signal) const {
    const std::size_t n_h = taps.size();
    if (n_h == 1) {  // _overlap_add_filter: x * h
      for (std::size_t i = 0; i < n_times; ++i) signal[i] *= taps[0];
      return;
    }
    const std::size_t n_x = n_times + 2 * n_edge;
    std::vector<double> x_ext(n_x);
    detail::smart_pad_reflect_limited(signal, n_times, n_edge, n_edge, x_ext.data());
    // Only x_filtered[0 .. n_times) is kept, so accumulate straight into the output; segments
    // whose products land entirely beyond it are skipped (the sums kept are unchanged).
    std::vector<double> out(n_times, 0.0);
    std::vector<double> seg(n_fft);
    const std::size_t n_seg = n_fft - n_h + 1;
    const std::size_t n_segments = (n_x + n_seg - 1) / n_seg;
    const auto shift = static_cast<std::ptrdiff_t>((n_h - 1) / 2 + n_edge);
    const auto n_keep = static_cast<std::ptrdiff_t>(n_times);
    for (std::size_t s = 0; s < n_segments; ++s) {
      const std::size_t start = s * n_seg;
      const auto start_d = static_cast<std::ptrdiff_t>(start);
      const std::ptrdiff_t start_filt = std::max<std::ptrdiff_t>(0, start_d - shift);
      const std::ptrdiff_t stop_filt =
          std::min<std::ptrdiff_t>({start_d - shift + static_cast<std::ptrdiff_t>(n_fft),
                                    static_cast<std::ptrdiff_t>(n_x), n_keep});
      if (stop_filt <= start_filt) continue;
      const std::ptrdiff_t start_prod = std::max<std::ptrdiff_t>(0, shift - start_d);

      const std::size_t len = std::min(n_seg, n_x - start);
      std::copy(x_ext.begin() + static_cast<std::ptrdiff_t>(start),
                x_ext.begin() + static_cast<std::ptrdiff_t>(start + len), seg.begin());
      std::fill(seg.begin() + static_cast<std::ptrdiff_t>(len), seg.end(), 0.0);
      fft.forward(seg.data());
      multiply_spectrum(seg.data());
      fft.backward(seg.data(), inv_n);
      for (std::ptrdiff_t i = start_filt; i < stop_filt; ++i) {
        out[static_cast<std::size_t>(i)] += seg[static_cast<std::size_t>(start_prod + (i - start_filt))];
      }
    }
    std::copy(out.begin(), out.end(), signal);
  }

  /// x_fft *= h_fft in half-complex layout, with NumPy's complex product (ac − bd, ad + bc);
  /// the imaginary parts of DC and Nyquist are zero and dropped by irfft, as in SciPy.
  void multiply_spectrum(double* x) const {
    const double* h = h_fft.data();
    x[0] = x[0] * h[0];
    std::size_t i = 1;
    for (; i + 1 < n_fft; i += 2) {
      const double a = x[i], b = x[i + 1], c = h[i], d = h[i + 1];
      x[i] = a * c - b * d;
      x[i + 1] = a * d + b * c;
    }
    if (i < n_fft) x[i] = x[i] * h[i];
  }
};

OverlapAddFilter::OverlapAddFilter(std::vector<double> taps, std::size_t n_times) {
  LUMAMBA_CHECK_INPUT(!taps.empty() && taps.size() % 2 == 1,
                      "invalid value for 'taps': got {} taps; a zero-phase FIR filter needs an "
                      "odd length", taps.size());
  LUMAMBA_CHECK_INPUT(n_times >= 1, "invalid value for 'n_times': got 0; need at least 1 sample");
  impl_ = std::make_unique<Impl>(std::move(taps), n_times);
}
OverlapAddFilter::~OverlapAddFilter() = default;
OverlapAddFilter::OverlapAddFilter(OverlapAddFilter&&) noexcept = default;
OverlapAddFilter& OverlapAddFilter::operator=(OverlapAddFilter&&) noexcept = default;

std::size_t OverlapAddFilter::n_times() const { return impl_->n_times; }
std::size_t OverlapAddFilter::n_fft() const { return impl_->n_fft; }
std::size_t OverlapAddFilter::n_edge() const { return impl_->n_edge; }

void OverlapAddFilter::apply(double* signal, std::size_t n_times) const {
  LUMAMBA_CHECK_INPUT(n_times == impl_->n_times,
                      "invalid signal length: got {} samples; this filter was prepared for {}",
                      n_times, impl_->n_times);
  impl_->run(signal);
}

void OverlapAddFilter::apply(std::vector<double>& signal) const { apply(signal.data(), signal.size()); }

void apply_fir_zero_phase(const std::vector<double>& taps, std::vector<double>& signal) {
  if (signal.empty()) return;
  OverlapAddFilter(taps, signal.size()).apply(signal);
}

void apply_fir_zero_phase(const std::vector<double>& taps, std::vector<std::vector<double>>& channels,
                          int n_threads) {
  if (channels.empty()) return;
  const std::size_t n = channels.front().size();
  for (std::size_t c = 0; c < channels.size(); ++c) {
    LUMAMBA_CHECK_INPUT(channels[c].size() == n,
                        "channel {} has {} samples but channel 0 has {}; all must be equal", c,
                        channels[c].size(), n);
  }
  if (n == 0) return;
  const OverlapAddFilter filter(taps, n);
  detail::parallel_for(channels.size(), n_threads,
                       [&](std::size_t c) { filter.apply(channels[c]); });
}

}  // namespace lumamba::preprocess
