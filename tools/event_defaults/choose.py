#!/usr/bin/python3
"""Event-detection settings for `lumamba predict --events`, chosen on data (tools/event_defaults/run.sh).

    choose.py classify OUT SUBJECT...         window metrics of the fine-tuned model and the band-power
                                              baseline on each held-out subject (OUT/fold_S/), and pooled
    choose.py choose OUT OUT.json SUBJECT...  grid search on OUT/predict/S/predictions.csv of the given
                                              (tuning) subjects; writes OUT.json
    choose.py score OUT DIR SUBJECT           scores lumamba's own events of a held-out subject: its
                                              defaults (OUT/predict/S/events.csv) and the settings of
                                              DIR/chosen.json (DIR/predict_chosen/events.csv); checks the
                                              numpy copy of the rule against both; writes DIR/score.json
    choose.py summary OUT SUBJECT...          sums the held-out scores of every fold into OUT/summary.json
    choose.py calibration OUT SUBJECT...      each subject's probability levels in eyes open / closed, the
                                              best settings on each subject alone, and smoothing / merge
                                              gap / minimum duration chosen leave-one-subject-out with the
                                              threshold held at 0.5 (numpy copy); OUT/calibration.json

Truth: the eyes-closed segments of each spliced recording (<recording>.truth.json beside it, splice.py).

Score: events are matched ONE-TO-ONE: a detected and a true event can match when their intersection over
union (IoU) is at least 0.3; pairs are taken greedily by decreasing IoU, each event used at most once.
Precision = matched / detected, recall = matched / true, F1 from the counts summed over recordings.
Also: the fraction of time labelled correctly (eyes closed or not, on a 0.01 s grid over the span the
windows cover) and the mean absolute onset and offset errors of the matched events. A single detection
spanning a whole recording matches at most one true event (and only with IoU >= 0.3), so it cannot
score well, unlike the overlap (OVLP) scoring of the first study.

The grid applies the rule of src/eval/events.cpp (centred moving average over N windows, threshold,
runs of consecutive windows, merge gap, minimum duration), written again here in numpy; the held-out
numbers come from lumamba's own events.csv, and the copy is checked against it (`consistency`).
"""
import csv
import itertools
import json
import pathlib
import sys

import numpy as np

IOU_MIN = 0.3
EVENT_LABEL = "eyes_closed"
GRID = {"threshold": [float(t) for t in np.round(np.arange(0.3, 0.8001, 0.05), 2)],
        "smoothing_windows": [1, 3, 5, 7, 9], "merge_gap_s": [0.0, 0.5, 1.0, 2.0, 4.0],
        "min_duration_s": [0.0, 1.0, 2.0, 4.0]}
DEFAULTS = {"threshold": 0.5, "smoothing_windows": 1, "merge_gap_s": 0.0, "min_duration_s": 0.0}


# ---- reading ----
def read_windows(pred_dir):
    """recording -> (window starts, p(eyes closed)) from lumamba's predictions.csv."""
    rows = {}
    with open(pred_dir / "predictions.csv") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["recording"], []).append((float(r["window_start_s"]), float(r["p_1"])))
    return {k: (np.array([s for s, _ in v]), np.array([p for _, p in v])) for k, v in rows.items()}


def read_lumamba_events(pred_dir):
    det = {}
    with open(pred_dir / "events.csv") as f:
        for r in csv.DictReader(f):
            assert r["label"] == EVENT_LABEL, f"{pred_dir}: unexpected event label {r['label']!r}"
            onset = float(r["onset_s"])
            det.setdefault(r["recording"], []).append((onset, onset + float(r["duration_s"])))
    return det


def recordings_dir(pred_dir):
    rec = json.loads((pred_dir / "predictions.json").read_text())["recordings"][0]["path"]
    return pathlib.Path(rec).parent


