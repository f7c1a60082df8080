// safetensors reader/writer (see lumamba/io/safetensors.h).
//
// The reader validates the whole header (types, dtypes, shapes, offsets, overlaps) with checked
// arithmetic before exposing any pointer, so that a malformed or hostile file can only ever produce
// an InputError — never an out-of-bounds read. fuzz/fuzz_safetensors.cpp holds it to that.
// The writer produces the same layout as the Python `safetensors` library (metadata first, header
// padded with spaces to 8 bytes) so files written here load there and vice versa.
#include "lumamba/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "lumamba/core/atomic_file.h"
#include "lumamba/core/error.h"

namespace lumamba::io {
namespace {

using Json = nlohmann::json;
// ordered_json keeps insertion order, so the writer can emit dtype/shape/data_offsets and
// __metadata__-first exactly like the Python library (plain json sorts keys).
using OrderedJson = nlohmann::ordered_json;

constexpr std::size_t kLengthFieldBytes = 8;
// Same cap as the Python library: a larger header is a corrupt length field, not a real file,
// and would otherwise make us allocate whatever the first 8 bytes say.
constexpr std::uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;
constexpr const char* kMetadataKey = "__metadata__";
// Values quoted in error messages are cut to this many characters (a header can be 100 MiB).
constexpr std::size_t kMaxQuotedChars = 80;

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kF32, "F32", 4},   {DType::kF64, "F64", 8},   {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2}, {DType::kI64, "I64", 8},   {DType::kI32, "I32", 4},
    {DType::kU8, "U8", 1},     {DType::kBool, "BOOL", 1},
};

const DTypeInfo& dtype_info(DType dtype) {
  for (const auto& info : kDTypes) {
    if (info.dtype == dtype) return info;
  }
  LUMAMBA_CHECK(false, "invalid DType value {}", static_cast<int>(dtype));
  return kDTypes[0];  // unreachable: LUMAMBA_CHECK(false) throws
}

std::optional<DType> find_dtype(std::string_view name) {
  for (const auto& info : kDTypes) {
    if (info.name == name) return info.dtype;
  }
  return std::nullopt;
}

std::string supported_dtypes() {
  std::vector<std::string_view> names;
  for (const auto& info : kDTypes) names.push_back(info.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

// A JSON value for an error message, never longer than kMaxQuotedChars.
std::string quote(const Json& value) {
  std::string s = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > kMaxQuotedChars) s = s.substr(0, kMaxQuotedChars) + "...";
  return s;
}

std::uint64_t read_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void write_u64_le(std::uint64_t v, std::uint8_t* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// numel * dtype_size with overflow detection. numel must also fit int64_t (TensorView::numel).
// A zero dim makes the tensor empty whatever the other dims are, so it is checked first: a shape
// like [2^40, 2^40, 0] is a valid empty tensor, not an overflow.
std::optional<std::uint64_t> checked_byte_count(const std::vector<int64_t>& shape, DType dtype) {
  for (int64_t d : shape) {
    if (d == 0) return 0;
  }
  std::uint64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(d), &numel)) return std::nullopt;
  }
  if (numel > static_cast<std::uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  std::uint64_t bytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(dtype_size(dtype)), &bytes)) {
    return std::nullopt;
  }
  if (bytes > std::numeric_limits<std::size_t>::max()) return std::nullopt;
  return bytes;
}

// A non-negative JSON integer as uint64, or nullopt (negative, float, bool, string, ...).
std::optional<std::uint64_t> as_non_negative_integer(const Json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  // The parser stores every non-negative literal as unsigned; a signed one is negative, but a
  // programmatically built value could hold a non-negative signed integer, so check anyway.
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    return static_cast<std::uint64_t>(v.get<int64_t>());
  }
  return std::nullopt;
}

const Json& require_field(const Json& entry, const char* field, const std::string& src,
                          const std::string& name) {
  auto it = entry.find(field);
  LUMAMBA_CHECK_INPUT(it != entry.end(), "{}: tensor '{}': missing field '{}'", src, name, field);
  return *it;
}

