#!/usr/bin/python3
"""Event-detection settings for `lumamba predict --events`, chosen on data (tools/event_defaults/run.sh).

    choose.py choose OUT        grid over threshold / smoothing / merge gap / minimum duration on the window
                                probabilities of OUT/predict_tune/predictions.csv; writes OUT/chosen.json
    choose.py score OUT/PRED    scores lumamba's own OUT/PRED/events.csv against the recordings' T1/T2

Truth: the T1/T2 annotations (movement) of each EDF+ run, read with MNE. Score: event F1 with overlap
matching (as TUH's OVLP scoring): a true event is found when a detected event overlaps it, a detected
event is correct when it overlaps a true one; precision, recall and F1 over all recordings; also the
fraction of time labelled correctly (movement vs not) in the span the windows cover.

The grid applies the rule of src/eval/events.cpp (centred moving average over N windows, threshold,
runs of consecutive windows, merge gap, minimum duration), written again here in numpy; the final
numbers come from lumamba's events.csv, not from this copy.
"""
import csv
import itertools
import json
import pathlib
import sys

import mne
import numpy as np


def truth_events(edf_path):
    ann = mne.read_annotations(str(edf_path))
    return [(o, o + d) for o, d, t in zip(ann.onset, ann.duration, ann.description) if t in ("T1", "T2")]


def read_windows(pred_dir):
    rows = {}
    with open(pred_dir / "predictions.csv") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["recording"], []).append((float(r["window_start_s"]), float(r["p_1"])))
    return {k: (np.array([s for s, _ in v]), np.array([p for _, p in v])) for k, v in rows.items()}


def detect(starts, p, window_s, threshold, smoothing, merge_gap, min_duration):
    half = smoothing // 2
    n = len(p)
    smooth = np.array([p[max(0, i - half):min(n, i + half + 1)].mean() for i in range(n)])
    events, previous = [], -2
    for i in range(n):
        if smooth[i] < threshold:
            continue
        start, end = starts[i], starts[i] + window_s
        if previous == i - 1 and events and start <= events[-1][1] + 1e-9:
            events[-1][1] = max(events[-1][1], end)
        else:
            events.append([start, end])
        previous = i
    merged = []
    for e in events:
        if merged and e[0] - merged[-1][1] <= merge_gap:
            merged[-1][1] = max(merged[-1][1], e[1])
        else:
            merged.append(list(e))
    return [(a, b) for a, b in merged if b - a >= min_duration - 1e-9]


def overlaps(a, b):
    return a[0] < b[1] and b[0] < a[1]


def score(detected_by_rec, truth_by_rec, span_by_rec):
    n_true = n_found = n_det = n_correct = 0
    right_time = total_time = 0.0
    for rec, truth in truth_by_rec.items():
        det = detected_by_rec.get(rec, [])
        lo, hi = span_by_rec[rec]
        truth = [t for t in truth if t[0] < hi and t[1] > lo]
        n_true += len(truth)
        n_det += len(det)
        n_found += sum(any(overlaps(t, d) for d in det) for t in truth)
        n_correct += sum(any(overlaps(d, t) for t in truth) for d in det)
        grid = np.arange(lo, hi, 0.1)
        in_truth = np.zeros(len(grid), bool)
        in_det = np.zeros(len(grid), bool)
        for a, b in truth:
            in_truth |= (grid >= a) & (grid < b)
        for a, b in det:
            in_det |= (grid >= a) & (grid < b)
        right_time += float((in_truth == in_det).sum())
        total_time += len(grid)
    precision = n_correct / n_det if n_det else 0.0
    recall = n_found / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall, "true_events": n_true, "detected_events": n_det,
            "time_accuracy": right_time / total_time if total_time else 0.0}


def truth_and_span(pred_dir, windows, window_s):
    edf_dir = pathlib.Path(json.loads((pred_dir / "predictions.json").read_text())["recordings"][0]["path"]).parent
    truth = {rec: truth_events(edf_dir / rec) for rec in windows}
    span = {rec: (float(s.min()), float(s.max()) + window_s) for rec, (s, _) in windows.items()}
    return truth, span


WINDOW_S = 3.75


def choose(out):
    pred_dir = out / "predict_tune"
    windows = read_windows(pred_dir)
    truth, span = truth_and_span(pred_dir, windows, WINDOW_S)
    grid = itertools.product(np.round(np.arange(0.3, 0.81, 0.05), 2), [1, 3, 5, 7, 9], [0.0, 0.5, 1.0, 2.0],
                             [0.0, 1.0, 2.0, 4.0])
    results = []
    for threshold, smoothing, merge_gap, min_duration in grid:
        det = {rec: detect(s, p, WINDOW_S, threshold, smoothing, merge_gap, min_duration)
               for rec, (s, p) in windows.items()}
        results.append(({"threshold": float(threshold), "smoothing_windows": smoothing, "merge_gap_s": merge_gap,
                         "min_duration_s": min_duration}, score(det, truth, span)))
    results.sort(key=lambda r: -r[1]["f1"])
    plain = next(r for r in results if r[0] == {"threshold": 0.5, "smoothing_windows": 1, "merge_gap_s": 0.0,
                                               "min_duration_s": 0.0})
    chosen = {"chosen": results[0][0], "tune_score": results[0][1], "plain_rule": plain[0],
              "plain_rule_tune_score": plain[1], "top5": [{"settings": s, "score": m} for s, m in results[:5]],
              "recordings": len(windows), "grid_size": len(results)}
    (out / "chosen.json").write_text(json.dumps(chosen, indent=2) + "\n")
    print(json.dumps(chosen, indent=2))


def score_lumamba(pred_dir):
    windows = read_windows(pred_dir)
    truth, span = truth_and_span(pred_dir, windows, WINDOW_S)
    det = {}
    with open(pred_dir / "events.csv") as f:
        for r in csv.DictReader(f):
            onset = float(r["onset_s"])
            det.setdefault(r["recording"], []).append((onset, onset + float(r["duration_s"])))
    result = score(det, truth, span)
    result["recordings"] = len(windows)
    print(json.dumps(result, indent=2))
    (pred_dir / "event_score.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "choose":
        choose(pathlib.Path(sys.argv[2]))
    else:
        score_lumamba(pathlib.Path(sys.argv[2]))
