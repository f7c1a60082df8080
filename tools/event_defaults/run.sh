#!/usr/bin/env bash
# Chooses `lumamba predict --events` defaults on data (docs/report.md, "Event defaults"): rest vs
# executed fist movement on PhysioNet eegmmidb (R03, R07, R11; T1/T2 = movement, T0 = rest).
#   1. preprocess the event-locked windows of the subjects that have executed-movement runs (events
#      preset), split by subject: 13 train, 2 val, the last 10 test;
#   2. fine-tune LuMamba-Tiny from the shipped encoder (1,000 steps, lr 3e-4, layer decay 0.75);
#   3. predict overlapping 3.75 s windows every 0.5 s on the runs of 5 tuning and 5 held-out test
#      subjects, with lumamba's events at its defaults and at the chosen settings;
#   4. choose.py picks threshold/smoothing/merge gap/minimum duration on the tuning subjects by event F1
#      and scores lumamba's own events.tsv of the held-out subjects.
# Usage: tools/event_defaults/run.sh BIN DATA_DIR OUT_DIR   (DATA_DIR holds S002/S002R03.edf ...)
set -euo pipefail
bin=$1 data=$2 out=$3
mkdir -p "$out"
manifest="$out/manifest.csv"
# The subjects with executed-movement runs (25 of the public set here), in order: 13 train, 2 val,
# 5 tuning, 5 held out (the last 10 are the classifier's test split too).
mapfile -t subjects < <(cd "$data" && ls -d S*/ | tr -d / | while read -r sub; do
  [[ -f "$data/$sub/${sub}R03.edf" ]] && echo "$sub"; done)
(( ${#subjects[@]} >= 20 )) || { echo "need >= 20 subjects with R03/R07/R11 in $data" >&2; exit 1; }
echo "file,label,subject,split" > "$manifest"
n=${#subjects[@]}
tune=("${subjects[@]:n-10:5}") heldout=("${subjects[@]:n-5:5}")
for i in "${!subjects[@]}"; do
  sub=${subjects[$i]}
  if (( i < n - 12 )); then split=train; elif (( i < n - 10 )); then split=val; else split=test; fi
  for r in R03 R07 R11; do
    [[ -f "$data/$sub/$sub$r.edf" ]] && echo "$data/$sub/$sub$r.edf,,$sub,$split" >> "$manifest"
  done
done
[[ -f "$out/windows.h5" ]] || "$bin" preprocess --preset events --data "$manifest" --output "$out/windows.h5" \
  --jobs 2 > "$out/preprocess.json"
[[ -f "$out/finetune/test_metrics.json" ]] || "$bin" finetune --threads 2 \
  --config configs/finetune/eegmmidb_movement.yaml data="$out/windows.h5" out="$out/finetune" \
  init=lumamba-tiny-eegmmidb train.max_steps=1000 train.epochs=30 optimizer.lr=3e-4 optimizer.layer_decay=0.75 \
  train.class_weights=balanced $([[ -f "$out/finetune/checkpoints/training_state.pt" ]] && echo --resume) \
  > "$out/finetune.json"
ckpt="$out/finetune/checkpoints/best.safetensors"
for name in tune heldout; do
  mkdir -p "$out/$name"
  declare -n group=$name
  for sub in "${group[@]}"; do
    for r in R03 R07 R11; do if [[ -f "$data/$sub/$sub$r.edf" ]]; then cp -n "$data/$sub/$sub$r.edf" "$out/$name/"; fi; done
  done
  [[ -f "$out/predict_$name/predictions.json" ]] || "$bin" predict "$out/$name" --weights "$ckpt" --threads 2 \
    --output "$out/predict_$name" --events labels=none window_hop_s=0.5
done
/usr/bin/python3 tools/event_defaults/choose.py choose "$out"
# The chosen settings, applied by lumamba itself on the held-out subjects; both scored from events.csv.
read -r threshold smoothing gap min_duration < <(/usr/bin/python3 -c "import json,sys; c=json.load(open('$out/chosen.json'))['chosen']; \
  print(c['threshold'], c['smoothing_windows'], c['merge_gap_s'], c['min_duration_s'])")
[[ -f "$out/predict_heldout_chosen/predictions.json" ]] || "$bin" predict "$out/heldout" --weights "$ckpt" --threads 2 \
  --output "$out/predict_heldout_chosen" --events --event-threshold "$threshold" --event-smoothing "$smoothing" \
  --event-merge-gap "$gap" --event-min-duration "$min_duration" labels=none window_hop_s=0.5
echo "held out, lumamba's defaults:"
/usr/bin/python3 tools/event_defaults/choose.py score "$out/predict_heldout"
echo "held out, chosen settings:"
/usr/bin/python3 tools/event_defaults/choose.py score "$out/predict_heldout_chosen"
