// Running the built `lumamba` binary from a test (targets that define LUMAMBA_CLI_PATH).
#pragma once

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "support/scratch.h"

namespace lumamba::test {

/// `lumamba ARGS` with stdout to `stdout_path` and stderr to scratch_path("cli_stderr.txt"); the
/// std::system status.
inline int run(const std::string& args, const std::string& stdout_path = "/dev/null") {
  const std::string cmd =
      std::string(LUMAMBA_CLI_PATH) + " " + args + " > " + stdout_path + " 2> " + scratch_path("cli_stderr.txt");
  return std::system(cmd.c_str());
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace lumamba::test
