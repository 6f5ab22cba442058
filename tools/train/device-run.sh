#!/usr/bin/env bash
# device-run.sh: the headkv-tiny training run on the lent GPU machine, in one command.
#   bash tools/train/device-run.sh [DATA_DIR [TRAIN_ARGS...]]
# DATA_DIR (default .train-data/v2) holds the exported train*.jsonl.gz, validation.jsonl.gz and
# test.jsonl.gz (tools/train/README.md, steps 3-4); it is carried to the machine. Writes into $OUT
# (default runs-out/): model/ (the Hugging Face folder, bfloat16, with the tokenizer),
# train_log.jsonl and eval.json (greedy full-cache accuracy on the test split per task and length).
# TRAIN_ARGS go to train.py after the defaults (a continuation: --init models/headkv-tiny --start-share 0.6).
# The budgets keep the whole command under nine minutes on one H100: about 30 s to read the data,
# 410 s of training (TIME_BUDGET overrides), then validation and at most 60 s of greedy evaluation.
set -euo pipefail
data="${1:-.train-data/v2}"
shift || true
out="${OUT:-runs-out}"
mkdir -p "$out"
for file in validation.jsonl.gz test.jsonl.gz; do
  [ -f "$data/$file" ] || { echo "device-run.sh: $data/$file is missing (export it first)" >&2; exit 1; }
done
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > "$out/gpu.txt" || true
PYTHONUNBUFFERED=1 python3 tools/train/train.py --data "$data" --tokenizer models/headkv-tiny --out "$out" \
  --time-budget "${TIME_BUDGET:-410}" --token-budget 2e9 --save-every 120 --eval-per-cell 8 --eval-budget 60 "$@" \
  2>&1 | tee "$out/train.out"
