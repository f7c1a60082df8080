#!/usr/bin/python3
"""Writes tests/fixtures/h5/reference_layout.h5 the way the reference pipeline's h5py code does
(make_datasets/process_raw_eeg.py: data_group_{k}/X float16 gzip, y int64, no channel names), so the
C++ reader is tested against a file made by an independent writer (h5py 3.7, Debian).

X[g][i, c, t] = 0.5 * (g + 1) * ((i * 7 + c * 3 + t) % 41 - 20): half-integers in [-30, 30], exact in float16.
y[g][i] = (i + g) % 2.
"""
import pathlib

import h5py
import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "h5" / "reference_layout.h5"


def main():
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(OUT, "w") as f:
        for g, (n, c, t) in enumerate([(3, 22, 80), (2, 22, 80)]):
            i, ch, s = np.meshgrid(np.arange(n), np.arange(c), np.arange(t), indexing="ij")
            x = 0.5 * (g + 1) * (((i * 7 + ch * 3 + s) % 41) - 20)
            grp = f.create_group(f"data_group_{g}")
            grp.create_dataset("X", data=x.astype(np.float16), compression="gzip")
            grp.create_dataset("y", data=((np.arange(n) + g) % 2).astype(np.int64))
    print(OUT)


if __name__ == "__main__":
    main()
