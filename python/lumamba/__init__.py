"""lumamba: the LuMamba EEG foundation model from Python (native C++ core, NumPy in and out).

    import lumamba
    model = lumamba.load("lumamba-tiny-eegmmidb")          # shipped encoder, or a checkpoint path
    data, info = lumamba.read_edf("S001R01.edf")            # (C, T) µV and channel names, rate, ...
    emb = model.embed(data, info["ch_names"], info["sfreq"])  # (windows, Q*E) float32
    p = finetuned.predict_proba(data, info["ch_names"], info["sfreq"])  # (windows, classes)

MNE users: lumamba.mne.embed(raw, model), lumamba.mne.predict(raw, model) -> mne.Annotations.
Recordings are preprocessed exactly as `lumamba preprocess` does (the checkpoint's own settings),
so numbers equal the command line's `lumamba embed` / `lumamba predict` on the same file.
Errors in the input raise ValueError with lumamba's message. Docs: docs/python.md.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Optional, Sequence, Tuple

import numpy as np

from ._lumamba import (LumambaError, Windows, __version__, get_num_threads,  # noqa: F401
                       set_num_threads)
from . import _lumamba

__all__ = ["load", "Model", "Windows", "preprocess", "read_edf", "detect_events", "set_num_threads",
           "get_num_threads", "LumambaError", "__version__"]


def _overrides(overrides: dict) -> dict:
    return {str(k): (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in overrides.items()}


class Model:
    """A lumamba checkpoint loaded for inference (float32, eval mode); see `load`."""

    def __init__(self, native: "_lumamba.NativeModel"):
        self._native = native

    @property
    def source(self) -> str:
        """The checkpoint file."""
        return self._native.source

    @property
    def is_classifier(self) -> bool:
        """False for a pretraining checkpoint (an encoder without a classification head)."""
        return self._native.is_classifier

    @property
    def n_classes(self) -> int:
        return self._native.n_classes

    @property
    def class_names(self) -> list:
        return list(self._native.class_names)

    @property
    def task(self) -> dict:
        """The checkpoint's task (`lumamba.task`): name, target (multiclass | multilabel), classes."""
        return json.loads(self._native.task_json)

    @property
    def multilabel(self) -> bool:
        return self.task.get("target") == "multilabel"

    @property
    def embedding_dim(self) -> int:
        """Width Q*E of an embedding row."""
        return self._native.embedding_dim

    @property
    def config(self) -> dict:
        """Model options (as `lumamba info` prints them)."""
        return json.loads(self._native.config_json)

    @property
    def preprocessing(self) -> dict:
        """The checkpoint's preprocessing (`lumamba.preprocess`); {} when it stores none."""
        return json.loads(self._native.preprocess_json)

    def windows(self, data, ch_names: Sequence[str], sfreq: float, positions=None, *, unit: str = "uV",
                annotations: Optional[Iterable[Tuple[float, float, str]]] = None, preset: Optional[str] = None,
                name: str = "array", **overrides: Any) -> Windows:
        """The recording cut into windows as this checkpoint's preprocessing says.

        data: (C, T) array in `unit` (MNE's get_data() is in volts: unit="V"); ch_names: C labels as a
        file would write them ("EEG Fp1-REF", "Fc5.", "E23"); positions: optional (C, 3) metres in
        MNE's head frame (a NaN row: that channel's position comes from the preset's table);
        preset: a preset name or YAML file, for checkpoints without stored preprocessing;
        overrides: preset keys, e.g. window_hop_s=0.5.
        """
        return self._native.windows(np.asarray(data, dtype=np.float64), list(ch_names), float(sfreq),
                                    None if positions is None else np.asarray(positions, dtype=np.float64), unit,
                                    None if annotations is None else list(annotations), name, preset or "",
                                    _overrides(overrides))

    def _windows_of(self, data, ch_names, sfreq, positions, kwargs) -> Windows:
        if isinstance(data, Windows):
            return data
        if ch_names is None or sfreq is None:
            raise ValueError("an array needs ch_names and sfreq (or pass the Windows of Model.windows)")
        return self.windows(data, ch_names, sfreq, positions, **kwargs)

    def embed(self, data, ch_names: Optional[Sequence[str]] = None, sfreq: Optional[float] = None, positions=None, *,
              batch_size: int = 64, **kwargs: Any) -> np.ndarray:
        """(windows, Q*E) float32: the encoder output of each window, averaged over its patches,
        as `lumamba embed` writes it. `data`: a (C, T) array (keywords as in `windows`) or Windows."""
        return self._native.embed(self._windows_of(data, ch_names, sfreq, positions, kwargs), batch_size)

    def predict_proba(self, data, ch_names: Optional[Sequence[str]] = None, sfreq: Optional[float] = None,
                      positions=None, *, batch_size: int = 64, **kwargs: Any) -> np.ndarray:
        """(windows, classes) float64 class probabilities, as `lumamba predict` writes them
        (window start times: `windows(...).window_start_s`). `data`: a (C, T) array or Windows."""
        return self._native.predict_proba(self._windows_of(data, ch_names, sfreq, positions, kwargs), batch_size)

    def forward(self, signal, locations=None, ch_names: Optional[Sequence[str]] = None, mask=None, *,
                zscore: bool = False) -> dict:
        """The network on raw model inputs, like `lumamba forward`: signal (B, C, T) float32 (T a
        multiple of the patch size); locations (C, 3) or (B, C, 3) metres, or None to look `ch_names`
        up in the 10-05 table; mask (B, C, T) of 0/1 (masked reconstruction). Returns float32 arrays
        "embedding" (B, S, Q*E), "embedding_mean" (B, Q*E), "attention_weights" (B*S, Q, C) and
        "logits" (B, K) or "reconstruction" (B, C, T)."""
        return self._native.forward(np.asarray(signal, dtype=np.float32),
                                    None if locations is None else np.asarray(locations, dtype=np.float32),
                                    list(ch_names or []), None if mask is None else np.asarray(mask, dtype=np.uint8),
                                    zscore)

    def __repr__(self) -> str:
        kind = f"{self.n_classes}-class classifier" if self.is_classifier else "encoder (pretraining checkpoint)"
        return f"<lumamba.Model {kind}, embedding {self.embedding_dim}, from {self.source}>"