def truth_of(pred_dir, names):
    folder = recordings_dir(pred_dir)
    out = {}
    for name in names:
        t = json.loads((folder / (pathlib.Path(name).stem + ".truth.json")).read_text())
        out[name] = [(o, o + d) for o, d in t["eyes_closed"]]
    return out


# ---- the rule (numpy copy of src/eval/events.cpp) ----
def detect(starts, p, window_s, threshold, smoothing_windows, merge_gap_s, min_duration_s):
    half = smoothing_windows // 2
    n = len(p)
    csum = np.concatenate([[0.0], np.cumsum(p)])
    lo = np.maximum(np.arange(n) - half, 0)
    hi = np.minimum(np.arange(n) + half + 1, n)
    smooth = (csum[hi] - csum[lo]) / (hi - lo)
    events, previous = [], -2
    for i in np.flatnonzero(smooth >= threshold):
        start, end = starts[i], starts[i] + window_s
        if previous == i - 1 and events and start <= events[-1][1] + 1e-9:
            events[-1][1] = max(events[-1][1], end)
        else:
            events.append([start, end])
        previous = i
    merged = []
    for e in events:
        if merged and e[0] - merged[-1][1] <= merge_gap_s:
            merged[-1][1] = max(merged[-1][1], e[1])
        else:
            merged.append(list(e))
    return [(a, b) for a, b in merged if b - a >= min_duration_s - 1e-9]


# ---- scoring ----
def iou(a, b):
    inter = min(a[1], b[1]) - max(a[0], b[0])
    return inter / (max(a[1], b[1]) - min(a[0], b[0])) if inter > 0 else 0.0


def match(det, truth):
    """One-to-one greedy matching by decreasing IoU (>= IOU_MIN): [(det index, truth index, iou)]."""
    pairs = sorted(((iou(d, t), i, j) for i, d in enumerate(det) for j, t in enumerate(truth)), reverse=True)
    used_d, used_t, out = set(), set(), []
    for v, i, j in pairs:
        if v < IOU_MIN:
            break
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
            out.append((i, j, v))
    return out


def score(detected_by_rec, truth_by_rec, span_by_rec):
    n_true = n_det = n_match = 0
    onset_err, offset_err = [], []
    right_time = total_time = 0
    for rec, truth in truth_by_rec.items():
        lo, hi = span_by_rec[rec]
        truth = [(max(a, lo), min(b, hi)) for a, b in truth if a < hi and b > lo]
        det = detected_by_rec.get(rec, [])
        m = match(det, truth)
        n_true += len(truth)
        n_det += len(det)
        n_match += len(m)
        onset_err += [abs(det[i][0] - truth[j][0]) for i, j, _ in m]
        offset_err += [abs(det[i][1] - truth[j][1]) for i, j, _ in m]
        grid = lo + 0.005 + 0.01 * np.arange(int(round((hi - lo) / 0.01)))
        in_truth = np.zeros(len(grid), bool)
        in_det = np.zeros(len(grid), bool)
        for a, b in truth:
            in_truth |= (grid >= a) & (grid < b)
        for a, b in det:
            in_det |= (grid >= a) & (grid < b)
        right_time += int((in_truth == in_det).sum())
        total_time += len(grid)
    precision = n_match / n_det if n_det else 0.0
    recall = n_match / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall, "true_events": n_true, "detected_events": n_det,
            "matched_events": n_match, "time_accuracy": right_time / total_time if total_time else 0.0,
            "mean_abs_onset_error_s": float(np.mean(onset_err)) if onset_err else None,
            "mean_abs_offset_error_s": float(np.mean(offset_err)) if offset_err else None,
            "time_steps_right": right_time, "time_steps": total_time}


def spans(windows, window_s):
    return {rec: (float(s.min()), float(s.max()) + window_s) for rec, (s, _) in windows.items()}


def load_predictions(out, subjects):
    windows, truth = {}, {}
    for sub in subjects:
        pred_dir = out / "predict" / sub
        w = read_windows(pred_dir)
        windows.update(w)
        truth.update(truth_of(pred_dir, w))
    return windows, truth


