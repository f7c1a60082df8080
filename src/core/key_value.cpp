#include "lumamba/core/key_value.h"

#include "lumamba/core/error.h"

namespace lumamba {

KeyValue split_key_value(const std::string& text) {
  const auto eq = text.find('=');
  LUMAMBA_CHECK_INPUT(eq != std::string::npos && eq > 0, "'{}' is not key=value", text);
  return {text.substr(0, eq), text.substr(eq + 1)};
}

}  // namespace lumamba
