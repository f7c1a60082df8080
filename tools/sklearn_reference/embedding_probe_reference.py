#!/usr/bin/python3
"""scikit-learn/NumPy reference values for lumamba::eval's embedding probe (tests/eval/test_embedding_probe.cpp).

Writes tests/fixtures/metrics/embedding_probe_reference.json with
- k-NN: StandardScaler (train statistics) + KNeighborsClassifier(k, metric="cosine", uniform weights)
  predict_proba on random (40, 6) train / (12, 6) test features with 3 classes, k = 1, 5, 10;
- PCA: sklearn PCA(2) scores and explained_variance_ratio_ of random (30, 5) features with unequal
  variances, each component's sign flipped so that its largest-magnitude loading is positive;
- effective rank (RankMe, Garrido et al. 2023): exp(entropy of s / sum(s)) of numpy's singular values of
  the centred features, on the same (30, 5) features.
Run: /usr/bin/python3 tools/sklearn_reference/embedding_probe_reference.py
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "metrics" / "embedding_probe_reference.json"

rng = np.random.default_rng(11)
centres = rng.normal(size=(3, 6)) * 1.5
y_train = rng.integers(0, 3, size=40)
x_train = centres[y_train] + rng.normal(size=(40, 6)) + 4.0  # offset: standardising matters for cosine
y_test = rng.integers(0, 3, size=12)
x_test = centres[y_test] + rng.normal(size=(12, 6)) + 4.0
scaler = StandardScaler().fit(x_train)
knn = []
for k in (1, 5, 10):
    clf = KNeighborsClassifier(n_neighbors=k, metric="cosine").fit(scaler.transform(x_train), y_train)
    knn.append({"k": k, "proba": clf.predict_proba(scaler.transform(x_test)).tolist()})

x = rng.normal(size=(30, 5)) * np.array([5.0, 3.0, 1.0, 0.5, 0.1]) @ np.linalg.qr(rng.normal(size=(5, 5)))[0]
pca = PCA(n_components=2).fit(x)
scores = pca.transform(x)
for i in range(2):
    if pca.components_[i][np.argmax(np.abs(pca.components_[i]))] < 0:
        scores[:, i] = -scores[:, i]
s = np.linalg.svd(x - x.mean(0), compute_uv=False)
p = s / s.sum()
rank = float(np.exp(-(p * np.log(p)).sum()))

OUT.write_text(json.dumps({
    "sklearn": sklearn.__version__,
    "knn": {"x_train": x_train.tolist(), "y_train": y_train.tolist(), "x_test": x_test.tolist(), "n_classes": 3,
            "cases": knn},
    "pca": {"x": x.tolist(), "scores": scores.tolist(), "explained": pca.explained_variance_ratio_.tolist()},
    "effective_rank": rank,
}, indent=1) + "\n")
print(f"wrote {OUT}")
