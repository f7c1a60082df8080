"""The Python module against the command line on the same files (docs/python.md): embeddings,
probabilities and events equal `lumamba embed` / `lumamba predict`, windows equal the HDF5 that
`lumamba preprocess` writes (read back with h5dump), the MNE Raw path equals the array path, forward
equals `lumamba forward` and the reference's golden reconstruction. Run by ctest (python.module)
with PYTHONPATH=build/python, LUMAMBA_CLI and LUMAMBA_SOURCE_DIR set."""
import csv
import json
import os
import pathlib
import struct
import subprocess
import threading

import numpy as np
import pytest

import lumamba
import lumamba.mne

CLI = os.environ["LUMAMBA_CLI"]
SOURCE = pathlib.Path(os.environ["LUMAMBA_SOURCE_DIR"])
EDF = SOURCE / "tests" / "fixtures" / "edf"
GOLDEN = SOURCE / "tests" / "fixtures" / "golden"
ENCODER = "lumamba-tiny-eegmmidb"


def cli(*args):
    done = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def read_safetensors(path):
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "U8": np.uint8, "BOOL": np.bool_}
    raw = pathlib.Path(path).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            out[name] = v
            continue
        a, b = v["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dtypes[v["dtype"]]).reshape(v["shape"])
    return out


def read_csv_matrix(path, first_value_column):
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:], np.array([[float(x) for x in r[first_value_column:]] for r in rows[1:]])


