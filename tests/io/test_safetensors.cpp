// Tests for the safetensors reader/writer (lumamba/io/safetensors.h).
//
// Three layers: the real golden files (what the model will load), a write->read round trip over
// every dtype and the edge shapes (0-d, empty), and a catalogue of malformed files built
// byte-by-byte here, each of which must be rejected with an InputError that names the file and
// the offending tensor/field — never a crash or an out-of-bounds read.
#include "lumamba/io/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "lumamba/core/error.h"

namespace lumamba::io {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::string golden_path(const std::string& name) {
  return std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/golden/" + name;
}

Bytes read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Length field + header text + data, the way a file is laid out on disk. `length` overrides the
// length field to build lying headers.
Bytes make_file(const std::string& header, const Bytes& data = {},
                std::optional<std::uint64_t> length = std::nullopt) {
  const std::uint64_t n = length.value_or(header.size());
  Bytes out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

template <typename T>
T element(const TensorView& t, std::size_t i) {
  EXPECT_EQ(sizeof(T), dtype_size(t.dtype));
  EXPECT_LE((i + 1) * sizeof(T), t.n_bytes);
  T v;
  std::memcpy(&v, t.data + i * sizeof(T), sizeof(T));  // data may be unaligned
  return v;
}

template <typename T>
TensorToWrite to_write(const std::string& name, DType dtype, std::vector<int64_t> shape,
                       const std::vector<T>& values) {
  return TensorToWrite{name, dtype, std::move(shape), values.data(), values.size() * sizeof(T)};
}

Bytes view_bytes(const TensorView& t) { return Bytes(t.data, t.data + t.n_bytes); }

// A unique scratch path in the build's temp dir, removed at scope exit.
class TempPath {
 public:
  explicit TempPath(const std::string& stem)
      : path_((std::filesystem::temp_directory_path() /
               ("lumamba_test_" + stem + "_" + std::to_string(::getpid()) + ".safetensors"))
                  .string()) {}
  ~TempPath() { std::filesystem::remove(path_); }
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

// ---- dtype table ---------------------------------------------------------------------------

TEST(SafetensorsDType, SizesNamesAndParseRoundTrip) {
  const std::vector<std::tuple<DType, std::size_t, std::string>> expected = {
      {DType::kF32, 4, "F32"},   {DType::kF64, 8, "F64"},   {DType::kF16, 2, "F16"},
      {DType::kBF16, 2, "BF16"}, {DType::kI64, 8, "I64"},   {DType::kI32, 4, "I32"},
      {DType::kU8, 1, "U8"},     {DType::kBool, 1, "BOOL"},
  };
  for (const auto& [dtype, size, name] : expected) {
    EXPECT_EQ(dtype_size(dtype), size) << name;
    EXPECT_EQ(dtype_name(dtype), name);
    EXPECT_EQ(parse_dtype(name), dtype) << name;
  }
}

TEST(SafetensorsDType, UnknownNameListsSupported) {
  for (const char* bad : {"f32", "F8_E4M3", "U16", "", "FLOAT"}) {
    try {
      parse_dtype(bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("unknown dtype"), std::string::npos) << msg;
      EXPECT_NE(msg.find("F32, F64, F16, BF16, I64, I32, U8, BOOL"), std::string::npos) << msg;
    }
  }
}

TEST(SafetensorsTensorView, Numel) {
  TensorView t;
  EXPECT_EQ(t.numel(), 1);  // 0-d
  t.shape = {2, 3, 4};
  EXPECT_EQ(t.numel(), 24);
  t.shape = {1ll << 40, 1ll << 40, 0};  // a zero dim wins over a product that would overflow
  EXPECT_EQ(t.numel(), 0);
}

// ---- golden files --------------------------------------------------------------------------

TEST(SafetensorsGolden, WeightsFile) {
  const SafetensorsFile f = SafetensorsFile::open(golden_path("weights.safetensors"));
  EXPECT_EQ(f.source(), golden_path("weights.safetensors"));
  ASSERT_EQ(f.tensors().size(), 151u);
  EXPECT_EQ(f.metadata().at("format"), "pt");

  const TensorView& mask = f.at("mask_token");
  EXPECT_EQ(mask.dtype, DType::kF32);
  EXPECT_EQ(mask.shape, (std::vector<int64_t>{1, 1, 64}));
  EXPECT_EQ(mask.numel(), 64);
  EXPECT_EQ(mask.n_bytes, 256u);

  const TensorView& conv = f.at("patch_embed.proj_in.0.weight");
  EXPECT_EQ(conv.dtype, DType::kF32);
  EXPECT_EQ(conv.shape, (std::vector<int64_t>{16, 1, 1, 19}));
  EXPECT_EQ(conv.n_bytes, 16u * 19 * 4);
  EXPECT_EQ(f.at("channel_emb.embeddings.weight").shape, (std::vector<int64_t>{90, 64}));

  const TensorView& temp = f.at("cross_attn.temparature");
  EXPECT_TRUE(temp.shape.empty());
  EXPECT_EQ(temp.numel(), 1);
  EXPECT_EQ(temp.n_bytes, 4u);
  EXPECT_EQ(element<float>(temp, 0), 1.0f);

  // tensors() is in data-offset order and this file is densely packed; the values (5,380,515,
  // README) all add up to the data section.
  int64_t values = 0;
  const std::uint8_t* expected_next = f.tensors().front().data;
  for (const TensorView& t : f.tensors()) {
    EXPECT_EQ(t.data, expected_next) << t.name;
    expected_next = t.data + t.n_bytes;
    EXPECT_EQ(t.dtype, DType::kF32) << t.name;
    values += t.numel();
  }
  EXPECT_EQ(values, 5380515);
  EXPECT_EQ(f.tensors().front().name, "mask_token");

  EXPECT_TRUE(f.contains("mask_token"));
  EXPECT_FALSE(f.contains("model.mask_token"));
  try {
    f.at("nope");
    FAIL() << "at() accepted a missing name";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), golden_path("weights.safetensors") + ": no tensor 'nope'");
  }
}

TEST(SafetensorsGolden, CaseC22MetadataAndDtypes) {
  const SafetensorsFile f = SafetensorsFile::open(golden_path("case_c22.safetensors"));
  const std::string& channels = f.metadata().at("channels");
  EXPECT_EQ(channels.rfind("FP1-F7,", 0), 0u) << channels;
  std::vector<std::string> names;
  for (std::size_t start = 0;;) {
    const std::size_t comma = channels.find(',', start);
    names.push_back(channels.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  ASSERT_EQ(names.size(), 22u);
  EXPECT_EQ(names.back(), "T4-A2");
  EXPECT_EQ(f.metadata().at("B"), "2");
  EXPECT_EQ(f.metadata().at("T"), "1280");

  const TensorView& idx = f.at("channel_names_idx");
  EXPECT_EQ(idx.dtype, DType::kI64);
  EXPECT_EQ(idx.shape, (std::vector<int64_t>{2, 22}));
  EXPECT_EQ(element<int64_t>(idx, 0), 47);
  EXPECT_EQ(element<int64_t>(idx, 21), 80);
  EXPECT_EQ(element<int64_t>(idx, 22), 47);  // both batch items share the montage

  const TensorView& mask = f.at("mask");
  EXPECT_EQ(mask.dtype, DType::kU8);
  EXPECT_EQ(mask.shape, (std::vector<int64_t>{2, 22, 1280}));
  int64_t ones = 0;
  for (std::size_t i = 0; i < mask.n_bytes; ++i) {
    ASSERT_LE(mask.data[i], 1) << "mask is 0/1";
    ones += mask.data[i];
  }
  EXPECT_EQ(ones, 28160);

  const TensorView& f64 = f.at("cls.logits_f64");
  EXPECT_EQ(f64.dtype, DType::kF64);
  EXPECT_EQ(f64.shape, (std::vector<int64_t>{2, 2}));
  // The F64 logits are the float64 run of the same model: they agree with the F32 ones.
  const TensorView& f32 = f.at("cls.logits");
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(element<double>(f64, i), element<float>(f32, i), 1e-4) << i;
  }
}

// Re-serialising what we read and parsing it again gives identical tensors and metadata.
TEST(SafetensorsGolden, ReserializeRoundTrip) {
  for (const char* name : {"weights.safetensors", "case_c22.safetensors", "sigreg.safetensors"}) {
    SCOPED_TRACE(name);
    const SafetensorsFile original = SafetensorsFile::open(golden_path(name));
    std::vector<TensorToWrite> out;
    for (const TensorView& t : original.tensors()) {
      out.push_back({t.name, t.dtype, t.shape, t.data, t.n_bytes});
    }
    const SafetensorsFile again =
        SafetensorsFile::parse(serialize_safetensors(out, original.metadata()), "reserialized");
    EXPECT_EQ(again.metadata(), original.metadata());
    ASSERT_EQ(again.tensors().size(), original.tensors().size());
    for (const TensorView& t : original.tensors()) {
      const TensorView& u = again.at(t.name);
      EXPECT_EQ(u.dtype, t.dtype) << t.name;
      EXPECT_EQ(u.shape, t.shape) << t.name;
      ASSERT_EQ(u.n_bytes, t.n_bytes) << t.name;
      EXPECT_EQ(std::memcmp(u.data, t.data, t.n_bytes), 0) << t.name;
    }
  }
}

// ---- writer --------------------------------------------------------------------------------

struct AllDtypes {
  std::vector<float> f32{1.5f, -2.25f, 0.0f, 3.0e38f, -1.0e-38f, 7.0f};
  std::vector<double> f64{3.141592653589793, -1e300, 0.5, 2.0};
  std::vector<std::uint16_t> f16{0x3C00, 0xC000, 0x7BFF};  // 1.0, -2.0, 65504
  std::vector<std::uint16_t> bf16{0x3F80, 0xBF80};         // 1.0, -1.0
  std::vector<int64_t> i64{-1, 9007199254740993ll};
  std::vector<int32_t> i32{-2147483647 - 1, 0, 2147483647};
  std::vector<std::uint8_t> u8{0, 1, 127, 128, 255};
  std::vector<std::uint8_t> boolean{0, 1, 1, 0};
  std::vector<float> scalar{42.5f};
  std::vector<float> empty;

  std::vector<TensorToWrite> tensors() const {
    return {
        to_write("w.f32", DType::kF32, {2, 3}, f32),
        to_write("w.f64", DType::kF64, {4}, f64),
        to_write("w.f16", DType::kF16, {3}, f16),
        to_write("w.bf16", DType::kBF16, {1, 2}, bf16),
        to_write("idx.i64", DType::kI64, {2}, i64),
        to_write("idx.i32", DType::kI32, {3, 1}, i32),
        to_write("mask.u8", DType::kU8, {5}, u8),
        to_write("mask.bool", DType::kBool, {2, 2}, boolean),
        to_write("scalar", DType::kF32, {}, scalar),
        to_write("empty", DType::kF32, {0}, empty),
        to_write("empty2d", DType::kI64, {3, 0}, empty),
    };
  }
};

const std::map<std::string, std::string> kMetadata = {
    {"format", "pt"}, {"note", "unicode \xC3\xBC \xE2\x9C\x93, \"quotes\"\n"}};

TEST(SafetensorsWriter, RoundTripEveryDtype) {
  const AllDtypes src;
  const std::vector<TensorToWrite> tensors = src.tensors();
  const Bytes bytes = serialize_safetensors(tensors, kMetadata);
  const SafetensorsFile f = SafetensorsFile::parse(bytes, "roundtrip");

  EXPECT_EQ(f.metadata(), kMetadata);
  ASSERT_EQ(f.tensors().size(), tensors.size());
  for (const TensorToWrite& t : tensors) {
    SCOPED_TRACE(t.name);
    ASSERT_TRUE(f.contains(t.name));
    const TensorView& v = f.at(t.name);
    EXPECT_EQ(v.dtype, t.dtype);
    EXPECT_EQ(v.shape, t.shape);
    ASSERT_EQ(v.n_bytes, t.n_bytes);
    if (t.n_bytes > 0) {
      EXPECT_EQ(std::memcmp(v.data, t.data, t.n_bytes), 0);
    }
  }
  EXPECT_EQ(f.at("scalar").numel(), 1);
  EXPECT_EQ(element<float>(f.at("scalar"), 0), 42.5f);
  EXPECT_EQ(f.at("empty").numel(), 0);
  EXPECT_EQ(f.at("empty2d").numel(), 0);
  EXPECT_EQ(element<int64_t>(f.at("idx.i64"), 1), 9007199254740993ll);
  EXPECT_EQ(element<double>(f.at("w.f64"), 1), -1e300);

  // Layout: header padded to 8 bytes; data in name order, contiguous, filling the file exactly.
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
  EXPECT_EQ(bytes[8], '{');
  EXPECT_TRUE(bytes[8 + header_len - 1] == ' ' || bytes[8 + header_len - 1] == '}');
  std::vector<std::string> sorted_names;
  for (const auto& t : tensors) sorted_names.push_back(t.name);
  std::sort(sorted_names.begin(), sorted_names.end());
  const std::uint8_t* next = bytes.data() + 8 + header_len;
  for (const std::string& name : sorted_names) {
    // f.at() views point into f's own copy; compare offsets relative to its data section.
    const TensorView& v = f.at(name);
    const std::size_t offset = static_cast<std::size_t>(v.data - f.tensors().front().data);
    EXPECT_EQ(offset, static_cast<std::size_t>(next - (bytes.data() + 8 + header_len))) << name;
    next += v.n_bytes;
  }
  EXPECT_EQ(next, bytes.data() + bytes.size());
}

TEST(SafetensorsWriter, HeaderMatchesPythonLibraryLayout) {
  const std::vector<float> values{1.0f, 2.0f};
  const std::vector<std::uint8_t> flags{1};
  const Bytes bytes = serialize_safetensors(
      {to_write("b", DType::kF32, {2}, values), to_write("a", DType::kBool, {1}, flags)},
      {{"format", "pt"}});
  const std::string expected =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}})";
  const std::size_t padded = (expected.size() + 7) / 8 * 8;
  ASSERT_EQ(bytes.size(), 8 + padded + 9);
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  EXPECT_EQ(header_len, padded);
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(padded));
  EXPECT_EQ(header, expected + std::string(padded - expected.size(), ' '));
  EXPECT_EQ(bytes[8 + padded], 1);  // "a" first: name order
}

