#!/bin/sh
# Seconds of EEG embedded per second of wall time and peak resident memory of `lumamba embed` on
# synthetic TUH-style recordings of 1, 10 and 60 minutes, windowed (5 s windows) and whole-recording
# mode. The model is the golden LuMamba-Tiny (random weights: speed does not depend on them).
# usage: tools/long_recording/embed_speed.sh BUILD_DIR WORK_DIR [THREADS=1] [MINUTES="1 10 60"]
# Prints a markdown table. Unsets OPENBLAS_CORETYPE for the run (benchmark only).
set -eu
build=$1 work=$2 threads=${3:-1} minutes=${4:-"1 10 60"}
mkdir -p "$work"
echo "| minutes | mode | wall s | s of EEG per s | peak RSS MiB |"
echo "|---:|---|---:|---:|---:|"
for m in $minutes; do
  edf="$work/tuh_${m}min.edf"
  [ -f "$edf" ] || /usr/bin/python3 "$(dirname "$0")/write_tuh_edf.py" "$edf" "$m"
  for mode in windows whole; do
    flag=""; [ "$mode" = whole ] && flag="--whole-recording"
    env -u OPENBLAS_CORETYPE /usr/bin/time -f "%e %M" -o "$work/time.txt" \
      "$build/lumamba" embed "$edf" --weights tests/fixtures/golden/weights.safetensors \
      --config tests/fixtures/golden/config.json --preset tuab labels=none $flag --threads "$threads" \
      --output "$work/emb_${m}_${mode}.safetensors" 2> "$work/log_${m}_${mode}.txt"
    read -r wall kib < "$work/time.txt"
    awk -v m="$m" -v mode="$mode" -v w="$wall" -v k="$kib" \
      'BEGIN { printf "| %s | %s | %.1f | %.0f | %.0f |\n", m, mode, w, m * 60 / w, k / 1024 }'
  done
done
