// src/io/text_fields.h — the small text splitting the io readers of line-oriented tables share
// (embedded TSV tables, electrode-position files). Private to src/io.
#pragma once

#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

namespace lumamba::io::text {

inline constexpr std::string_view kWhitespace = " \t\r\n\v\f";

inline std::string_view trim(std::string_view s) {
  const auto begin = s.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  const auto end = s.find_last_not_of(kWhitespace);
  return s.substr(begin, end - begin + 1);
}

/// Fields between separators, empty ones kept ("a,,b" -> "a", "", "b").
inline std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto pos = s.find(separator, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

/// Fields separated by runs of blanks/tabs, none empty.
inline std::vector<std::string_view> split_whitespace(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (true) {
    i = s.find_first_not_of(kWhitespace, i);
    if (i == std::string_view::npos) return parts;
    const auto end = s.find_first_of(kWhitespace, i);
    parts.push_back(s.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
    if (end == std::string_view::npos) return parts;
    i = end;
  }
}

/// Lines without their '\r\n' / '\n' ending.
inline std::vector<std::string_view> lines(std::string_view text) {
  auto out = split(text, '\n');
  for (auto& line : out) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  }
  return out;
}

/// The whole (trimmed) field as a number; nullopt if it is not one ("1.5x", "", "n/a").
inline std::optional<double> to_double(std::string_view field) {
  field = trim(field);
  if (!field.empty() && field.front() == '+') field.remove_prefix(1);
  double value = 0;
  const auto* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, value);
  if (field.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

}  // namespace lumamba::io::text
