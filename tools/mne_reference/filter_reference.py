#!/usr/bin/python3
"""MNE 1.3 reference data for lumamba's preprocess area (tests/fixtures/preprocess/*.safetensors).

Runs the LuMamba reference pipeline's filter chain with MNE itself on real recordings --
raw.filter(l_freq=0.1, h_freq=75) -> raw.notch_filter(60) -> raw.resample(256) -- and stores
the raw input, MNE's designed taps and each stage's output (µV, float64) so that the C++ tests
(tests/preprocess/test_*.cpp) can check parity without Python. Also writes a 'synthetic' file
with edge cases (short signals, down-sampling, several rates) and prints MNE's timing of the
chain on all 64 channels of S001R03 (for docs/preprocessing.md).

Run with Debian's interpreter (MNE 1.3, NumPy, SciPy):  /usr/bin/python3 tools/mne_reference/filter_reference.py
Options: --data-dir (default ../shared/data), --out-dir (default tests/fixtures/preprocess),
--timing-out PATH (also writes all 64 channels of S001R03 in µV for the C++ timing test).
"""

import argparse
import json
import os
import struct
import sys
import time

import mne
import numpy as np
import scipy

L_FREQ_HZ = 0.1
H_FREQ_HZ = 75.0
TARGET_SFREQ_HZ = 256.0


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer: u64 LE header length, JSON header, raw LE data (name order)."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        if arr.dtype == np.float64:
            dtype = "F64"
        elif arr.dtype == np.int64:
            dtype = "I64"
        else:
            raise TypeError(f"{name}: unsupported dtype {arr.dtype}")
        data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)  # pad like the Python safetensors library
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for blob in blobs:
            f.write(blob)


def notch_params(freqs, trans_bandwidth=1.0):
    """What raw.notch_filter(freqs) passes to filter_data (MNE 1.3 filter.notch_filter)."""
    freqs = np.atleast_1d(np.asarray(freqs, float))
    notch_widths = freqs / 200.0
    tb_2 = trans_bandwidth / 2.0
    lows = [f - nw / 2.0 - tb_2 for f, nw in zip(freqs, notch_widths)]
    highs = [f + nw / 2.0 + tb_2 for f, nw in zip(freqs, notch_widths)]
    return lows, highs, tb_2


def design_band_pass(data, sfreq):
    return mne.filter.create_filter(data, sfreq, L_FREQ_HZ, H_FREQ_HZ, verbose="error")


def design_notch(data, sfreq, freqs):
    lows, highs, tb_2 = notch_params(freqs)
    return mne.filter.create_filter(data, sfreq, highs, lows, l_trans_bandwidth=tb_2,
                                    h_trans_bandwidth=tb_2, verbose="error")


def run_recording(path, picks, notch_hz, out_path, crop_s=None):
    """The pipeline's MNE calls on a few channels of one recording; stores every stage."""
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    raw.pick(picks)
    if crop_s is not None:
        raw.crop(0, crop_s, include_tmax=False)
    sfreq = raw.info["sfreq"]
    tensors = {"raw_uv": raw.get_data() * 1e6}

    taps_bp = design_band_pass(raw.get_data(), sfreq)
    taps_notch = design_notch(raw.get_data(), sfreq, notch_hz)
    tensors["taps_band_pass"] = taps_bp
    tensors["taps_notch"] = taps_notch

    before = raw.get_data()
    raw.filter(l_freq=L_FREQ_HZ, h_freq=H_FREQ_HZ, verbose="error")
    # Self-check: the stored taps are the ones raw.filter used.
    check = mne.filter._overlap_add_filter(before, taps_bp)
    assert np.array_equal(check, raw.get_data()), "band-pass taps do not reproduce raw.filter"
    tensors["band_pass_uv"] = raw.get_data() * 1e6

    before = raw.get_data()
    raw.notch_filter(notch_hz, verbose="error")
    check = mne.filter._overlap_add_filter(before, taps_notch)
    assert np.array_equal(check, raw.get_data()), "notch taps do not reproduce raw.notch_filter"
    tensors["notch_uv"] = raw.get_data() * 1e6

    calls = [f"mne.io.read_raw_edf({os.path.basename(path)!r}, preload=True)",
             f"raw.pick({picks!r})"]
    if crop_s is not None:
        calls.append(f"raw.crop(0, {crop_s}, include_tmax=False)")
    calls += [f"raw.filter(l_freq={L_FREQ_HZ}, h_freq={H_FREQ_HZ})", f"raw.notch_filter({notch_hz})"]
    if sfreq != TARGET_SFREQ_HZ:
        raw.resample(TARGET_SFREQ_HZ, verbose="error")
        tensors["resampled_uv"] = raw.get_data() * 1e6
        calls.append(f"raw.resample({TARGET_SFREQ_HZ})")
    metadata = {
        "source": os.path.basename(path),
        "channels": ",".join(picks),
        "sfreq_hz": repr(sfreq),
        "notch_hz": repr(float(notch_hz)),
        "target_sfreq_hz": repr(TARGET_SFREQ_HZ),
        "mne_calls": "; ".join(calls),
        "units": "uV (MNE volts * 1e6); taps dimensionless",
        "mne_version": mne.__version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "generator": "tools/mne_reference/filter_reference.py",
    }
    write_safetensors(out_path, tensors, metadata)
    print(f"wrote {out_path}: sfreq {sfreq}, {len(picks)} ch x {tensors['raw_uv'].shape[1]} samples,"
          f" taps {taps_bp.size}/{taps_notch.size}")


