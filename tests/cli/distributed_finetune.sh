#!/usr/bin/env bash
# `lumamba finetune` on 2 processes (docs/distributed.md), on the demo's S001 windows:
#  1. 2 ranks over TCP (RANK/WORLD_SIZE/MASTER_* as torchrun sets them) give the test metrics of
#     1 process (dropout and jitter off, so that both draw nothing);
#  2. rank 1 killed with SIGKILL: rank 0 exits within the timeout with an error naming itself;
#     both restarted with --resume (file rendezvous) end with the weights of an uninterrupted
#     2-rank run, byte for byte.
# Usage: distributed_finetune.sh LUMAMBA_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cd "$work"
preset="$src/configs/finetune/eegmmidb_movement.yaml"
"$bin" preprocess --preset events --data "$src/data/eegmmidb_S001/movement.csv" --output windows.h5 \
  --log-level error > /dev/null
common=(--config "$preset" data=windows.h5 model.dropout=0 model.location_jitter=0 --threads 1)
port=$((20000 + $$ % 20000))

# Two ranks as torchrun would start them; waits for both; fails if either fails.
two_ranks() {  # two_ranks NAME EXTRA_ENV... -- ARGS...
  local name=$1; shift
  local env_extra=(); while [[ $1 != -- ]]; do env_extra+=("$1"); shift; done; shift
  local pids=()
  for r in 0 1; do
    env RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 "${env_extra[@]}" "$bin" finetune "$@" \
      > "$name.rank$r.json" 2> "$name.rank$r.err" &
    pids+=($!)
  done
  local rc=0
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  return $rc
}

# 1. Same metrics as one process.
"$bin" finetune "${common[@]}" out=one train.max_steps=10 train.epochs=2 > one.json 2> one.err
two_ranks two MASTER_PORT=$port -- "${common[@]}" out=two train.max_steps=10 train.epochs=2
# Every test metric, byte for byte (no tool beyond coreutils: a fresh Debian has no python3).
cmp -s one/test_metrics.json two/test_metrics.json ||
  { echo "FAIL: test metrics of 1 process and 2 ranks differ"; diff one/test_metrics.json two/test_metrics.json | head; exit 1; }
grep -q "data-parallel: 2 ranks" two.rank0.err || { echo "FAIL: rank 0 did not report 2 ranks"; exit 1; }
echo "1 process and 2 ranks: identical test metrics"

# 2. A killed rank ends the job; --resume continues it exactly.
run=(--config "$preset" data=windows.h5 train.epochs=4 --threads 1 --dist-timeout 60)
two_ranks straight MASTER_PORT=$((port + 1)) -- "${run[@]}" out=straight
pids=()
for r in 0 1; do
  env RANK=$r WORLD_SIZE=2 "$bin" finetune "${run[@]}" out=killed --rendezvous "file:$work/rendezvous" \
    > "killed.rank$r.json" 2> "killed.rank$r.err" &
  pids+=($!)
done
for _ in $(seq 600); do grep -q "epoch 2/4" killed.rank0.err && break; sleep 0.1; done
grep -q "epoch 2/4" killed.rank0.err || { echo "FAIL: no epoch 2 within 60 s"; cat killed.rank0.err; exit 1; }
kill -9 "${pids[1]}"
start=$(date +%s)
rc=0; wait "${pids[0]}" || rc=$?
waited=$(( $(date +%s) - start ))
[[ $rc -ne 0 ]] || { echo "FAIL: rank 0 exited 0 after rank 1 was killed"; exit 1; }
[[ $waited -le 60 ]] || { echo "FAIL: rank 0 took $waited s to exit"; exit 1; }
grep -q "error: rank 0 of 2: .* failed" killed.rank0.err || { echo "FAIL: no error naming rank 0"; tail -3 killed.rank0.err; exit 1; }
echo "rank 1 killed: rank 0 exited with status $rc after ${waited} s: $(grep 'error:' killed.rank0.err | cut -c1-120)"
rm -f "$work/rendezvous"
two_ranks resumed -- "${run[@]}" out=killed --resume --rendezvous "file:$work/rendezvous2"
grep -q "resumed after epoch" resumed.rank0.err || { echo "FAIL: not resumed"; exit 1; }
# The weights files, metadata included (step, validation loss), are the same bytes.
for name in last best; do
  cmp -s "straight/checkpoints/$name.safetensors" "killed/checkpoints/$name.safetensors" ||
    { echo "FAIL: $name.safetensors of the resumed run differs from the uninterrupted one"; exit 1; }
done
echo "killed + resumed = uninterrupted: last and best weights identical"