// Parses and validates one tensor entry; `data_begin`/`data_size` describe the data section.
TensorView parse_entry(const std::string& src, const std::string& name, const Json& entry,
                       const std::uint8_t* data_begin, std::uint64_t data_size) {
  LUMAMBA_CHECK_INPUT(!name.empty(), "{}: tensor with an empty name", src);
  LUMAMBA_CHECK_INPUT(entry.is_object(), "{}: tensor '{}': entry must be a JSON object, got {}",
                      src, name, quote(entry));
  TensorView view;
  view.name = name;

  const Json& dtype = require_field(entry, "dtype", src, name);
  LUMAMBA_CHECK_INPUT(dtype.is_string(), "{}: tensor '{}': 'dtype' must be a string, got {}", src,
                      name, quote(dtype));
  std::optional<DType> parsed = find_dtype(dtype.get_ref<const std::string&>());
  LUMAMBA_CHECK_INPUT(parsed.has_value(), "{}: tensor '{}': unknown dtype {}; supported: {}", src,
                      name, quote(dtype), supported_dtypes());
  view.dtype = *parsed;

  const Json& shape = require_field(entry, "shape", src, name);
  LUMAMBA_CHECK_INPUT(shape.is_array(), "{}: tensor '{}': 'shape' must be an array, got {}", src,
                      name, quote(shape));
  view.shape.reserve(shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) {
    std::optional<std::uint64_t> dim = as_non_negative_integer(shape[i]);
    LUMAMBA_CHECK_INPUT(
        dim.has_value() && *dim <= static_cast<std::uint64_t>(std::numeric_limits<int64_t>::max()),
        "{}: tensor '{}': shape[{}] must be a non-negative integer, got {}", src, name, i,
        quote(shape[i]));
    view.shape.push_back(static_cast<int64_t>(*dim));
  }
  std::optional<std::uint64_t> expected = checked_byte_count(view.shape, view.dtype);
  LUMAMBA_CHECK_INPUT(expected.has_value(),
                      "{}: tensor '{}': shape {} x {} overflows the element/byte count", src, name,
                      quote(shape), dtype_name(view.dtype));

  const Json& offsets = require_field(entry, "data_offsets", src, name);
  std::optional<std::uint64_t> begin, end;
  if (offsets.is_array() && offsets.size() == 2) {
    begin = as_non_negative_integer(offsets[0]);
    end = as_non_negative_integer(offsets[1]);
  }
  LUMAMBA_CHECK_INPUT(begin.has_value() && end.has_value(),
                      "{}: tensor '{}': 'data_offsets' must be [begin, end] with non-negative "
                      "integers, got {}",
                      src, name, quote(offsets));
  LUMAMBA_CHECK_INPUT(*begin <= *end, "{}: tensor '{}': data_offsets [{}, {}] has begin > end", src,
                      name, *begin, *end);
  LUMAMBA_CHECK_INPUT(*end <= data_size,
                      "{}: tensor '{}': data_offsets [{}, {}] run past the end of the {}-byte data "
                      "section (truncated file?)",
                      src, name, *begin, *end, data_size);
  LUMAMBA_CHECK_INPUT(*end - *begin == *expected,
                      "{}: tensor '{}': data_offsets [{}, {}] span {} bytes but shape {} x {} "
                      "needs {} bytes",
                      src, name, *begin, *end, *end - *begin, quote(shape), dtype_name(view.dtype),
                      *expected);
  // Both offsets are <= data_size, which is part of the buffer, so these stay in bounds.
  view.data = data_begin + *begin;
  view.n_bytes = static_cast<std::size_t>(*expected);
  return view;
}

std::map<std::string, std::string> parse_metadata(const std::string& src, const Json& value) {
  LUMAMBA_CHECK_INPUT(value.is_object(), "{}: '{}' must be an object of strings, got {}", src,
                      kMetadataKey, quote(value));
  std::map<std::string, std::string> metadata;
  for (const auto& [key, v] : value.items()) {
    LUMAMBA_CHECK_INPUT(v.is_string(), "{}: '{}' value for '{}' must be a string, got {}", src,
                        kMetadataKey, key, quote(v));
    metadata.emplace(key, v.get<std::string>());
  }
  return metadata;
}

// What the writer needs: the 8-byte length + padded header, and the tensors in file order.
struct WritePlan {
  std::vector<std::uint8_t> prefix;
  std::vector<const TensorToWrite*> order;
  std::uint64_t data_bytes = 0;
};

