#!/bin/sh
# One run of every figure in docs/performance.md's "one run" section: `lumamba bench scan` at
# L = 32, 256, 1024 (fused vs loop) and 4096 (fused only: the loop's backward alone takes ~45 min
# there), `lumamba bench model` at batch 64 (inference + stage profile), 1 (inference), 32 (training
# step + peak RSS) and batch 1 at L = 4096 patches (training step + peak RSS), each at 1 and 2
# threads, in sequence. One JSON file per command in OUT_DIR; tools/performance/tables.py turns them
# into the markdown tables. Unsets OPENBLAS_CORETYPE for the run only (benchmark, not tests).
# usage: tools/performance/run.sh BUILD_DIR OUT_DIR [THREADS="1 2"]
set -eu
build=$1 out=$2 threads=${3:-"1 2"}
mkdir -p "$out"
run() {  # name, then the lumamba arguments
  name=$1; shift
  echo "[$(date +%T)] $name: lumamba $*" >&2
  env -u OPENBLAS_CORETYPE "$build/lumamba" "$@" --json > "$out/$name.json.tmp" 2> "$out/$name.log"
  mv "$out/$name.json.tmp" "$out/$name.json"
}
lscpu > "$out/lscpu.txt"
env -u OPENBLAS_CORETYPE "$build/lumamba" info > "$out/info.txt" 2>&1 || true
for t in $threads; do
  run "scan_L32_t$t"   bench scan --seq-len 32   --batch 8 --threads "$t" --repetitions 21 --loop-repetitions 7
  run "scan_L256_t$t"  bench scan --seq-len 256  --batch 8 --threads "$t" --repetitions 12 --loop-repetitions 3
  run "scan_L1024_t$t" bench scan --seq-len 1024 --batch 8 --threads "$t" --repetitions 6 --loop-repetitions 1
  run "scan_L4096_t$t" bench scan --seq-len 4096 --batch 8 --threads "$t" --repetitions 3 --no-loop
  run "model_B64_t$t"  bench model --batch 64 --threads "$t" --no-train --profile --repetitions 7
  run "model_B1_t$t"   bench model --batch 1  --threads "$t" --no-train --repetitions 15
  run "model_B32_t$t"  bench model --batch 32 --threads "$t" --repetitions 3 --train-repetitions 3
  run "model_L4096_t$t" bench model --batch 1 --seq-len 163840 --threads "$t" --repetitions 2 --train-repetitions 2
done
echo "[$(date +%T)] done: $out" >&2
