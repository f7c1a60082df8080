#!/usr/bin/python3
"""MNE 1.3 reference positions for lumamba's electrode-position tables (lumamba/io/electrode_positions.h).

For every standard montage MNE ships and for each position file in tests/fixtures/montages/, writes the
positions a recording gets from `raw.set_montage(montage)`: MNE's head frame (x towards the right
pre-auricular point, y towards the nasion, z up), metres, i.e.

    transform_to_head(mne.channels.make_standard_montage(name)).get_positions()["ch_pos"]
    transform_to_head(mne.channels.read_custom_montage(path)).get_positions()["ch_pos"]

into tests/fixtures/montages/mne_head_positions.json.

One deliberate difference: MNE 1.3 parses theta/phi files (biosemi*.txt, easycap*.txt, custom .txt)
with integer angles, so the half-degree angles of biosemi128/160/256 (11.5, -57.5, 67.5 ...) become
whole degrees (truncated towards zero; up to 1.3 mm off). lumamba reads the angles as written; the
reference here is MNE's same code with the angles parsed as floats (`angles_as_written`), and the
size of MNE 1.3's truncation is recorded per montage in `mne_1_3_integer_angle_shift_m`. tests/io/test_electrode_positions.cpp compares
lumamba's own reading of the same files against it. Run with Debian's python3 (python3-mne 1.3):
    /usr/bin/python3 tools/mne_reference/montage_reference.py
"""
import json
import pathlib
import warnings

import mne
import numpy as np
from mne.channels import _standard_montage_utils as smu
from mne.channels.montage import transform_to_head

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "montages"
CUSTOM_FILES = ["cap.elc", "cap.sfp", "cap.csd", "cap.txt", "cap.bvef", "cap.csv", "cap.tsv"]


def head_positions(montage):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Fiducial point nasion not found, assuming identity ..."
        pos = transform_to_head(montage).get_positions()["ch_pos"]
    return {"names": list(pos), "head_m": [[float(v) for v in xyz] for xyz in pos.values()]}


class angles_as_written:
    """Within the block, MNE's theta/phi reader parses angles as floats instead of int32."""

    def __enter__(self):
        self.original = smu._safe_np_loadtxt

        def as_float(fname, **kwargs):
            kwargs["dtype"] = tuple("f8" if d == "i4" else d for d in kwargs["dtype"])
            return self.original(fname, **kwargs)

        smu._safe_np_loadtxt = as_float

    def __exit__(self, *exc):
        smu._safe_np_loadtxt = self.original


def main():
    out = {"mne_version": mne.__version__, "builtin": {}, "files": {}, "mne_1_3_integer_angle_shift_m": {}}
    for name in mne.channels.get_builtin_montages():
        truncated = head_positions(mne.channels.make_standard_montage(name))
        with angles_as_written():
            out["builtin"][name] = head_positions(mne.channels.make_standard_montage(name))
        shift = float(np.abs(np.array(truncated["head_m"]) - np.array(out["builtin"][name]["head_m"])).max())
        if shift > 0:
            out["mne_1_3_integer_angle_shift_m"][name] = shift
    for fname in CUSTOM_FILES:
        out["files"][fname] = head_positions(mne.channels.read_custom_montage(FIXTURES / fname))
    (FIXTURES / "mne_head_positions.json").write_text(json.dumps(out, indent=None) + "\n")
    print(f"{len(out['builtin'])} standard montages, {len(out['files'])} files -> mne_head_positions.json")


if __name__ == "__main__":
    main()