TEST(SafetensorsWriter, NoMetadataAndNoTensors) {
  const Bytes bytes = serialize_safetensors({}, {});
  EXPECT_EQ(bytes, make_file("{}      "));
  const SafetensorsFile f = SafetensorsFile::parse(bytes, "empty");
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_TRUE(f.metadata().empty());
}

TEST(SafetensorsWriter, FileEqualsSerializedBytesAndReplacesAtomically) {
  const AllDtypes src;
  const TempPath path("write");
  { std::ofstream(path.str(), std::ios::binary) << "old contents"; }
  write_safetensors(path.str(), src.tensors(), kMetadata);
  EXPECT_EQ(read_file_bytes(path.str()), serialize_safetensors(src.tensors(), kMetadata));
  EXPECT_FALSE(std::filesystem::exists(path.str() + ".tmp-" + std::to_string(::getpid())));

  const SafetensorsFile f = SafetensorsFile::open(path.str());
  EXPECT_EQ(f.tensors().size(), 11u);
  EXPECT_EQ(element<float>(f.at("w.f32"), 1), -2.25f);
}

TEST(SafetensorsWriter, UnwritablePathThrowsNamingIt) {
  const std::string path = "/nonexistent-lumamba-dir/sub/out.safetensors";
  try {
    write_safetensors(path, AllDtypes().tensors(), {});
    FAIL() << "wrote into a missing directory";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path, 0), 0u) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp-" + std::to_string(::getpid())));
}

