#!/usr/bin/env bash
# `make demo`: what the toolkit can do today, on bundled data.
#  1. `lumamba info`   — LuMamba-Tiny sizes, parameters per module, MACs per 5 s window, BLAS, threads
#  2. `lumamba forward` — the pretraining model (encoder + reconstruction decoder) on the golden
#     22-channel TCP case, then the classifier on raw µV with channel names only (--zscore),
#     checked against the PyTorch reference's numbers.
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
echo "outputs in $out/ (safetensors: embedding, embedding_mean, attention_weights, logits|reconstruction)"
