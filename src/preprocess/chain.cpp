// The LuMamba reference filter chain (see lumamba/preprocess/chain.h): MNE 1.3's
// raw.filter(0.1, 75) -> raw.notch_filter(60) -> raw.resample(256), on plain buffers.
//
// Each filter is designed once and applied per channel by a shared, read-only OverlapAddFilter,
// so only the per-channel scratch is duplicated across threads.
#include "lumamba/preprocess/chain.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>
#include <optional>

#include "lumamba/core/error.h"
#include "lumamba/preprocess/resample.h"
#include "parallel.h"

namespace lumamba::preprocess {

FilterChainReport run_filter_chain(std::vector<std::vector<double>>& channels, double sfreq_hz,
                                   const FilterChainOptions& options) {
  FilterChainReport report;
  report.sfreq_hz = sfreq_hz;
  std::optional<double> h_freq;
  if (options.h_freq_hz > 0) h_freq = options.h_freq_hz;
  // Both edges <= 0 (a preset's l_freq_hz=0 h_freq_hz=0): no band-pass at all, as not calling raw.filter.
  const bool band_pass_wanted = options.l_freq_hz > 0 || h_freq.has_value();
  if (band_pass_wanted) {
    report.band_pass = design_filter(sfreq_hz, options.l_freq_hz, h_freq);
    report.steps.push_back(fmt::format("raw.filter(l_freq={}, h_freq={})", options.l_freq_hz, options.h_freq_hz));
  }
  if (!options.notch_hz.empty()) {
    report.notch = design_notch(sfreq_hz, options.notch_hz);
    report.steps.push_back(fmt::format("raw.notch_filter([{}])", fmt::join(options.notch_hz, ", ")));
  }
  const bool resample_needed = options.target_sfreq_hz > 0 && options.target_sfreq_hz != sfreq_hz;
  if (resample_needed) {
    report.steps.push_back(fmt::format("raw.resample({})", options.target_sfreq_hz));
  }
  if (channels.empty()) return report;
  const std::size_t n = channels.front().size();
  for (std::size_t c = 0; c < channels.size(); ++c) {
    LUMAMBA_CHECK_INPUT(channels[c].size() == n,
                        "channel {} has {} samples but channel 0 has {}; all must be equal", c,
                        channels[c].size(), n);
  }
  if (n == 0) return report;

  std::unique_ptr<OverlapAddFilter> band_pass;
  if (band_pass_wanted) band_pass = std::make_unique<OverlapAddFilter>(report.band_pass.taps, n);
  std::unique_ptr<OverlapAddFilter> notch;
  if (!report.notch.taps.empty()) notch = std::make_unique<OverlapAddFilter>(report.notch.taps, n);
  std::unique_ptr<Resampler> resampler;
  if (resample_needed) resampler = std::make_unique<Resampler>(n, sfreq_hz, options.target_sfreq_hz);

  // One pass per channel keeps its data hot in cache through all three steps.
  detail::parallel_for(channels.size(), options.n_threads, [&](std::size_t c) {
    if (band_pass) band_pass->apply(channels[c]);
    if (notch) notch->apply(channels[c]);
    if (resampler) channels[c] = resampler->apply(channels[c]);
  });
  if (resampler) {
    report.resampled = true;
    report.sfreq_hz = options.target_sfreq_hz;
  }
  return report;
}

}  // namespace lumamba::preprocess
