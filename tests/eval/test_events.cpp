// Tests for lumamba/eval/events.h (events from window predictions, worked out by hand below) and
// lumamba/io/edf_annotations.h: the EDF+ annotation file reads back through EDFlib and, where
// python3-mne is installed, through mne.read_annotations with the same onsets, durations and texts.
#include "lumamba/eval/events.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/io/edf_annotations.h"
#include "lumamba/io/recording.h"
#include "support/scratch.h"

namespace lumamba::eval {
namespace {

// Ten 5 s windows back to back; probabilities of class 1 (class 0 = 1 − p).
const std::vector<double> kStarts = {0, 5, 10, 15, 20, 25, 30, 35, 40, 45};
const std::vector<double> kP1 = {0.1, 0.7, 0.8, 0.2, 0.6, 0.1, 0.9, 0.9, 0.9, 0.1};

std::vector<double> two_class(const std::vector<double>& p1) {
  std::vector<double> probs;
  for (const double p : p1) {
    probs.push_back(1 - p);
    probs.push_back(p);
  }
  return probs;
}

TEST(Events, RunsOfWindowsAboveTheThreshold) {
  const auto events = detect_events(kStarts, 5.0, two_class(kP1), 2, {"normal", "abnormal"}, false, {});
  ASSERT_EQ(events.size(), 3u);  // class 0 (background) gives no track by default
  EXPECT_DOUBLE_EQ(events[0].onset_s, 5);
  EXPECT_DOUBLE_EQ(events[0].duration_s, 10);
  EXPECT_EQ(events[0].label, "abnormal");
  EXPECT_NEAR(events[0].mean_probability, 0.75, 1e-12);
  EXPECT_DOUBLE_EQ(events[0].max_probability, 0.8);
  EXPECT_EQ(events[0].n_windows, 2);
  EXPECT_DOUBLE_EQ(events[1].onset_s, 20);
  EXPECT_DOUBLE_EQ(events[1].duration_s, 5);
  EXPECT_DOUBLE_EQ(events[2].onset_s, 30);
  EXPECT_DOUBLE_EQ(events[2].duration_s, 15);
  EXPECT_NEAR(events[2].mean_probability, 0.9, 1e-12);
}

TEST(Events, MergeGapMinimumDurationAndSmoothing) {
  EventOptions merge;
  merge.merge_gap_s = 5;  // the gaps 15-20 and 25-30 are 5 s: one event 5-45
  auto events = detect_events(kStarts, 5.0, two_class(kP1), 2, {}, false, merge);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_DOUBLE_EQ(events[0].onset_s, 5);
  EXPECT_DOUBLE_EQ(events[0].duration_s, 40);
  EXPECT_EQ(events[0].n_windows, 6);
  EXPECT_NEAR(events[0].mean_probability, (0.7 + 0.8 + 0.6 + 0.9 * 3) / 6, 1e-12);
  EXPECT_EQ(events[0].label, "class_1");

  EventOptions min_duration;
  min_duration.min_duration_s = 10;  // the lone 20-25 window goes
  events = detect_events(kStarts, 5.0, two_class(kP1), 2, {}, false, min_duration);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_DOUBLE_EQ(events[1].onset_s, 30);

  // Moving average over 3 windows (2 at the ends): 0.4, 0.533, 0.567, 0.533, 0.3, 0.533, 0.633,
  // 0.9, 0.633, 0.5 → windows 1-3 and 5-9 reach 0.5.
  EventOptions smooth;
  smooth.smoothing_windows = 3;
  events = detect_events(kStarts, 5.0, two_class(kP1), 2, {}, false, smooth);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_DOUBLE_EQ(events[0].onset_s, 5);
  EXPECT_DOUBLE_EQ(events[0].duration_s, 15);
  EXPECT_DOUBLE_EQ(events[1].onset_s, 25);
  EXPECT_DOUBLE_EQ(events[1].duration_s, 25);
  EXPECT_EQ(events[1].n_windows, 5);
  EXPECT_NEAR(events[1].mean_probability, (0.1 + 0.9 * 3 + 0.1) / 5, 1e-12);  // unsmoothed probabilities
}

TEST(Events, OverlappingWindowsMultilabelTracksAndErrors) {
  // 5 s windows every 2.5 s: consecutive windows overlap; one event from the first start to the last end.
  const std::vector<double> starts = {0, 2.5, 5, 7.5};
  auto events = detect_events(starts, 5.0, two_class({0.9, 0.9, 0.2, 0.2}), 2, {}, false, {});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_DOUBLE_EQ(events[0].duration_s, 7.5);
  // Multilabel (TUAR-like): every label is a track, sorted by onset then class.
  const std::vector<double> probs = {0.9, 0.1, 0.9, 0.8, 0.1, 0.8, 0.1, 0.1};  // (4 windows, 2 labels)
  events = detect_events(starts, 5.0, probs, 2, {"eye", "muscle"}, true, {});
  ASSERT_EQ(events.size(), 2u);  // eye: windows 0-1; muscle: windows 1-2
  EXPECT_EQ(events[0].label, "eye");
  EXPECT_DOUBLE_EQ(events[0].onset_s, 0);
  EXPECT_DOUBLE_EQ(events[0].duration_s, 7.5);
  EXPECT_EQ(events[1].label, "muscle");
  EXPECT_DOUBLE_EQ(events[1].onset_s, 2.5);
  EXPECT_DOUBLE_EQ(events[1].duration_s, 7.5);
  EXPECT_NEAR(events[1].mean_probability, 0.8, 1e-12);
  EventOptions bad;
  bad.smoothing_windows = 2;
  EXPECT_THROW(detect_events(starts, 5.0, probs, 2, {}, true, bad), InputError);
  bad = {};
  bad.threshold = 0;
  EXPECT_THROW(detect_events(starts, 5.0, probs, 2, {}, true, bad), InputError);
  bad = {};
  bad.classes = {2};
  EXPECT_THROW(detect_events(starts, 5.0, probs, 2, {}, true, bad), InputError);
  EXPECT_THROW(detect_events(starts, 5.0, {0.5}, 2, {}, true, {}), InputError);
}

TEST(Events, TsvAndCsvRows) {
  const auto events = detect_events(kStarts, 5.0, two_class(kP1), 2, {"normal", "abnormal"}, false, {});
  const auto tsv = events_tsv(events);
  EXPECT_EQ(tsv.substr(0, tsv.find('\n')), "onset\tduration\ttrial_type\tmean_probability\tmax_probability\tn_windows");
  EXPECT_NE(tsv.find("5.0000\t10.0000\tabnormal\t0.7500\t0.8000\t2\n"), std::string::npos) << tsv;
  EXPECT_EQ(events_csv_rows("rec.edf", {events[1]}), "rec.edf,20.0000,5.0000,abnormal,0.6000,0.6000,1\n");
  EXPECT_EQ(event_annotation_text(events[0]), "abnormal p=0.75");
}

TEST(Events, EdfAnnotationFileReadsBack) {
  const auto events = detect_events(kStarts, 5.0, two_class(kP1), 2, {"normal", "abnormal"}, false, {});
  std::vector<io::Annotation> annotations;
  for (const auto& e : events) annotations.push_back({e.onset_s, e.duration_s, event_annotation_text(e)});
  const auto path = test::scratch_path("events.edf");
  io::write_edf_annotations(path, annotations, "2009-08-12T16:15:00");
  auto reader = io::open_recording(path);
  EXPECT_EQ(reader->header().start_datetime, "2009-08-12T16:15:00");
  EXPECT_EQ(reader->n_signals(), 0);
  const auto& back = reader->header().annotations;
  ASSERT_EQ(back.size(), annotations.size());
  for (std::size_t i = 0; i < back.size(); ++i) {
    EXPECT_DOUBLE_EQ(back[i].onset_s, annotations[i].onset_s);
    EXPECT_DOUBLE_EQ(back[i].duration_s, annotations[i].duration_s);
    EXPECT_EQ(back[i].text, annotations[i].text);
  }

  // MNE's reader, where python3-mne is installed (Debian's python3, not a virtualenv's).
  if (std::system("/usr/bin/python3 -c 'import mne' > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-mne is not installed: the MNE read-back is skipped (EDFlib's passed)";
  }
  const auto json_path = test::scratch_path("events_mne.json");
  const std::string cmd = "/usr/bin/python3 -c \"import json, sys, mne; a = mne.read_annotations(sys.argv[1]); "
                          "json.dump([[float(o), float(d), str(t)] for o, d, t in zip(a.onset, a.duration, "
                          "a.description)], open(sys.argv[2], 'w'))\" " + path + " " + json_path;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(json_path);
  const auto mne = nlohmann::json::parse(in);
  ASSERT_EQ(mne.size(), annotations.size());
  for (std::size_t i = 0; i < annotations.size(); ++i) {
    EXPECT_NEAR(mne[i][0].get<double>(), annotations[i].onset_s, 1e-9);
    EXPECT_NEAR(mne[i][1].get<double>(), annotations[i].duration_s, 1e-9);
    EXPECT_EQ(mne[i][2].get<std::string>(), annotations[i].text);
  }
  std::filesystem::remove(path);
  std::filesystem::remove(json_path);
}

}  // namespace
}  // namespace lumamba::eval
