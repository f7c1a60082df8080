#!/usr/bin/python3
"""BrainVision files for lumamba's reader tests, and what MNE 1.3 reads from them.

Writes small BrainVision recordings (.vhdr + .vmrk + .eeg) into tests/fixtures/brainvision/ — one per
binary format and orientation lumamba reads (INT_16 multiplexed with a 0.1 µV resolution, INT_32
vectorized in nV, IEEE_FLOAT_32 multiplexed in µV with an ANSI (cp1252) header and a comma in a channel
name) — and, for each, what `mne.io.read_raw_brainvision` returns: channel names, sampling rate, the
data (first and last 300 samples) and the annotations (onset s, duration s, description), into
tests/fixtures/brainvision/mne_reference.json. tests/io/test_brainvision_reader.cpp compares
lumamba's reader with it. Run with Debian's python3 (python3-mne 1.3):
    /usr/bin/python3 tools/mne_reference/brainvision_reference.py
"""
import json
import pathlib

import mne
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "brainvision"
N_TIMES = 3000  # 12 s: two 5 s windows for the preprocessing test
N_STORED = 300  # samples stored in the JSON from each end of every channel
SFREQ = 250.0  # SamplingInterval 4000 µs


def signals(n_channels, scale):
    t = np.arange(N_TIMES) / SFREQ
    rows = [scale * (50 * np.sin(2 * np.pi * (3 + 2 * c) * t + c) + 7 * c) for c in range(n_channels)]
    return np.array(rows)


CASES = [
    # name, binary format, orientation, codepage, channels [(name, resolution, unit)], values in file units
    ("int16_multiplexed", "INT_16", "MULTIPLEXED", "UTF-8",
     [("Fp1", "0.1", "µV"), ("Fp2", "0.1", "µV"), ("Cz", "0.1", "µV"), ("EOG", "0.1", "µV")], "<i2", 10.0),
    ("int32_vectorized", "INT_32", "VECTORIZED", "UTF-8",
     [("C3", "100", "nV"), ("C4", "100", "nV"), ("O1", "100", "nV")], "<i4", 10.0),
    ("float32_ansi", "IEEE_FLOAT_32", "MULTIPLEXED", "ANSI",
     [("Fz", "", "µV"), ("Pz", "1", "µV"), (r"Temp\1skin", "1", "C")], "<f4", 1.0,
     ["1,45,90", "88.5,-45,-90", "0,0,0"]),
]


def write_case(name, binary_format, orientation, codepage, channels, dtype, per_unit, coordinates=None):
    n = len(channels)
    values = signals(n, per_unit)  # in file counts: µV / resolution
    data = np.round(values) if dtype != "<f4" else values
    raw_bytes = (data.T if orientation == "MULTIPLEXED" else data).astype(dtype).tobytes()
    (OUT / f"{name}.eeg").write_bytes(raw_bytes)
    lines = ["Brain Vision Data Exchange Header File Version 1.0", "; written by lumamba's test tools", "",
             "[Common Infos]", f"Codepage={codepage}", f"DataFile={name}.eeg", f"MarkerFile={name}.vmrk",
             "DataFormat=BINARY", "; Data orientation: MULTIPLEXED=ch1,pt1, ch2,pt1 ...",
             f"DataOrientation={orientation}", f"NumberOfChannels={n}", "; Sampling interval in microseconds",
             f"SamplingInterval={1e6 / SFREQ:g}", "", "[Binary Infos]", f"BinaryFormat={binary_format}", "",
             "[Channel Infos]", "; Each entry: Ch<Channel number>=<Name>,<Reference channel name>,",
             "; <Resolution in \"Unit\">,<Unit>"]
    for i, (ch, res, unit) in enumerate(channels, 1):
        lines.append(f"Ch{i}={ch},,{res},{unit}")
    if coordinates:
        # The recording's own positions (BrainVision [Coordinates]: radius mm (1 = idealised sphere), theta, phi).
        lines += ["", "[Coordinates]"] + [f"Ch{i}={c}" for i, c in enumerate(coordinates, 1)]
    lines += ["", "[Comment]", "", "A m p l i f i e r  S e t u p", "none"]
    encoding = "cp1252" if codepage == "ANSI" else "utf-8"
    (OUT / f"{name}.vhdr").write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    markers = ["Brain Vision Data Exchange Marker File, Version 1.0", "", "[Common Infos]",
               f"Codepage={codepage}", f"DataFile={name}.eeg", "", "[Marker Infos]",
               "; Each entry: Mk<Marker number>=<Type>,<Description>,<Position in data points>,",
               "Mk1=New Segment,,1,1,0,20200102030405000000", "Mk2=Stimulus,S  1,26,1,0",
               "Mk3=Stimulus,S 11,101,50,0", r"Mk4=Comment,left\1right,201,0,0"]
    (OUT / f"{name}.vmrk").write_bytes(("\r\n".join(markers) + "\r\n").encode(encoding))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    reference = {"mne_version": mne.__version__, "files": {}}
    for case in CASES:
        write_case(*case)
        raw = mne.io.read_raw_brainvision(OUT / f"{case[0]}.vhdr", preload=True, verbose="error")
        ann = raw.annotations
        reference["files"][f"{case[0]}.vhdr"] = {
            "ch_names": raw.ch_names,
            "sfreq": raw.info["sfreq"],
            "n_times": int(raw.n_times),
            # MNE stores volts for voltage channels, the value times resolution for others (°C here):
            # the first and the last N_STORED samples of each channel.
            "head": [[float(v) for v in row[:N_STORED]] for row in raw.get_data()],
            "tail": [[float(v) for v in row[-N_STORED:]] for row in raw.get_data()],
            "units": [raw._orig_units[c] for c in raw.ch_names],
            # The recording's own positions (head frame, metres) where its header gives them.
            "positions": [None if np.isnan(ch["loc"][:3]).any() else [float(v) for v in ch["loc"][:3]]
                          for ch in raw.info["chs"]],
            "annotations": [[float(o), float(d), str(s)] for o, d, s in zip(ann.onset, ann.duration, ann.description)],
        }
    (OUT / "mne_reference.json").write_text(json.dumps(reference) + "\n")
    print(f"{len(CASES)} BrainVision files -> {OUT}")


if __name__ == "__main__":
    main()
