// lumamba/io/safetensors.h — reader and writer for the safetensors checkpoint format.
//
// Layout: 8-byte little-endian u64 header length N, N bytes of JSON
// ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}),
// then the raw little-endian data section (offsets are relative to its start).
// Weights and golden test data arrive in this format, so the parser treats every file as hostile:
// all header fields are validated before any byte is exposed, and every failure is an InputError
// that starts with the file name. Torch-free on purpose (fast to build, fuzzable, see fuzz/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lumamba::io {

/// The element types lumamba reads and writes (names as in the safetensors header).
enum class DType { kF32, kF64, kF16, kBF16, kI64, kI32, kU8, kBool };

/// Bytes per element: 4, 8, 2, 2, 8, 4, 1, 1.
std::size_t dtype_size(DType dtype);
/// Header name: "F32", "F64", "F16", "BF16", "I64", "I32", "U8", "BOOL".
std::string_view dtype_name(DType dtype);
/// Inverse of dtype_name (exact, case-sensitive); throws InputError listing the supported names.
DType parse_dtype(std::string_view name);

/// A tensor inside a parsed file. `data` points into the file's buffer (owned by the
/// SafetensorsFile) and may be unaligned for the dtype: copy out with std::memcpy.
struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // empty = 0-d scalar
  const std::uint8_t* data = nullptr;
  std::size_t n_bytes = 0;

  /// Product of the shape (1 for a scalar, 0 if any dim is 0).
  int64_t numel() const;
};

/// A fully validated safetensors file held in memory. Movable, not copyable; TensorView::data
/// stays valid across moves because the bytes live in a separately allocated buffer.
class SafetensorsFile {
 public:
  /// Reads the whole file and validates it; InputError names `path` on any problem.
  static SafetensorsFile open(const std::string& path);
  /// Validates `bytes` exactly as open() does; `source_name` prefixes every error message.
  static SafetensorsFile parse(std::vector<std::uint8_t> bytes, std::string source_name);

  SafetensorsFile(SafetensorsFile&&) = default;
  SafetensorsFile& operator=(SafetensorsFile&&) = default;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile() = default;

  const std::string& source() const { return source_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  /// All tensors, ordered by data offset (ties by name).
  const std::vector<TensorView>& tensors() const { return tensors_; }
  bool contains(const std::string& name) const;
  /// Throws InputError "SOURCE: no tensor 'name'".
  const TensorView& at(const std::string& name) const;

 private:
  SafetensorsFile() = default;

  std::string source_;
  std::unique_ptr<std::vector<std::uint8_t>> bytes_;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::size_t> index_;  // name -> position in tensors_
};

/// One tensor to write; `data` must hold exactly numel(shape) * dtype_size(dtype) bytes
/// (little-endian, row-major).
struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  std::size_t n_bytes = 0;
};

/// Builds the file image: tensors in name order with contiguous offsets, metadata first in the
/// header, header padded with spaces to a multiple of 8 bytes (as the Python library does).
/// Throws InputError on a size mismatch, a negative dim, an empty/duplicate/"__metadata__" name,
/// or a name/metadata string that is not valid UTF-8.
std::vector<std::uint8_t> serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                                const std::map<std::string, std::string>& metadata);

/// Writes the same bytes as serialize_safetensors to `path` atomically: PATH.tmp-<pid>, fsync,
/// rename. On failure the temporary file is removed and an InputError naming `path` is thrown.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace lumamba::io
