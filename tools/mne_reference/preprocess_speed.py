#!/usr/bin/python3
"""Times the reference-style MNE preprocessing of EDF files into HDF5 windows, to compare with
`lumamba preprocess` (docs/performance.md, "EDF -> HDF5"). Same work as
`lumamba preprocess --preset events labels=none window_s=5`: read EDF, pick the preset's 31 channels,
raw.filter(0.1, 75), raw.notch_filter(60), raw.resample(256), 5 s windows, h5py gzip float32.

usage: /usr/bin/python3 tools/mne_reference/preprocess_speed.py OUT.h5 [--jobs N] EDF...
prints one JSON line: files, eeg_seconds, wall_s, eeg_seconds_per_s
"""
import json
import sys
import time
from multiprocessing import Pool

import h5py
import mne
import numpy as np

CHANNELS = ["FP1", "FPZ", "FP2", "AF3", "AF4", "F7", "F3", "FZ", "F4", "F8", "FC5", "FC1", "FC2", "FC6", "T7", "C3",
            "CZ", "C4", "T8", "CP5", "CP1", "CP2", "CP6", "P7", "P3", "PZ", "P4", "P8", "O1", "OZ", "O2"]


def process(path):
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    by_name = {ch.strip(".").upper(): ch for ch in raw.ch_names}
    raw.pick([by_name[c] for c in CHANNELS])
    raw.filter(0.1, 75, verbose="error")
    raw.notch_filter(60, verbose="error")
    if raw.info["sfreq"] != 256:
        raw.resample(256, verbose="error")
    x = raw.get_data() * 1e6
    n = x.shape[1] // 1280
    return x[:, : n * 1280].reshape(len(CHANNELS), n, 1280).transpose(1, 0, 2).astype(np.float32), raw.times[-1]


def main():
    args = sys.argv[1:]
    out = args.pop(0)
    jobs = 1
    if args and args[0] == "--jobs":
        jobs = int(args[1])
        args = args[2:]
    t0 = time.perf_counter()
    if jobs > 1:
        with Pool(jobs) as pool:
            results = pool.map(process, args)
    else:
        results = [process(p) for p in args]
    with h5py.File(out, "w") as f:
        for k, (x, _) in enumerate(results):
            g = f.create_group(f"data_group_{k}")
            g.create_dataset("X", data=x, compression="gzip", chunks=(1,) + x.shape[1:])
    wall = time.perf_counter() - t0
    seconds = sum(r[1] for r in results)
    print(json.dumps({"tool": "mne", "mne": mne.__version__, "jobs": jobs, "files": len(args),
                      "eeg_seconds": round(seconds, 1), "wall_s": round(wall, 3),
                      "eeg_seconds_per_s": round(seconds / wall, 1)}))


if __name__ == "__main__":
    main()
