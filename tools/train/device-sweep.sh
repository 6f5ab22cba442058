#!/usr/bin/env bash
# device-sweep.sh: several headkv-tiny training runs side by side, one per GPU of the lent
# machine, on one exported dataset; keeps the run whose teacher-forced validation accuracy (the
# validation split, never the test split) is highest.
#   bash tools/train/device-sweep.sh SWEEP_FILE [DATA_DIR]
# SWEEP_FILE: one run a line, "NAME TRAIN_ARGS..." (blank lines and # comments skipped); run i
# goes to GPU i through device-run.sh, its TRAIN_ARGS after device-run.sh's defaults. Writes to
# $OUT: sweep.json (every run's validation and greedy full-cache evaluation, and the choice), the
# chosen run's model.safetensors, config.json and generation_config.json, and runs.tar.gz (every
# run's train_log.jsonl, train.out and eval.json). What comes back from the machine is limited
# to a few files, so the other runs' weights are not kept.
set -euo pipefail
sweep="$1"
data="${2:-.train-data/v2}"
out="${OUT:-runs-out}"
mkdir -p "$out"
gpus=$(nvidia-smi --list-gpus | wc -l)
names=()
pids=()
while read -r name args; do
  [ -z "$name" ] || [ "${name#\#}" != "$name" ] && continue
  gpu=${#names[@]}
  [ "$gpu" -lt "$gpus" ] || { echo "device-sweep.sh: $sweep has more runs than the $gpus GPUs" >&2; exit 1; }
  mkdir -p "$out/$name"
  # shellcheck disable=SC2086 # TRAIN_ARGS are words
  CUDA_VISIBLE_DEVICES=$gpu OUT="$out/$name" bash tools/train/device-run.sh "$data" $args > "$out/$name.console" 2>&1 &
  names+=("$name")
  pids+=($!)
done < "$sweep"
status=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { echo "device-sweep.sh: run ${names[$i]} failed:" >&2; tail -n 5 "$out/${names[$i]}.console" >&2; status=1; }
done
python3 tools/train/pick_run.py "$out" "${names[@]}" > "$out/sweep.json"
cat "$out/sweep.json"
chosen=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["chosen"])' "$out/sweep.json")
cp "$out/$chosen/model/model.safetensors" "$out/$chosen/model/config.json" "$out/$chosen/model/generation_config.json" "$out/"
tar czf "$out/runs.tar.gz" -C "$out" $(for n in "${names[@]}"; do echo "$n/train_log.jsonl $n/train.out $n/eval.json $n/gpu.txt"; done)
for n in "${names[@]}"; do rm -rf "${out:?}/$n" "$out/$n.console"; done
exit "$status"
