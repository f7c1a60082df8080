// EDF/EDF+/BDF+ files written with EDFlib's own writer, for tests that need a recording with given
// labels, units and samples (the reader's tests, montage and preprocessing tests).
#pragma once

#include <edflib.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lumamba::test {

struct SignalSpec {
  std::string label, dimension;
  double pmin, pmax;
  int dmin, dmax, samples_per_record;
};
struct AnnotationSpec {
  long long onset_100us, duration_100us;  // EDFlib writer units (0.1 ms); duration -1 = none
  std::string text;
};
struct FileSpec {
  bool bdf = false;
  std::vector<SignalSpec> signals;
  int n_records = 2;
  std::vector<AnnotationSpec> annotations;
  std::function<int(int signal, int64_t sample)> digital;
};

inline void write_with_edflib(const std::string& path, const FileSpec& spec) {
  const int h = edfopen_file_writeonly(path.c_str(), spec.bdf ? EDFLIB_FILETYPE_BDFPLUS : EDFLIB_FILETYPE_EDFPLUS,
                                       static_cast<int>(spec.signals.size()));
  ASSERT_GE(h, 0) << path;
  for (int s = 0; s < static_cast<int>(spec.signals.size()); ++s) {
    const SignalSpec& sig = spec.signals[static_cast<std::size_t>(s)];
    ASSERT_EQ(edf_set_samplefrequency(h, s, sig.samples_per_record), 0);
    ASSERT_EQ(edf_set_physical_minimum(h, s, sig.pmin), 0);
    ASSERT_EQ(edf_set_physical_maximum(h, s, sig.pmax), 0);
    ASSERT_EQ(edf_set_digital_minimum(h, s, sig.dmin), 0);
    ASSERT_EQ(edf_set_digital_maximum(h, s, sig.dmax), 0);
    ASSERT_EQ(edf_set_label(h, s, sig.label.c_str()), 0);
    ASSERT_EQ(edf_set_physical_dimension(h, s, sig.dimension.c_str()), 0);
  }
  ASSERT_EQ(edf_set_startdatetime(h, 2020, 1, 2, 3, 4, 5), 0);
  ASSERT_EQ(edf_set_patientname(h, "lumamba test"), 0);
  ASSERT_EQ(edf_set_equipment(h, "EDFlib writer"), 0);
  std::vector<int> buf;
  for (int r = 0; r < spec.n_records; ++r) {
    for (int s = 0; s < static_cast<int>(spec.signals.size()); ++s) {
      const int spr = spec.signals[static_cast<std::size_t>(s)].samples_per_record;
      buf.assign(static_cast<std::size_t>(spr), 0);
      for (int i = 0; i < spr; ++i) buf[static_cast<std::size_t>(i)] = spec.digital(s, int64_t{r} * spr + i);
      ASSERT_EQ(edfwrite_digital_samples(h, buf.data()), 0);
    }
  }
  for (const auto& a : spec.annotations) {
    ASSERT_EQ(edfwrite_annotation_utf8(h, a.onset_100us, a.duration_100us, a.text.c_str()), 0);
  }
  ASSERT_EQ(edfclose_file(h), 0);
}

}  // namespace lumamba::test
