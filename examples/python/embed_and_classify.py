#!/usr/bin/python3
"""Eyes open vs eyes closed from LuMamba embeddings: read EDF files with MNE, embed them with the
shipped encoder (lumamba-tiny-eegmmidb), fit scikit-learn's LogisticRegression, print the score with
a band-power baseline beside it.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/embed_and_classify.py [DATA_DIR ...]

DATA_DIR: folders searched for PhysioNet eegmmidb runs SxxxR01.edf (eyes open, label 0) and
SxxxR02.edf (eyes closed, label 1); default ../shared/data/eegmmidb_S001 beside the checkout. With
two or more subjects the score is across subjects (GroupKFold: no subject in training and test);
with one subject, the last 30 % of each run is the test set (within-subject, said in the output).
"""
import pathlib
import sys

import mne
import numpy as np
from scipy.signal import welch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lumamba

BANDS = [(1, 4), (4, 8), (8, 13), (13, 30), (30, 45)]


def band_powers(windows):
    """Log band power per channel and band of each window: (N, C * 5)."""
    f, pxx = welch(windows.signal, fs=windows.sfreq, nperseg=int(windows.sfreq), axis=-1)
    return np.log(np.stack([pxx[..., (f >= lo) & (f < hi)].mean(-1) for lo, hi in BANDS], -1) + 1e-12).reshape(
        len(windows), -1)


def main(folders):
    model = lumamba.load("lumamba-tiny-eegmmidb")
    emb, bp, y, subject, position = [], [], [], [], []
    runs = sorted(p for d in folders for p in pathlib.Path(d).rglob("S*R0[12].edf"))
    if not runs:
        sys.exit(f"no SxxxR01.edf / SxxxR02.edf under {folders}")
    for path in runs:
        raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
        w = lumamba.mne.windows(raw, model)
        emb.append(model.embed(w))
        bp.append(band_powers(w))
        y += [int(path.stem.endswith("R02"))] * len(w)
        subject += [path.stem[:4]] * len(w)
        position += list(np.arange(len(w)) / len(w))
    emb, bp, y, subject, position = np.vstack(emb), np.vstack(bp), np.array(y), np.array(subject), np.array(position)
    subjects = sorted(set(subject))
    print(f"{len(runs)} runs of {len(subjects)} subject(s): {len(y)} windows of "
          f"{model.preprocessing.get('window_s', '?')} s, eyes open {np.sum(y == 0)}, eyes closed {np.sum(y == 1)}; "
          f"embedding width {emb.shape[1]}")
    if len(subjects) >= 2:
        splits = list(GroupKFold(n_splits=min(5, len(subjects))).split(emb, y, subject))
        how = f"across subjects ({len(splits)}-fold GroupKFold)"
    else:
        test = position >= 0.7
        splits = [(np.flatnonzero(~test), np.flatnonzero(test))]
        how = "within one subject (last 30 % of each run held out)"
    for name, features in (("LuMamba embeddings + LR", emb), ("band power + LR (baseline)", bp)):
        scores = []
        for train, test in splits:
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced"))
            clf.fit(features[train], y[train])
            scores.append(balanced_accuracy_score(y[test], clf.predict(features[test])))
        print(f"{name}: balanced accuracy {np.mean(scores):.3f} {how}")


if __name__ == "__main__":
    default = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data" / "eegmmidb_S001"
    main(sys.argv[1:] or [str(default)])
