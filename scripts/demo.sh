#!/usr/bin/env bash
# `make demo`: the main job end to end on bundled real EEG (PhysioNet eegmmidb, subject S001):
#   rest (T0) vs movement (T1/T2) on the real-movement runs, event-locked 3.75 s windows;
#   train on runs R03, R05, R07, R09 and test on R11, R13 (no run on both sides).
#  1. lumamba info        — LuMamba-Tiny sizes, parameters, MACs, BLAS, threads
#  2. lumamba preprocess  — 6 EDF+ recordings -> HDF5 windows (events preset, split by run in a manifest)
#  3. lumamba baseline    — log band powers per channel + logistic regression (the bar to beat)
#  4. lumamba finetune    — LuMamba-Tiny (Mamba head) from scratch, early stopping, test metrics
#  5. lumamba evaluate    — the best checkpoint on the test runs: metrics JSON + per-window CSV
#  6. lumamba predict     — a held-out EDF recording -> per-window probabilities + recording decision
#  7. lumamba embed       — the same recording -> (N, 384) window embeddings (safetensors)
#  8. lumamba embed --whole-recording — the same recording as ONE sequence -> (1, S, 384)
# Takes a few minutes on 2 cores (fine-tuning is most of it). DEMO_EPOCHS=N changes the epochs.
set -euo pipefail
build=${1:-build}
out=${2:-$build/demo}
epochs=${DEMO_EPOCHS:-15}
bin="$build/lumamba"
data=data/eegmmidb_S001
mkdir -p "$out"

echo "== 1. lumamba info (LuMamba-Tiny with the Mamba classification head, 31 channels x 3.75 s)"
"$bin" info num_classes=2 classifier_option=mamba --channels 31 --window-s 3.75

echo
echo "== 2. lumamba preprocess: $data/movement.csv (R03 R05 R07 R09 train, R11 R13 test) -> $out/movement.h5"
rm -rf "$out/movement.h5" "$out/movement.h5.parts"
"$bin" preprocess --preset events --input "$data/movement.csv" --output "$out/movement.h5" > "$out/preprocess.json"

echo
echo "== 3. lumamba baseline: band powers + logistic regression, train runs -> test runs"
"$bin" baseline --data "$out/movement.h5" --output "$out/baseline.json" > /dev/null

echo
echo "== 4. lumamba finetune: LuMamba-Tiny from scratch, $epochs epochs at most (configs/finetune/eegmmidb_movement.yaml)"
rm -rf "$out/finetune"
"$bin" finetune --config configs/finetune/eegmmidb_movement.yaml data="$out/movement.h5" out="$out/finetune" \
  train.epochs="$epochs" > "$out/finetune.json"

echo
echo "== 5. lumamba evaluate: best checkpoint on the test runs"
"$bin" evaluate --weights "$out/finetune/checkpoints/best.safetensors" --data "$out/movement.h5" --split test \
  --output "$out/evaluate" > /dev/null

echo
echo "== 6. lumamba predict: held-out recording S001R13.edf"
"$bin" predict "$data/S001R13.edf" --weights "$out/finetune/checkpoints/best.safetensors" --output "$out/predict"

echo
echo "== 7. lumamba embed: S001R13.edf -> $out/embed_R13.safetensors"
"$bin" embed "$data/S001R13.edf" --weights "$out/finetune/checkpoints/best.safetensors" \
  --output "$out/embed_R13.safetensors"

echo
echo "== 8. lumamba embed --whole-recording: S001R13.edf as one sequence -> $out/embed_R13_whole.safetensors"
"$bin" embed "$data/S001R13.edf" --weights "$out/finetune/checkpoints/best.safetensors" --whole-recording \
  --output "$out/embed_R13_whole.safetensors"

echo "outputs in $out/: movement.h5, baseline.json, finetune/ (checkpoints, metrics.jsonl, test_metrics.json),"
echo "evaluate/ (metrics.json, predictions.csv), predict/ (predictions.csv, recordings.csv, predictions.json), embed_R13{,_whole}.safetensors"
