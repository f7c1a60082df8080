// lumamba's EDF/BDF header check (see edf_header_check_impl.h): EDFlib 1.23's header rules,
// restated field by field (EDF spec, EDF+ spec 2.1.3, EDFlib's limits), each violation a sentence
// that names the field and signal; the defects that do not affect the samples (EDF+ metadata
// syntax, annotation-signal text fields, right-aligned numbers, non-ASCII text, "number of data
// records" = -1) come with the byte patches that make EDFlib accept the file.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "edf_header_check_impl.h"

namespace lumamba::io::detail {
namespace {

constexpr int64_t kFixedHeaderBytes = kEdfFixedHeaderBytes;
constexpr int64_t kSignalHeaderBytes = kEdfSignalHeaderBytes;
constexpr int64_t kTimeUnitsPerSecond = kEdfTimeUnitsPerSecond;

// ---- layout (EDF spec; BDF identical except 3-byte samples) ----

constexpr int64_t kMaxEdfRecordBytes = 10485760;  // EDFlib's limits on one data record
constexpr int64_t kMaxBdfRecordBytes = 15728640;

// Per-signal header fields are stored as arrays (all labels, then all transducers, ...).
enum SignalField {
  kLabel,
  kTransducer,
  kPhysDim,
  kPhysMin,
  kPhysMax,
  kDigMin,
  kDigMax,
  kPrefilter,
  kSamplesPerRecord,
  kSignalReserved,
  kNumSignalFields
};
struct FieldSpec {
  const char* name;
  int64_t width;
};
constexpr FieldSpec kSignalFields[kNumSignalFields] = {
    {"label", 16},           {"transducer type", 80}, {"physical dimension", 8},
    {"physical minimum", 8}, {"physical maximum", 8}, {"digital minimum", 8},
    {"digital maximum", 8},  {"prefiltering", 80},    {"number of samples in each data record", 8},
    {"reserved", 32}};

int64_t signal_field_offset(int field, int64_t signal_idx, int64_t n_signals) {
  int64_t before = 0;
  for (int f = 0; f < field; ++f) before += kSignalFields[f].width;
  return kFixedHeaderBytes + n_signals * before + signal_idx * kSignalFields[field].width;
}

constexpr std::array<std::string_view, 12> kMonths = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                      "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};

// ---- small string helpers ----

bool is_printable(char c) { return c >= 32 && c <= 126; }

// For messages: printable ASCII kept, anything else as \xHH; trailing blanks dropped.
std::string escaped(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (is_printable(c)) {
      out += c;
    } else {
      out += fmt::format("\\x{:02X}", static_cast<unsigned char>(c));
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Non-printable bytes -> '_' (EDF header text must be printable ASCII).
std::string printable_copy(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (!is_printable(c)) c = '_';
  }
  return out;
}

char at(std::string_view s, int64_t i) {
  return i >= 0 && i < static_cast<int64_t>(s.size()) ? s[static_cast<std::size_t>(i)] : '\0';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// ---- numbers as EDFlib accepts them: left-aligned, blank-padded ----

struct FieldNumber {
  bool ok = false;
  bool leading_blanks = false;  // EDFlib rejects right-aligned numbers; repairable
  double value = 0;
  std::string core;  // the number without blanks
};

// integer: [+-]digits; decimal: [+-]digits[.digits][e[+-]digits] (at least one digit before e).
FieldNumber parse_field_number(std::string_view field, bool integer) {
  FieldNumber r;
  const auto b = field.find_first_not_of(' ');
  if (b == std::string_view::npos) return r;
  const auto e = field.find_last_not_of(' ');
  std::string_view core = field.substr(b, e - b + 1);
  r.leading_blanks = b > 0;
  r.core = std::string(core);
  std::size_t i = 0;
  if (i < core.size() && (core[i] == '+' || core[i] == '-')) ++i;
  std::size_t n_digits = 0, n_dots = 0;
  for (; i < core.size(); ++i) {
    if (is_digit(core[i])) {
      ++n_digits;
    } else if (core[i] == '.' && !integer && n_dots == 0) {
      ++n_dots;
    } else {
      break;
    }
  }
  if (n_digits == 0) return r;
  if (i < core.size() && !integer && (core[i] == 'e' || core[i] == 'E')) {
    ++i;
    if (i < core.size() && (core[i] == '+' || core[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < core.size() && is_digit(core[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return r;
  }
  if (i != core.size()) return r;  // inner blank or stray character
  std::string_view digits = core;
  if (digits.front() == '+') digits.remove_prefix(1);
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), r.value);
  r.ok = ec == std::errc{} && ptr == digits.data() + digits.size();
  return r;
}

// "12.25" seconds -> 100 ns units, as EDFlib's edflib_get_long_duration (digits beyond 1e-7 s
// dropped). Only plain "[+-]digits[.digits]"; nullopt otherwise or on overflow.
std::optional<int64_t> parse_time_100ns(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  const auto dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (whole.empty() || whole.size() > 11) return std::nullopt;
  int64_t value = 0;
  for (char c : whole) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  value *= kTimeUnitsPerSecond;
  int64_t radix = kTimeUnitsPerSecond / 10;
  for (char c : frac) {
    if (!is_digit(c)) return std::nullopt;
    value += (c - '0') * radix;
    radix /= 10;
  }
  return negative ? -value : value;
}

// "dd-MMM-yyyy" as the EDF+ patient/recording subfields write dates.
struct EdfPlusDate {
  int day = 0, month = 0, year = 0;
};
std::optional<EdfPlusDate> parse_edfplus_date(std::string_view s) {
  if (s.size() != 11 || s[2] != '-' || s[6] != '-') return std::nullopt;
  for (int i : {0, 1, 7, 8, 9, 10}) {
    if (!is_digit(s[static_cast<std::size_t>(i)])) return std::nullopt;
  }
  EdfPlusDate d;
  d.day = (s[0] - '0') * 10 + (s[1] - '0');
  d.year = std::atoi(std::string(s.substr(7, 4)).c_str());
  const auto m = std::find(kMonths.begin(), kMonths.end(), s.substr(3, 3));
  if (m == kMonths.end() || d.day < 1 || d.day > 31) return std::nullopt;
  d.month = static_cast<int>(m - kMonths.begin()) + 1;
  return d;
}

// ---- EDF+ subfields ----

// EDF+ patient field: "code sex birthdate name [...]", one blank between subfields, "X" for
// unknown, sex M/F/X, birthdate dd-MMM-yyyy (EDF+ spec 2.1.3.3; same limits as EDFlib).
std::optional<std::string> edfplus_patient_problem(std::string_view f) {
  const auto blank = f.find(' ');
  if (blank == std::string_view::npos || blank < 1 || blank > 72) {
    return "the patient code subfield is missing or too long";
  }
  const int64_t sex = static_cast<int64_t>(blank) + 1;
  if (at(f, sex) != 'M' && at(f, sex) != 'F' && at(f, sex) != 'X') {
    return fmt::format("the sex subfield is '{}', not M, F or X", escaped(std::string(1, at(f, sex))));
  }
  if (at(f, sex + 1) != ' ') return "the sex subfield is longer than one character";
  const int64_t birth = sex + 2;
  if (at(f, birth) == 'X') {
    if (at(f, birth + 1) != ' ' || at(f, birth + 2) == ' ' || at(f, birth + 2) == '\0') {
      return "the birthdate 'X' is not followed by one blank and a name subfield";
    }
    return std::nullopt;
  }
  if (sex > 65 || !parse_edfplus_date(f.substr(static_cast<std::size_t>(birth), 11))) {
    return "the birthdate subfield is not dd-MMM-yyyy or X";
  }
  if (at(f, birth + 11) != ' ' || at(f, birth + 12) == ' ' || at(f, birth + 12) == '\0') {
    return "the birthdate is not followed by one blank and a name subfield";
  }
  return std::nullopt;
}

// EDF+ recording field: "Startdate dd-MMM-yyyy admincode technician equipment [...]"; the date
// (unless X) must agree with the header's start date and be >= 1970 (EDFlib's rule).
std::optional<std::string> edfplus_recording_problem(std::string_view f, std::string_view header_date,
                                                     std::optional<EdfPlusDate>* date_out) {
  if (f.substr(0, 10) != "Startdate ") return "it does not start with 'Startdate '";
  int64_t p = 12;
  if (at(f, 10) == 'X') {
    if (at(f, 11) != ' ' || at(f, 12) == ' ') return "'Startdate X' is not followed by one blank";
  } else {
    const auto date = parse_edfplus_date(f.substr(10, 11));
    if (!date) return "the start date subfield is not dd-MMM-yyyy or X";
    if (at(f, 21) != ' ' || at(f, 22) == ' ') return "the start date is not followed by one blank";
    const int hdr_day = std::atoi(std::string(header_date.substr(0, 2)).c_str());
    const int hdr_month = std::atoi(std::string(header_date.substr(3, 2)).c_str());
    const int hdr_yy = std::atoi(std::string(header_date.substr(6, 2)).c_str());
    if (date->day != hdr_day || date->month != hdr_month || date->year % 100 != hdr_yy) {
      return fmt::format("its date {} disagrees with the header start date '{}'", escaped(f.substr(10, 11)),
                         escaped(header_date));
    }
    if (date->year < 1970) return fmt::format("its year {} is before 1970", date->year);
    *date_out = date;
    p = 22;
  }
  // Admin code and technician subfields: present, separated by single blanks, before byte 79.
  int n_blanks = 0;
  for (int64_t i = p; n_blanks < 2; ++i) {
    if (i > 78) return "the admin code / technician subfields are missing";
    if (at(f, i) == ' ') {
      ++n_blanks;
      if (at(f, i + 1) == ' ') return "two blanks in a row between subfields";
    }
  }
  return std::nullopt;
}

std::string padded(std::string s, int64_t width) {
  s.resize(static_cast<std::size_t>(width), ' ');
  return s;
}

// `bytes` holds the start of the file (at least the whole header when the file has it).
}  // namespace

std::string trim_edf_text(std::string_view s) {
  const auto b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(' ') - b + 1));
}

namespace {

// One header being checked: its bytes, the result so far, and what the sections pass on.
struct HeaderScan {
  HeaderScan(std::string_view header, int64_t size, EdfHeaderCheck& check) : hdr(header), file_size(size), c(check) {}
  std::string_view hdr;
  int64_t file_size = 0;
  EdfHeaderCheck& c;
  const char* kind = "EDF";    ///< "EDF" or "BDF"
  int64_t header_bytes = 0;    ///< 256 + 256 per signal
  int64_t dur_100ns = -1;      ///< record duration; -1: unparsable
  std::string_view date;       ///< the start date field (dd.mm.yy)
  std::string_view reserved;   ///< the reserved field (EDF+C / EDF+D)
  std::string annot_label;     ///< "EDF Annotations " / "BDF Annotations "
  int64_t data_signals = 0;    ///< signals that are not annotation signals

  std::string_view field(int64_t offset, int64_t width) const {
    return hdr.substr(static_cast<std::size_t>(offset), static_cast<std::size_t>(width));
  }
  void repair_text(int64_t offset, int64_t width, const std::string& what) {
    const std::string_view f = field(offset, width);
    if (std::all_of(f.begin(), f.end(), is_printable)) return;
    c.repairable.push_back(fmt::format("{}: non-ASCII bytes '{}' replaced by '_'", what, escaped(f)));
    c.patches.push_back({offset, printable_copy(f)});
  }
};

// The fixed 256-byte header: version, patient and recording, date and time, signal count, header
// size, EDF+ marker, record duration. False when the rest cannot be read.
bool check_fixed_header(HeaderScan& s) {
  auto& c = s.c;
  const auto field = [&s](int64_t offset, int64_t width) { return s.field(offset, width); };
  const auto repair_text = [&s](int64_t offset, int64_t width, const std::string& what) {
    s.repair_text(offset, width, what);
  };
  // Version: "0       " = EDF, 0xFF "BIOSEMI" = BDF.
  const std::string_view version = field(0, 8);
  c.bdf = static_cast<unsigned char>(version[0]) == 0xFF && version.substr(1) == "BIOSEMI";
  if (!c.bdf && version != "0       ") {
    if (version.substr(0, 3) == "GDF") {
      c.fatal.push_back(
          fmt::format("this is a GDF file (version field '{}'); only EDF, EDF+, BDF "
                      "and BDF+ are supported",
                      escaped(version)));
    } else {
      c.fatal.push_back(
          fmt::format("not an EDF or BDF file: the version field (bytes 0-7) is '{}', "
                      "expected '0' (EDF) or 0xFF 'BIOSEMI' (BDF)",
                      escaped(version)));
    }
    return false;
  }
  s.kind = c.bdf ? "BDF" : "EDF";
  const char* kind = s.kind;

  repair_text(8, 80, "patient field");
  repair_text(88, 80, "recording field");
  c.patient = trim_edf_text(printable_copy(field(8, 80)));
  c.recording = trim_edf_text(printable_copy(field(88, 80)));

  s.date = field(168, 8);
  const std::string_view date = s.date, time = field(176, 8);
  auto two = [](std::string_view s, std::size_t i) { return (s[i] - '0') * 10 + (s[i + 1] - '0'); };
  auto dotted_ok = [&](std::string_view s) {
    return s[2] == '.' && s[5] == '.' && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[3]) && is_digit(s[4]) &&
           is_digit(s[6]) && is_digit(s[7]);
  };
  if (!dotted_ok(date) || two(date, 0) < 1 || two(date, 0) > 31 || two(date, 3) < 1 || two(date, 3) > 12) {
    c.fatal.push_back(fmt::format("header field 'start date' = '{}' is not dd.mm.yy", escaped(date)));
  }
  if (!dotted_ok(time) || two(time, 0) > 23 || two(time, 3) > 59 || two(time, 6) > 59) {
    c.fatal.push_back(fmt::format("header field 'start time' = '{}' is not hh.mm.ss", escaped(time)));
  }

  const FieldNumber ns = parse_field_number(field(252, 4), /*integer=*/true);
  if (!ns.ok || ns.value < 1 || ns.value > kEdfMaxSignals) {
    c.fatal.push_back(
        fmt::format("header field 'number of signals' = '{}' must be an integer in "
                    "[1, {}] (EDFlib's limit)",
                    escaped(field(252, 4)), kEdfMaxSignals));
    return false;
  }
  if (ns.leading_blanks) {
    c.repairable.push_back("number of signals right-aligned");
    c.patches.push_back({252, padded(ns.core, 4)});
  }
  c.n_signals = static_cast<int64_t>(ns.value);
  s.header_bytes = kFixedHeaderBytes + c.n_signals * kSignalHeaderBytes;
  const int64_t header_bytes = s.header_bytes;

  const FieldNumber hb = parse_field_number(field(184, 8), true);
  if (!hb.ok || static_cast<int64_t>(hb.value) != header_bytes) {
    c.fatal.push_back(
        fmt::format("header field 'number of bytes in header' = '{}', expected {} "
                    "for {} signals",
                    escaped(field(184, 8)), header_bytes, c.n_signals));
  } else if (hb.leading_blanks) {
    c.repairable.push_back("number of bytes in header right-aligned");
    c.patches.push_back({184, padded(hb.core, 8)});
  }

  repair_text(192, 44, "reserved field");
  s.reserved = field(192, 44);
  const std::string_view reserved = s.reserved;
  const std::string plus_c = std::string(kind) + "+C", plus_d = std::string(kind) + "+D";
  c.plus = reserved.substr(0, 5) == plus_c || reserved.substr(0, 5) == plus_d;
  if (reserved.substr(0, 5) == plus_d) {
    c.fatal.push_back(
        fmt::format("discontinuous {} files are not supported (the data records are "
                    "not contiguous in time); convert to {} first",
                    plus_d, plus_c));
  }

  const FieldNumber dur = parse_field_number(field(244, 8), /*integer=*/false);
  // -1: unparsable (a plain int64_t: GCC 12 misreads an optional here as maybe-uninitialised).
  s.dur_100ns = dur.ok ? parse_time_100ns(dur.core).value_or(-1) : -1;
  const int64_t dur_100ns = s.dur_100ns;
  if (dur_100ns < 0) {
    c.fatal.push_back(
        fmt::format("header field 'duration of a data record' = '{}' must be a "
                    "non-negative number of seconds written as digits[.digits]",
                    escaped(field(244, 8))));
  } else {
    c.record_duration_100ns = dur_100ns;
    if (dur.leading_blanks) {
      c.repairable.push_back("duration of a data record right-aligned");
      c.patches.push_back({244, padded(dur.core, 8)});
    }
  }

  if (s.file_size < header_bytes || static_cast<int64_t>(s.hdr.size()) < header_bytes) {
    c.fatal.push_back(
        fmt::format("the header declares {} signals ({} header bytes) but the file "
                    "has only {} bytes (truncated?)",
                    c.n_signals, header_bytes, s.file_size));
    return false;
  }

  return true;
}

// The 256-byte header of each signal, then what the signals must satisfy together.
void check_signal_headers(HeaderScan& s) {
  auto& c = s.c;
  const auto field = [&s](int64_t offset, int64_t width) { return s.field(offset, width); };
  const auto repair_text = [&s](int64_t offset, int64_t width, const std::string& what) {
    s.repair_text(offset, width, what);
  };
  const char* kind = s.kind;
  const int64_t n = c.n_signals;
  const int64_t bytes_per_sample = c.bdf ? 3 : 2;
  const int64_t annot_dig_min = c.bdf ? -8388608 : -32768, annot_dig_max = c.bdf ? 8388607 : 32767;
  s.annot_label = std::string(kind) + " Annotations ";
  const std::string& annot_label = s.annot_label;
  std::vector<std::string> labels;
  for (int64_t i = 0; i < n; ++i) {
    auto sf = [&](int f) { return field(signal_field_offset(f, i, n), kSignalFields[f].width); };
    const std::string label = trim_edf_text(printable_copy(sf(kLabel)));
    const bool is_annotation = c.plus && sf(kLabel) == annot_label;
    const std::string who = fmt::format("signal {} '{}'", i, label);
    auto where = [&](int f) { return fmt::format("{} of {}", kSignalFields[f].name, who); };
    auto fail = [&](int f, const std::string& why) {
      c.fatal.push_back(fmt::format("header field '{}' = '{}' {}", where(f), escaped(sf(f)), why));
    };
    for (int f : {kLabel, kTransducer, kPrefilter, kSignalReserved}) {
      repair_text(signal_field_offset(f, i, n), kSignalFields[f].width, where(f));
    }
    // Physical dimension: Latin-1 or UTF-8 'µ' -> 'u' ("µV" is common and means uV).
    {
      const std::string_view dim = sf(kPhysDim);
      if (!std::all_of(dim.begin(), dim.end(), is_printable)) {
        std::string fixed;
        for (std::size_t k = 0; k < dim.size(); ++k) {
          const auto b = static_cast<unsigned char>(dim[k]);
          if (b == 0xC2 && k + 1 < dim.size() && static_cast<unsigned char>(dim[k + 1]) == 0xB5) {
            fixed += 'u';
            ++k;
          } else if (b == 0xB5) {
            fixed += 'u';
          } else {
            fixed += is_printable(dim[k]) ? dim[k] : '_';
          }
        }
        c.repairable.push_back(
            fmt::format("{}: '{}' read as '{}'", where(kPhysDim), escaped(dim), trim_edf_text(fixed)));
        c.patches.push_back({signal_field_offset(kPhysDim, i, n), padded(fixed, 8)});
      }
    }
    if (is_annotation) {
      // EDF+ wants these blank for annotation signals; EDFlib 1.23 refuses a filled prefilter
      // (PhysioNet eegmmidb writes "HP:0Hz LP:0Hz N:0Hz" there).
      for (int f : {kTransducer, kPhysDim, kPrefilter}) {
        if (!trim_edf_text(sf(f)).empty()) {
          c.repairable.push_back(
              fmt::format("{} = '{}' blanked (must be empty for an annotation "
                          "signal)",
                          where(f), escaped(sf(f))));
          c.patches.push_back(
              {signal_field_offset(f, i, n), std::string(static_cast<std::size_t>(kSignalFields[f].width), ' ')});
        }
      }
    } else {
      ++s.data_signals;
      labels.push_back(label);
    }
    std::optional<double> values[kNumSignalFields];
    for (int f : {kPhysMin, kPhysMax, kDigMin, kDigMax, kSamplesPerRecord}) {
      const bool integer = f != kPhysMin && f != kPhysMax;
      const FieldNumber v = parse_field_number(sf(f), integer);
      if (!v.ok || !std::isfinite(v.value)) {
        fail(f, integer ? "is not an integer" : "is not a finite number");
        continue;
      }
      if (v.leading_blanks) {
        c.repairable.push_back(where(f) + " right-aligned");
        c.patches.push_back({signal_field_offset(f, i, n), padded(v.core, 8)});
      }
      values[f] = v.value;
    }
    const int64_t dig_lo = c.bdf ? -8388608 : -32768, dig_hi = c.bdf ? 8388607 : 32767;
    for (int f : {kDigMin, kDigMax}) {
      if (!values[f]) continue;
      if (*values[f] < dig_lo || *values[f] > dig_hi) {
        fail(f, fmt::format("is outside the {} range [{}, {}]", kind, dig_lo, dig_hi));
        values[f].reset();
      } else if (is_annotation && *values[f] != (f == kDigMin ? annot_dig_min : annot_dig_max)) {
        const int64_t want = f == kDigMin ? annot_dig_min : annot_dig_max;
        c.repairable.push_back(
            fmt::format("{} = {} set to {} (required for an annotation signal)", where(f), *values[f], want));
        c.patches.push_back({signal_field_offset(f, i, n), padded(std::to_string(want), 8)});
        values[f] = static_cast<double>(want);
      }
    }
    if (values[kPhysMin] && values[kPhysMax] && *values[kPhysMin] == *values[kPhysMax]) {
      c.fatal.push_back(
          fmt::format("{}: physical minimum equals physical maximum ({}), so the "
                      "samples cannot be scaled",
                      who, *values[kPhysMin]));
    }
    if (values[kDigMin] && values[kDigMax] && *values[kDigMax] <= *values[kDigMin]) {
      c.fatal.push_back(fmt::format("{}: digital maximum {} is not above digital minimum {}", who, *values[kDigMax],
                                    *values[kDigMin]));
    }
    if (values[kSamplesPerRecord]) {
      if (*values[kSamplesPerRecord] < 1) {
        fail(kSamplesPerRecord, "must be at least 1");
      } else {
        const auto spr = static_cast<int64_t>(*values[kSamplesPerRecord]);
        if (is_annotation) c.annotation_spans.push_back({c.record_bytes, spr * bytes_per_sample});
        c.record_bytes += spr * bytes_per_sample;
      }
    }
  }
  const int64_t max_record = c.bdf ? kMaxBdfRecordBytes : kMaxEdfRecordBytes;
  if (c.record_bytes > max_record) {
    c.fatal.push_back(
        fmt::format("one data record has {} bytes, more than EDFlib's limit of {}", c.record_bytes, max_record));
  }
  if (c.plus && c.annotation_spans.empty()) {
    c.fatal.push_back(
        fmt::format("the file says {} but has no '{}' signal", s.reserved.substr(0, 5), trim_edf_text(annot_label)));
  }
  if (s.data_signals > 0 && s.dur_100ns == 0) {
    c.fatal.push_back(
        "header field 'duration of a data record' is 0 but the file has data "
        "signals (only annotation-only EDF+ files may have 0)");
  }
}

// EDF+ patient and recording subfields (EDF+ spec 2.1.3.3-4), repaired where they break EDFlib.
void check_edfplus_fields(HeaderScan& s) {
  auto& c = s.c;
  const auto field = [&s](int64_t offset, int64_t width) { return s.field(offset, width); };
  const std::string_view date = s.date;
  if (c.plus) {
    if (auto why = edfplus_patient_problem(field(8, 80))) {
      c.repairable.push_back(
          fmt::format("EDF+ patient field '{}' ({}) read as 'X X X X'", escaped(field(8, 80)), *why));
      c.patches.push_back({8, padded("X X X X", 80)});
    }
    std::optional<EdfPlusDate> rec_date;
    if (auto why = edfplus_recording_problem(field(88, 80), date, &rec_date)) {
      // Keep a valid start date (it carries the 4-digit year) and drop the broken subfields.
      // rec_date is set when the date subfield is valid and agrees with the header.
      const bool keep = rec_date.has_value();
      const std::string replacement = keep ? fmt::format("Startdate {} X X X", field(98, 11)) : "Startdate X X X X";
      c.repairable.push_back(
          fmt::format("EDF+ recording field '{}' ({}) read as '{}'", escaped(field(88, 80)), *why, replacement));
      c.patches.push_back({88, padded(replacement, 80)});
    }
  }
}

// Number of records and file size; -1 ("unknown", written by interrupted recorders) is
// repairable when the file holds a whole number of records.
void check_record_count(HeaderScan& s) {
  auto& c = s.c;
  const auto field = [&s](int64_t offset, int64_t width) { return s.field(offset, width); };
  const int64_t header_bytes = s.header_bytes, file_size = s.file_size;
  const FieldNumber nr = parse_field_number(field(236, 8), true);
  const int64_t data_bytes = file_size - header_bytes;
  if (!nr.ok) {
    c.fatal.push_back(
        fmt::format("header field 'number of data records' = '{}' is not an integer", escaped(field(236, 8))));
  } else if (c.record_bytes > 0 && c.fatal.empty()) {
    if (nr.value == -1 && data_bytes > 0 && data_bytes % c.record_bytes == 0 &&
        data_bytes / c.record_bytes <= 99999999) {
      c.n_records = data_bytes / c.record_bytes;
      c.repairable.push_back(
          fmt::format("number of data records = -1 (unknown) set to {} from "
                      "the file size",
                      c.n_records));
      c.patches.push_back({236, padded(std::to_string(c.n_records), 8)});
    } else if (nr.value < 1) {
      c.fatal.push_back(
          fmt::format("header field 'number of data records' = '{}' must be at "
                      "least 1",
                      escaped(field(236, 8))));
    } else {
      c.n_records = static_cast<int64_t>(nr.value);
      if (nr.leading_blanks) {
        c.repairable.push_back("number of data records right-aligned");
        c.patches.push_back({236, padded(nr.core, 8)});
      }
      const int64_t expected = header_bytes + c.n_records * c.record_bytes;
      if (file_size < expected) {
        c.fatal.push_back(
            fmt::format("truncated: the header promises {} data records of {} bytes ({} bytes in all) but the "
                        "file has {} bytes ({} complete records)",
                        c.n_records, c.record_bytes, expected, file_size, data_bytes / c.record_bytes));
      } else if (file_size > expected) {
        c.fatal.push_back(
            fmt::format("{} unexpected bytes after the last of the {} data records "
                        "the header declares",
                        file_size - expected, c.n_records));
      }
    }
  }
}

}  // namespace

EdfHeaderCheck check_edf_header(const std::string& bytes, int64_t file_size) {
  EdfHeaderCheck c;
  if (file_size == 0) {
    c.fatal.push_back("the file is empty (0 bytes)");
    return c;
  }
  if (file_size < kFixedHeaderBytes) {
    c.fatal.push_back(
        fmt::format("the file has {} bytes, fewer than the 256-byte EDF/BDF header (truncated?)", file_size));
    return c;
  }
  HeaderScan scan{bytes, file_size, c};
  if (!check_fixed_header(scan)) return c;
  check_signal_headers(scan);
  check_edfplus_fields(scan);
  check_record_count(scan);
  return c;
}

// When EDFlib still says "format error" after a clean header check, the problem is inside the
// data records: EDFlib validates every record's time-keeping TAL (EDF+ spec 2.2.4). Find the
// first bad record so the message can name it.
std::string diagnose_edf_records(const std::string& path, const EdfHeaderCheck& c) {
  const std::string generic =
      "EDFlib reports a format error that lumamba's header check did not pinpoint (probably a "
      "malformed annotation list (TAL) inside a data record)";
  if (!c.plus || c.annotation_spans.empty()) return generic;
  std::ifstream in(path, std::ios::binary);
  const int64_t header_bytes = kFixedHeaderBytes + c.n_signals * kSignalHeaderBytes;
  const auto [span_offset, span_bytes] = c.annotation_spans.front();
  std::string tal(static_cast<std::size_t>(span_bytes), '\0');
  int64_t previous_onset = 0;
  for (int64_t r = 0; r < c.n_records; ++r) {
    in.seekg(header_bytes + r * c.record_bytes + span_offset);
    if (!in.read(tal.data(), span_bytes)) return generic;
    if (tal.back() != '\0') {
      return fmt::format("data record {}: the annotation signal does not end with a 0 byte", r);
    }
    const auto sep = tal.find('\x14');
    if (sep == std::string::npos || sep + 1 >= tal.size() || tal[sep + 1] != '\x14') {
      return fmt::format(
          "data record {}: no time-keeping annotation '+<onset>\\x14\\x14' at the "
          "start of the annotation signal",
          r);
    }
    const auto onset = parse_time_100ns(std::string_view(tal).substr(0, sep));
    if (!onset || (tal[0] != '+' && tal[0] != '-')) {
      return fmt::format("data record {}: time-keeping onset '{}' is not a signed number", r,
                         escaped(std::string_view(tal).substr(0, sep)));
    }
    if (r == 0 && *onset >= kTimeUnitsPerSecond) {
      return fmt::format("data record 0 starts at {} s; EDF+ allows a first onset below 1 s",
                         static_cast<double>(*onset) / kTimeUnitsPerSecond);
    }
    if (r > 0 && *onset - previous_onset != c.record_duration_100ns) {
      return fmt::format(
          "data record {} starts at {} s, {} s after record {} (record duration {} "
          "s); an EDF+C file must be contiguous",
          r, static_cast<double>(*onset) / kTimeUnitsPerSecond,
          static_cast<double>(*onset - previous_onset) / kTimeUnitsPerSecond, r - 1,
          static_cast<double>(c.record_duration_100ns) / kTimeUnitsPerSecond);
    }
    previous_onset = *onset;
  }
  return generic;
}

}  // namespace lumamba::io::detail
