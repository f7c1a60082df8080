// Preprocessing presets: the shipped files, overrides, validation.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lumamba/core/error.h"
#include "lumamba/preprocess/preset.h"

namespace lumamba::preprocess {
namespace {

TEST(Preset, ShippedPresetsLoadWithReferenceSettings) {
  EXPECT_EQ(preset_names(), (std::vector<std::string>{"events", "generic", "tuab", "tuar", "tueg", "tusl"}));
  for (const auto& name : preset_names()) {
    const auto p = builtin_preset(name);
    EXPECT_EQ(p.name, name);
    EXPECT_EQ(p.l_freq_hz, 0.1) << name;
    EXPECT_EQ(p.h_freq_hz, 75) << name;
    EXPECT_EQ(p.resample_hz, 256) << name;
  }
  const auto tuab = builtin_preset("tuab");
  EXPECT_EQ(tuab.montage, "tcp");
  EXPECT_EQ(tuab.notch_hz, 60);
  EXPECT_EQ(tuab.window_samples(), 1280);
  EXPECT_EQ(tuab.labels, "tuab_directory");
  EXPECT_EQ(builtin_preset("generic").notch_hz, 50);
  const auto events = builtin_preset("events");
  EXPECT_EQ(events.window_samples(), 960);  // 24 patches of 40
  EXPECT_EQ(events.event_labels.at("T2"), 1);
  EXPECT_THROW(builtin_preset("tuxx"), InputError);
}

TEST(Preset, DottedOverridesAndJson) {
  auto p = builtin_preset("events");
  apply_preset_overrides(p, {"notch_hz=50", "event_labels.T0=2", "channels=[C3, CZ, C4]", "window_s=2.5"});
  EXPECT_EQ(p.notch_hz, 50);
  EXPECT_EQ(p.event_labels.at("T0"), 2);
  EXPECT_EQ(p.channels, (std::vector<std::string>{"C3", "CZ", "C4"}));
  EXPECT_EQ(p.window_samples(), 640);
  const auto j = nlohmann::json::parse(preset_to_json(p));
  EXPECT_EQ(j["window_samples"], 640);
  EXPECT_EQ(j["steps"][3], "notch");
  EXPECT_THROW(apply_preset_overrides(p, {"notch=50"}), InputError);
  EXPECT_THROW(apply_preset_overrides(p, {"l_freq_hz=80"}), InputError);  // above h_freq_hz
}

TEST(Preset, InvalidPresetsNameTheField) {
  EXPECT_THROW(preset_from_text("montage: bipolar\n", "x.yaml"), InputError);
  EXPECT_THROW(preset_from_text("steps: [montage, pick, band_pass, notch, resample, window]\nchannels: [C3]\n", "x"),
               InputError);
  EXPECT_THROW(preset_from_text("montage: unipolar\n", "x"), InputError);  // no channels
  try {
    preset_from_text("montage: tcp\nwindow_sec: 5\n", "my.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("window_sec"), std::string::npos);
  }
}

}  // namespace
}  // namespace lumamba::preprocess
