// Windowing and window labels: hand-computed cases of the reference rules (docs/reference-model.md §15).
#include <gtest/gtest.h>

#include "lumamba/core/error.h"
#include "lumamba/preprocess/windows.h"

namespace lumamba::preprocess {
namespace {

using io::TuhAnnotation;

TEST(Windows, NonOverlappingRemainderDropped) {
  EXPECT_EQ(window_starts(1280 * 3 + 1279, 1280), (std::vector<int64_t>{0, 1280, 2560}));
  EXPECT_TRUE(window_starts(1279, 1280).empty());
  EXPECT_THROW(window_starts(100, 0), InputError);
  EXPECT_EQ(time_to_sample(1.0 / 512, 256, 1000), 1);  // round half away from zero: 0.5 -> 1
  EXPECT_EQ(time_to_sample(-3, 256, 1000), 0);
  EXPECT_EQ(time_to_sample(10, 256, 1000), 1000);
}

TEST(Windows, OverlappingHop) {
  EXPECT_EQ(window_starts(30, 10, 5), (std::vector<int64_t>{0, 5, 10, 15, 20}));
  EXPECT_EQ(window_starts(30, 10, 0), (std::vector<int64_t>{0, 10, 20}));  // 0 = non-overlapping
  EXPECT_EQ(window_starts(30, 10, 25), (std::vector<int64_t>{0}));
  EXPECT_THROW(window_starts(30, 10, -1), InputError);
}

TEST(Windows, TuslMajorityWithTiesToSmallestCode) {
  // sfreq 10 Hz, windows of 10 samples. Window 0: 6 bckg + 4 slow -> 1. Window 1: 5 slow + 5 seiz
  // -> tie -> 2 (seiz). Window 2: unannotated -> 0.
  const std::vector<TuhAnnotation> rows = {{"TERM", 0.0, 0.6, "bckg", 1},
                                           {"TERM", 0.6, 1.5, "slow", 1},
                                           {"TERM", 1.5, 2.0, "seiz", 1}};
  const auto starts = window_starts(30, 10);
  EXPECT_EQ(tusl_window_labels(rows, 10, 30, starts, 10), (std::vector<int64_t>{1, 2, 0}));
}

TEST(Windows, TuarBinaryThirtyPercentAndMontageFilter) {
  // 10 samples per window; window 0 covered 3/10 (= 30 %) -> 1; window 1 covered 2/10 -> 0.
  // A row on a channel outside the montage and a non-artifact label are ignored.
  const std::vector<TuhAnnotation> rows = {{"FP1-F7", 0.0, 0.3, "eyem", 1},
                                           {"F7-T3", 1.0, 1.2, "musc", 1},
                                           {"EKG", 1.0, 2.0, "musc", 1},
                                           {"FP1-F7", 1.0, 2.0, "bckg", 1}};
  const std::vector<std::string> montage = {"FP1-F7", "F7-T3"};
  const auto starts = window_starts(20, 10);
  const auto b = tuar_window_labels(rows, montage, TuarMode::kBinary, 10, 20, starts, 10);
  EXPECT_EQ(b.binary, (std::vector<int64_t>{1, 0}));
  const auto mb = tuar_window_labels(rows, montage, TuarMode::kMultiBinary, 10, 20, starts, 10);
  EXPECT_EQ(mb.n_columns, 2);
  EXPECT_EQ(mb.per_channel, (std::vector<std::uint8_t>{1, 0, 0, 0}));
}

TEST(Windows, TuarMultiLabelFamiliesLaterRowsOverwrite) {
  // Channel FP1-F7, one 10-sample window: eyem over 0..6, then chew over 4..8 overwrites 4..6:
  // eyem covers 4, chew 4 -> both >= 3; tie -> smaller code (chew = 1).
  // Channel F7-T3: elec over 0..2 (2 samples < 3) -> 0.
  const std::vector<TuhAnnotation> rows = {{"FP1-F7", 0.0, 0.6, "eyem", 1},
                                           {"FP1-F7", 0.4, 0.8, "chew_musc", 1},
                                           {"F7-T3", 0.0, 0.2, "elec", 1}};
  const auto ml = tuar_window_labels(rows, {"FP1-F7", "F7-T3"}, TuarMode::kMultiLabel, 10, 10, {0}, 10);
  EXPECT_EQ(ml.per_channel, (std::vector<std::uint8_t>{1, 0}));
  EXPECT_EQ(tuar_family("eyem_shiv"), 3);
  EXPECT_EQ(tuar_family("seiz"), 0);
  EXPECT_TRUE(tuar_is_event("gnsz"));
  EXPECT_FALSE(tuar_is_event("bckg"));
  EXPECT_THROW(parse_tuar_mode("multi"), InputError);
}

TEST(Windows, EventLockedWindows) {
  // Motor-imagery style: T0 rest, T1/T2 movement; 4.1 s blocks, windows of 960 samples at 256 Hz.
  const std::vector<TimedEvent> events = {{0.0, 4.2, "T0"}, {4.2, 4.1, "T2"}, {8.3, 4.2, "T0"}, {12.5, 4.1, "T9"},
                                          {16.0, 4.1, "T1"}};
  const std::map<std::string, int64_t> map = {{"T0", 0}, {"T1", 1}, {"T2", 1}};
  const auto w = event_windows(events, map, 256, 256 * 20, 960);
  ASSERT_EQ(w.size(), 4u);  // T9 is unmapped

  EXPECT_EQ(w[0].start, 0);
  EXPECT_EQ(w[1].start, 1075);  // round(4.2 · 256) = 1075.2 -> 1075
  EXPECT_EQ(w[1].label, 1);
  EXPECT_EQ(w[2].start, 2125);  // round(8.3 · 256) = 2124.8 -> 2125
  EXPECT_EQ(w[3].start, 4096);  // ends at sample 5056 <= 5120
  // The same event 1 s later would run past the end and is dropped.
  EXPECT_TRUE(event_windows({{17.0, 4.1, "T1"}}, map, 256, 256 * 20, 960).empty());
}

TEST(Windows, EventCropsWithHop) {
  // 10 Hz, event at 1.0 s lasting 2.5 s (samples 10..35), windows of 10 samples every 5: starts
  // 10, 15, 20, 25 (25 + 10 = 35 ends at the event's end); 30 would run past it.
  const std::map<std::string, int64_t> map = {{"T1", 1}};
  const auto w = event_windows({{1.0, 2.5, "T1"}}, map, 10, 100, 10, 5);
  std::vector<int64_t> starts;
  for (const auto& e : w) starts.push_back(e.start);
  EXPECT_EQ(starts, (std::vector<int64_t>{10, 15, 20, 25}));
  // An event shorter than the window still gets its onset window, and only that.
  EXPECT_EQ(event_windows({{1.0, 0.5, "T1"}}, map, 10, 100, 10, 5).size(), 1u);
}

}  // namespace
}  // namespace lumamba::preprocess