def rank_key(result):
    # Best F1; ties broken by time accuracy, then by the simpler setting (earlier in the grid order).
    return (-round(result[1]["f1"], 12), -round(result[1]["time_accuracy"], 12))


def grid_search(windows, truth, window_s):
    span = spans(windows, window_s)
    results = []
    for values in itertools.product(*GRID.values()):
        settings = dict(zip(GRID, values))
        det = {rec: detect(s, p, window_s, **settings) for rec, (s, p) in windows.items()}
        results.append((settings, score(det, truth, span)))
    return sorted(results, key=rank_key)  # stable: grid order among exact ties


# ---- commands ----
def classify(out, subjects):
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    def metrics(y, p):
        # AUROC on log(p_1 / p_0): the CSVs' 6 significant digits leave p_1 saturated at 0.999999 (ties)
        # where p_0 still tells windows apart.
        y, p0, p1 = np.asarray(y), np.asarray([q[0] for q in p]), np.asarray([q[1] for q in p])
        pred = (p1 >= 0.5).astype(int)
        logit = np.log(np.clip(p1, 1e-30, None)) - np.log(np.clip(p0, 1e-30, None))
        return {"windows": int(len(y)), "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
                "auroc": float(roc_auc_score(y, logit)) if len(set(y)) == 2 else None,
                "true_per_class": [int((y == k).sum()) for k in (0, 1)],
                "predicted_per_class": [int((pred == k).sum()) for k in (0, 1)],
                "confusion": [[int(((y == a) & (pred == b)).sum()) for b in (0, 1)] for a in (0, 1)]}

    def read(path):
        with open(path) as f:
            rows = list(csv.DictReader(f))
        return [int(r["label"]) for r in rows], [(float(r["p_0"]), float(r["p_1"])) for r in rows]

    summary, pooled = {"per_subject": {}}, {"finetuned": ([], []), "band_power_baseline": ([], [])}
    for sub in subjects:
        fold = out / f"fold_{sub}"
        entry = {}
        for name, path in (("finetuned", fold / "finetune" / "test_predictions.csv"),
                           ("band_power_baseline", fold / "baseline_predictions.csv")):
            y, p = read(path)
            entry[name] = metrics(y, p)
            pooled[name][0].extend(y)
            pooled[name][1].extend(p)
        # lumamba's own test metrics (from its float probabilities) beside them
        lm = json.loads((fold / "finetune" / "test_metrics.json").read_text())["windows"]
        entry["finetuned"]["lumamba_test_metrics"] = {k: lm[k] for k in ("balanced_accuracy", "auroc")}
        summary["per_subject"][sub] = entry
    summary["pooled"] = {name: metrics(*yp) for name, yp in pooled.items()}
    summary["note"] = ("leave-one-subject-out: each subject's windows are scored by the model trained on the "
                       "other subjects; class 1 = eyes closed, decision p_1 >= 0.5")
    (out / "classifier.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def choose(out, out_json, subjects, window_s):
    windows, truth = load_predictions(out, subjects)
    results = grid_search(windows, truth, window_s)
    plain = next(r for r in results if r[0] == DEFAULTS)
    chosen = {"tuning_subjects": subjects, "recordings": len(windows), "grid_size": len(results),
              "window_s": window_s, "iou_min": IOU_MIN, "chosen": results[0][0], "tune_score": results[0][1],
              "plain_rule": plain[0], "plain_rule_tune_score": plain[1],
              "top5": [{"settings": s, "score": m} for s, m in results[:5]]}
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(chosen, indent=2) + "\n")
    print(json.dumps({k: chosen[k] for k in ("tuning_subjects", "chosen", "tune_score", "plain_rule_tune_score")},
                     indent=2))


