// TUH csv_v1.0.0 annotation parser on real TUH annotation files (epilepsy2bids fixtures) and on
// malformed text.
#include <gtest/gtest.h>

#include "lumamba/core/error.h"
#include "lumamba/io/tuh_csv.h"

namespace lumamba::io {
namespace {

TEST(TuhCsv, ReadsRealAnnotationFile) {
  const auto rows = read_tuh_csv(std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/tuh/aaaaakpu_s003_t004.csv_bi");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].channel, "TERM");
  EXPECT_EQ(rows[0].start_s, 0.0);
  EXPECT_EQ(rows[0].stop_s, 254.0);
  EXPECT_EQ(rows[0].label, "bckg");
  EXPECT_EQ(rows[0].confidence, 1.0);
}

TEST(TuhCsv, ParsesChannelRowsAndSkipsComments) {
  const auto rows = parse_tuh_csv(
      "# version = csv_v1.0.0\n#\nchannel,start_time,stop_time,label,confidence\r\n"
      "FP1-F7,1.5000,3.2500,eyem,1.0000\r\nT3-T5, 10.0 ,12.0,musc_elec,0.5\n\n",
      "mem");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].channel, "T3-T5");
  EXPECT_EQ(rows[1].start_s, 10.0);
  EXPECT_EQ(rows[1].label, "musc_elec");
  EXPECT_EQ(rows[1].confidence, 0.5);
}

TEST(TuhCsv, MalformedTextNamesTheLine) {
  const std::string header = "channel,start_time,stop_time,label,confidence\n";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "no header"},
      {"chan,start,stop\n", ":1: expected the header"},
      {header + "FP1-F7,abc,2,eyem,1\n", ":2: column 'start_time' is not a number"},
      {header + "FP1-F7,3,2,eyem,1\n", ":2: bad interval"},
      {header + "FP1-F7,1,2\n", ":2: expected 5 columns"},
      {header + "FP1-F7,1,2,,1\n", ":2: empty label"},
      {header + "FP1-F7,1,nan,eyem,1\n", "not a number"},
  };
  for (const auto& [text, needle] : bad) {
    try {
      parse_tuh_csv(text, "bad.csv");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("bad.csv", 0), 0u) << e.what();
    }
  }
  EXPECT_THROW(read_tuh_csv("/nonexistent/x.csv"), InputError);
}

}  // namespace
}  // namespace lumamba::io