@pytest.fixture(scope="module")
def encoder():
    return lumamba.load(ENCODER)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A tiny classifier fine-tuned by the CLI (one epoch) on two runs of S001."""
    d = tmp_path_factory.mktemp("classifier")
    (d / "manifest.csv").write_text(f"file,label,subject,split\n{EDF / 'S001R01.edf'},0,S001,train\n"
                                    f"{EDF / 'S001R03.edf'},1,S001,train\n")
    cli("preprocess", "--preset", "generic", "--data", d / "manifest.csv", "--output", d / "w.h5")
    cli("finetune", "--threads", "1", "--config", SOURCE / "configs/finetune/generic.yaml", f"data={d / 'w.h5'}",
        f"val_data={d / 'w.h5'}", f"test_data={d / 'w.h5'}", "model.classifier_option=linear", "model.embed_dim=16",
        "model.num_queries=2", "model.num_blocks=1", "model.d_state=4", "train.epochs=1", "train.warmup_epochs=0",
        "train.batch_size=4", f"out={d / 'run'}")
    return d / "run" / "checkpoints" / "best.safetensors"


def test_read_edf_gives_microvolts_names_rate_and_annotations():
    data, info = lumamba.read_edf(EDF / "S001R03.edf")
    assert data.shape == (64, 20000) and data.dtype == np.float64
    assert info["sfreq"] == 160.0 and info["ch_names"][:3] == ["Fc5.", "Fc3.", "Fc1."]
    assert set(info["units"]) == {"uV"}
    assert [a[2] for a in info["annotations"][:3]] == ["T0", "T2", "T0"]
    # MNE reads the same file in volts.
    mne = pytest.importorskip("mne")
    raw = mne.io.read_raw_edf(EDF / "S001R03.edf", preload=True, verbose="error")
    np.testing.assert_allclose(data, raw.get_data() * 1e6, rtol=0, atol=1e-9)


def test_embed_equals_cli_embed(encoder, tmp_path):
    cli("embed", EDF / "S001R01.edf", "--weights", ENCODER, "--format", "csv", "--output", tmp_path / "e.csv")
    _, rows, expected = read_csv_matrix(tmp_path / "e.csv", 2)
    data, info = lumamba.read_edf(EDF / "S001R01.edf")
    got = encoder.embed(data, info["ch_names"], info["sfreq"])
    assert got.shape == expected.shape == (len(rows), encoder.embedding_dim) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-6)  # the CSV keeps 7 significant digits
    starts = encoder.windows(data, info["ch_names"], info["sfreq"]).window_start_s
    np.testing.assert_allclose(starts, [float(r[1]) for r in rows], atol=1e-4)


def test_windows_equal_cli_hdf5(tmp_path):
    h5dump = pytest.importorskip("shutil").which("h5dump")
    if h5dump is None:
        pytest.skip("h5dump (hdf5-tools) is missing: make deps installs it")
    cli("preprocess", "--preset", "generic", "--data", EDF / "S001R01.edf", "--output", tmp_path / "w.h5",
        "--layout", "single")
    got = {}
    for name in ("X", "window_start_s"):
        out = tmp_path / f"{name}.bin"
        subprocess.run([h5dump, "-d", f"/data_group_0/{name}", "-b", "LE", "-o", out, tmp_path / "w.h5"], check=True,
                       capture_output=True)
        got[name] = np.fromfile(out, dtype=np.float32 if name == "X" else np.float64)
    data, info = lumamba.read_edf(EDF / "S001R01.edf")
    w = lumamba.preprocess(data, info["ch_names"], info["sfreq"], preset="generic")
    assert w.signal.shape == (len(w), len(w.channel_names), w.signal.shape[2])
    np.testing.assert_array_equal(w.signal.ravel(), got["X"])
    np.testing.assert_array_equal(w.window_start_s, got["window_start_s"])


def test_predict_proba_and_events_equal_cli_predict(classifier, tmp_path):
    cli("predict", EDF / "S001R03.edf", "--weights", classifier, "--output", tmp_path / "p", "--events",
        "--event-threshold", "0.4")
    header, rows, values = read_csv_matrix(tmp_path / "p" / "predictions.csv", 4)
    model = lumamba.load(str(classifier))
    data, info = lumamba.read_edf(EDF / "S001R03.edf")
    p = model.predict_proba(data, info["ch_names"], info["sfreq"])
    assert p.shape == values.shape and model.is_classifier and model.n_classes == 2
    np.testing.assert_allclose(p, values, rtol=1e-5, atol=1e-6)  # the CSV keeps 6 significant digits
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)

    # The MNE path: same probabilities, and events as mne.Annotations equal to events.csv.
    mne = pytest.importorskip("mne")
    raw = mne.io.read_raw_edf(EDF / "S001R03.edf", preload=True, verbose="error")
    np.testing.assert_allclose(lumamba.mne.predict_proba(raw, model), p, rtol=1e-5, atol=1e-7)
    annotations = lumamba.mne.predict(raw, model, threshold=0.4)
    with open(tmp_path / "p" / "events.csv") as f:
        expected = list(csv.DictReader(f))
    assert isinstance(annotations, mne.Annotations) and len(annotations) == len(expected) >= 1
    np.testing.assert_allclose(annotations.onset, [float(e["onset_s"]) for e in expected], atol=1e-4)
    np.testing.assert_allclose(annotations.duration, [float(e["duration_s"]) for e in expected], atol=1e-4)
    assert [d.split(" p=")[0] for d in annotations.description] == [e["label"] for e in expected]


def test_mne_raw_path_equals_array_path(encoder):
    mne = pytest.importorskip("mne")
    raw = mne.io.read_raw_edf(EDF / "S001R01.edf", preload=True, verbose="error")
    from_raw = lumamba.mne.embed(raw, encoder)
    data, info = lumamba.read_edf(EDF / "S001R01.edf")
    np.testing.assert_allclose(from_raw, encoder.embed(data, info["ch_names"], info["sfreq"]), rtol=1e-5, atol=1e-6)
    # A montage on the Raw gives positions; those of standard_1005 are lumamba's table's, so the same.
    raw.rename_channels(lambda n: n.rstrip("."))
    raw.set_montage("standard_1005", match_case=False, on_missing="ignore")
    assert np.isfinite(raw.info["chs"][0]["loc"][:3]).all()
    with_positions = lumamba.mne.embed(raw, encoder)
    np.testing.assert_allclose(with_positions, from_raw, rtol=1e-4, atol=1e-5)


def test_forward_equals_cli_forward_and_reference(tmp_path):
    case = GOLDEN / "case_c16.safetensors"
    cli("forward", "--weights", GOLDEN / "weights.safetensors", "--config", GOLDEN / "config.json", "--input", case,
        "--output", tmp_path / "out.safetensors")
    expected = read_safetensors(tmp_path / "out.safetensors")
    inputs = read_safetensors(case)
    model = lumamba.load(str(GOLDEN / "weights.safetensors"), config=str(GOLDEN / "config.json"))
    names = inputs["__metadata__"]["channels"].split(",")
    got = model.forward(inputs["input"], inputs["channel_locations"], names, inputs["mask"])
    assert set(got) == {k for k in expected if k != "__metadata__"}
    for k in got:
        np.testing.assert_allclose(got[k], expected[k], rtol=1e-5, atol=1e-5, err_msg=k)
    # The reference's own classification path (no mask; tests/fixtures/golden/README.md).
    unmasked = model.forward(inputs["input"], inputs["channel_locations"], names)
    np.testing.assert_allclose(unmasked["logits"], inputs["cls.logits"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(unmasked["embedding"], inputs["cls.encoder_out"], rtol=1e-4, atol=1e-4)


def test_bad_input_is_a_value_error_with_lumamba_message(encoder):
    with pytest.raises(ValueError, match="2 rows .* 3 names"):
        encoder.embed(np.zeros((2, 1000)), ["C3", "C4", "Cz"], 256.0)
    with pytest.raises(ValueError, match="no_such.edf"):
        lumamba.read_edf("/no_such.edf")
    with pytest.raises(ValueError, match="no classifier"):
        data, info = lumamba.read_edf(EDF / "S001R01.edf")
        encoder.predict_proba(data, info["ch_names"], info["sfreq"])
    with pytest.raises(ValueError, match="not a voltage"):
        lumamba.preprocess(np.zeros((1, 10)), ["C3"], 100.0, unit="K")


def test_threads_and_gil_released_during_compute(encoder):
    lumamba.set_num_threads(1)
    assert lumamba.get_num_threads() == 1
    data, info = lumamba.read_edf(EDF / "S001R01.edf")
    w = encoder.windows(data, info["ch_names"], info["sfreq"])
    done = threading.Event()
    worker = threading.Thread(target=lambda: (encoder.embed(w), encoder.embed(w), done.set()))
    spins = 0
    worker.start()
    while not done.is_set():
        spins += 1
    worker.join()
    # With the GIL held for the whole computation this loop could hardly run at all.
    assert spins > 10000
