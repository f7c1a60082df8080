// Run-time BLAS detection. The test binary does not load a BLAS itself, so we dlopen the one
// libtorch would use (libblas.so.3, the alternatives slot) and check what the detector reports
// against the slot's target read from the filesystem (an independent reference).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "lumamba/core/blas.h"

namespace lumamba {
namespace {

TEST(Blas, DetectsTheLibraryBehindLibblas) {
  void* handle = dlopen("libblas.so.3", RTLD_NOW | RTLD_GLOBAL);
  ASSERT_NE(handle, nullptr) << "libblas.so.3 not found: install libopenblas0-openmp (make deps)";
  const auto target = std::filesystem::canonical("/etc/alternatives/libblas.so.3-x86_64-linux-gnu").string();
  const auto info = detect_blas();
  if (target.find("openblas") != std::string::npos) {
    EXPECT_EQ(info.name, "OpenBLAS");
    EXPECT_FALSE(info.is_reference);
    EXPECT_FALSE(info.version.empty());
    EXPECT_NE(describe_blas(info).find("OpenBLAS " + info.version), std::string::npos);
  } else {
    EXPECT_TRUE(info.is_reference) << describe_blas(info);
  }
  dlclose(handle);
}

// The fallback table: only OpenBLAS's generic SSE3 cores are replaced, and only by a kernel set the
// CPU can run; a core OpenBLAS picked on purpose (or one a user preset) is never touched.
TEST(Blas, ReplacesOnlyGenericOpenblasCores) {
  EXPECT_EQ(openblas_core_override("Prescott", true, true), "SkylakeX");
  EXPECT_EQ(openblas_core_override("Nehalem", false, true), "Haswell");
  EXPECT_EQ(openblas_core_override("Core2", false, false), "");
  EXPECT_EQ(openblas_core_override("SkylakeX", true, true), "");
  EXPECT_EQ(openblas_core_override("Zen", false, true), "");
  EXPECT_EQ(openblas_core_override("Haswell", true, true), "");
}

}  // namespace
}  // namespace lumamba