def run_synthetic(out_path):
    """Edge cases on array-level MNE functions (same code paths as the Raw methods)."""
    rng = np.random.default_rng(20240605)
    tensors = {}
    cases = []
    # Filter designs at other rates (taps only) and other band shapes.
    designs = [(200.0, 0.1, 75.0), (400.0, 0.1, 75.0),
               (250.0, 0.5, 40.0), (250.0, 4.0, 30.0), (250.0, None, 40.0), (250.0, 1.0, None), (160.0, 0.1, 79.0)]
    for i, (sfreq, l_freq, h_freq) in enumerate(designs):
        tensors[f"design{i}_taps"] = mne.filter.create_filter(None, sfreq, l_freq, h_freq,
                                                              verbose="error")
        cases.append(f"design{i}: create_filter(None, {sfreq}, {l_freq}, {h_freq})")
    notches = [(200.0, [50.0]), (400.0, [50.0]), (512.0, [60.0]), (1000.0, [60.0, 120.0]),
               (250.0, [50.0, 100.0]), (160.0, [50.0])]
    for i, (sfreq, freqs) in enumerate(notches):
        tensors[f"notch{i}_taps"] = design_notch(None, sfreq, freqs)
        cases.append(f"notch{i}: notch_filter(x, {sfreq}, {freqs}) taps")
    # Overlap-add on short signals: n_edge = len(x) - 1 and the single-block next_fast_len path.
    for i, (n, sfreq) in enumerate([(1, 250.0), (2, 250.0), (7, 250.0), (100, 160.0), (1200, 160.0),
                                    (6000, 250.0)]):
        x = rng.standard_normal(n) * 20.0 + 5.0
        tensors[f"ola{i}_x"] = x
        tensors[f"ola{i}_y"] = mne.filter.filter_data(x, sfreq, L_FREQ_HZ, H_FREQ_HZ, verbose="error")
        tensors[f"ola{i}_sfreq"] = np.array([sfreq])
        cases.append(f"ola{i}: filter_data(x[{n}], {sfreq}, {L_FREQ_HZ}, {H_FREQ_HZ})")
    # Resampling: up, down, same rate, tiny lengths (zero padding in _smart_pad).
    res = [(1000, 160.0, 256.0), (512, 512.0, 256.0), (800, 400.0, 256.0), (2000, 1000.0, 256.0),
           (500, 256.0, 256.0), (5, 160.0, 256.0), (3, 250.0, 256.0), (17, 512.0, 256.0),
           (1, 160.0, 256.0), (999, 200.0, 256.0), (4097, 250.0, 256.0)]
    for i, (n, from_hz, to_hz) in enumerate(res):
        x = rng.standard_normal(n) * 30.0 - 2.0
        tensors[f"res{i}_x"] = x
        tensors[f"res{i}_y"] = mne.filter.resample(x, to_hz, from_hz, npad="auto", window="boxcar",
                                                   pad="reflect_limited", verbose="error")
        tensors[f"res{i}_rates"] = np.array([from_hz, to_hz])
        cases.append(f"res{i}: resample(x[{n}], up={to_hz}, down={from_hz}, npad='auto')")
    metadata = {"cases": "; ".join(cases), "mne_version": mne.__version__,
                "numpy_version": np.__version__, "scipy_version": scipy.__version__,
                "generator": "tools/mne_reference/filter_reference.py"}
    write_safetensors(out_path, tensors, metadata)
    print(f"wrote {out_path}: {len(cases)} cases")


