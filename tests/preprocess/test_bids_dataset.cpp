// BIDS roots as preprocessing input (lumamba/preprocess/dataset_builder.h with lumamba/io/bids.h),
// on the tree of tests/support/bids_tree.h: labels from participants.tsv, channels.tsv bad channels
// and types, electrodes.tsv positions, events.tsv events, and a bad electrode under missing: drop.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "lumamba/core/error.h"
#include "lumamba/io/channels.h"
#include "lumamba/preprocess/dataset_builder.h"
#include "lumamba/preprocess/preset.h"
#include "support/bids_tree.h"

namespace lumamba::preprocess {
namespace {

PreprocessPreset generic(const std::vector<std::string>& overrides) {
  auto p = builtin_preset("generic");
  apply_preset_overrides(p, overrides);
  return p;
}

const RecordingJob& job_of(const std::vector<RecordingJob>& jobs, const std::string& subject) {
  for (const auto& j : jobs) {
    if (j.subject == subject) return j;
  }
  throw std::runtime_error("no job for " + subject);
}

TEST(BidsDataset, SubjectsAndLabelsFromParticipants) {
  const auto root = test::write_bids_tree("bids_labels");
  const auto jobs = discover_recordings(root.string(), generic({"labels=participants:group"}));
  ASSERT_EQ(jobs.size(), 4u);
  // Without participant_labels the values are numbered in sorted order: control 0, patient 1.
  EXPECT_EQ(job_of(jobs, "sub-01").label, 0);
  EXPECT_EQ(job_of(jobs, "sub-02").label, 1);
  EXPECT_EQ(job_of(jobs, "sub-03").label, 1);
  EXPECT_EQ(job_of(jobs, "sub-04").label, -1);  // n/a: no label (the file fails, named, when labels are needed)
  for (const auto& j : jobs) EXPECT_FALSE(j.split.empty()) << j.path;  // split by subject

  const auto mapped = discover_recordings(root.string(), generic({"labels=participants:group",
                                                                  "participant_labels={patient: 0, control: 1}"}));
  EXPECT_EQ(job_of(mapped, "sub-01").label, 1);
  EXPECT_EQ(job_of(mapped, "sub-02").label, 0);
  // Whole numbers are the classes as written.
  const auto ages = discover_recordings(root.string(), generic({"labels=participants:age"}));
  EXPECT_EQ(job_of(ages, "sub-02").label, 41);
  EXPECT_THROW(discover_recordings(root.string(), generic({"labels=participants:group",
                                                           "participant_labels={patient: 0}"})),
               InputError);  // control is not mapped
  EXPECT_THROW(discover_recordings((root / "sub-01").string(), generic({"labels=participants:group"})), InputError);
  EXPECT_THROW(validate(generic({"labels=participants:"})), InputError);
}

TEST(BidsDataset, ChannelsTableElectrodesAndEventsAreUsed) {
  const auto root = test::write_bids_tree("bids_tables_used");
  const auto preset = generic({"montage=all_eeg", "labels=events", "event_labels={left: 0, right: 1}"});
  const auto jobs = discover_recordings(root.string(), preset);
  // sub-01: Pz is bad, VEOG is an EOG channel: Fp1 Fz Cz remain, at the electrodes.tsv positions
  // (kBidsHeadScale times the template's), with the events of events.tsv.
  const auto rec = process_recording(job_of(jobs, "sub-01"), preset);
  EXPECT_EQ(rec.channel_names, (std::vector<std::string>{"FP1", "FZ", "CZ"}));
  for (std::size_t c = 0; c < rec.channel_names.size(); ++c) {
    const auto want = *io::find_electrode(rec.channel_names[c]);
    EXPECT_NEAR(rec.channel_locations_m[c][0], test::kBidsHeadScale * want.x_m, 1e-9);
    EXPECT_NEAR(rec.channel_locations_m[c][1], test::kBidsHeadScale * want.y_m, 1e-9);
    EXPECT_NEAR(rec.channel_locations_m[c][2], test::kBidsHeadScale * want.z_m, 1e-9);
  }
  EXPECT_EQ(rec.labels, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(rec.window_start_s, (std::vector<double>{1.0, 6.0}));

  // sub-02 (EEGLAB): its own chanlocs positions, VEOG typed EOG in channels.tsv and in the file; the
  // root's task-rest_events.tsv replaces the file's own events.
  const auto eeglab = process_recording(job_of(jobs, "sub-02"), preset);
  EXPECT_EQ(eeglab.channel_names, (std::vector<std::string>{"FP1", "FZ", "CZ", "C3"}));
  EXPECT_EQ(eeglab.labels, (std::vector<int64_t>{0}));
  EXPECT_EQ(eeglab.window_start_s, (std::vector<double>{0.5}));

  // sub-03 (BrainVision, no tables of its own) inherits the root's events too.
  EXPECT_EQ(process_recording(job_of(jobs, "sub-03"), preset).window_start_s, (std::vector<double>{0.5}));
}

TEST(BidsDataset, BadElectrodeIsDroppedOrNamed) {
  const auto root = test::write_bids_tree("bids_missing");
  auto preset = generic({"channels=[FP1, FZ, PZ]", "labels=none"});
  const auto jobs = discover_recordings(root.string(), preset);
  try {
    process_recording(job_of(jobs, "sub-01"), preset);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("PZ"), std::string::npos) << e.what();
  }
  apply_preset_overrides(preset, {"missing=drop"});
  const auto rec = process_recording(job_of(jobs, "sub-01"), preset);
  EXPECT_EQ(rec.channel_names, (std::vector<std::string>{"FP1", "FZ"}));
  EXPECT_EQ(rec.n_windows, 2);
  // sub-04 has no channels table: Pz is used.
  EXPECT_EQ(process_recording(job_of(jobs, "sub-04"), preset).channel_names,
            (std::vector<std::string>{"FP1", "FZ", "PZ"}));
}

}  // namespace
}  // namespace lumamba::preprocess
