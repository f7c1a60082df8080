"""lumamba on MNE-Python Raw objects: `embed`, `predict_proba` and `predict` (events as mne.Annotations).

The Raw's EEG channels (mne.pick_types(eeg=True)) are handed over in volts with their names and,
when the Raw has a montage, their positions (MNE head frame, metres: the frame lumamba uses), then
preprocessed exactly as the checkpoint says. Annotation onsets are seconds from the Raw's first
sample; the Annotations returned carry the Raw's measurement date, so raw.set_annotations() lines
them up.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from . import Model, Windows, detect_events


def _arrays(raw):
    import mne  # noqa: F401  (the caller has MNE; imported here so `import lumamba` does not need it)
    picks = mne.pick_types(raw.info, eeg=True, exclude=[])
    if len(picks) == 0:
        raise ValueError("the Raw has no EEG channels (mne.pick_types(eeg=True) is empty)")
    data = raw.get_data(picks=picks)  # volts
    names = [raw.ch_names[i] for i in picks]
    positions = np.full((len(picks), 3), np.nan)
    for row, i in enumerate(picks):
        loc = np.asarray(raw.info["chs"][i]["loc"][:3], dtype=np.float64)
        if np.all(np.isfinite(loc)) and np.any(loc != 0):
            positions[row] = loc
    first = raw.first_time if raw.annotations.orig_time is not None else 0.0
    annotations = [(float(o) - first, float(d), str(t)) for o, d, t in
                   zip(raw.annotations.onset, raw.annotations.duration, raw.annotations.description)]
    has_positions = bool(np.any(np.all(np.isfinite(positions), axis=1)))
    return data, names, float(raw.info["sfreq"]), (positions if has_positions else None), annotations


def windows(raw, model: Model, **kwargs: Any) -> Windows:
    """The Raw's EEG cut into windows as the checkpoint's preprocessing says (keywords: Model.windows)."""
    data, names, sfreq, positions, annotations = _arrays(raw)
    files = getattr(raw, "filenames", None) or [None]
    kwargs.setdefault("name", str(files[0]) if files[0] else "raw")
    return model.windows(data, names, sfreq, positions, unit="V", annotations=annotations, **kwargs)


def embed(raw, model: Model, **kwargs: Any) -> np.ndarray:
    """(windows, Q*E) embeddings of the Raw's windows (Model.embed)."""
    return model.embed(windows(raw, model, **kwargs))


def predict_proba(raw, model: Model, **kwargs: Any) -> np.ndarray:
    """(windows, classes) probabilities of the Raw's windows (Model.predict_proba)."""
    return model.predict_proba(windows(raw, model, **kwargs))


def predict(raw, model: Model, events: bool = True, *, threshold: float = 0.5, smoothing_windows: int = 1,
            min_duration_s: float = 0.0, merge_gap_s: float = 0.0, classes: Optional[Sequence[int]] = None,
            **kwargs: Any):
    """Events the classifier finds in the Raw as mne.Annotations (description "label p=0.87", as
    `lumamba predict --events` writes them), by the rule and options of lumamba.detect_events;
    with events=False the (windows, classes) probabilities instead."""
    import mne
    w = windows(raw, model, **kwargs)
    p = model.predict_proba(w)
    if not events:
        return p
    window_s = w.signal.shape[2] / w.sfreq
    found = detect_events(w.window_start_s, window_s, p, model.class_names, multilabel=model.multilabel,
                          threshold=threshold, smoothing_windows=smoothing_windows, min_duration_s=min_duration_s,
                          merge_gap_s=merge_gap_s, classes=classes)
    first = raw.first_time if raw.info["meas_date"] is not None else 0.0
    return mne.Annotations(onset=[e["onset_s"] + first for e in found], duration=[e["duration_s"] for e in found],
                           description=[e["text"] for e in found], orig_time=raw.info["meas_date"])

