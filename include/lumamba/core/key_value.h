// lumamba/core/key_value.h — the one parser of `key=value` command-line items (config, preset and
// model overrides, suite variables), so that all of them accept and reject the same things.
#pragma once

#include <string>

namespace lumamba {

struct KeyValue {
  std::string key, value;
};

/// Splits `text` at its first '=' ("a.b=1=2" -> "a.b", "1=2"). InputError "'TEXT' is not key=value"
/// when there is no '=' or the key is empty.
KeyValue split_key_value(const std::string& text);

}  // namespace lumamba
