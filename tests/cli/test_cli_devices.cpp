// Any montage, any device, end to end with the built `lumamba`: a BioSemi BDF (A1… names, biosemi128
// positions, EXG mastoids as the reference), an EGI recording (E1… names, GSN-HydroCel-129 positions,
// average reference), a BrainVision recording, an EEGLAB dataset (its own chanlocs positions) and a
// BIDS tree (electrodes.tsv, channels.tsv, participants.tsv labels; tests/support/bids_tree.h) each go
// through preprocess → finetune (a tiny model, one epoch) → predict → embed (the shipped encoder).
// The windows carry each device's real positions. Learning is not the point here (a handful of
// windows): every command succeeds and every output has a row per window.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lumamba/io/channels.h"
#include "lumamba/io/electrode_positions.h"
#include "lumamba/io/window_h5.h"
#include "support/bids_tree.h"
#include "support/cli_run.h"
#include "support/scratch.h"

namespace lumamba::test {
namespace {

namespace fs = std::filesystem;

struct Device {
  std::string name;
  std::string input;      // manifest CSV, recording folder or BIDS root
  std::string one_file;   // a recording for predict and embed
  std::string settings;   // preset overrides (montage, positions, reference)
  std::string labels;     // preprocess only: where labels come from
  std::string channel;    // a channel of the windows (of the group whose source file holds `source`) ...
  std::string source;
  io::Position3 position; // ... and where it must be (head frame, m)
};

// An EDF/BDF of `labels` (µV channels; "Status" gets no unit) with a 10 Hz rhythm whose amplitude
// differs by `seed`, 12 s at 256 Hz.
void write_device_file(const fs::path& path, bool bdf, const std::vector<std::string>& labels, int seed) {
  FileSpec spec;
  spec.bdf = bdf;
  for (const auto& l : labels) {
    spec.signals.push_back({l, l == "Status" ? "" : "uV", -3000, 3000, bdf ? -8388608 : -32768, bdf ? 8388607 : 32767, 256});
  }
  spec.n_records = 12;
  spec.digital = [bdf, seed](int s, int64_t i) {
    const double amplitude = (bdf ? 100000.0 : 400.0) * (1 + seed);
    return static_cast<int>(std::lround(amplitude * std::sin(2 * M_PI * (10 + s) * static_cast<double>(i) / 256.0 + s)));
  };
  write_with_edflib(path.string(), spec);
}

void write_manifest(const fs::path& dir, const std::vector<std::string>& files) {
  std::ofstream m(dir / "manifest.csv");
  m << "file,label,subject\n";
  for (std::size_t i = 0; i < files.size(); ++i) m << files[i] << "," << i % 2 << ",s" << i << "\n";
}

std::vector<Device> write_devices(const fs::path& root) {
  std::vector<Device> devices;
  const std::string fixtures = LUMAMBA_TEST_FIXTURES_DIR;

  const auto biosemi = root / "biosemi";
  fs::create_directories(biosemi);
  for (int i = 0; i < 2; ++i) {
    write_device_file(biosemi / fmt::format("rec{}.bdf", i), true,
                      {"A1", "A2", "A3", "A19", "B1", "C1", "D1", "EXG1", "EXG2", "Status"}, i);
  }
  write_manifest(biosemi, {"rec0.bdf", "rec1.bdf"});
  devices.push_back({"biosemi", (biosemi / "manifest.csv").string(), (biosemi / "rec0.bdf").string(),
                     " montage=all_eeg positions=biosemi128 'channel_aliases={EXG1: M1, EXG2: M2}' "
                     "reference=linked_mastoids",
                     "", "A19", "rec0", *io::electrode_positions("biosemi128").find("A19")});

  const auto egi = root / "egi";
  fs::create_directories(egi);
  for (int i = 0; i < 2; ++i) {
    write_device_file(egi / fmt::format("rec{}.edf", i), false, {"E1", "E11", "E36", "E62", "E104", "Cz"}, i);
  }
  write_manifest(egi, {"rec0.edf", "rec1.edf"});
  devices.push_back({"egi", (egi / "manifest.csv").string(), (egi / "rec0.edf").string(),
                     " montage=all_eeg positions=GSN-HydroCel-129 reference=average", "", "E36", "rec0",
                     *io::electrode_positions("GSN-HydroCel-129").find("E36")});

  const auto bv = root / "brainvision";
  for (int i = 0; i < 2; ++i) copy_brainvision("int16_multiplexed", bv / fmt::format("rec{}.vhdr", i));
  write_manifest(bv, {"rec0.vhdr", "rec1.vhdr"});
  devices.push_back({"brainvision", (bv / "manifest.csv").string(), (bv / "rec0.vhdr").string(), " montage=all_eeg", "",
                     "CZ", "rec0", *io::find_electrode("Cz")});

  const auto eeglab = root / "eeglab";
  fs::create_directories(eeglab);
  for (int i = 0; i < 2; ++i) fs::copy_file(fixtures + "/eeglab/embedded_struct.set", eeglab / fmt::format("rec{}.set", i));
  write_manifest(eeglab, {"rec0.set", "rec1.set"});
  // Fp1's chanlocs position as MNE reads it (tests/fixtures/eeglab/mne_reference.json).
  const auto mne = nlohmann::json::parse(read_file(fixtures + "/eeglab/mne_reference.json"));
  const auto& fp1 = mne["files"]["embedded_struct.set"]["positions"][0];
  devices.push_back({"eeglab", (eeglab / "manifest.csv").string(), (eeglab / "rec0.set").string(), " montage=all_eeg", "",
                     "FP1", "rec0", {fp1[0].get<double>(), fp1[1].get<double>(), fp1[2].get<double>()}});

  const auto bids = write_bids_tree("cli_devices_bids");
  const auto fz = *io::find_electrode("Fz");
  devices.push_back({"bids", bids.string(), bids.string(), " montage=all_eeg", " labels=participants:group", "FZ",
                     "sub-01", {kBidsHeadScale * fz.x_m, kBidsHeadScale * fz.y_m, kBidsHeadScale * fz.z_m}});
  return devices;
}

TEST(CliAnyDevice, EveryFormatGoesThroughPreprocessFinetunePredictAndEmbed) {
  const auto root = fresh_scratch_dir("cli_devices");
  for (const auto& d : write_devices(root)) {
    SCOPED_TRACE(d.name);
    const auto dir = root / ("out_" + d.name);
    fs::create_directories(dir);
    const auto h5 = (dir / "windows.h5").string();
    // The BIDS tree's sub-04 has no group (n/a): it fails, named, and the rest is kept.
    const int status = run("preprocess --preset generic --allow-failures --data " + d.input + " --output " + h5 +
                               d.settings + d.labels,
                           (dir / "summary.json").string());
    ASSERT_EQ(WEXITSTATUS(status), 0) << read_file(scratch_path("cli_stderr.txt"));
    const auto summary = nlohmann::json::parse(read_file((dir / "summary.json").string()));
    EXPECT_EQ(summary["failures"].size(), d.name == "bids" ? 1u : 0u) << summary.dump();
    const int64_t n_windows = summary["windows"].get<int64_t>();
    EXPECT_GE(n_windows, 4);  // 12 s recordings, 5 s windows: 2 each

    // The device's real positions are in the windows.
    bool found = false;
    const auto windows = io::WindowH5Reader::open(h5);
    for (const auto& g : windows.groups()) {
      const auto it = std::find(g.channel_names.begin(), g.channel_names.end(), d.channel);
      if (g.source_file.find(d.source) == std::string::npos) continue;
      ASSERT_NE(it, g.channel_names.end()) << d.channel << " not in " << g.source_file << ": "
                                           << fmt::format("{}", fmt::join(g.channel_names, ", "));
      const auto& p = g.channel_locations_m[static_cast<std::size_t>(it - g.channel_names.begin())];
      EXPECT_NEAR(p[0], d.position.x_m, 1e-9);
      EXPECT_NEAR(p[1], d.position.y_m, 1e-9);
      EXPECT_NEAR(p[2], d.position.z_m, 1e-9);
      found = true;
    }
    EXPECT_TRUE(found) << d.channel << " in no group of " << h5;

    const auto out = dir / "finetune";
    ASSERT_EQ(run("finetune --threads 1 --config " + std::string(LUMAMBA_SOURCE_DIR) +
                  "/configs/finetune/generic.yaml data=" + h5 + " val_data=" + h5 + " test_data=" + h5 +
                  " model.classifier_option=linear model.embed_dim=16 model.num_queries=2 model.num_blocks=1"
                  " model.d_state=4 train.epochs=1 train.warmup_epochs=0 train.batch_size=4 out=" + out.string()),
              0)
        << read_file(scratch_path("cli_stderr.txt"));
    const auto metrics = nlohmann::json::parse(read_file((out / "test_metrics.json").string()));
    EXPECT_EQ(metrics["windows"]["n_samples"].get<int64_t>(), n_windows) << out << ": " << metrics.dump();

    // predict with the fine-tuned checkpoint (its stored preprocessing, this device's settings included).
    const auto predictions = dir / "predict";
    ASSERT_EQ(run("predict " + d.one_file + " --weights " + (out / "checkpoints" / "best.safetensors").string() +
                  " --output " + predictions.string()),
              0)
        << read_file(scratch_path("cli_stderr.txt"));
    const auto p = nlohmann::json::parse(read_file((predictions / "predictions.json").string()));
    ASSERT_GE(p["recordings"].size(), 1u);
    for (const auto& r : p["recordings"]) {
      EXPECT_GE(r["n_windows"].get<int64_t>(), 1) << r.dump();
      double sum = 0;
      for (const auto& q : r["mean_probabilities"]) sum += q.get<double>();
      EXPECT_NEAR(sum, 1.0, 1e-6) << r.dump();
    }

    // embed with the shipped encoder and the same settings: one row per window.
    const auto csv_path = (dir / "embeddings.csv").string();
    ASSERT_EQ(run("embed " + d.one_file + " --weights lumamba-tiny-eegmmidb --preset generic --format csv --output " +
                  csv_path + d.settings),
              0)
        << read_file(scratch_path("cli_stderr.txt"));
    const auto csv = read_file(csv_path);
    const auto rows = std::count(csv.begin(), csv.end(), '\n') - 1;
    EXPECT_GE(rows, 2);
  }
  fs::remove_all(root);
  fs::remove_all(scratch_path("cli_devices_bids"));
}

}  // namespace
}  // namespace lumamba::test
