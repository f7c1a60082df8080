// HDF5 window datasets: our writer/assembler/reader round trip, float16 storage, and reading a
// file written by h5py in the reference layout (tools/h5/make_reference_layout_h5.py).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "lumamba/core/error.h"
#include "lumamba/io/channels.h"
#include "lumamba/io/window_h5.h"
#include "support/scratch.h"

namespace lumamba::io {
namespace {
using test::scratch_path;

RecordingWindows make_recording(int64_t n, const std::vector<std::string>& names, int64_t t, float scale) {
  RecordingWindows r;
  r.channel_names = names;
  for (const auto& p : channel_positions(names)) r.channel_locations_m.push_back({p.x_m, p.y_m, p.z_m});
  r.source_file = "sub-01/rec.edf";
  r.subject = "sub-01";
  r.split = "train";
  r.sfreq_hz = 256;
  r.n_windows = n;
  r.n_channels = static_cast<int64_t>(names.size());
  r.n_samples = t;
  for (int64_t i = 0; i < n * r.n_channels * t; ++i) r.signal_uv.push_back(scale * std::sin(0.01f * i) + 0.001f * i);
  for (int64_t i = 0; i < n; ++i) {
    r.labels.push_back(i % 3);
    r.window_start_s.push_back(static_cast<double>(i * t) / r.sfreq_hz);
  }
  return r;
}

TEST(WindowH5, WriteAssembleReadRoundTrip) {
  const std::vector<std::string> names = {"FP1-F7", "F7-T3", "C3", "O2"};
  const auto a = make_recording(3, names, 40, 50.f), b = make_recording(2, names, 40, -20.f);
  const auto pa = scratch_path("h5_a.h5"), pb = scratch_path("h5_b.h5"), out = scratch_path("h5_out.h5");
  write_recording_h5(pa, a, StorageDType::kFloat32, R"({"preset":"test"})");
  write_recording_h5(pb, b, StorageDType::kFloat32, R"({"preset":"test"})", /*gzip_level=*/4);
  assemble_window_h5({pa, pb}, out, R"({"preset":"test"})");
  auto reader = WindowH5Reader::open(out);
  EXPECT_EQ(reader.preprocess_json(), R"({"preset":"test"})");
  ASSERT_EQ(reader.groups().size(), 2u);
  const auto& g0 = reader.groups()[0];
  EXPECT_EQ(g0.name, "data_group_0");
  EXPECT_EQ(g0.n_windows, 3);
  EXPECT_EQ(g0.n_channels, 4);
  EXPECT_EQ(g0.n_samples, 40);
  EXPECT_EQ(g0.channel_names, names);
  EXPECT_EQ(g0.subject, "sub-01");
  EXPECT_EQ(g0.split, "train");
  EXPECT_EQ(g0.sfreq_hz, 256);
  EXPECT_EQ(g0.channel_locations_m[2][0], channel_position("C3").x_m);
  EXPECT_EQ(reader.read_signal(0, 0, 3), a.signal_uv);
  EXPECT_EQ(reader.read_signal(1, 0, 2), b.signal_uv);
  const auto part = reader.read_signal(0, 1, 2);  // windows 1..2
  EXPECT_EQ(std::vector<float>(a.signal_uv.begin() + 4 * 40, a.signal_uv.end()), part);
  EXPECT_EQ(reader.read_labels(0), a.labels);
  EXPECT_EQ(reader.read_window_start_s(1), b.window_start_s);
  EXPECT_THROW(reader.read_signal(0, 2, 2), InputError);
  for (const auto& p : {pa, pb, out}) std::filesystem::remove(p);
}

TEST(WindowH5, Float16StorageRoundsToHalfPrecision) {
  auto r = make_recording(2, {"C3", "C4"}, 40, 100.f);
  r.n_label_columns = 2;
  r.labels.clear();
  r.multi_labels = {0, 1, 1, 0};
  const auto p = scratch_path("h5_f16.h5");
  write_recording_h5(p, r, StorageDType::kFloat16, "{}");
  auto reader = WindowH5Reader::open(p);
  const auto x = reader.read_signal(0, 0, 2);
  double max_err = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    // float16 has 11 significant bits: relative step 2^-11 (0.06 µV at 100 µV, half of which is the rounding bound).
    const double bound = std::ldexp(std::abs(r.signal_uv[i]), -11) + 1e-7;
    ASSERT_LE(std::abs(x[i] - r.signal_uv[i]), bound) << i;
    max_err = std::max(max_err, static_cast<double>(std::abs(x[i] - r.signal_uv[i])));
  }
  EXPECT_GT(max_err, 0.0);  // it really was stored as float16
  EXPECT_EQ(reader.read_multi_labels(0), r.multi_labels);
  std::filesystem::remove(p);
}

TEST(WindowH5, ReadsReferenceLayoutWrittenByH5py) {
  auto reader = WindowH5Reader::open(std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/h5/reference_layout.h5");
  ASSERT_EQ(reader.groups().size(), 2u);
  EXPECT_EQ(reader.preprocess_json(), "");
  for (size_t g = 0; g < 2; ++g) {
    const auto& info = reader.groups()[g];
    EXPECT_FALSE(info.has_channel_names);
    EXPECT_EQ(info.n_channels, 22);
    EXPECT_EQ(info.n_samples, 80);
    const auto x = reader.read_signal(g, 0, info.n_windows);
    for (int64_t i = 0; i < info.n_windows; ++i)
      for (int64_t c = 0; c < 22; ++c)
        for (int64_t t = 0; t < 80; ++t) {
          const double expected = 0.5 * static_cast<double>(g + 1) * (((i * 7 + c * 3 + t) % 41) - 20);
          ASSERT_EQ(x[(i * 22 + c) * 80 + t], expected) << g << " " << i << " " << c << " " << t;
        }
    const auto y = reader.read_labels(g);
    for (int64_t i = 0; i < info.n_windows; ++i) EXPECT_EQ(y[i], static_cast<int64_t>((i + g) % 2));
    EXPECT_DOUBLE_EQ(reader.read_window_start_s(g).back(), (info.n_windows - 1) * 80 / 256.0);
  }
}

TEST(WindowH5, ReferenceChannelOrders) {
  const auto tuh = reference_channel_order("tuh", 22);
  ASSERT_EQ(tuh.size(), 22u);
  EXPECT_EQ(tuh[8], "A1-T3");
  EXPECT_EQ(tuh[13], "T4-A2");
  EXPECT_EQ(tuh[14], "FP1-F3");
  const auto tueg = reference_channel_order("tueg", 22);
  EXPECT_EQ(tueg[20], "A1-T3");
  EXPECT_EQ(reference_channel_order("tueg", 20).back(), "P4-O2");
  EXPECT_THROW(reference_channel_order("tuh", 19), InputError);
}

TEST(WindowH5, BadFilesAreClearErrors) {
  const auto p = scratch_path("h5_not_h5.h5");
  {
    std::FILE* f = std::fopen(p.c_str(), "wb");
    std::fputs("not an hdf5 file", f);
    std::fclose(f);
  }
  try {
    WindowH5Reader::open(p);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos);
  }
  EXPECT_THROW(WindowH5Reader::open(scratch_path("h5_missing.h5")), InputError);
  auto r = make_recording(2, {"C3"}, 40, 1.f);
  r.labels.pop_back();
  EXPECT_THROW(write_recording_h5(scratch_path("h5_bad.h5"), r, StorageDType::kFloat32, "{}"), InputError);
  EXPECT_FALSE(std::filesystem::exists(scratch_path("h5_bad.h5")));
  std::filesystem::remove(p);

  // An HDF5 file without window groups (here: assembled from no parts) is not a dataset; it was
  // reported later as "no training windows (every group has split val/test)".
  const auto empty = scratch_path("h5_empty.h5");
  assemble_window_h5({}, empty, "{}");
  try {
    WindowH5Reader::open(empty);
    ADD_FAILURE() << "an empty HDF5 file was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(empty + ": not a lumamba window dataset"), std::string::npos) << e.what();
  }
  std::filesystem::remove(empty);
}

}  // namespace
}  // namespace lumamba::io
