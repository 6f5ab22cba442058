#!/usr/bin/env python3
"""Fine-tunes a model on the CPU on chosen two_hop training variants (export_data.js train
--two-hop-variants) or drills (export_data.js drill --kind lookup) and reports, on the file's last
case indices, held out of training, how often each task of the file is answered (every answer
token right, teacher-forced). Held-out two_hop cases are whole cases, all their variants, so
their people were never trained on together. The check behind the v4 ladder
(tools/train/README.md): whether a model that knows the order of number tokens (drill_cpu.py)
learns the comparison in context.

    python3 tools/train/variants_cpu.py --data OUT/train.jsonl.gz --init MODEL \
        --train-tasks two_hop_value_higher,two_hop_value_lower --seconds 300 --out OUT/value

Writes OUT_DIR/model (the fine-tuned weights, float32) and OUT_DIR/variants_log.jsonl.
"""
import argparse
import sys

from cpu_finetune import Session, add_common_args, read_cases

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="a train*.jsonl.gz exported with --two-hop-variants, or drills")
    p.add_argument("--train-tasks", required=True, help="the variant tasks to train on, comma-separated")
    p.add_argument("--held-out-cases", type=int, default=250, help="the last cases of the file, never trained on")
    add_common_args(p, batch=48, report_every=30)
    return p.parse_args()


def case_index(case):
    """train/TASK/LENGTH/INDEX[/variant] -> INDEX: a case and its variants share it."""
    return int(case["id"].split("/")[3])


def main():
    args = parse_args()
    run = Session(args, "variants_log.jsonl")
    cases = read_cases(args.data, "variants_cpu.py")
    train_tasks = set(args.train_tasks.split(","))
    indices = sorted({case_index(c) for c in cases})
    if len(indices) <= args.held_out_cases:
        sys.exit(f"variants_cpu.py: {args.data} has {len(indices)} cases, not more than --held-out-cases")
    held_out = set(indices[-args.held_out_cases:])
    train = [run.encode(c) for c in cases if c["task"] in train_tasks and case_index(c) not in held_out]
    if not train:
        sys.exit(f"variants_cpu.py: no training case of {args.train_tasks} in {args.data}")
    reported = sorted({c["task"] for c in cases})
    test = {t: [run.encode(c) for c in cases if c["task"] == t and case_index(c) in held_out] for t in reported}
    run.log(event="start", argv=sys.argv, train=len(train), held_out={t: len(v) for t, v in test.items()})
    run.finetune(lambda rng: [train[i] for i in rng.integers(0, len(train), args.batch)], test)


if __name__ == "__main__":
    main()
