#!/usr/bin/env python3
"""Fine-tunes a model on export_data.js's number-order drills on the CPU and reports, on number
pairs held out of training, how often it names the larger and the smaller number (every answer
token right, teacher-forced). The experiment behind the v4 finding (tools/train/README.md): the
order of number tokens, which the trained test model lacks, is learned within minutes from bare
questions, one direction first or both at once.

    python3 tools/train/drill_cpu.py --drills .train-data/v3/train-drill.jsonl.gz \
        --init models/headkv-tiny --directions higher --seconds 480 --out OUT_DIR

Writes OUT_DIR/model (the fine-tuned weights, float32) and OUT_DIR/drill_log.jsonl.
"""
import argparse
import re
import sys
import zlib

from cpu_finetune import Session, add_common_args, read_cases

QUESTION = re.compile(r"Which is (?:larger|smaller): (\d+) or (\d+)\?")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--drills", required=True, help="train-drill.jsonl.gz (export_data.js drill)")
    p.add_argument("--directions", choices=["higher", "both"], required=True,
                   help="train on 'larger' questions only, or on both directions")
    p.add_argument("--held-out", type=float, default=0.3, help="share of number pairs never trained on")
    add_common_args(p, batch=128, report_every=50)
    return p.parse_args()


def held_out(case, share):
    """Whether the case's (unordered) number pair is held out: a hash, so the split is fixed."""
    a, b = sorted(QUESTION.search(case["prompt"]).groups())
    return zlib.crc32(f"{a},{b}".encode()) % 1000 < share * 1000


def main():
    args = parse_args()
    run = Session(args, "drill_log.jsonl")
    train = {"number_order_higher": [], "number_order_lower": []}
    test = {"number_order_higher": [], "number_order_lower": []}
    for c in read_cases(args.drills, "drill_cpu.py"):
        (test if held_out(c, args.held_out) else train)[c["task"]].append(run.encode(c))
    test = {task: examples[:400] for task, examples in test.items()}
    tasks = ["number_order_higher"] if args.directions == "higher" else list(train)
    run.log(event="start", argv=sys.argv, init=args.init, train={k: len(v) for k, v in train.items()},
            held_out={k: len(v) for k, v in test.items()})

    def draw(rng):
        pool = [train[tasks[i]] for i in rng.integers(0, len(tasks), args.batch)]
        return [p[rng.integers(0, len(p))] for p in pool]

    run.finetune(draw, {"larger": test["number_order_higher"], "smaller": test["number_order_lower"]})


if __name__ == "__main__":
    main()
