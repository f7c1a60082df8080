#!/usr/bin/python3
"""Copy a lumamba checkpoint into models/ with a `lumamba.provenance` entry in its safetensors metadata.

Usage: tools/models/stamp_provenance.py CHECKPOINT.safetensors PROVENANCE.json models/NAME.safetensors

The tensors and every other metadata entry are copied byte for byte; only the header gains the
provenance (a JSON string: data, licence and attribution, recipe, commit, metrics). safetensors data
offsets are relative to the end of the header, so a longer header moves nothing. Used when a model is
shipped (models/README.md); `lumamba info --weights NAME` prints the provenance back.
"""
import json
import pathlib
import struct
import sys


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    source, provenance_path, target = (pathlib.Path(a) for a in sys.argv[1:])
    raw = source.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_len])
    provenance = json.loads(provenance_path.read_text())
    header.setdefault("__metadata__", {})["lumamba.provenance"] = json.dumps(provenance, sort_keys=True)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned, as the writers do
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + header_len:])
    tmp.replace(target)
    print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
