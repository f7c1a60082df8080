#!/usr/bin/env bash
# Chooses `lumamba predict --events` defaults on data (docs/report.md, "Event defaults"): detecting
# eyes-closed periods in continuous EEG, from the eyes-open (R01) and eyes-closed (R02) 60 s baselines
# of PhysioNet eegmmidb (ODC-By 1.0).
#
# Only the subjects with both R01 and R02 in DATA_DIR take part (3 in the public mirror,
# ../shared/data/eegmmidb_public: S003, S015, S042; all in the project's training range S001-S079, so
# its subject splits cannot be used). Everything is therefore leave-one-subject-out:
#   1. classifier, per held-out subject S (OUT/fold_S/): the R01 (label 0 eyes_open) and R02 (label 1
#      eyes_closed) runs of the other subjects train, S's are the test split (no val split: 15 % of the
#      training windows validate, with lumamba's warning). generic preset with the events preset's 31
#      10-10 channels, 60 Hz notch, 2.5 s windows every 0.5 s. Fine-tune LuMamba-Tiny from the shipped
#      encoder (STEPS=250 steps, lr 3e-4, layer decay 0.75, balanced class weights) and the band-power +
#      logistic-regression baseline on the same windows; choose.py classify pools their test windows
#      (OUT/classifier.json);
#   2. splice.py: 6 continuous recordings per subject (OUT/recordings/S/), alternating eyes-open (8-20 s)
#      and eyes-closed (4-12 s) segments of its runs, BrainVision at 160 Hz, truth in *.truth.json;
#   3. lumamba predict (2.5 s windows every 0.5 s, its default events) on each subject's recordings with
#      the model of the fold that held that subject out (OUT/predict/S/);
#   4. per held-out subject S (OUT/detect_S/): choose.py picks threshold/smoothing/merge gap/minimum
#      duration on the other subjects' predictions by one-to-one event F1 (IoU >= 0.3), lumamba predict
#      applies them to S's recordings, and choose.py scores lumamba's own events.csv at its defaults and
#      at the chosen settings, checking its numpy copy of the rule against both; choose.py summary pools
#      the held-out folds (OUT/summary.json); OUT/chosen_all.json is the choice on all subjects;
#   5. choose.py calibration (OUT/calibration.json): each subject's probability levels, the best settings
#      on each subject alone, and the temporal settings chosen leave-one-subject-out at threshold 0.5.
# Steps whose outputs exist are skipped (the fine-tuning resumes). Wall times: OUT/timings.tsv.
# Usage: tools/event_defaults/run.sh BIN DATA_DIR OUT_DIR   (DATA_DIR holds S003/S003R01.edf ...)
set -euo pipefail
bin=$(realpath "$1") data=$(realpath "$2") out=$(realpath -m "$3")
steps=${STEPS:-250}
window_s=2.5
export WINDOW_S=$window_s  # read by choose.py
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3        # with mne, numpy, scipy, scikit-learn
cd "$here/../.."           # configs/ and models/ are found from the repository root
mkdir -p "$out"
timed() {  # timed NAME COMMAND...: runs it, appends NAME and its wall time to OUT/timings.tsv
  local name=$1 t0; shift; t0=$(date +%s.%N)
  "$@"
  printf '%s\t%.1f\n' "$name" "$(echo "$(date +%s.%N) - $t0" | bc)" >> "$out/timings.tsv"
}
mapfile -t subjects < <(cd "$data" && for d in S*/; do sub=${d%/};
  if [[ -f $sub/${sub}R01.edf && -f $sub/${sub}R02.edf ]]; then echo "$sub"; fi; done)
