#!/usr/bin/env bash
# `make demo`: what the toolkit can do today, on bundled data.
#  1. `lumamba info`   — LuMamba-Tiny sizes, parameters per module, MACs per 5 s window, BLAS, threads
#  2. `lumamba forward` — the pretraining model (encoder + reconstruction decoder) on the golden
#     22-channel TCP case, then the classifier (LUNA head) on a 16-channel unipolar case in float64
#     (the same numbers are checked against the PyTorch reference in tests/cli/test_cli.cpp).
#  3. `lumamba preprocess` — a real EEG recording (EDF+) to event-locked HDF5 windows (rest vs movement)
set -euo pipefail
build=${1:-build}
out=${2:-$build/demo}
golden=tests/data/golden
mkdir -p "$out"
bin="$build/lumamba"

echo "== lumamba info (LuMamba-Tiny, pretraining config, 22 channels x 5 s)"
"$bin" info --config "$golden/config.json" num_classes=0

echo
echo "== lumamba forward: reconstruction of a masked 22-channel TCP window (golden case_c22)"
"$bin" forward --weights "$golden/weights.safetensors" --config "$golden/config.json" \
  --input "$golden/case_c22.safetensors" --output "$out/c22_pretrain.safetensors" num_classes=0

echo
echo "== lumamba forward: classifier (LUNA head, 2 classes) on 16 unipolar channels, float64"
"$bin" forward --weights "$golden/weights.safetensors" --config "$golden/config.json" \
  --input "$golden/case_c16.safetensors" --output "$out/c16_cls.safetensors" --dtype float64

echo
echo "== lumamba preprocess: real EEG (PhysioNet eegmmidb S001, run 3, 64 ch @ 160 Hz) -> event-locked windows"
rm -rf "$out/s001r03_events.h5" "$out/s001r03_events.h5.parts"
"$bin" preprocess --preset events --input tests/data/edf/S001R03.edf --output "$out/s001r03_events.h5"

echo
echo "outputs in $out/: forward -> safetensors (embedding, embedding_mean, attention_weights, logits|reconstruction),"
echo "preprocess -> HDF5 windows (docs/datasets.md)"
