#!/usr/bin/env python3
"""Fine-tunes a model on the CPU on chosen two_hop training variants (export_data.js train
--two-hop-variants) and reports, on cases held out of training (their people never trained on),
how often each variant task is answered (every answer token right, teacher-forced). The check
behind the v4 ladder (tools/train/README.md): whether a model that knows the order of number
tokens (drill_cpu.py) learns the comparison in context.

    python3 tools/train/variants_cpu.py --data OUT/train.jsonl.gz --init MODEL \
        --train-tasks two_hop_value_higher,two_hop_value_lower --seconds 300 --out OUT/value

Writes OUT_DIR/model (the fine-tuned weights, float32) and OUT_DIR/variants_log.jsonl.
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import LlamaForCausalLM

from drill_cpu import accuracy, answer_logits, batch_tensors, encode

REPORTED = ["two_hop_value_higher", "two_hop_value_lower", "two_hop_comparison_higher", "two_hop_comparison_lower"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="a train*.jsonl.gz exported with --two-hop-variants")
    p.add_argument("--init", required=True, help="Hugging Face model folder to start from")
    p.add_argument("--tokenizer", default="models/headkv-tiny", help="folder with tokenizer.json")
    p.add_argument("--train-tasks", required=True, help="the variant tasks to train on, comma-separated")
    p.add_argument("--seconds", type=float, required=True, help="training time")
    p.add_argument("--out", required=True)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--batch", type=int, default=48)
    p.add_argument("--held-out-cases", type=int, default=250, help="the last cases of the file, never trained on")
    p.add_argument("--report-every", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def case_index(case):
    """train/two_hop/LENGTH/INDEX[/variant] -> INDEX: a case and its variants share it."""
    return int(case["id"].split("/")[3])


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log_file = open(os.path.join(args.out, "variants_log.jsonl"), "w", encoding="utf-8")

    def log(**record):
        line = json.dumps(record)
        print(line, flush=True)
        log_file.write(line + "\n")

    tok = Tokenizer.from_file(os.path.join(args.tokenizer, "tokenizer.json"))
    eos = tok.token_to_id("<|end_of_text|>")
    with gzip.open(args.data, "rt", encoding="utf-8") as f:
        cases = [json.loads(line) for line in f if line.strip()]
    train_tasks = set(args.train_tasks.split(","))
    indices = sorted({case_index(c) for c in cases})
    if len(indices) <= args.held_out_cases:
        sys.exit(f"variants_cpu.py: {args.data} has {len(indices)} cases, not more than --held-out-cases")
    held_out = set(indices[-args.held_out_cases:])
    train = [encode(tok, c, eos) for c in cases if c["task"] in train_tasks and case_index(c) not in held_out]
    if not train:
        sys.exit(f"variants_cpu.py: no training case of {args.train_tasks} in {args.data}")
    test = {t: [encode(tok, c, eos) for c in cases if c["task"] == t and case_index(c) in held_out] for t in REPORTED}
    log(event="start", argv=sys.argv, train=len(train), held_out={t: len(v) for t, v in test.items()})
    model = LlamaForCausalLM.from_pretrained(args.init, dtype=torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)

    def report(step, loss, elapsed):
        model.eval()
        log(event="held_out", step=step, seconds=round(elapsed), loss=loss,
            **{t: accuracy(model, v) for t, v in test.items() if v})
        model.train()

    report(0, None, 0.0)
    started, step = time.time(), 0
    while time.time() - started < args.seconds:
        examples = [train[i] for i in rng.integers(0, len(train), args.batch)]
        ids, rows, cols, targets = batch_tensors(examples)
        loss = F.cross_entropy(answer_logits(model, ids, rows, cols), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        if step % args.report_every == 0:
            report(step, round(loss.item(), 4), time.time() - started)
    if step % args.report_every:
        report(step, round(loss.item(), 4), time.time() - started)
    model.save_pretrained(os.path.join(args.out, "model"), safe_serialization=True)
    log(event="end", steps=step, seconds=round(time.time() - started))


if __name__ == "__main__":
    main()
