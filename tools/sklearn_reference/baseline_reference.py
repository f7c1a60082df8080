#!/usr/bin/python3
"""scikit-learn/NumPy reference values for lumamba::eval's band-power baseline (tests/eval/test_baseline.cpp).

Writes tests/fixtures/metrics/baseline_reference.json with
- band powers: random (N=3, C=2, T=256) windows at 128 Hz -> log of the mean Hann-windowed (symmetric,
  numpy.hanning) periodogram |rfft(x * w)|^2 over each band [lo, hi), channel-major features;
- logistic regression: StandardScaler + LogisticRegression(C, lbfgs, tol=1e-10, max_iter=10000)
  probabilities on a held-out set, for a binary and a 3-class problem (multinomial), and a binary
  problem with imbalanced classes fitted with class_weight="balanced".
Run: /usr/bin/python3 tools/sklearn_reference/baseline_reference.py
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "metrics" / "baseline_reference.json"
BANDS = [(1, 4), (4, 8), (8, 13), (13, 30), (30, 45)]

rng = np.random.default_rng(7)
x = rng.normal(size=(3, 2, 256)) * 20.0
x[0, 1] += 30 * np.sin(2 * np.pi * 10 * np.arange(256) / 128)  # alpha in one channel
freqs = np.fft.rfftfreq(256, 1 / 128)
power = np.abs(np.fft.rfft(x * np.hanning(256), axis=-1)) ** 2
feats = np.stack([np.log(power[..., (freqs >= lo) & (freqs < hi)].mean(-1) + 1e-12) for lo, hi in BANDS], -1)
feats = feats.reshape(3, -1)

cases = []
for name, k, c, class_weight in [("binary", 2, 1.0, None), ("three_class", 3, 0.3, None),
                                 ("binary_balanced", 2, 0.5, "balanced")]:
    n_train, n_test, f = 60, 20, 6
    w_true = rng.normal(size=(k, f))
    xtr = rng.normal(size=(n_train, f)) * rng.uniform(0.5, 3, size=f) + rng.normal(size=f)
    xte = rng.normal(size=(n_test, f)) * rng.uniform(0.5, 3, size=f) + rng.normal(size=f)
    shift = np.array([1.0, 0.0]) if class_weight else 0.0  # imbalanced: mostly class 0
    ytr = np.argmax(xtr @ w_true.T + rng.normal(size=(n_train, k)) + shift, axis=1)
    sc = StandardScaler().fit(xtr)
    m = LogisticRegression(C=c, tol=1e-10, max_iter=10000, class_weight=class_weight).fit(sc.transform(xtr), ytr)
    cases.append({"name": name, "n_classes": k, "C": c, "class_weight": class_weight or "none",
                  "x_train": xtr.tolist(), "y_train": ytr.tolist(),
                  "x_test": xte.tolist(), "proba": m.predict_proba(sc.transform(xte)).tolist()})

doc = {"sklearn_version": sklearn.__version__, "numpy_version": np.__version__,
       "band_power": {"sfreq_hz": 128, "bands": BANDS, "signal": x.tolist(), "features": feats.tolist()},
       "logistic_regression": cases}
OUT.write_text(json.dumps(doc) + "\n")
print("wrote", OUT)