def load(path_or_name: str, *more_weights: str, config: Optional[str] = None, **overrides: Any) -> Model:
    """A checkpoint (lumamba safetensors with its config in the metadata) or a shipped model by name
    ("lumamba-tiny-eegmmidb"; folders in $LUMAMBA_MODELS are searched first). More files override
    tensors of the first (e.g. a head); `config` for weights without lumamba.config; overrides are
    model options key=value."""
    kv = [f"{k}={v}" for k, v in overrides.items()]
    return Model(_lumamba.NativeModel.load([path_or_name, *more_weights], config or "", kv))


def preprocess(data, ch_names: Sequence[str], sfreq: float, preset: str = "tuab", *, positions=None,
               unit: str = "uV", annotations: Optional[Iterable[Tuple[float, float, str]]] = None,
               name: str = "array", **overrides: Any) -> Windows:
    """Windows of a (C, T) recording by a preset (tuab, tuar, tusl, tueg, generic, events, or a YAML
    file) with preset overrides (e.g. window_hop_s=2.5), exactly as `lumamba preprocess` cuts a file.
    Labels come only from `annotations` with event-locked presets."""
    return _lumamba.preprocess(np.asarray(data, dtype=np.float64), list(ch_names), float(sfreq),
                               None if positions is None else np.asarray(positions, dtype=np.float64), unit,
                               None if annotations is None else list(annotations), name, preset,
                               _overrides(overrides))


def read_edf(path: str) -> Tuple[np.ndarray, dict]:
    """(data, info) of an EDF/EDF+/BDF, BrainVision .vhdr or EEGLAB .set file, read by lumamba's own
    readers: data (C, T) float64 in µV (non-voltage channels in their own unit); info has ch_names,
    sfreq, units, positions (C, 3, NaN where the file has none), annotations [(onset_s, duration_s,
    text)], start_datetime, format and path. All channels must share one sampling rate."""
    return _lumamba.read_recording(str(path))


def detect_events(window_start_s, window_s: float, probabilities, class_names: Sequence[str] = (), *,
                  multilabel: bool = False, threshold: float = 0.5, smoothing_windows: int = 1,
                  min_duration_s: float = 0.0, merge_gap_s: float = 0.0,
                  classes: Optional[Sequence[int]] = None) -> list:
    """Events from window probabilities, the rule of `lumamba predict --events`: list of dicts with
    onset_s, duration_s, label, class_index, mean_probability, max_probability, n_windows, text."""
    return _lumamba.detect_events(np.asarray(window_start_s, dtype=np.float64), float(window_s),
                                  np.asarray(probabilities, dtype=np.float64), list(class_names), multilabel,
                                  threshold, smoothing_windows, min_duration_s, merge_gap_s, list(classes or []))


# lumamba.mne imports MNE only when called, so it is always there.
from . import mne  # noqa: E402,F401