def same_events(a, b, tol=2e-4):
    """Equal event lists (lumamba writes 4 decimals)."""
    keys = set(a) | set(b)
    bad = []
    for k in sorted(keys):
        x, y = a.get(k, []), b.get(k, [])
        if len(x) != len(y) or any(abs(p - q) > tol for e, f in zip(x, y) for p, q in zip(e, f)):
            bad.append(k)
    return bad


def score_heldout(out, fold_dir, sub, window_s):
    chosen = json.loads((fold_dir / "chosen.json").read_text())["chosen"]
    default_dir, chosen_dir = out / "predict" / sub, fold_dir / "predict_chosen"
    windows = read_windows(default_dir)
    truth = truth_of(default_dir, windows)
    span = spans(windows, window_s)
    result = {"heldout_subject": sub, "recordings": len(windows), "chosen": chosen}
    for name, pred_dir, settings in (("lumamba_defaults", default_dir, DEFAULTS),
                                     ("lumamba_chosen", chosen_dir, chosen)):
        det = read_lumamba_events(pred_dir)
        # lumamba's options as it recorded them, and the same windows' probabilities in both runs.
        used = json.loads((pred_dir / "predictions.json").read_text())["event_options"]
        assert all(abs(float(used[k]) - float(v)) < 1e-9 for k, v in settings.items()), (pred_dir, used, settings)
        result[name] = score(det, truth, span)
        copy = {rec: detect(s, p, window_s, **settings) for rec, (s, p) in windows.items()}
        mismatched = same_events(copy, det)
        result[name]["numpy_rule_equals_lumamba"] = not mismatched
        result[name]["recordings_that_differ"] = mismatched
        result[name]["numpy_rule_score"] = score(copy, truth, span)
    (fold_dir / "score.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def summary(out, subjects):
    per, sums = {}, {}
    for sub in subjects:
        s = json.loads((out / f"detect_{sub}" / "score.json").read_text())
        per[sub] = s
        for name in ("lumamba_defaults", "lumamba_chosen"):
            acc = sums.setdefault(name, {"true_events": 0, "detected_events": 0, "matched_events": 0,
                                         "right": 0.0, "total": 0.0, "onset": [], "offset": []})
            m = s[name]
            for k in ("true_events", "detected_events", "matched_events"):
                acc[k] += m[k]
            acc["right"] += m["time_steps_right"]
            acc["total"] += m["time_steps"]
            if m["mean_abs_onset_error_s"] is not None:
                acc["onset"].append((m["mean_abs_onset_error_s"], m["matched_events"]))
                acc["offset"].append((m["mean_abs_offset_error_s"], m["matched_events"]))
    pooled = {}
    for name, a in sums.items():
        p = a["matched_events"] / a["detected_events"] if a["detected_events"] else 0.0
        r = a["matched_events"] / a["true_events"] if a["true_events"] else 0.0
        n = sum(k for _, k in a["onset"])
        pooled[name] = {"f1": 2 * p * r / (p + r) if p + r else 0.0, "precision": p, "recall": r,
                        "true_events": a["true_events"], "detected_events": a["detected_events"],
                        "matched_events": a["matched_events"], "time_accuracy": a["right"] / a["total"],
                        "mean_abs_onset_error_s": sum(e * k for e, k in a["onset"]) / n if n else None,
                        "mean_abs_offset_error_s": sum(e * k for e, k in a["offset"]) / n if n else None}
    result = {"pooled_heldout": pooled, "chosen_per_fold": {sub: per[sub]["chosen"] for sub in subjects},
              "numpy_rule_equals_lumamba": all(per[sub][n]["numpy_rule_equals_lumamba"] for sub in subjects
                                               for n in ("lumamba_defaults", "lumamba_chosen")),
              "per_fold": {sub: {n: per[sub][n] for n in ("lumamba_defaults", "lumamba_chosen")} for sub in subjects}}
    (out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("pooled_heldout", "chosen_per_fold", "numpy_rule_equals_lumamba")},
                     indent=2))


