// Whole-file writes (lumamba/core/atomic_file.h) on a full disk: a DiskFullError naming the path,
// the previous file unchanged, no temporary left. The disk is "full" through RLIMIT_FSIZE in a forked
// child (write(2) then fails with EFBIG), which needs no mount and no root.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"
#include "support/scratch.h"

namespace lumamba {
namespace {
namespace fs = std::filesystem;

// Runs `body` in a child limited to files of `max_bytes`; returns its exit code (0 = all held).
int run_with_file_size_limit(rlim_t max_bytes, const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills the writer instead of failing the write
    const rlimit limit{max_bytes, max_bytes};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(90);
    int code = 0;
    try {
      code = body();
    } catch (...) {
      code = 91;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(AtomicFile, FullDiskIsADiskFullErrorAndKeepsThePreviousFile) {
  const auto dir = test::fresh_scratch_dir("atomic_full_disk");
  const auto path = (dir / "state.bin").string();
  write_text_file_atomic(path, "previous");
  const int code = run_with_file_size_limit(64 * 1024, [&] {
    try {
      write_file_atomic(path, std::string(1 << 20, 'x'));
      return 1;  // no error
    } catch (const DiskFullError& e) {
      return std::string(e.what()).rfind("disk full: " + path, 0) == 0 ? 0 : 2;
    }
  });
  EXPECT_EQ(code, 0) << "1: no error, 2: message does not start with 'disk full: PATH'";
  EXPECT_EQ(read_text_file(path), "previous");
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().filename().string(), "state.bin") << "left behind: " << entry.path();
  }
  fs::remove_all(dir);
}

TEST(AtomicFile, UnwritableFolderNamesThePath) {
  try {
    write_text_file_atomic("/nonexistent_lumamba_dir/x.json", "{}");
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent_lumamba_dir/x.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lumamba
