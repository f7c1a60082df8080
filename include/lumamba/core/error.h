// lumamba/core/error.h — the one error type family and the check macro (docs/style.md §12).
//
// InputError: the user's file, config or command line is wrong; the message names the file/field.
// InternalError: a bug in lumamba. Library code throws, only apps/ maps errors to exit codes.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lumamba {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A problem with user input (file, config value, CLI argument). Batch commands skip and continue.
class InputError : public Error {
 public:
  using Error::Error;
};

/// The output's disk (quota, file-size limit) is full: fatal for a whole batch, never one bad file.
/// The message starts "disk full: PATH".
class DiskFullError : public InputError {
 public:
  using InputError::InputError;
};

/// A broken invariant inside lumamba (a bug).
class InternalError : public Error {
 public:
  using Error::Error;
};

namespace detail {
[[noreturn]] void throw_internal(const char* file, int line, const char* func, const std::string& msg);
}  // namespace detail

/// "invalid value for 'name': got X; must be one of a, b, c"
void check_option(std::string_view name, std::string_view value,
                  const std::vector<std::string>& allowed);
/// "invalid value for 'name': got X; must be in [lo, hi]"
void check_range(std::string_view name, double value, double lo, double hi);

}  // namespace lumamba

/// Internal invariant check: throws lumamba::InternalError with file:line (func) and a formatted message.
#define LUMAMBA_CHECK(cond, ...)                                                          \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      ::lumamba::detail::throw_internal(__FILE__, __LINE__, __func__,                     \
                                        ::fmt::format(__VA_ARGS__));                      \
    }                                                                                     \
  } while (0)

/// User-input check: throws lumamba::InputError with the formatted message only.
#define LUMAMBA_CHECK_INPUT(cond, ...)                                          \
  do {                                                                          \
    if (!(cond)) throw ::lumamba::InputError(::fmt::format(__VA_ARGS__));       \
  } while (0)
