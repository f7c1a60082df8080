#!/usr/bin/python3
"""EEGLAB files for lumamba's reader tests, and what MNE 1.3 reads from them.

Writes small EEGLAB datasets (MATLAB v5 .set, written with scipy.io.savemat as EEGLAB's pop_saveset
lays them out) into tests/fixtures/eeglab/:
  - embedded_struct.set: one `EEG` struct, data (double, µV) inside the .set, channel positions in
    EEGLAB's frame (X to the nose, Y to the left ear, Z up; millimetres), a channel without a
    position, an EOG channel, events with string and numeric types, fractional latencies, durations;
  - toplevel_fdt.set + .fdt: the fields as top-level variables (EEGLAB ≥ 2019), compressed, data in
    a float32 .fdt file, one event without a duration field;
  - unit_sphere.set: positions on a unit sphere (EEGLAB's default for .loc files; not millimetres);
and broken/*.set, one defect each, for the reader's error catalogue. For each good file it stores what
`mne.io.read_raw_eeglab` returns (names, channel types, sampling rate, data in V — the first and last
N_STORED samples — channel positions in metres (head frame; MNE's default montage_units='mm') and the
annotations) in tests/fixtures/eeglab/mne_reference.json. tests/io/test_eeglab_reader.cpp compares
lumamba's reader with it. Run with Debian's python3 (python3-mne 1.3, python3-scipy):
    /usr/bin/python3 tools/mne_reference/eeglab_reference.py
"""
import json
import pathlib

import mne
import numpy as np
from scipy.io import savemat

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "eeglab"
N_TIMES = 3000  # 12 s at 250 Hz: two 5 s windows for the preprocessing tests
N_STORED = 300
SFREQ = 250.0


def signals(n_channels):
    t = np.arange(N_TIMES) / SFREQ
    return np.array([40 * np.sin(2 * np.pi * (4 + 3 * c) * t + c) + 5 * c for c in range(n_channels)])


def eeglab_position(name):
    """standard_1005 position of `name` in EEGLAB's frame (X nose, Y left, Z up), millimetres."""
    pos = mne.channels.make_standard_montage("standard_1005").get_positions()["ch_pos"][name]
    return 1000 * pos[1], -1000 * pos[0], 1000 * pos[2]


def chanlocs(channels):
    """EEGLAB's chanlocs struct array: (label, type, (X, Y, Z) or None) per channel."""
    dtype = [("labels", "O"), ("type", "O"), ("X", "O"), ("Y", "O"), ("Z", "O"), ("ref", "O")]
    locs = np.zeros((1, len(channels)), dtype=dtype)
    for i, (label, kind, xyz) in enumerate(channels):
        empty = np.zeros((0, 0))
        x, y, z = xyz if xyz is not None else (empty, empty, empty)
        locs[0, i] = (label, kind, x, y, z, "")
    return locs


def events(rows, with_duration=True):
    """EEGLAB's event struct array: (type, latency in 1-based samples, duration in samples)."""
    dtype = [("type", "O"), ("latency", "O")] + ([("duration", "O")] if with_duration else [])
    ev = np.zeros((1, len(rows)), dtype=dtype)
    for i, row in enumerate(rows):
        ev[0, i] = tuple(row[: len(dtype)])
    return ev


def eeg_fields(name, channels, data, event_rows, with_duration=True, n_times=N_TIMES):
    return {
        "setname": name, "filename": f"{name}.set", "subject": "sub01", "nbchan": float(len(channels)),
        "trials": 1.0, "pnts": float(n_times), "srate": SFREQ, "xmin": 0.0,
        "xmax": (n_times - 1) / SFREQ, "data": data, "chanlocs": chanlocs(channels),
        "event": events(event_rows, with_duration), "ref": "common",
    }


