#!/usr/bin/python3
"""MNE reference for the full preprocessing chain of `lumamba preprocess` (issue: MNE-exact TUH
preprocessing). For each bundled recording it runs what the reference pipeline runs:

    raw = mne.io.read_raw_edf(path, preload=True)
    raw.pick(channels)                        # or the TCP bipolar derivation, anode - cathode
    raw.filter(l_freq=0.1, h_freq=75)         # MNE defaults: FIR, firwin, hamming, zero phase
    raw.notch_filter(60)                      # MNE defaults
    raw.resample(256)                         # whenever sfreq != 256
    windows = non-overlapping 5 s (1280 samples), remainder dropped, in µV

and writes tests/fixtures/chain/<name>.safetensors with `windows` (N, C, T) float64 µV plus metadata.
Run with Debian's python3 (python3-mne 1.3): /usr/bin/python3 tools/mne_reference/chain_reference.py
"""
import json
import pathlib
import struct

import mne
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "chain"

CASES = [
    # name, EDF (relative to the repo), unipolar channels or "tcp", notch Hz, window samples
    ("S001R01_unipolar", "tests/fixtures/edf/S001R01.edf", ["C3", "CZ", "C4", "O1", "O2"], 60.0, 1280),  # 160 -> 256 Hz
    ("eeglab_unipolar", "tests/fixtures/edf/eeglab_test.edf", ["FP1", "F3", "C3", "P3", "O1"], 50.0, 1280),  # 256 Hz
    ("tuh_ar_tcp22", "tests/fixtures/edf/aaaaaool_s001_t000.edf", "tcp", 60.0, 256),  # 2 s stub, 250 -> 256 Hz
]
TCP = [("FP1", "F7"), ("F7", "T3"), ("T3", "T5"), ("T5", "O1"), ("FP2", "F8"), ("F8", "T4"), ("T4", "T6"),
       ("T6", "O2"), ("T3", "C3"), ("C3", "CZ"), ("CZ", "C4"), ("C4", "T4"), ("FP1", "F3"), ("F3", "C3"),
       ("C3", "P3"), ("P3", "O1"), ("FP2", "F4"), ("F4", "C4"), ("C4", "P4"), ("P4", "O2"), ("A1", "T3"),
       ("T4", "A2")]


def norm(label):
    s = label.strip().upper().rstrip(".").strip()
    if s.startswith("EEG "):
        s = s[4:]
    for suffix in ("-REF", "-LE"):
        if s.endswith(suffix):
            s = s[: -len(suffix)]
    return s


ALIAS = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8", "T7": "T3", "T8": "T4", "P7": "T5", "P8": "T6"}


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name], dtype=np.float64)
        data = arr.tobytes()
        header[name] = {"dtype": "F64", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, rel, channels, notch, w in CASES:
        raw = mne.io.read_raw_edf(ROOT / rel, preload=True, verbose="error")
        by_name = {norm(ch): ch for ch in raw.ch_names}

        def find(e):
            return by_name.get(e) or by_name.get(ALIAS.get(e, ""))

        data = raw.get_data()
        index = {ch: i for i, ch in enumerate(raw.ch_names)}
        if channels == "tcp":
            pairs = [(a, b) for a, b in TCP if find(a) and find(b)]
            names = [f"{a}-{b}" for a, b in pairs]
            x = np.stack([data[index[find(a)]] - data[index[find(b)]] for a, b in pairs])
        else:
            names = channels
            x = np.stack([data[index[find(c)]] for c in channels])
        info = mne.create_info(names, raw.info["sfreq"], ch_types="eeg")
        r = mne.io.RawArray(x, info, verbose="error")
        r.filter(l_freq=0.1, h_freq=75, verbose="error")
        r.notch_filter(notch, verbose="error")
        if r.info["sfreq"] != 256:
            r.resample(256, verbose="error")
        y = r.get_data() * 1e6
        n = y.shape[1] // w
        windows = y[:, : n * w].reshape(len(names), n, w).transpose(1, 0, 2)
        write_safetensors(OUT / f"{name}.safetensors", {"windows": windows},
                          {"channels": ",".join(names), "source": rel, "mne_version": mne.__version__,
                           "calls": "RawArray(picked or anode-cathode); filter(0.1, 75); notch_filter(%g); "
                                    "resample(256) if sfreq != 256; %d-sample windows" % (notch, w)})
        print(name, windows.shape)


if __name__ == "__main__":
    main()