TEST(SafetensorsWriter, RenameFailureRemovesTemp) {
  // PATH is an existing non-empty directory: the data writes succeed, rename() fails.
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("lumamba_test_dir_" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir + "/keep");
  EXPECT_THROW(write_safetensors(dir, AllDtypes().tensors(), {}), InputError);
  EXPECT_FALSE(std::filesystem::exists(dir + ".tmp-" + std::to_string(::getpid())));
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/keep"));
  std::filesystem::remove_all(dir);
}

TEST(SafetensorsWriter, RejectsInconsistentTensors) {
  const std::vector<float> four{1, 2, 3, 4};
  struct Case {
    const char* what;
    std::vector<TensorToWrite> tensors;
    const char* needle;
  };
  const std::vector<Case> cases = {
      {"size mismatch", {to_write("x", DType::kF64, {4}, four)}, "n_bytes 16 does not match"},
      {"shape too small", {to_write("x", DType::kF32, {3}, four)}, "'x'"},
      {"negative dim", {to_write("x", DType::kF32, {-4}, four)}, "negative dim"},
      {"duplicate",
       {to_write("x", DType::kF32, {4}, four), to_write("x", DType::kF32, {2, 2}, four)},
       "duplicate tensor name 'x'"},
      {"empty name", {to_write("", DType::kF32, {4}, four)}, "empty name"},
      {"reserved name", {to_write("__metadata__", DType::kF32, {4}, four)}, "reserved"},
      {"invalid utf-8", {to_write("bad\xFF", DType::kF32, {4}, four)}, "UTF-8"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    try {
      serialize_safetensors(c.tensors, {});
      ADD_FAILURE() << "accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(c.needle), std::string::npos) << e.what();
    }
  }
  // write_safetensors validates before creating anything, and names the path.
  const TempPath path("reject");
  try {
    write_safetensors(path.str(), cases[0].tensors, {});
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path.str() + ": tensor 'x'", 0), 0u) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(path.str()));
}