def time_mne_chain(path, repeats, timing_out):
    """MNE's wall time for the chain on every channel of one recording (n_jobs=1, preloaded)."""
    raw0 = mne.io.read_raw_edf(path, preload=True, verbose="error")
    times = []
    for _ in range(repeats):
        raw = raw0.copy()
        t0 = time.perf_counter()
        raw.filter(l_freq=L_FREQ_HZ, h_freq=H_FREQ_HZ, verbose="error")
        raw.notch_filter(60.0, verbose="error")
        raw.resample(TARGET_SFREQ_HZ, verbose="error")
        times.append(time.perf_counter() - t0)
    print(f"MNE chain on {os.path.basename(path)} ({len(raw0.ch_names)} ch x {raw0.n_times}):"
          f" min {min(times) * 1e3:.1f} ms, median {np.median(times) * 1e3:.1f} ms over {repeats}")
    if timing_out:
        write_safetensors(timing_out, {"raw_uv": raw0.get_data() * 1e6, "chain_uv": raw.get_data() * 1e6},
                          {"source": os.path.basename(path), "sfreq_hz": repr(raw0.info["sfreq"]),
                           "mne_seconds_min": repr(min(times)),
                           "mne_seconds_median": repr(float(np.median(times))),
                           "mne_version": mne.__version__})
        print(f"wrote {timing_out}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(os.path.join(here, "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.path.join(root, "..", "shared", "data"))
    ap.add_argument("--out-dir", default=os.path.join(root, "tests", "data", "preprocess"))
    ap.add_argument("--timing-repeats", type=int, default=5)
    ap.add_argument("--timing-out", default=None)
    args = ap.parse_args()
    mne.set_log_level("WARNING")
    if mne.__version__ != "1.3.0":
        print(f"warning: reference data are defined for MNE 1.3.0, running {mne.__version__}",
              file=sys.stderr)
    os.makedirs(args.out_dir, exist_ok=True)
    d = args.data_dir
    s001 = os.path.join(d, "eegmmidb_S001")
    # Keep the committed data small (a few MB): 3 channels of R01 (61 s), 2 of R03 (125 s).
    run_recording(os.path.join(s001, "S001R01.edf"), ["C3..", "Cz..", "O1.."], 60.0,
                  os.path.join(args.out_dir, "eegmmidb_S001R01.safetensors"))
    run_recording(os.path.join(s001, "S001R03.edf"), ["C3..", "O1.."], 60.0,
                  os.path.join(args.out_dir, "eegmmidb_S001R03.safetensors"))
    run_recording(os.path.join(d, "fixtures", "eeglab", "test.edf"), ["EEG Fp1", "EEG C3", "EEG O2"],
                  50.0, os.path.join(args.out_dir, "eeglab_test.safetensors"), crop_s=20.0)
    run_recording(os.path.join(d, "fixtures", "epilepsy2bids", "aaaaaaac_s001_t000_sample.edf"),
                  ["EEG FP1-LE", "EEG C3-LE", "EEG O2-LE"], 60.0,
                  os.path.join(args.out_dir, "tuh_aaaaaaac_s001_t000.safetensors"))
    run_synthetic(os.path.join(args.out_dir, "synthetic.safetensors"))
    if args.timing_repeats > 0:
        time_mne_chain(os.path.join(s001, "S001R03.edf"), args.timing_repeats, args.timing_out)


if __name__ == "__main__":
    main()
