# Type stub of the native module (python/lumamba_module.cpp). The public API is lumamba/__init__.py.
from typing import Any, Iterable, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

__version__: str

class LumambaError(RuntimeError): ...

def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...

class Windows:
    @property
    def signal(self) -> npt.NDArray[np.float32]: ...  # (N, C, T) µV
    @property
    def window_start_s(self) -> npt.NDArray[np.float64]: ...  # (N,)
    @property
    def labels(self) -> npt.NDArray[np.int64]: ...  # (N,), -1 = none (labelled only by event-locked presets)
    @property
    def channel_names(self) -> list[str]: ...
    @property
    def channel_locations(self) -> npt.NDArray[np.float64]: ...  # (C, 3) metres
    @property
    def sfreq(self) -> float: ...
    def __len__(self) -> int: ...

def preprocess(data: npt.NDArray[np.float64], ch_names: list[str], sfreq: float,
               positions: Optional[npt.NDArray[np.float64]], unit: str,
               annotations: Optional[list[Tuple[float, float, str]]], name: str, preset: str,
               overrides: dict[str, Any]) -> Windows: ...
def read_recording(path: str) -> Tuple[npt.NDArray[np.float64], dict[str, Any]]: ...
def detect_events(window_start_s: npt.NDArray[np.float64], window_s: float, probabilities: npt.NDArray[np.float64],
                  class_names: list[str], multilabel: bool, threshold: float, smoothing_windows: int,
                  min_duration_s: float, merge_gap_s: float, classes: list[int]) -> list[dict[str, Any]]: ...

class NativeModel:
    @staticmethod
    def load(weights: list[str], config: str, overrides: list[str]) -> NativeModel: ...
    source: str
    is_classifier: bool
    n_classes: int
    class_names: list[str]
    task_json: str
    config_json: str
    preprocess_json: str
    embedding_dim: int
    patch_size: int
    def windows(self, data: npt.NDArray[np.float64], ch_names: list[str], sfreq: float,
                positions: Optional[npt.NDArray[np.float64]], unit: str,
                annotations: Optional[list[Tuple[float, float, str]]], name: str, preset: str,
                overrides: dict[str, Any]) -> Windows: ...
    def embed(self, windows: Windows, batch_size: int) -> npt.NDArray[np.float32]: ...
    def predict_proba(self, windows: Windows, batch_size: int) -> npt.NDArray[np.float64]: ...
    def forward(self, signal: npt.NDArray[np.float32], locations: Optional[npt.NDArray[np.float32]],
                ch_names: list[str], mask: Optional[npt.NDArray[np.uint8]], zscore: bool) -> dict[str, npt.NDArray[np.float32]]: ...
