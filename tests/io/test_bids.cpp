// Tests for lumamba/io/bids.h on the BIDS tree of tests/support/bids_tree.h: which recordings are
// found, which tables apply to each (specificity, sessions, inheritance from the root), the tables'
// contents, and the errors a malformed table gives.
#include "lumamba/io/bids.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "lumamba/core/error.h"
#include "support/bids_tree.h"

namespace {

namespace io = lumamba::io;
namespace fs = std::filesystem;
using lumamba::InputError;

std::string rel(const fs::path& root, const std::string& p) {
  return p.empty() ? "" : fs::relative(p, root).string();
}

TEST(Bids, FindsRecordingsAndTheTablesThatApply) {
  const auto root = lumamba::test::write_bids_tree("bids_find");
  EXPECT_TRUE(io::is_bids_root(root.string()));
  EXPECT_FALSE(io::is_bids_root((root / "sub-01").string()));
  const auto recs = io::find_bids_recordings(root.string() + "/");
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(rel(root, recs[0].path), "sub-01/eeg/sub-01_task-rest_eeg.edf");
  EXPECT_EQ(recs[0].subject, "sub-01");
  EXPECT_EQ(recs[0].session, "");
  // The task-rest table, not the decoy for task-other; electrodes without a task apply to every task.
  EXPECT_EQ(rel(root, recs[0].channels_tsv), "sub-01/eeg/sub-01_task-rest_channels.tsv");
  EXPECT_EQ(rel(root, recs[0].electrodes_tsv), "sub-01/eeg/sub-01_electrodes.tsv");
  EXPECT_EQ(rel(root, recs[0].events_tsv), "sub-01/eeg/sub-01_task-rest_events.tsv");
  EXPECT_EQ(rel(root, recs[1].path), "sub-02/ses-1/eeg/sub-02_ses-1_task-rest_eeg.set");
  EXPECT_EQ(recs[1].subject, "sub-02");
  EXPECT_EQ(recs[1].session, "ses-1");
  EXPECT_EQ(rel(root, recs[1].channels_tsv), "sub-02/ses-1/eeg/sub-02_ses-1_channels.tsv");
  EXPECT_EQ(recs[1].electrodes_tsv, "");
  EXPECT_EQ(rel(root, recs[1].events_tsv), "task-rest_events.tsv");  // inherited from the root
  EXPECT_EQ(rel(root, recs[2].path), "sub-03/eeg/sub-03_task-rest_eeg.vhdr");  // listed once, not per file
  EXPECT_EQ(recs[2].channels_tsv, "");
  EXPECT_EQ(rel(root, recs[3].path), "sub-04/eeg/sub-04_task-rest_eeg.edf");

  const auto empty = lumamba::test::fresh_scratch_dir("bids_empty");
  lumamba::test::write_text(empty / "dataset_description.json", "{}");
  EXPECT_TRUE(io::is_bids_root(empty.string()));
  EXPECT_THROW(io::find_bids_recordings(empty.string()), InputError);
}

TEST(Bids, ReadsChannelsEventsAndParticipants) {
  const auto root = lumamba::test::write_bids_tree("bids_tables");
  const auto channels = io::read_bids_channels((root / "sub-01/eeg/sub-01_task-rest_channels.tsv").string());
  ASSERT_EQ(channels.size(), 5u);
  EXPECT_EQ(channels[3].name, "VEOG");
  EXPECT_EQ(channels[3].type, "EOG");
  EXPECT_EQ(channels[3].status, "good");
  EXPECT_EQ(channels[4].status, "bad");
  EXPECT_EQ(channels[4].status_description, "loose electrode");
  EXPECT_EQ(channels[0].status_description, "");  // n/a

  const auto events = io::read_bids_events((root / "sub-01/eeg/sub-01_task-rest_events.tsv").string());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_DOUBLE_EQ(events[1].onset_s, 6.0);
  EXPECT_DOUBLE_EQ(events[1].duration_s, 4.0);
  EXPECT_EQ(events[1].text, "right");  // trial_type before value

  const auto groups = io::read_bids_participants(root.string(), "group");
  EXPECT_EQ(groups.at("sub-01"), "control");
  EXPECT_EQ(groups.at("sub-04"), "n/a");
  try {
    io::read_bids_participants(root.string(), "diagnosis");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no 'diagnosis' column (columns: participant_id, group, age)"),
              std::string::npos) << e.what();
  }
}

TEST(Bids, MalformedTablesFailNamingFileAndLine) {
  const auto dir = lumamba::test::fresh_scratch_dir("bids_broken");
  auto expect_error = [&](const std::string& file, const std::string& text, auto read, const std::string& expected) {
    lumamba::test::write_text(dir / file, text);
    try {
      read((dir / file).string());
      ADD_FAILURE() << file << ": expected InputError containing '" << expected << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << file << ": " << e.what();
    }
  };
  expect_error("a_channels.tsv", "type\tunits\nEEG\tuV\n", io::read_bids_channels, "a_channels.tsv: no 'name' column");
  expect_error("b_channels.tsv", "name\ttype\tstatus\nFp1\tEEG\tbroken\n", io::read_bids_channels,
               "b_channels.tsv:2: status 'broken' of channel Fp1 must be good, bad or n/a");
  expect_error("c_channels.tsv", "name\ttype\nFp1\n", io::read_bids_channels, "c_channels.tsv:2: 1 tab-separated fields, the header has 2");
  expect_error("d_events.tsv", "onset\ttrial_type\n1\tx\n", io::read_bids_events, "d_events.tsv: no 'duration' column");
  expect_error("e_events.tsv", "onset\tduration\nsoon\t1\n", io::read_bids_events, "e_events.tsv:2: onset 'soon'");
  expect_error("f_events.tsv", "onset\tduration\n1\t-2\n", io::read_bids_events, "f_events.tsv:2: duration '-2'");
}

}  // namespace