// ---- reader: accepted edge cases ----------------------------------------------------------

TEST(SafetensorsReader, MovedFileKeepsViewsValid) {
  const std::vector<float> values{5.0f, 6.0f};
  SafetensorsFile a = SafetensorsFile::parse(
      serialize_safetensors({to_write("v", DType::kF32, {2}, values)}, {}), "moved");
  const std::uint8_t* before = a.at("v").data;
  SafetensorsFile b = std::move(a);
  EXPECT_EQ(b.at("v").data, before);
  EXPECT_EQ(element<float>(b.at("v"), 1), 6.0f);
  EXPECT_EQ(b.source(), "moved");
}

TEST(SafetensorsReader, AcceptsGapsEmptyRangesAndPadding) {
  // Gaps and trailing bytes are legal (only overlaps are not); an empty tensor sitting at an
  // offset inside another's range touches no bytes; trailing header spaces are JSON whitespace.
  const std::string header =
      R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},)"
      R"("a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
      R"("e":{"dtype":"F64","shape":[5,0],"data_offsets":[5,5]},"x":{"dtype":"I32","shape":[0],)"
      R"("data_offsets":[5,5]}}   )";
  const SafetensorsFile f =
      SafetensorsFile::parse(make_file(header, {10, 11, 12, 13, 14, 15, 16}), "edge");
  ASSERT_EQ(f.tensors().size(), 4u);
  EXPECT_EQ(f.tensors()[0].name, "a");  // offset order, ties by size then name
  EXPECT_EQ(f.tensors()[1].name, "b");
  EXPECT_EQ(f.tensors()[2].name, "e");
  EXPECT_EQ(f.tensors()[3].name, "x");
  EXPECT_EQ(view_bytes(f.at("a")), (Bytes{10, 11}));
  EXPECT_EQ(view_bytes(f.at("b")), (Bytes{14, 15}));
  EXPECT_EQ(f.at("e").numel(), 0);
}