def good_files():
    embedded_channels = [("Fp1", "EEG", eeglab_position("Fp1")), ("Fz", "", eeglab_position("Fz")),
                         ("Cz", "EEG", None), ("C3", "EEG", eeglab_position("C3")),
                         ("VEOG", "EOG", (90.0, 0.0, -20.0))]
    data = signals(len(embedded_channels))
    savemat(OUT / "embedded_struct.set",
            {"EEG": eeg_fields("embedded_struct", embedded_channels, data,
                               [("stim", 26.0, 0.0), ("T1", 101.5, 50.0), (2.0, 1201.0, 250.0),
                                ("boundary", 2500.0, 12.0)])},
            format="5", long_field_names=True)

    fdt_channels = [(name, "EEG", eeglab_position(name)) for name in ("C3", "C4", "O1", "O2")]
    fields = eeg_fields("toplevel_fdt", fdt_channels, "toplevel_fdt.fdt", [("rest", 501.0)], with_duration=False)
    signals(len(fdt_channels)).astype("<f4").T.tofile(OUT / "toplevel_fdt.fdt")  # (T, C): channels fastest
    savemat(OUT / "toplevel_fdt.set", fields, format="5", do_compression=True, long_field_names=True)

    sphere_channels = [(name, "EEG", tuple(np.array(eeglab_position(name)) / 85.0)) for name in ("Fz", "Cz", "Pz")]
    savemat(OUT / "unit_sphere.set",
            {"EEG": eeg_fields("unit_sphere", sphere_channels, signals(3), [])}, format="5")
    return ["embedded_struct.set", "toplevel_fdt.set", "unit_sphere.set"]


def broken_files():
    """One defect per file; the test names the message each must give."""
    broken = OUT / "broken"
    broken.mkdir(exist_ok=True)
    ch = [("Fz", "EEG", eeglab_position("Fz")), ("Cz", "EEG", eeglab_position("Cz"))]

    def save(name, fields, key="EEG"):
        savemat(broken / f"{name}.set", {key: fields} if key else fields, format="5")

    base = lambda: eeg_fields("b", ch, signals(2)[:, :200], [("x", 2.0, 0.0)], n_times=200)  # noqa: E731
    f = base(); del f["srate"]; save("no_srate", f)
    f = base(); f["srate"] = 0.0; save("zero_srate", f)
    f = base(); f["trials"] = 2.0; f["pnts"] = 100.0; save("epoched", f)
    f = base(); f["data"] = "nowhere.fdt"; save("missing_fdt", f)
    f = base(); f["data"] = "short_fdt.fdt"; save("short_fdt", f)
    signals(2)[:, :50].astype("<f4").T.tofile(broken / "short_fdt.fdt")
    f = base(); f["data"] = "old.dat"; save("dat_format", f)
    f = base(); f["data"] = signals(2)[:, :150]; save("data_shape", f)
    f = base(); f["chanlocs"] = chanlocs(ch[:1]); save("chanlocs_count", f)
    f = base(); f["event"] = events([("x", "late", 0.0)]); save("latency_text", f)
    f = base(); f["nbchan"] = "two"; save("nbchan_text", f)
    save("alleeg", base(), key="ALLEEG")
    save("no_eeg_fields", {"something": 1.0}, key=None)
    (broken / "not_mat.set").write_text("this is not a MATLAB file\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    reference = {"mne_version": mne.__version__, "files": {}}
    for name in good_files():
        raw = mne.io.read_raw_eeglab(OUT / name, preload=True, verbose="error")
        ann = raw.annotations
        data = raw.get_data()
        reference["files"][name] = {
            "ch_names": raw.ch_names,
            "ch_types": raw.get_channel_types(),
            "sfreq": raw.info["sfreq"],
            "n_times": int(raw.n_times),
            "head": [[float(v) for v in row[:N_STORED]] for row in data],
            "tail": [[float(v) for v in row[-N_STORED:]] for row in data],
            "positions": [None if np.isnan(c["loc"][:3]).any() else [float(v) for v in c["loc"][:3]]
                          for c in raw.info["chs"]],
            "annotations": [[float(o), None if np.isnan(d) else float(d), str(s)]
                            for o, d, s in zip(ann.onset, ann.duration, ann.description)],
        }
    broken_files()
    (OUT / "mne_reference.json").write_text(json.dumps(reference) + "\n")
    print(f"{len(reference['files'])} EEGLAB files and the broken catalogue -> {OUT}")


if __name__ == "__main__":
    main()
