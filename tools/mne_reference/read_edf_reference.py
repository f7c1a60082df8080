#!/usr/bin/env python3
"""Writes tests/fixtures/edf/mne_reference.json: MNE's reads of the EDF/BDF fixtures, the independent
reference for tests/io/test_edf_reader.cpp (docs/style.md §14: readers are checked against MNE).

For each fixture: channel names, MNE's sampling rate and n_times, start date, record length, per
channel the samples per record and MNE's unit factor (to SI), and — for channels at MNE's rate
(lower-rate channels are resampled by MNE, so their values are not the file's) — the first 5,
last 5 and 3 middle samples plus the sum and the sum of |x| over the whole channel, in µV for
voltage channels (MNE's volts x 1e6) and in the physical unit otherwise; and the annotations.
The annotation-only Sleep-EDF hypnogram goes through mne.read_annotations.

Debian python3-mne (1.3.0). Usage: python3 tools/mne_reference/read_edf_reference.py [--check]
(--check: exit 1 if the JSON on disk differs from what would be written; nothing is written).
"""
import argparse
import json
import pathlib
import sys

import mne
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "edf"
OUT = DATA / "mne_reference.json"
FORMAT_VERSION = 1

RAW_FILES = [
    "eeglab_test.edf",
    "aaaaaool_s001_t000.edf",
    "aaaaahln_s001_t000.edf",
    "chb01_01_sample.edf",
    "PN00-5_sample.edf",
    "S001R01.edf",
    "S001R03.edf",
    "written.bdf",
]
ANNOTATION_ONLY_FILES = ["SC4001EC-Hypnogram.edf"]
N_EDGE = 5


def annotations_json(annotations):
    return [
        {"onset_s": float(o), "duration_s": float(d), "description": str(t)}
        for o, d, t in zip(annotations.onset, annotations.duration, annotations.description)
    ]


def raw_json(path):
    read = mne.io.read_raw_bdf if path.suffix == ".bdf" else mne.io.read_raw_edf
    raw = read(path, preload=True, verbose="error")
    extras = raw._raw_extras[0]  # per-file header values MNE keeps (no public accessor)
    sel = extras["sel"]
    n_samps = np.asarray(extras["n_samps"])[sel]
    units = np.asarray(extras["units"])[sel]
    data = raw.get_data()  # (C, T) in SI units
    n_times = raw.n_times
    channels = []
    for c, name in enumerate(raw.ch_names):
        ch = {
            "name": name,
            "n_samples_per_record": int(n_samps[c]),
            "mne_unit_to_si": float(units[c]),
        }
        if n_samps[c] == n_samps.max():
            # µV for voltage channels (MNE scales them to volts), physical units otherwise.
            x = data[c] * (1e6 if units[c] != 1.0 else 1.0)
            mid = [n_times // 3, n_times // 2, (2 * n_times) // 3]
            ch["first"] = [float(v) for v in x[:N_EDGE]]
            ch["last"] = [float(v) for v in x[-N_EDGE:]]
            ch["at"] = {str(i): float(x[i]) for i in mid}
            ch["sum"] = float(np.sum(x))
            ch["sum_abs"] = float(np.sum(np.abs(x)))
        channels.append(ch)
    meas_date = raw.info["meas_date"]
    return {
        "reader": read.__name__,
        "sfreq_hz": float(raw.info["sfreq"]),
        "n_times": int(n_times),
        "record_duration_s": float(extras["record_length"][0]),
        "meas_date": meas_date.replace(tzinfo=None).isoformat() if meas_date else None,
        "channels": channels,
        "annotations": annotations_json(raw.annotations),
    }


def build():
    files = {}
    for name in RAW_FILES:
        files[name] = raw_json(DATA / name)
    for name in ANNOTATION_ONLY_FILES:
        annotations = mne.read_annotations(DATA / name)
        files[name] = {"reader": "read_annotations", "annotations": annotations_json(annotations)}
    return {
        "format_version": FORMAT_VERSION,
        "generator": "tools/mne_reference/read_edf_reference.py",
        "mne_version": mne.__version__,
        "numpy_version": np.__version__,
        "files": files,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the file on disk")
    args = parser.parse_args()
    text = json.dumps(build(), indent=1, sort_keys=False) + "\n"
    if args.check:
        same = OUT.exists() and OUT.read_text() == text
        print(f"{OUT}: {'up to date' if same else 'DIFFERS'}")
        return 0 if same else 1
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