// Validates the tensors and builds the header. `context` prefixes error messages (a path or the
// function name), so write_safetensors errors name the file being written.
WritePlan plan_write(const std::vector<TensorToWrite>& tensors,
                     const std::map<std::string, std::string>& metadata,
                     const std::string& context) {
  WritePlan plan;
  plan.order.reserve(tensors.size());
  for (const auto& t : tensors) plan.order.push_back(&t);
  std::sort(plan.order.begin(), plan.order.end(),
            [](const TensorToWrite* a, const TensorToWrite* b) { return a->name < b->name; });

  OrderedJson header = OrderedJson::object();
  if (!metadata.empty()) {
    OrderedJson meta = OrderedJson::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header[kMetadataKey] = std::move(meta);
  }
  for (std::size_t i = 0; i < plan.order.size(); ++i) {
    const TensorToWrite& t = *plan.order[i];
    LUMAMBA_CHECK_INPUT(!t.name.empty(), "{}: tensor with an empty name", context);
    LUMAMBA_CHECK_INPUT(t.name != kMetadataKey, "{}: '{}' is reserved and cannot name a tensor",
                        context, kMetadataKey);
    LUMAMBA_CHECK_INPUT(i == 0 || plan.order[i - 1]->name != t.name,
                        "{}: duplicate tensor name '{}'", context, t.name);
    for (int64_t d : t.shape) {
      LUMAMBA_CHECK_INPUT(d >= 0, "{}: tensor '{}': negative dim in shape [{}]", context, t.name,
                          fmt::join(t.shape, ", "));
    }
    std::optional<std::uint64_t> expected = checked_byte_count(t.shape, t.dtype);
    LUMAMBA_CHECK_INPUT(expected.has_value(), "{}: tensor '{}': shape [{}] x {} overflows", context,
                        t.name, fmt::join(t.shape, ", "), dtype_name(t.dtype));
    LUMAMBA_CHECK_INPUT(t.n_bytes == *expected,
                        "{}: tensor '{}': n_bytes {} does not match shape [{}] x {} ({} bytes)",
                        context, t.name, t.n_bytes, fmt::join(t.shape, ", "), dtype_name(t.dtype),
                        *expected);
    LUMAMBA_CHECK(t.n_bytes == 0 || t.data != nullptr, "tensor '{}' has {} bytes but no data",
                  t.name, t.n_bytes);
    std::uint64_t begin = plan.data_bytes;
    LUMAMBA_CHECK_INPUT(!__builtin_add_overflow(begin, *expected, &plan.data_bytes),
                        "{}: total tensor size overflows", context);
    OrderedJson entry = OrderedJson::object();
    entry["dtype"] = std::string(dtype_name(t.dtype));
    entry["shape"] = t.shape;
    entry["data_offsets"] = OrderedJson::array({begin, plan.data_bytes});
    header[t.name] = std::move(entry);
  }

  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    // dump() refuses strings that are not valid UTF-8; no reader could parse them anyway.
    throw InputError(
        fmt::format("{}: tensor names and metadata must be valid UTF-8 ({})", context, e.what()));
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  LUMAMBA_CHECK_INPUT(text.size() <= kMaxHeaderBytes,
                      "{}: header would be {} bytes, over the {} MiB limit readers accept", context,
                      text.size(), kMaxHeaderBytes >> 20);
  plan.prefix.resize(kLengthFieldBytes + text.size());
  write_u64_le(text.size(), plan.prefix.data());
  std::memcpy(plan.prefix.data() + kLengthFieldBytes, text.data(), text.size());
  return plan;
}

}  // namespace

std::size_t dtype_size(DType dtype) { return dtype_info(dtype).size; }

std::string_view dtype_name(DType dtype) { return dtype_info(dtype).name; }

DType parse_dtype(std::string_view name) {
  std::optional<DType> dtype = find_dtype(name);
  LUMAMBA_CHECK_INPUT(dtype.has_value(), "unknown dtype '{}'; supported: {}", name,
                      supported_dtypes());
  return *dtype;
}

int64_t TensorView::numel() const {
  for (int64_t d : shape) {
    if (d == 0) return 0;
  }
  // Unsigned so an unvalidated, hand-built view wraps instead of hitting signed-overflow UB;
  // views from SafetensorsFile are checked to fit int64_t.
  std::uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<std::uint64_t>(d);
  return static_cast<int64_t>(n);
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  LUMAMBA_CHECK_INPUT(fd >= 0, "{}: cannot open: {}", path, std::strerror(errno));
  // Closes fd on every path, including a bad_alloc from resizing for a huge file.
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  LUMAMBA_CHECK_INPUT(::fstat(fd, &st) == 0, "{}: cannot stat: {}", path, std::strerror(errno));
  LUMAMBA_CHECK_INPUT(S_ISREG(st.st_mode), "{}: not a regular file", path);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t r = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (r < 0 && errno == EINTR) continue;
    LUMAMBA_CHECK_INPUT(r >= 0, "{}: read failed: {}", path, std::strerror(errno));
    LUMAMBA_CHECK_INPUT(r > 0, "{}: file shrank while reading ({} of {} bytes)", path, done,
                        bytes.size());
    done += static_cast<std::size_t>(r);
  }
  return parse(std::move(bytes), path);
}

