// lumamba/preprocess/chain.h — the LuMamba reference filter chain on plain buffers.
//
// Mirrors, in MNE 1.3 terms: raw.filter(l_freq, h_freq) -> raw.notch_filter(notch) ->
// raw.resample(target) (the last only when the native rate differs; MNE's resample at ratio 1 is
// not an identity, so whether it runs matters at the 1e-15 level). Every step is the exact MNE
// default (see fir_filter.h, resample.h); channels are processed independently on n_threads.
#pragma once

#include <string>
#include <vector>

#include "lumamba/preprocess/fir_filter.h"

namespace lumamba::preprocess {

struct FilterChainOptions {
  double l_freq_hz = 0.1;           // band-pass lower edge (0 = no high-pass)
  double h_freq_hz = 75.0;          // band-pass upper edge (0 = no low-pass)
  std::vector<double> notch_hz = {60.0};  // line frequencies (50 for European sets); empty = none
  double target_sfreq_hz = 256.0;   // resample target (0 = keep the native rate)
  int n_threads = 1;                // 0 = all cores
};

/// What a chain run did (for logs / provenance).
struct FilterChainReport {
  FirFilterDesign band_pass;
  FirFilterDesign notch;  // empty taps when no notch
  bool resampled = false;
  double sfreq_hz = 0;    // rate of the output
  std::vector<std::string> steps;  // the equivalent MNE calls, in order
};

/// Runs the chain in place on channels [channel][sample] (all of one length, µV, float64);
/// channels are replaced by the resampled buffers when resampling happens.
FilterChainReport run_filter_chain(std::vector<std::vector<double>>& channels, double sfreq_hz,
                                   const FilterChainOptions& options = {});

}  // namespace lumamba::preprocess
