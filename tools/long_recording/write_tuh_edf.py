#!/usr/bin/env python3
"""Writes a synthetic TUH-style EDF for speed and memory measurements of long recordings.

Same recording as bench/bench_predict.cpp: every electrode the TCP-22 montage reads, labels
"EEG FP1-REF" ..., 250 Hz (the tuab preset resamples to 256 Hz), physical range +-3000 uV on
+-32767, 30 uV Gaussian noise plus a 20 uV 10 Hz rhythm. Plain EDF (no annotations), written with
NumPy only (no EDF library is packaged for Python on Debian 12).

usage: write_tuh_edf.py OUT.edf MINUTES [--sfreq 250] [--seed 0]
"""
import argparse

import numpy as np

ELECTRODES = ["FP1", "FP2", "F7", "F8", "F3", "F4", "C3", "C4", "CZ", "P3",
              "P4", "O1", "O2", "T3", "T4", "T5", "T6", "A1", "A2"]


def field(text, width):
    text = str(text)
    assert len(text) <= width, (text, width)
    return text.ljust(width).encode("ascii")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("minutes", type=float)
    ap.add_argument("--sfreq", type=int, default=250)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    n_sig, fs = len(ELECTRODES), a.sfreq
    n_records = int(round(a.minutes * 60))  # 1 s data records
    header = b"".join([
        field("0", 8), field("X X X X", 80), field("Startdate 01-JAN-2020 X X X", 80),
        field("01.01.20", 8), field("00.00.00", 8), field(256 * (n_sig + 1), 8), field("", 44),
        field(n_records, 8), field(1, 8), field(n_sig, 4)])
    per_signal = [
        [field("EEG %s-REF" % e, 16) for e in ELECTRODES],
        [field("", 80)] * n_sig, [field("uV", 8)] * n_sig,
        [field(-3000, 8)] * n_sig, [field(3000, 8)] * n_sig,
        [field(-32767, 8)] * n_sig, [field(32767, 8)] * n_sig,
        [field("", 80)] * n_sig, [field(fs, 8)] * n_sig, [field("", 32)] * n_sig]
    header += b"".join(b"".join(col) for col in per_signal)
    rng = np.random.default_rng(a.seed)
    gain = 32767 / 3000.0
    with open(a.out, "wb") as f:
        f.write(header)
        for r in range(n_records):
            t = (r * fs + np.arange(fs)) / fs
            x = 30 * rng.standard_normal((n_sig, fs)) + 20 * np.sin(2 * np.pi * 10 * t)
            f.write(np.clip(np.round(x * gain), -32767, 32767).astype("<i2").tobytes())


if __name__ == "__main__":
    main()