def calibration(out, subjects, window_s):
    """Why settings chosen on some subjects may not carry over: each subject's probability levels, the
    best settings on that subject alone (an optimistic bound), and the temporal settings alone (smoothing,
    merge gap, minimum duration) chosen leave-one-subject-out with the threshold held at 0.5 (numpy copy
    of the rule, which equals lumamba's events: see detect_S/score.json)."""
    data = {sub: load_predictions(out, [sub]) for sub in subjects}

    def evaluate(settings, subs):
        windows, truth = {}, {}
        for sub in subs:
            windows.update(data[sub][0])
            truth.update(data[sub][1])
        det = {rec: detect(s, p, window_s, **settings) for rec, (s, p) in windows.items()}
        return score(det, truth, spans(windows, window_s))

    def best(subs, threshold=None):
        results = []
        for values in itertools.product(*GRID.values()):
            settings = dict(zip(GRID, values))
            if threshold is None or settings["threshold"] == threshold:
                results.append((settings, evaluate(settings, subs)))
        return sorted(results, key=rank_key)[0]

    result = {"per_subject": {}, "threshold_0.5_temporal_loso": {}}
    for sub in subjects:
        windows, truth = data[sub]
        p_open, p_closed = [], []
        for rec, (starts, p) in windows.items():
            centre = starts + window_s / 2
            closed = np.zeros(len(p), bool)
            for a, b in truth[rec]:
                closed |= (centre >= a) & (centre < b)
            p_closed += list(p[closed])
            p_open += list(p[~closed])
        settings, own = best([sub])
        result["per_subject"][sub] = {
            "p_eyes_closed_in_eyes_open": {"mean": float(np.mean(p_open)), "median": float(np.median(p_open))},
            "p_eyes_closed_in_eyes_closed": {"mean": float(np.mean(p_closed)), "median": float(np.median(p_closed))},
            "defaults_f1": evaluate(DEFAULTS, [sub])["f1"], "best_on_itself": settings, "best_on_itself_f1": own["f1"]}
    sums = {"defaults": [0, 0, 0], "chosen": [0, 0, 0]}
    for sub in subjects:
        settings, tune = best([s for s in subjects if s != sub], threshold=0.5)
        held, plain = evaluate(settings, [sub]), evaluate(DEFAULTS, [sub])
        result["threshold_0.5_temporal_loso"][sub] = {"chosen": settings, "tune_f1": tune["f1"], "heldout": held}
        for name, m in (("defaults", plain), ("chosen", held)):
            sums[name] = [a + m[k] for a, k in zip(sums[name], ("matched_events", "detected_events", "true_events"))]
    pooled = {}
    for name, (matched, detected, true) in sums.items():
        pr, rc = matched / detected if detected else 0.0, matched / true if true else 0.0
        pooled[name] = {"f1": 2 * pr * rc / (pr + rc) if pr + rc else 0.0, "precision": pr, "recall": rc,
                        "matched_events": matched, "detected_events": detected, "true_events": true}
    result["threshold_0.5_temporal_loso_pooled"] = pooled
    (out / "calibration.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"per_subject": result["per_subject"], "pooled": pooled}, indent=2))


if __name__ == "__main__":
    cmd, out = sys.argv[1], pathlib.Path(sys.argv[2])
    window = float(__import__("os").environ.get("WINDOW_S", "2.5"))
    if cmd == "classify":
        classify(out, sys.argv[3:])
    elif cmd == "choose":
        choose(out, pathlib.Path(sys.argv[3]), sys.argv[4:], window)
    elif cmd == "score":
        score_heldout(out, pathlib.Path(sys.argv[3]), sys.argv[4], window)
    elif cmd == "summary":
        summary(out, sys.argv[3:])
    elif cmd == "calibration":
        calibration(out, sys.argv[3:], window)
    else:
        sys.exit(__doc__)
