// lumamba/preprocess/fir_filter.h — zero-phase FIR filters identical to MNE 1.3's defaults.
//
// Design mirrors mne.filter.create_filter(method='fir', phase='zero', fir_window='hamming',
// fir_design='firwin', filter_length='auto', *_trans_bandwidth='auto') including its float
// arithmetic, so the taps equal MNE's to the last bit or two; design_notch mirrors
// mne.filter.notch_filter(method='fir') (notch_widths = freq/200, trans_bandwidth = 1 Hz).
// Application mirrors mne.filter._overlap_add_filter / _1d_overlap_filter (FFT overlap-add,
// n_fft chosen by MNE's cost model, 'reflect_limited' edge padding). Plain float64 buffers,
// torch-free; see docs/preprocessing.md for the rules and measured parity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lumamba::preprocess {

/// A designed filter plus everything MNE resolved automatically (for logging / provenance).
struct FirFilterDesign {
  std::vector<double> taps;           // odd length, symmetric (zero phase)
  double sfreq_hz = 0;
  std::string kind;                   // "bandpass", "lowpass", "highpass" or "bandstop"
  std::vector<double> freq_hz;        // MNE's gain control points (0 … Nyquist), Hz
  std::vector<double> gain;           // 0 or 1 at each control point
  double l_trans_bandwidth_hz = 0;    // 0 when there is no lower edge
  double h_trans_bandwidth_hz = 0;    // 0 when there is no upper edge
  int64_t filter_length = 0;          // == taps.size()

  /// One line like MNE's log: kind, edges, transition bandwidths, length in samples and seconds.
  std::string describe() const;
};

/// mne.filter.create_filter(None, sfreq_hz, l_freq_hz, h_freq_hz) with MNE's defaults: band-pass
/// when both edges are given (l < h), high-pass with only l, low-pass with only h, where an l of 0
/// counts as absent (as in MNE). Transition bandwidths: l_tb = min(max(l/4, 2), l),
/// h_tb = min(max(h/4, 2), sfreq/2 − h); length = ceil(3.3/min(tb) · sfreq) made odd.
/// Throws InputError (naming the parameter and value) where MNE raises ValueError, and for
/// l >= h (MNE's band-stop form: use design_notch).
FirFilterDesign design_filter(double sfreq_hz, std::optional<double> l_freq_hz,
                              std::optional<double> h_freq_hz);

/// design_filter with both edges: raw.filter(l_freq=l_freq_hz, h_freq=h_freq_hz).
FirFilterDesign design_band_pass(double sfreq_hz, double l_freq_hz, double h_freq_hz);

/// The FIR band-stop raw.notch_filter(freqs_hz) applies: per frequency f, stop band
/// f ± f/400, transition bands of 0.5 Hz on each side; length = ceil(6.6 · sfreq) made odd.
FirFilterDesign design_notch(double sfreq_hz, const std::vector<double>& freqs_hz);
FirFilterDesign design_notch(double sfreq_hz, double freq_hz);

/// MNE's FFT block length for a zero-phase filter of n_taps on a signal of n_times samples
/// (after 'reflect_limited' padding of min(n_taps, n_times) − 1 per side): the power of two
/// minimising MNE's multiplication-count cost, or next_fast_len(2·n_taps − 1) for short signals.
std::size_t overlap_add_fft_length(std::size_t n_taps, std::size_t n_times);

/// A zero-phase FIR filter prepared for signals of one length: FFT plan and the filter's spectrum
/// are computed once; apply() is const and thread-safe (each call uses its own scratch).
class OverlapAddFilter {
 public:
  /// taps: odd length (MNE's phase='zero' requirement; InputError otherwise); n_times >= 1.
  OverlapAddFilter(std::vector<double> taps, std::size_t n_times);
  ~OverlapAddFilter();
  OverlapAddFilter(OverlapAddFilter&&) noexcept;
  OverlapAddFilter& operator=(OverlapAddFilter&&) noexcept;
  OverlapAddFilter(const OverlapAddFilter&) = delete;
  OverlapAddFilter& operator=(const OverlapAddFilter&) = delete;

  std::size_t n_times() const;
  std::size_t n_fft() const;
  std::size_t n_edge() const;  // reflect_limited padding per side

  /// Filters signal[0 .. n_times) in place (InputError if n_times differs).
  void apply(double* signal, std::size_t n_times) const;
  void apply(std::vector<double>& signal) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// One-shot mne.filter._overlap_add_filter(signal, taps, phase='zero', pad='reflect_limited').
void apply_fir_zero_phase(const std::vector<double>& taps, std::vector<double>& signal);

/// The same on every channel (all of one length), in place, on n_threads workers (0 = all cores).
void apply_fir_zero_phase(const std::vector<double>& taps,
                          std::vector<std::vector<double>>& channels, int n_threads = 1);

}  // namespace lumamba::preprocess