(( ${#subjects[@]} >= 3 )) || { echo "need >= 3 subjects with R01 and R02 in $data" >&2; exit 1; }
echo "subjects with eyes-open and eyes-closed runs: ${subjects[*]}"
channels='[FP1, FPZ, FP2, AF3, AF4, F7, F3, FZ, F4, F8, FC5, FC1, FC2, FC6, T7, C3, CZ, C4, T8, CP5, CP1, CP2, CP6, P7, P3, PZ, P4, P8, O1, OZ, O2]'

timed splice "$py" "$here/splice.py" "$data" "$out/recordings" "${subjects[@]}" --variants 6 --seed 0

for sub in "${subjects[@]}"; do
  fold="$out/fold_$sub"
  mkdir -p "$fold"
  echo "file,label,subject,split" > "$fold/manifest.csv"
  for s in "${subjects[@]}"; do
    split=train; [[ $s == "$sub" ]] && split=test
    echo "$data/$s/${s}R01.edf,0,$s,$split" >> "$fold/manifest.csv"
    echo "$data/$s/${s}R02.edf,1,$s,$split" >> "$fold/manifest.csv"
  done
  [[ -f "$fold/windows.h5" ]] || timed "preprocess $sub" "$bin" preprocess --preset generic --data "$fold/manifest.csv" \
    --output "$fold/windows.h5" --jobs 2 --threads 2 "channels=$channels" notch_hz=60 window_s=$window_s \
    window_hop_s=0.5 > "$fold/preprocess.json" 2> "$fold/preprocess.log"
  [[ -f "$fold/baseline.json" ]] || timed "baseline $sub" "$bin" baseline --data "$fold/windows.h5" --class-weights balanced \
    --threads 2 --output "$fold/baseline.json" --predictions "$fold/baseline_predictions.csv" > /dev/null 2> "$fold/baseline.log"
  # class_names takes a comma list without brackets (FlatConfig::get_list; '[a, b]' would keep the brackets).
  [[ -f "$fold/finetune/test_metrics.json" ]] || timed "finetune $sub" "$bin" finetune --threads 2 \
    --config configs/finetune/eegmmidb_movement.yaml data="$fold/windows.h5" out="$fold/finetune" \
    init=lumamba-tiny-eegmmidb train.max_steps=$steps train.epochs=1000 optimizer.lr=3e-4 optimizer.layer_decay=0.75 \
    train.class_weights=balanced task=eyes_closed class_names=eyes_open,eyes_closed \
    "description=eyes open (R01) vs eyes closed (R02) of eegmmidb; held-out subject $sub" \
    $([[ -f "$fold/finetune/checkpoints/training_state.pt" ]] && echo --resume) \
    > "$fold/finetune.json" 2> "$fold/finetune.log"
  [[ -f "$out/predict/$sub/predictions.json" ]] || timed "predict $sub" "$bin" predict "$out/recordings/$sub" \
    --weights "$fold/finetune/checkpoints/best.safetensors" --threads 2 --output "$out/predict/$sub" --events \
    labels=none window_hop_s=0.5 > "$out/predict_$sub.log" 2>&1
done
"$py" "$here/choose.py" classify "$out" "${subjects[@]}" > /dev/null

for sub in "${subjects[@]}"; do
  det="$out/detect_$sub"
  mapfile -t others < <(printf '%s\n' "${subjects[@]}" | grep -vx "$sub")
  [[ -f "$det/chosen.json" ]] || timed "choose $sub" "$py" "$here/choose.py" choose "$out" "$det/chosen.json" "${others[@]}" \
    > /dev/null
  read -r threshold smoothing gap min_duration < <("$py" -c "import json,sys; c=json.load(open(sys.argv[1]))['chosen']; \
    print(c['threshold'], c['smoothing_windows'], c['merge_gap_s'], c['min_duration_s'])" "$det/chosen.json")
  [[ -f "$det/predict_chosen/predictions.json" ]] || timed "predict chosen $sub" "$bin" predict "$out/recordings/$sub" \
    --weights "$out/fold_$sub/finetune/checkpoints/best.safetensors" --threads 2 --output "$det/predict_chosen" \
    --events --event-threshold "$threshold" --event-smoothing "$smoothing" --event-merge-gap "$gap" \
    --event-min-duration "$min_duration" labels=none window_hop_s=0.5 > "$det/predict_chosen.log" 2>&1
  "$py" "$here/choose.py" score "$out" "$det" "$sub" > /dev/null
done
echo "classifier (test windows of each held-out subject, pooled):"
"$py" -c "import json,sys; d=json.load(open(sys.argv[1]))['pooled']; print(json.dumps(d, indent=1))" "$out/classifier.json"
echo "held-out detection, lumamba's defaults vs the settings chosen without the subject:"
"$py" "$here/choose.py" summary "$out" "${subjects[@]}"
echo "probability levels per subject; temporal settings chosen with the threshold held at 0.5:"
"$py" "$here/choose.py" calibration "$out" "${subjects[@]}"
[[ -f "$out/chosen_all.json" ]] || "$py" "$here/choose.py" choose "$out" "$out/chosen_all.json" "${subjects[@]}" > /dev/null
echo "settings chosen on all subjects: $("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['chosen'])" "$out/chosen_all.json")"