TEST(SafetensorsReader, OpenMissingFileNamesIt) {
  const std::string path = golden_path("does_not_exist.safetensors");
  try {
    SafetensorsFile::open(path);
    FAIL() << "opened a missing file";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": cannot open", 0), 0u) << e.what();
  }
  EXPECT_THROW(SafetensorsFile::open(std::string(LUMAMBA_TEST_FIXTURES_DIR)), InputError);  // a dir
}

// ---- reader: malformed catalogue ----------------------------------------------------------

struct Malformed {
  std::string what;
  Bytes bytes;
  std::string needle;  // must appear in the message (usually the tensor/field name)
};

std::string entry(const std::string& name, const std::string& body) {
  return "\"" + name + "\":" + body;
}

std::vector<Malformed> malformed_catalogue() {
  const std::string ok_w = entry("w", R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})");
  const Bytes eight(8, 0);
  std::vector<Malformed> c;
  c.push_back({"empty file", {}, "shorter than the 8-byte header length"});
  c.push_back({"truncated header length", {16, 0, 0, 0, 0}, "shorter than the 8-byte"});
  c.push_back({"header length past end", make_file("{" + ok_w + "}", eight, 1000),
               "header length 1000 is larger than"});
  c.push_back({"header length over 100 MiB", make_file("{}", {}, 200ull << 20), "MiB limit"});
  c.push_back({"header length 2^64-1", make_file("{}", {}, ~0ull), "MiB limit"});
  c.push_back({"bad JSON", make_file(R"({"w": {"dtype": )"), "not valid JSON"});
  c.push_back({"empty header", make_file(""), "not valid JSON"});
  c.push_back({"invalid UTF-8 in header", make_file("{\"w\xFF\":1}"), "not valid JSON"});
  c.push_back({"header not an object", make_file("[1,2]"), "must be a JSON object"});
  c.push_back({"non-object entry", make_file(R"({"w":[0,8]})"), "'w': entry must be"});
  c.push_back({"empty tensor name",
               make_file(R"({"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", {1}),
               "empty name"});
  c.push_back({"missing dtype", make_file(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", eight),
               "'w': missing field 'dtype'"});
  c.push_back({"missing shape", make_file(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", eight),
               "'w': missing field 'shape'"});
  c.push_back({"missing data_offsets", make_file(R"({"w":{"dtype":"F32","shape":[2]}})", eight),
               "'w': missing field 'data_offsets'"});
  c.push_back({"dtype not a string",
               make_file(R"({"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", eight),
               "'w': 'dtype' must be a string"});
  c.push_back({"unknown dtype",
               make_file(R"({"w":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", eight),
               "'w': unknown dtype \"F8_E4M3\""});
  c.push_back({"shape not an array",
               make_file(R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", eight),
               "'w': 'shape' must be an array"});
  c.push_back({"negative dim",
               make_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight),
               "'w': shape[0] must be a non-negative integer, got -2"});
  c.push_back({"fractional dim",
               make_file(R"({"w":{"dtype":"F32","shape":[1,2.0],"data_offsets":[0,8]}})", eight),
               "'w': shape[1]"});
  c.push_back({"string dim",
               make_file(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", eight),
               "'w': shape[0]"});
  c.push_back({"dim above int64",
               make_file(R"({"w":{"dtype":"U8","shape":[9223372036854775808],)"
                         R"("data_offsets":[0,8]}})",
                         eight),
               "'w': shape[0]"});
  c.push_back({"numel overflow",
               make_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],)"
                         R"("data_offsets":[0,8]}})",
                         eight),
               "'w': shape [4294967296,4294967296] x F32 overflows"});
  c.push_back({"byte count overflow",
               make_file(R"({"w":{"dtype":"F64","shape":[4611686018427387904],)"
                         R"("data_offsets":[0,8]}})",
                         eight),
               "'w': shape [4611686018427387904] x F64 overflows"});
  c.push_back({"offsets wrong arity",
               make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", eight),
               "'w': 'data_offsets' must be [begin, end]"});
  c.push_back({"offsets not an array",
               make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":"0-8"}})", eight),
               "'w': 'data_offsets' must be"});
  c.push_back({"negative offset",
               make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", eight),
               "'w': 'data_offsets' must be"});
  c.push_back({"begin after end",
               make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight),
               "'w': data_offsets [8, 0] has begin > end"});
  c.push_back({"offsets out of range",
               make_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", eight),
               "'w': data_offsets [8, 16] run past the end of the 8-byte data section"});
  c.push_back({"huge offsets",
               make_file(R"({"w":{"dtype":"U8","shape":[0],)"
                         R"("data_offsets":[18446744073709551615,18446744073709551615]}})",
                         eight),
               "'w': data_offsets"});
  c.push_back({"size mismatch",
               make_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight),
               "'w': data_offsets [0, 8] span 8 bytes but shape [3] x F32 needs 12 bytes"});
  c.push_back({"overlapping ranges",
               make_file(R"({"a":{"dtype":"U8","shape":[6],"data_offsets":[0,6]},)"
                         R"("b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
                         eight),
               "tensors 'a' [0, 6) and 'b' [4, 8) have overlapping data"});
  c.push_back({"identical ranges",
               make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})",
                         eight),
               "overlapping"});
  c.push_back({"metadata not an object", make_file(R"({"__metadata__":"pt"})"),
               "'__metadata__' must be an object of strings"});
  c.push_back({"metadata non-string value",
               make_file(R"({"__metadata__":{"format":"pt","epoch":3}})"),
               "'__metadata__' value for 'epoch' must be a string, got 3"});
  // A real file with its last data byte cut off.
  const std::vector<float> values{1, 2, 3};
  Bytes truncated = serialize_safetensors({to_write("w", DType::kF32, {3}, values)}, {{"k", "v"}});
  truncated.pop_back();
  c.push_back({"truncated data section", truncated,
               "'w': data_offsets [0, 12] run past the end of the 11-byte data section"});
  return c;
}

