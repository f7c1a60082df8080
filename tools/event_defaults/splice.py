#!/usr/bin/python3
"""Continuous recordings with known eyes-closed events, spliced from PhysioNet eegmmidb baselines.

    splice.py DATA_DIR OUT_DIR SUBJECT... [--variants 6] [--seed 0]

For each subject, DATA_DIR/SXXX/SXXXR01.edf (60 s eyes open) and SXXXR02.edf (60 s eyes closed) are cut
into alternating segments, taken in order from the start of each run: eyes open for a random 8-20 s,
eyes closed for a random 4-12 s (durations in steps of 0.1 s), eyes open first, until the next segment
no longer fits in what is left of its run (a shorter remainder of at least the minimum is used as the
last segment; an eyes-open remainder of 4 s or more after the last eyes-closed segment closes the
recording). Each segment's per-channel mean is removed before splicing, so no DC step joins two
segments (the alternating-current content still jumps at a splice). Every subject gets `--variants`
recordings, each cut with its own random durations (seed + variant): they reuse the same 2 minutes of
EEG with different event boundaries, so they are not independent samples of brain activity.

Written to OUT_DIR/SXXX/SXXX_eoecK.vhdr/.vmrk/.eeg: BrainVision, IEEE float32, multiplexed, all 64 EDF
channels with their EDF names ('Fc5.') and sampling rate (160 Hz), values in µV with resolution 1; the
eyes-closed segments are also markers (Comment/eyes_closed, with their length) for a viewer. The truth
beside it, SXXX_eoecK.truth.json: every segment (state, onset, duration, source run and its onset there)
and `eyes_closed`: [[onset_s, duration_s], ...] in the spliced recording. Existing outputs are kept.
"""
import argparse
import json
import pathlib

import mne
import numpy as np

EO_RANGE = (8.0, 20.0)
EC_RANGE = (4.0, 12.0)
FINAL_EO_MIN_S = 4.0


def read_uv(path):
    # encoding='latin1': some eegmmidb annotation channels hold non-UTF-8 bytes.
    raw = mne.io.read_raw_edf(str(path), preload=True, verbose="error", encoding="latin1")
    return raw.get_data() * 1e6, raw.ch_names, float(raw.info["sfreq"])


def cut(eo, ec, sfreq, rng):
    """Alternating (state, start sample in its run, n samples), eyes open first."""
    pos = {"eyes_open": 0, "eyes_closed": 0}
    total = {"eyes_open": eo.shape[1], "eyes_closed": ec.shape[1]}
    ranges = {"eyes_open": EO_RANGE, "eyes_closed": EC_RANGE}
    segments, state = [], "eyes_open"
    while True:
        lo, hi = ranges[state]
        want = int(round(round(rng.uniform(lo, hi), 1) * sfreq))
        left = total[state] - pos[state]
        n = min(want, left)
        if n < int(round(lo * sfreq)):
            # After the last eyes-closed segment, what is left of eyes open (at least 4 s) closes the
            # recording, so the last event has eyes open on both sides, not the recording's end.
            if state == "eyes_open" and segments and left >= int(round(FINAL_EO_MIN_S * sfreq)):
                segments.append((state, pos[state], left))
            break
        segments.append((state, pos[state], n))
        pos[state] += n
        state = "eyes_closed" if state == "eyes_open" else "eyes_open"
    return segments


def write_brainvision(vhdr, data_uv, ch_names, sfreq, markers):
    stem = vhdr.stem
    interval_us = 1e6 / sfreq
    lines = ["Brain Vision Data Exchange Header File Version 1.0",
             "; written by lumamba tools/event_defaults/splice.py from PhysioNet eegmmidb (ODC-By 1.0)",
             "", "[Common Infos]", "Codepage=UTF-8", f"DataFile={stem}.eeg", f"MarkerFile={stem}.vmrk",
             "DataFormat=BINARY", "DataOrientation=MULTIPLEXED", f"NumberOfChannels={len(ch_names)}",
             f"SamplingInterval={interval_us:g}", "", "[Binary Infos]", "BinaryFormat=IEEE_FLOAT_32", "",
             "[Channel Infos]", "; Ch<k>=<name>,<reference>,<resolution>,<unit>"]
    lines += [f"Ch{k}={name.replace(',', chr(92) + '1')},,1,µV" for k, name in enumerate(ch_names, 1)]
    vhdr.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mk = ["Brain Vision Data Exchange Marker File, Version 1.0", "", "[Common Infos]", "Codepage=UTF-8",
          f"DataFile={stem}.eeg", "", "[Marker Infos]", "; Mk<k>=<type>,<description>,<position>,<size>,<channel>",
          "Mk1=New Segment,,1,1,0"]
    mk += [f"Mk{k}=Comment,eyes_closed,{start + 1},{n},0" for k, (start, n) in enumerate(markers, 2)]
    vhdr.with_suffix(".vmrk").write_text("\n".join(mk) + "\n", encoding="utf-8")
    data_uv.T.astype("<f4").tofile(vhdr.with_suffix(".eeg"))  # multiplexed: sample by sample


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data_dir", type=pathlib.Path)
    ap.add_argument("out_dir", type=pathlib.Path)
    ap.add_argument("subjects", nargs="+")
    ap.add_argument("--variants", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for sub in args.subjects:
        eo, names, sfreq = read_uv(args.data_dir / sub / f"{sub}R01.edf")
        ec, names_ec, sfreq_ec = read_uv(args.data_dir / sub / f"{sub}R02.edf")
        assert names == names_ec and sfreq == sfreq_ec, f"{sub}: R01 and R02 differ in channels or rate"
        folder = args.out_dir / sub
        folder.mkdir(parents=True, exist_ok=True)
        for v in range(args.variants):
            vhdr = folder / f"{sub}_eoec{v}.vhdr"
            truth_path = folder / f"{sub}_eoec{v}.truth.json"
            if vhdr.exists() and truth_path.exists():
                continue
            # One stream per (subject, variant): the same cuts whatever other subjects are given.
            rng = np.random.default_rng([args.seed, int(sub[1:]), v])
            pieces, segments, markers, at = [], [], [], 0
            for state, start, n in cut(eo, ec, sfreq, rng):
                src = eo if state == "eyes_open" else ec
                piece = src[:, start:start + n]
                pieces.append(piece - piece.mean(axis=1, keepdims=True))
                segments.append({"state": state, "onset_s": at / sfreq, "duration_s": n / sfreq,
                                 "source": f"{sub}{'R01' if state == 'eyes_open' else 'R02'}.edf",
                                 "source_onset_s": start / sfreq})
                if state == "eyes_closed":
                    markers.append((at, n))
                at += n
            data = np.concatenate(pieces, axis=1)
            write_brainvision(vhdr, data, names, sfreq, markers)
            truth = {"recording": vhdr.name, "subject": sub, "sfreq_hz": sfreq, "duration_s": at / sfreq,
                     "seed": [args.seed, int(sub[1:]), v], "eyes_open_range_s": EO_RANGE,
                     "eyes_closed_range_s": EC_RANGE, "segments": segments,
                     "eyes_closed": [[s["onset_s"], s["duration_s"]] for s in segments if s["state"] == "eyes_closed"]}
            truth_path.write_text(json.dumps(truth, indent=1) + "\n")
            print(f"{vhdr}: {at / sfreq:.1f} s, {len(truth['eyes_closed'])} eyes-closed events "
                  f"({sum(d for _, d in truth['eyes_closed']):.1f} s)")


if __name__ == "__main__":
    main()
