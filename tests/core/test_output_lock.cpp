// One run per output folder (lumamba/core/output_lock.h): a second lock fails at once naming the
// holder's PID, the lock goes with its holder, and a dead run's temporaries are cleared.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "lumamba/core/output_lock.h"
#include "support/scratch.h"

namespace lumamba {
namespace {
namespace fs = std::filesystem;

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

TEST(OutputLock, SecondHolderFailsAtOnceNamingTheFirstPid) {
  const auto dir = test::fresh_scratch_dir("output_lock");
  auto first = std::make_unique<OutputLock>(dir.string());
  // flock locks belong to an open file: a second open in this process conflicts like another process.
  try {
    OutputLock second(dir.string());
    ADD_FAILURE() << "two locks on one folder";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(dir.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("PID " + std::to_string(::getpid())), std::string::npos) << msg;
  }
  first.reset();
  EXPECT_NO_THROW(OutputLock again(dir.string()));
  fs::remove_all(dir);
}

// A folder the run cannot write fails before any work, as an input error (exit 1) naming it.
// Permission bits do not stop root, which runs some CI jobs: /proc/self takes no new file from anyone.
TEST(OutputLock, UnwritableFolderFailsAtOnceNamingIt) {
  try {
    OutputLock lock("/proc/self");
    ADD_FAILURE() << "locked an unwritable folder";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/self"), std::string::npos) << e.what();
  }
}

TEST(OutputLock, RemovesOnlyTheTemporariesOfAtomicWrites) {
  const auto dir = test::fresh_scratch_dir("output_lock_tmp");
  fs::create_directories(dir / "checkpoints" / "deeper");
  touch(dir / "metrics.jsonl.tmp-123");
  touch(dir / "checkpoints" / "last.safetensors.tmp-4567");
  touch(dir / "checkpoints" / "deeper" / "x.tmp-1");  // two levels down: not ours to judge
  touch(dir / "notes.tmp-abc");                       // not a PID
  touch(dir / "metrics.jsonl");
  OutputLock lock(dir.string());
  EXPECT_EQ(lock.removed_temporaries(), 2);
  EXPECT_FALSE(fs::exists(dir / "metrics.jsonl.tmp-123"));
  EXPECT_FALSE(fs::exists(dir / "checkpoints" / "last.safetensors.tmp-4567"));
  EXPECT_TRUE(fs::exists(dir / "checkpoints" / "deeper" / "x.tmp-1"));
  EXPECT_TRUE(fs::exists(dir / "notes.tmp-abc"));
  EXPECT_TRUE(fs::exists(dir / "metrics.jsonl"));
  fs::remove_all(dir);
}

TEST(OutputLock, TemporariesOfOneFileOnly) {
  const auto dir = test::fresh_scratch_dir("atomic_tmp_of");
  touch(dir / "out.h5.tmp-99");
  touch(dir / "out.h5.parts.tmp-99");
  touch(dir / "other.h5.tmp-99");
  EXPECT_EQ(remove_atomic_temporaries(dir.string(), "out.h5"), 1);
  EXPECT_FALSE(fs::exists(dir / "out.h5.tmp-99"));
  EXPECT_TRUE(fs::exists(dir / "out.h5.parts.tmp-99"));
  EXPECT_TRUE(fs::exists(dir / "other.h5.tmp-99"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lumamba
