// A small BIDS dataset for tests (io, preprocessing and CLI), written into a scratch folder:
//   participants.tsv            group: sub-01 control, sub-02 patient, sub-03 patient, sub-04 n/a
//   task-rest_events.tsv        root-level events (inherited by recordings without their own)
//   sub-01/eeg/  sub-01_task-rest_eeg.edf (Fp1 Fz Cz VEOG Pz, 250 Hz, 12 s, EDFlib writer)
//                sub-01_task-rest_channels.tsv (VEOG type EOG, Pz bad), sub-01_task-other_channels.tsv
//                (a decoy for another task: Fz bad), sub-01_task-rest_events.tsv (left at 1 s, right
//                at 6 s), sub-01_electrodes.tsv + sub-01_coordsystem.json (EEGLAB frame, mm: the
//                standard_1005 positions of Fp1 Fz Cz scaled by kBidsHeadScale)
//   sub-02/ses-1/eeg/  sub-02_ses-1_task-rest_eeg.set (tests/fixtures/eeglab/embedded_struct.set:
//                Fp1 Fz Cz C3 VEOG with its own positions), sub-02_ses-1_channels.tsv (VEOG EOG)
//   sub-03/eeg/  sub-03_task-rest_eeg.vhdr/.vmrk/.eeg (tests/fixtures/brainvision/int16_multiplexed:
//                Fp1 Fp2 Cz EOG), no tables
//   sub-04/eeg/  sub-04_task-rest_eeg.edf (like sub-01's), no tables
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "lumamba/io/channels.h"
#include "support/edf_writer.h"
#include "support/scratch.h"

namespace lumamba::test {

inline constexpr double kBidsHeadScale = 1.1;

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

inline void write_bids_edf(const std::filesystem::path& p) {
  std::filesystem::create_directories(p.parent_path());
  FileSpec spec;
  for (const char* label : {"Fp1", "Fz", "Cz", "VEOG", "Pz"}) spec.signals.push_back({label, "uV", -500, 500, -32768, 32767, 250});
  spec.n_records = 12;
  spec.digital = [](int s, int64_t i) {
    return static_cast<int>(std::lround(3000 * std::sin(2 * M_PI * (5 + 2 * s) * static_cast<double>(i) / 250.0)));
  };
  write_with_edflib(p.string(), spec);
}

// BrainVision fixture copied under a new stem (its header and marker file name their siblings).
inline void copy_brainvision(const std::string& fixture_stem, const std::filesystem::path& vhdr) {
  namespace fs = std::filesystem;
  const std::string dir = std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/brainvision/";
  const auto stem = vhdr.stem().string();
  for (const char* ext : {".vhdr", ".vmrk"}) {
    std::ifstream in(dir + fixture_stem + ext, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    for (std::size_t at; (at = text.find(fixture_stem)) != std::string::npos;) text.replace(at, fixture_stem.size(), stem);
    write_text(vhdr.parent_path() / (stem + ext), text);
  }
  fs::copy_file(dir + fixture_stem + ".eeg", vhdr.parent_path() / (stem + ".eeg"));
}

inline std::filesystem::path write_bids_tree(const std::string& name) {
  namespace fs = std::filesystem;
  const auto root = fresh_scratch_dir(name);
  write_text(root / "dataset_description.json", R"({"Name": "lumamba test", "BIDSVersion": "1.8.0"})");
  write_text(root / "participants.tsv",
             "participant_id\tgroup\tage\nsub-01\tcontrol\t30\nsub-02\tpatient\t41\nsub-03\tpatient\t52\n"
             "sub-04\tn/a\t23\n");
  write_text(root / "task-rest_events.tsv", "onset\tduration\ttrial_type\n0.5\t4.0\tleft\n");

  const auto eeg1 = root / "sub-01" / "eeg";
  write_bids_edf(eeg1 / "sub-01_task-rest_eeg.edf");
  write_text(eeg1 / "sub-01_task-rest_channels.tsv",
             "name\ttype\tunits\tstatus\tstatus_description\nFp1\tEEG\tuV\tgood\tn/a\nFz\tEEG\tuV\tgood\tn/a\n"
             "Cz\tEEG\tuV\tgood\tn/a\nVEOG\tEOG\tuV\tgood\tn/a\nPz\tEEG\tuV\tbad\tloose electrode\n");
  write_text(eeg1 / "sub-01_task-other_channels.tsv",
             "name\ttype\tunits\tstatus\nFp1\tEEG\tuV\tgood\nFz\tEEG\tuV\tbad\n");
  write_text(eeg1 / "sub-01_task-rest_events.tsv",
             "onset\tduration\ttrial_type\tvalue\n1.0\t4.0\tleft\t1\n6.0\t4.0\tright\t2\n");
  std::string electrodes = "name\tx\ty\tz\n";
  for (const char* e : {"Fp1", "Fz", "Cz"}) {
    const auto p = *io::find_electrode(e);  // head frame (x right, y nose, z up), m
    // EEGLAB frame (x nose, y left, z up), mm, on a head kBidsHeadScale times the template's size.
    electrodes += fmt::format("{}\t{:.9f}\t{:.9f}\t{:.9f}\n", e, 1000 * kBidsHeadScale * p.y_m,
                              -1000 * kBidsHeadScale * p.x_m, 1000 * kBidsHeadScale * p.z_m);
  }
  write_text(eeg1 / "sub-01_electrodes.tsv", electrodes);
  write_text(eeg1 / "sub-01_coordsystem.json", R"({"EEGCoordinateSystem": "EEGLAB", "EEGCoordinateUnits": "mm"})");

  const auto eeg2 = root / "sub-02" / "ses-1" / "eeg";
  fs::create_directories(eeg2);
  fs::copy_file(std::string(LUMAMBA_TEST_FIXTURES_DIR) + "/eeglab/embedded_struct.set",
                eeg2 / "sub-02_ses-1_task-rest_eeg.set");
  write_text(eeg2 / "sub-02_ses-1_channels.tsv", "name\ttype\tunits\nFp1\tEEG\tuV\nVEOG\tEOG\tuV\n");

  copy_brainvision("int16_multiplexed", root / "sub-03" / "eeg" / "sub-03_task-rest_eeg.vhdr");
  write_bids_edf(root / "sub-04" / "eeg" / "sub-04_task-rest_eeg.edf");
  return root;
}

}  // namespace lumamba::test
