// lumamba/core/compat.h — every LibTorch-version difference lives here (docs/style.md §20).
//
// Built and tested against Debian's LibTorch 1.13. Upstream LibTorch 2.x (found through
// CMAKE_PREFIX_PATH) is expected to work but is untested here: the guards below cover the APIs
// we know changed. Keep torch headers out of files that do not need them (compile time).
#pragma once

#include <torch/version.h>

#include <ATen/Parallel.h>
#include <c10/util/Optional.h>

#define LUMAMBA_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||          \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace lumamba::compat {

/// c10::optional became an alias of std::optional in LibTorch 2.3+; use this alias everywhere.
template <typename T>
using optional = c10::optional<T>;
#if LUMAMBA_TORCH_AT_LEAST(2, 3)
inline constexpr auto nullopt = std::nullopt;
#else
inline constexpr auto nullopt = c10::nullopt;
#endif

/// LibTorch version as "major.minor.patch".
inline const char* torch_version() { return TORCH_VERSION; }

}  // namespace lumamba::compat
