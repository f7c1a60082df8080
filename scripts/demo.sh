#!/usr/bin/env bash
# `make demo`: the main job end to end on bundled real EEG (PhysioNet eegmmidb, subject S001):
#   rest (T0) vs movement (T1/T2) on the real-movement runs, event-locked 3.75 s windows;
#   train on runs R03, R05, R07, R09 and test on R11, R13 (no run on both sides).
#  1. lumamba info        — the shipped pretrained encoder: provenance, pretraining, preprocessing
#  2. lumamba preprocess  — 6 EDF+ recordings -> HDF5 windows (events preset, split by run in a manifest)
#  3. lumamba baseline    — log band powers per channel + logistic regression (the bar to beat)
#  4. lumamba finetune    — LuMamba-Tiny from scratch (the control)
#  5. lumamba finetune    — the same from the shipped pretrained encoder (models/lumamba-tiny-eegmmidb)
#  6. lumamba evaluate    — both best checkpoints on the test runs: metrics JSON + per-window CSV
#  7. lumamba predict     — a held-out EDF recording -> per-window probabilities + recording decision
#  8. lumamba embed       — the same recording -> (N, 384) window embeddings (safetensors)
#  9. lumamba embed --whole-recording — the same recording as ONE sequence -> (1, S, 384)
# 10. the three models side by side on the test runs
# Takes a few minutes on 2 cores (fine-tuning is most of it). DEMO_EPOCHS=N changes the epochs.
set -euo pipefail
build=${1:-build}
out=${2:-$build/demo}
epochs=${DEMO_EPOCHS:-15}
bin="$build/lumamba"
data=data/eegmmidb_S001
mkdir -p "$out"

pretrained=lumamba-tiny-eegmmidb
echo "== 1. lumamba info: the shipped pretrained encoder $pretrained (models/README.md)"
"$bin" info --weights "$pretrained"

echo
echo "== 2. lumamba preprocess: $data/movement.csv (R03 R05 R07 R09 train, R11 R13 test) -> $out/movement.h5"
rm -rf "$out/movement.h5" "$out/movement.h5.parts"
"$bin" preprocess --preset events --data "$data/movement.csv" --output "$out/movement.h5" > "$out/preprocess.json"

echo
echo "== 3. lumamba baseline: band powers + logistic regression, train runs -> test runs"
"$bin" baseline --data "$out/movement.h5" --output "$out/baseline.json" 2>&1 > /dev/null | tee "$out/baseline.log"

echo
# Both fine-tunings use the same recipe (the cross-subject suite's lr 3e-4, docs/results.md); only the
# starting weights differ.
recipe=(train.epochs="$epochs" optimizer.lr=3.0e-4)
echo "== 4. lumamba finetune: LuMamba-Tiny from scratch, $epochs epochs (configs/finetune/eegmmidb_movement.yaml)"
rm -rf "$out/finetune_scratch"
"$bin" finetune --config configs/finetune/eegmmidb_movement.yaml data="$out/movement.h5" out="$out/finetune_scratch" \
  "${recipe[@]}" > "$out/finetune_scratch.json"

echo
echo "== 5. lumamba finetune: the same from the pretrained encoder (init=$pretrained)"
rm -rf "$out/finetune"
"$bin" finetune --config configs/finetune/eegmmidb_movement.yaml data="$out/movement.h5" out="$out/finetune" \
  init="$pretrained" "${recipe[@]}" > "$out/finetune.json"

echo
echo "== 6. lumamba evaluate: both best checkpoints on the test runs"
"$bin" evaluate --weights "$out/finetune_scratch/checkpoints/best.safetensors" --data "$out/movement.h5" \
  --split test --output "$out/evaluate_scratch" 2>&1 > /dev/null | tee "$out/evaluate_scratch.log"
"$bin" evaluate --weights "$out/finetune/checkpoints/best.safetensors" --data "$out/movement.h5" --split test \
  --output "$out/evaluate" 2>&1 > /dev/null | tee "$out/evaluate.log"

echo
echo "== 7. lumamba predict: held-out recording S001R13.edf"
"$bin" predict "$data/S001R13.edf" --weights "$out/finetune/checkpoints/best.safetensors" --output "$out/predict" \
  --events

echo
echo "== 8. lumamba embed: S001R13.edf -> $out/embed_R13.safetensors"
"$bin" embed "$data/S001R13.edf" --weights "$out/finetune/checkpoints/best.safetensors" \
  --output "$out/embed_R13.safetensors"

echo
echo "== 9. lumamba embed --whole-recording: S001R13.edf as one sequence -> $out/embed_R13_whole.safetensors"
"$bin" embed "$data/S001R13.edf" --weights "$out/finetune/checkpoints/best.safetensors" --whole-recording \
  --output "$out/embed_R13_whole.safetensors"

echo
echo "== 10. test runs R11 + R13, window level (README.md, \"Demo\", has the measured numbers)"
summary() { grep -o '[0-9]* windows: balanced accuracy.*' "$1" | head -1; }
printf '%-48s %s\n' "band powers + logistic regression:" "$(summary "$out/baseline.log")"
printf '%-48s %s\n' "LuMamba-Tiny from scratch:" "$(summary "$out/evaluate_scratch.log")"
printf '%-48s %s\n' "LuMamba-Tiny from $pretrained:" "$(summary "$out/evaluate.log")"
echo
echo "outputs in $out/: movement.h5, baseline.json, finetune{,_scratch}/ (checkpoints, metrics.jsonl, test_metrics.json),"
echo "evaluate{,_scratch}/ (metrics.json, predictions.csv), predict/ (predictions.csv, recordings.csv, predictions.json),"
echo "embed_R13{,_whole}.safetensors"
echo
echo "== 11. lumamba report: one HTML page per run (opens from the file, no network)"
"$bin" report "$out/finetune" --baseline "$out/baseline.json" > /dev/null
"$bin" report "$out/predict" > /dev/null
echo "fine-tuning: $out/finetune/report.html"
echo "prediction and events: $out/predict/report.html (events: $out/predict/events/, EDF+ and BIDS tsv)"
