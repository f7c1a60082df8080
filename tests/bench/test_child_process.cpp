// Child processes under memory and time limits (lumamba/bench/child_process.h), and the memory-size
// parser of `--memory-budget`. The children are standard tools (sh, mawk, sleep) so the test needs
// no helper binary; mawk doubles a string to grow its resident set quickly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

#include "lumamba/bench/child_process.h"
#include "lumamba/core/error.h"

namespace lumamba::bench {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

TEST(ChildProcess, CapturesStdoutAndExitStatus) {
  // The child lives a few poll intervals, so its own VmHWM is read at least once (a child that is
  // already a zombie at the first poll has no VmHWM left to read; its peak is then unknown, 0).
  const auto r = run_child({"/bin/sh", "-c", "echo hi; echo oops >&2; sleep 0.1; exit 3"},
                           ChildLimits{0, 10.0, 0.01, true});
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.stdout_text, "hi\n");
  EXPECT_EQ(r.stderr_text, "oops\n");
  EXPECT_FALSE(r.killed_for_memory);
  EXPECT_FALSE(r.timed_out);
  EXPECT_GT(r.peak_rss_bytes, 0);
  EXPECT_EQ(r.describe(), "exit status 3");
}

TEST(ChildProcess, ReadsLargeOutputFully) {
  // 1 MB through the pipe: more than a pipe buffer, so the parent must read while the child writes.
  const auto r = run_child({"/bin/sh", "-c", "head -c 1000000 /dev/zero"}, ChildLimits{});
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.stdout_text.size(), 1000000u);
}

TEST(ChildProcess, KillsAChildAboveTheMemoryLimit) {
  // mawk doubles a string to 256 MiB, then spins: it must be killed near the 64 MiB limit.
  ChildLimits limits;
  limits.memory_bytes = 64 * kMiB;
  limits.timeout_s = 30.0;
  const auto r = run_child({"awk", "BEGIN { s = \"a\"; for (i = 0; i < 28; i++) s = s s; for (;;) n++ }"}, limits);
  EXPECT_TRUE(r.killed_for_memory) << r.describe();
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.exited);
  EXPECT_EQ(r.term_signal, 9);
  EXPECT_GT(r.max_polled_rss_bytes, 64 * kMiB);
  EXPECT_GE(r.peak_rss_bytes, r.max_polled_rss_bytes / 2);  // ru_maxrss also saw it
  EXPECT_LT(r.wall_s, 20.0);
  EXPECT_NE(r.describe().find("resident memory"), std::string::npos);
}

TEST(ChildProcess, SmallChildStaysUnderTheMemoryLimit) {
  ChildLimits limits;
  limits.memory_bytes = 64 * kMiB;
  const auto r = run_child({"/bin/sh", "-c", "echo small"}, limits);
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_LT(r.peak_rss_bytes, 64 * kMiB);
}

TEST(ChildProcess, PeakOfASmallChildIsNotTheParents) {
  // Linux's ru_maxrss of a spawned child includes the parent's resident set at spawn time; the
  // reported peak must be the child's own.
  std::vector<char> ballast(size_t{200} * kMiB, 1);  // touched: resident in this process
  ChildLimits limits;
  limits.memory_bytes = 150 * kMiB;  // the parent's 200 MiB must not count against the child
  const auto r = run_child({"/bin/sh", "-c", "sleep 0.1; echo small"}, limits);
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_GT(r.peak_rss_bytes, 0);
  EXPECT_LT(r.peak_rss_bytes, 64 * kMiB);
  EXPECT_EQ(ballast[ballast.size() / 2], 1);
}

TEST(ChildProcess, KillsAChildAfterTheTimeout) {
  ChildLimits limits;
  limits.timeout_s = 0.3;
  const auto r = run_child({"sleep", "20"}, limits);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.killed_for_memory);
  EXPECT_FALSE(r.ok());
  EXPECT_GE(r.wall_s, 0.3);
  EXPECT_LT(r.wall_s, 5.0);
  EXPECT_NE(r.describe().find("time limit"), std::string::npos);
}

TEST(ChildProcess, MissingProgramIsAClearError) {
  try {
    run_child({"/nonexistent/lumamba-no-such-program", "x"}, ChildLimits{});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot start '/nonexistent/lumamba-no-such-program'"), std::string::npos)
        << e.what();
  }
}

TEST(ChildProcess, SelfExecutablePathIsThisTest) {
  const std::string path = self_executable_path();
  EXPECT_EQ(path.front(), '/');
  EXPECT_EQ(::access(path.c_str(), X_OK), 0);
  EXPECT_NE(path.find("test_bench"), std::string::npos) << path;
}

TEST(ByteSize, ParsesBinaryAndDecimalUnits) {
  EXPECT_EQ(parse_byte_size("4GiB"), int64_t{4} << 30);
  EXPECT_EQ(parse_byte_size("4 gib"), int64_t{4} << 30);
  EXPECT_EQ(parse_byte_size("4G"), int64_t{4} << 30);
  EXPECT_EQ(parse_byte_size("512MiB"), int64_t{512} << 20);
  EXPECT_EQ(parse_byte_size("1.5GiB"), int64_t{3} << 29);
  EXPECT_EQ(parse_byte_size("800MB"), 800000000);
  EXPECT_EQ(parse_byte_size("2kB"), 2000);
  EXPECT_EQ(parse_byte_size("2K"), 2048);
  EXPECT_EQ(parse_byte_size("1T"), int64_t{1} << 40);
  EXPECT_EQ(parse_byte_size("123"), 123);
  EXPECT_EQ(parse_byte_size("123B"), 123);
}

TEST(ByteSize, RejectsMalformedSizesWithTheValue) {
  for (const char* bad : {"", "GiB", "4XB", "-4GiB", "4.2.1G", "1e9", "0x10", "four"}) {
    try {
      parse_byte_size(bad, "--memory-budget");
      FAIL() << "accepted '" << bad << "'";
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("invalid --memory-budget: got '" + std::string(bad) + "'"), std::string::npos) << what;
    }
  }
}

TEST(ByteSize, FormatsBinaryUnits) {
  EXPECT_EQ(format_byte_size(int64_t{4} << 30), "4 GiB");
  EXPECT_EQ(format_byte_size(int64_t{512} << 20), "512 MiB");
  EXPECT_EQ(format_byte_size(int64_t{3} << 29), "1.5 GiB");
  EXPECT_EQ(format_byte_size(800), "800 B");
}

}  // namespace
}  // namespace lumamba::bench