SafetensorsFile SafetensorsFile::parse(std::vector<std::uint8_t> bytes, std::string source_name) {
  SafetensorsFile file;
  file.source_ = std::move(source_name);
  file.bytes_ = std::make_unique<std::vector<std::uint8_t>>(std::move(bytes));
  const std::vector<std::uint8_t>& buf = *file.bytes_;
  const std::string& src = file.source_;

  LUMAMBA_CHECK_INPUT(buf.size() >= kLengthFieldBytes,
                      "{}: file is {} bytes, shorter than the 8-byte header length field", src,
                      buf.size());
  const std::uint64_t header_len = read_u64_le(buf.data());
  const std::uint64_t after_length = buf.size() - kLengthFieldBytes;
  LUMAMBA_CHECK_INPUT(header_len <= kMaxHeaderBytes,
                      "{}: header length {} exceeds the {} MiB limit (corrupt file?)", src,
                      header_len, kMaxHeaderBytes >> 20);
  LUMAMBA_CHECK_INPUT(header_len <= after_length,
                      "{}: header length {} is larger than the {} bytes after the length field "
                      "(truncated file?)",
                      src, header_len, after_length);

  const std::uint8_t* header_begin = buf.data() + kLengthFieldBytes;
  Json header;
  try {
    header = Json::parse(header_begin, header_begin + header_len);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: header is not valid JSON: {}", src, e.what()));
  }
  LUMAMBA_CHECK_INPUT(header.is_object(), "{}: header must be a JSON object, got {}", src,
                      quote(header));

  const std::uint8_t* data_begin = header_begin + header_len;
  const std::uint64_t data_size = after_length - header_len;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      file.metadata_ = parse_metadata(src, value);
    } else {
      file.tensors_.push_back(parse_entry(src, key, value, data_begin, data_size));
    }
  }

  std::sort(file.tensors_.begin(), file.tensors_.end(),
            [](const TensorView& a, const TensorView& b) {
              if (a.data != b.data) return a.data < b.data;
              if (a.n_bytes != b.n_bytes) return a.n_bytes < b.n_bytes;
              return a.name < b.name;
            });
  // Ranges are half-open, so empty tensors occupy no bytes and cannot overlap anything.
  const TensorView* previous = nullptr;
  for (const TensorView& t : file.tensors_) {
    if (t.n_bytes == 0) continue;
    if (previous != nullptr) {
      const std::size_t prev_end =
          static_cast<std::size_t>(previous->data - data_begin) + previous->n_bytes;
      const std::size_t begin = static_cast<std::size_t>(t.data - data_begin);
      LUMAMBA_CHECK_INPUT(begin >= prev_end,
                          "{}: tensors '{}' [{}, {}) and '{}' [{}, {}) have overlapping data", src,
                          previous->name, prev_end - previous->n_bytes, prev_end, t.name, begin,
                          begin + t.n_bytes);
    }
    previous = &t;
  }
  for (std::size_t i = 0; i < file.tensors_.size(); ++i)
    file.index_.emplace(file.tensors_[i].name, i);
  return file;
}

bool SafetensorsFile::contains(const std::string& name) const {
  return index_.find(name) != index_.end();
}

const TensorView& SafetensorsFile::at(const std::string& name) const {
  auto it = index_.find(name);
  LUMAMBA_CHECK_INPUT(it != index_.end(), "{}: no tensor '{}'", source_, name);
  return tensors_[it->second];
}

std::vector<std::uint8_t> serialize_safetensors(
    const std::vector<TensorToWrite>& tensors, const std::map<std::string, std::string>& metadata) {
  WritePlan plan = plan_write(tensors, metadata, "serialize_safetensors");
  std::vector<std::uint8_t> out;
  out.reserve(plan.prefix.size() + plan.data_bytes);
  out.insert(out.end(), plan.prefix.begin(), plan.prefix.end());
  for (const TensorToWrite* t : plan.order) {
    const auto* p = static_cast<const std::uint8_t*>(t->data);
    if (t->n_bytes > 0) out.insert(out.end(), p, p + t->n_bytes);
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // Validate and build the header before touching the file system.
  WritePlan plan = plan_write(tensors, metadata, path);
  AtomicFileWriter out(path);  // a failure leaves no temporary and the old PATH untouched
  out.write(plan.prefix.data(), plan.prefix.size());
  for (const TensorToWrite* t : plan.order) {
    if (t->n_bytes > 0) out.write(t->data, t->n_bytes);
  }
  out.commit();
}

}  // namespace lumamba::io
