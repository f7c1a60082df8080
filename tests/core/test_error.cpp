// Error helpers: messages name the field, the bad value and what was expected.
#include <gtest/gtest.h>

#include "lumamba/core/error.h"

namespace lumamba {
namespace {

TEST(Error, CheckOptionListsAllowedValues) {
  EXPECT_NO_THROW(check_option("mode", "add", {"add", "ew_multiply"}));
  try {
    check_option("mode", "concat", {"add", "ew_multiply"});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "invalid value for 'mode': got 'concat'; must be one of add, ew_multiply");
  }
}

TEST(Error, CheckRange) {
  EXPECT_NO_THROW(check_range("resample_hz", 256, 1, 1e6));
  try {
    check_range("resample_hz", 0, 1, 1e6);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "invalid value for 'resample_hz': got 0; must be in [1, 1000000]");
  }
}

TEST(Error, InternalCheckCarriesLocation) {
  try {
    LUMAMBA_CHECK(1 + 1 == 3, "arithmetic is {}", "broken");
    FAIL();
  } catch (const InternalError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("test_error.cpp:"), std::string::npos);
    EXPECT_NE(msg.find("arithmetic is broken"), std::string::npos);
  }
}

}  // namespace
}  // namespace lumamba
