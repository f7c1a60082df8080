#include "lumamba/io/array_recording.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "lumamba/core/error.h"

namespace lumamba::io {

ArrayRecordingReader::ArrayRecordingReader(ArrayRecordingData data) : data_(std::move(data)) {
  const auto& d = data_;
  const auto c = static_cast<int64_t>(d.channel_names.size());
  LUMAMBA_CHECK_INPUT(c > 0, "{}: no channels (ch_names is empty)", d.name);
  LUMAMBA_CHECK_INPUT(std::isfinite(d.sfreq_hz) && d.sfreq_hz > 0, "{}: sfreq must be a positive number of Hz, got {}",
                      d.name, d.sfreq_hz);
  LUMAMBA_CHECK_INPUT(d.n_samples > 0 && static_cast<int64_t>(d.signal_uv.size()) == c * d.n_samples,
                      "{}: data has {} values, not {} channels (len(ch_names)) x {} samples", d.name,
                      d.signal_uv.size(), c, d.n_samples);
  LUMAMBA_CHECK_INPUT(d.positions_m.empty() || static_cast<int64_t>(d.positions_m.size()) == c,
                      "{}: positions has {} rows but there are {} channels", d.name, d.positions_m.size(), c);
  header_.path = d.name;
  header_.format = RecordingFormat::kEdf;
  header_.n_records = 1;
  header_.record_duration_s = static_cast<double>(d.n_samples) / d.sfreq_hz;
  header_.duration_s = header_.record_duration_s;
  header_.annotations = d.annotations;
  for (int64_t i = 0; i < c; ++i) {
    const double* row = d.signal_uv.data() + i * d.n_samples;
    const auto bad = std::find_if(row, row + d.n_samples, [](double v) { return !std::isfinite(v); });
    LUMAMBA_CHECK_INPUT(bad == row + d.n_samples, "{}: channel '{}' has a non-finite sample at {:.3f} s", d.name,
                        d.channel_names[static_cast<size_t>(i)], static_cast<double>(bad - row) / d.sfreq_hz);
    const auto [lo, hi] = std::minmax_element(row, row + d.n_samples);
    SignalInfo s;
    s.label = d.channel_names[static_cast<size_t>(i)];
    s.electrode = tuh_electrode_name(s.label);
    s.is_eeg = is_eeg_electrode_name(s.electrode);
    s.physical_dimension = "uV";
    s.unit_is_voltage = true;
    s.uv_per_unit = 1;
    // Arrays have no amplifier rails: limits a data range beyond the data on either side, so the
    // clipping check (samples at the limits) never fires on them; the flat check still does.
    const double margin = std::max(1.0, *hi - *lo);
    s.physical_min = *lo - margin;
    s.physical_max = *hi + margin;
    s.digital_min = -32768;
    s.digital_max = 32767;
    s.n_samples_per_record = static_cast<int32_t>(std::min<int64_t>(d.n_samples, INT32_MAX));
    s.sfreq_hz = d.sfreq_hz;
    s.n_samples = d.n_samples;
    if (!d.positions_m.empty()) {
      const auto& p = d.positions_m[static_cast<size_t>(i)];
      if (std::isfinite(p[0]) && std::isfinite(p[1]) && std::isfinite(p[2])) s.position = Position3{p[0], p[1], p[2]};
    }
    header_.signals.push_back(std::move(s));
  }
}

std::vector<double> ArrayRecordingReader::read_signal_uv(int64_t signal_idx) {
  LUMAMBA_CHECK_INPUT(signal_idx >= 0 && signal_idx < n_signals(), "{}: no signal {}", data_.name, signal_idx);
  const auto first = data_.signal_uv.begin() + signal_idx * data_.n_samples;
  return {first, first + data_.n_samples};
}

}  // namespace lumamba::io
