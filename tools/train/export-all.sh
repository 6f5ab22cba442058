#!/usr/bin/env bash
# export-all.sh: every file train.py reads (tools/train/README.md, step 3), exported in parallel
# shards: the same cases whatever the shard count (each case is drawn from its index), so the
# GPU machine can export them itself instead of receiving them (they outgrow what a call carries).
#   bash tools/train/export-all.sh [JOBS] [OUT] [EXPORT_ARGS...]
# (default 8 shards per plan, .train-data/v2; EXPORT_ARGS go to every training export, for
# instance --two-hop-variants)
set -euo pipefail
jobs="${1:-8}"
out="${2:-.train-data/v2}"
shift 2 || shift $#
export_data=dist/tools/train/export_data.js
tok=models/headkv-tiny
mkdir -p "$out"
pids=()
for ((i = 0; i < jobs; i++)); do
  node "$export_data" train --tokenizer "$tok" --out "$out" --scale 1.35 --shard "$i/$jobs" "$@" 2>"$out/export-base.$i.log" &
  pids+=($!)
done
reason_jobs=$(( jobs / 2 > 0 ? jobs / 2 : 1 ))
for ((i = 0; i < reason_jobs; i++)); do
  for plan in train-reason128=128:80000 train-reason384=384:16000 train-reason-long=1536:4000,3072:2000; do
    node "$export_data" train --tokenizer "$tok" --out "$out" --plan "${plan#*=}" --tasks two_hop,variable_tracking \
      --name "${plan%%=*}" --shard "$i/$reason_jobs" "$@" 2>"$out/export-${plan%%=*}.$i.log" &
    pids+=($!)
  done
done
node "$export_data" test --tokenizer "$tok" --out "$out" --limit 20 2>"$out/export-test.log" &
pids+=($!)
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
[ "$status" = 0 ] || { tail -n 3 "$out"/export-*.log >&2; exit 1; }
rm -f "$out"/export-*.log
ls -la "$out"
