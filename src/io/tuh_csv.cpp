// TUH csv_v1.0.0 annotation parser (see lumamba/io/tuh_csv.h). Hand-written: the format is a
// five-column CSV with comment lines, too small for a CSV library to pay off, and the parser must
// reject malformed rows with a line number.
#include "lumamba/io/tuh_csv.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"

namespace lumamba::io {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_commas(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    fields.push_back(trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields;
}

double parse_number(std::string_view field, const std::string& source, size_t line_no, const char* column) {
  const std::string s(field);
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (...) {
    used = 0;
  }
  LUMAMBA_CHECK_INPUT(used == s.size() && !s.empty() && std::isfinite(v), "{}:{}: column '{}' is not a number: '{}'",
                      source, line_no, column, s);
  return v;
}

}  // namespace

std::vector<TuhAnnotation> parse_tuh_csv(std::string_view text, const std::string& source) {
  std::vector<TuhAnnotation> out;
  bool header_seen = false;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    const auto nl = text.find('\n', pos);
    const auto line = trim(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const auto fields = split_commas(line);
    if (!header_seen) {
      LUMAMBA_CHECK_INPUT(fields.size() >= 4 && fields[0] == "channel" && fields[1] == "start_time" &&
                              fields[2] == "stop_time" && fields[3] == "label",
                          "{}:{}: expected the header 'channel,start_time,stop_time,label,confidence', got '{}'",
                          source, line_no, line);
      header_seen = true;
      continue;
    }
    LUMAMBA_CHECK_INPUT(fields.size() == 4 || fields.size() == 5, "{}:{}: expected 5 columns, got {}", source,
                        line_no, fields.size());
    TuhAnnotation a;
    a.channel = std::string(fields[0]);
    a.start_s = parse_number(fields[1], source, line_no, "start_time");
    a.stop_s = parse_number(fields[2], source, line_no, "stop_time");
    a.label = std::string(fields[3]);
    if (fields.size() == 5) a.confidence = parse_number(fields[4], source, line_no, "confidence");
    LUMAMBA_CHECK_INPUT(a.start_s >= 0 && a.stop_s >= a.start_s, "{}:{}: bad interval [{}, {}] s", source, line_no,
                        a.start_s, a.stop_s);
    LUMAMBA_CHECK_INPUT(!a.label.empty(), "{}:{}: empty label", source, line_no);
    out.push_back(std::move(a));
  }
  LUMAMBA_CHECK_INPUT(header_seen, "{}: no header line 'channel,start_time,stop_time,label,confidence'", source);
  return out;
}

std::vector<TuhAnnotation> read_tuh_csv(const std::string& path) {
  const std::string text = read_text_file(path, "annotation file");
  return parse_tuh_csv(text, path);
}

}  // namespace lumamba::io
