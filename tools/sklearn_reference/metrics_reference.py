#!/usr/bin/python3
"""scikit-learn reference values for lumamba::eval metrics (tests/eval/test_metrics.cpp).

Writes tests/fixtures/metrics/sklearn_reference.json: for each case the inputs (y_true, probabilities)
and sklearn's balanced_accuracy_score, accuracy_score, roc_auc_score (binary: positive-class score;
multi-class: ovr, macro), average_precision_score (binary: positive class; multi-class: macro over
label_binarize), cohen_kappa_score, f1_score (weighted, macro; zero_division=0), confusion_matrix,
with y_pred = argmax of the probabilities (first maximum on ties, as numpy). Undefined values
(e.g. AUROC with one class in y_true) are stored as null.
Run: /usr/bin/python3 tools/sklearn_reference/metrics_reference.py
"""
import json
import pathlib
import warnings

import numpy as np
import sklearn
from sklearn import metrics
from sklearn.preprocessing import label_binarize

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "metrics" / "sklearn_reference.json"


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def case(name, y, p):
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(p, dtype=np.float64)
    k = p.shape[1]
    pred = p.argmax(axis=1)
    out = {"name": name, "y_true": y.tolist(), "probabilities": p.tolist(), "n_classes": k}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["accuracy"] = metrics.accuracy_score(y, pred)
        out["balanced_accuracy"] = metrics.balanced_accuracy_score(y, pred)
        out["cohen_kappa"] = metrics.cohen_kappa_score(y, pred)
        out["f1_weighted"] = metrics.f1_score(y, pred, average="weighted", zero_division=0)
        out["f1_macro"] = metrics.f1_score(y, pred, average="macro", zero_division=0)
        out["confusion"] = metrics.confusion_matrix(y, pred, labels=list(range(k))).tolist()
        try:
            if k == 2:
                out["auroc"] = metrics.roc_auc_score(y, p[:, 1])
            else:
                out["auroc"] = metrics.roc_auc_score(y, p, multi_class="ovr", average="macro", labels=list(range(k)))
        except ValueError:
            out["auroc"] = None
        if k == 2:
            ap = metrics.average_precision_score(y, p[:, 1]) if (y == 1).any() else None
        else:
            onehot = label_binarize(y, classes=list(range(k)))
            ap = metrics.average_precision_score(onehot, p, average="macro") if all(onehot[:, j].any() for j in range(k)) else None
        out["aupr"] = ap
    for key, v in list(out.items()):
        if isinstance(v, float) and np.isnan(v):
            out[key] = None
    return out


def main():
    rng = np.random.default_rng(7)
    cases = []
    # Binary with many tied scores (rounded to 0.1).
    y = rng.integers(0, 2, 200)
    s = np.round(np.clip(0.35 * y + rng.random(200) * 0.65, 0, 1), 1)
    cases.append(case("binary_ties", y, np.stack([1 - s, s], 1)))
    # Binary, continuous scores, imbalanced.
    y = (rng.random(300) < 0.2).astype(int)
    s = 1 / (1 + np.exp(-(1.5 * y + rng.normal(size=300))))
    cases.append(case("binary_imbalanced", y, np.stack([1 - s, s], 1)))
    # Multi-class (4, like TUSL), softmax probabilities.
    y = rng.integers(0, 4, 250)
    z = rng.normal(size=(250, 4)) + 1.2 * np.eye(4)[y]
    cases.append(case("multiclass4", y, softmax(z)))
    # Perfect separation, and all scores equal.
    y = np.array([0, 0, 1, 1, 0, 1])
    cases.append(case("binary_perfect", y, np.stack([1 - y * 0.9 - 0.05, y * 0.9 + 0.05], 1)))
    cases.append(case("binary_constant_scores", y, np.full((6, 2), 0.5)))
    # One class in y_true: AUROC/AUPR undefined.
    y = np.zeros(5, dtype=int)
    cases.append(case("single_class", y, np.array([[0.9, 0.1], [0.4, 0.6], [0.8, 0.2], [0.7, 0.3], [0.2, 0.8]])))
    # A class never predicted and never true (class 2 of 3).
    y = np.array([0, 1, 0, 1, 1, 0])
    p = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1], [0.1, 0.8, 0.1], [0.5, 0.4, 0.1], [0.7, 0.2, 0.1]])
    cases.append(case("absent_class", y, p))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"generator": "tools/sklearn_reference/metrics_reference.py",
                               "sklearn": sklearn.__version__, "cases": cases}, indent=1))
    print(OUT, len(cases))


if __name__ == "__main__":
    main()