TEST(SafetensorsReader, MalformedCatalogueRejected) {
  const std::vector<Malformed> cases = malformed_catalogue();
  EXPECT_GE(cases.size(), 30u);
  for (const Malformed& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string source = "case<" + c.what + ">";
    try {
      SafetensorsFile::parse(c.bytes, source);
      ADD_FAILURE() << "accepted";
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(source + ": ", 0), 0u) << msg;
      EXPECT_NE(msg.find(c.needle), std::string::npos) << msg;
    }
  }
}

// Every strict prefix of a valid file is rejected (never crashes, never reads past the end).
TEST(SafetensorsReader, EveryTruncationRejected) {
  const AllDtypes src;
  const Bytes full = serialize_safetensors(src.tensors(), kMetadata);
  int rejected = 0;
  for (std::size_t n = 0; n < full.size(); ++n) {
    EXPECT_THROW(
        SafetensorsFile::parse(Bytes(full.begin(), full.begin() + static_cast<long>(n)), "prefix"),
        InputError)
        << n;
    ++rejected;
  }
  EXPECT_EQ(rejected, static_cast<int>(full.size()));
  EXPECT_EQ(SafetensorsFile::parse(full, "full").tensors().size(), 11u);
}

}  // namespace
}  // namespace lumamba::io
