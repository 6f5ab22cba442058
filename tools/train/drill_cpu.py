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
import gzip
import json
import os
import re
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import LlamaForCausalLM

QUESTION = re.compile(r"Which is (?:larger|smaller): (\d+) or (\d+)\?")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--drills", required=True, help="train-drill.jsonl.gz (export_data.js drill)")
    p.add_argument("--init", required=True, help="Hugging Face model folder to start from")
    p.add_argument("--tokenizer", default="models/headkv-tiny", help="folder with tokenizer.json")
    p.add_argument("--directions", choices=["higher", "both"], required=True,
                   help="train on 'larger' questions only, or on both directions")
    p.add_argument("--seconds", type=float, required=True, help="training time")
    p.add_argument("--out", required=True)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--held-out", type=float, default=0.3, help="share of number pairs never trained on")
    p.add_argument("--report-every", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def held_out(case, share):
    """Whether the case's (unordered) number pair is held out: a hash, so the split is fixed."""
    a, b = sorted(QUESTION.search(case["prompt"]).groups())
    return zlib.crc32(f"{a},{b}".encode()) % 1000 < share * 1000


def encode(tok, case, eos):
    return tok.encode(case["prompt"], add_special_tokens=True).ids, tok.encode(" " + case["answer"], add_special_tokens=False).ids + [eos]


def batch_tensors(examples):
    width = max(len(p) + len(a) - 1 for p, a in examples)
    ids = torch.zeros((len(examples), width), dtype=torch.long)
    rows, cols, targets = [], [], []
    for i, (p, a) in enumerate(examples):
        seq = p + a[:-1]
        ids[i, : len(seq)] = torch.tensor(seq)
        for j, t in enumerate(a):
            rows.append(i)
            cols.append(len(p) - 1 + j)
            targets.append(t)
    return ids, torch.tensor(rows), torch.tensor(cols), torch.tensor(targets)


def answer_logits(model, ids, rows, cols):
    return model.lm_head(model.model(input_ids=ids, use_cache=False).last_hidden_state[rows, cols])


@torch.no_grad()
def accuracy(model, examples):
    ids, rows, cols, targets = batch_tensors(examples)
    right = (answer_logits(model, ids, rows, cols).argmax(-1) == targets).tolist()
    hits, at = 0, 0
    for _, a in examples:
        hits += all(right[at: at + len(a)])
        at += len(a)
    return round(hits / len(examples), 4)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log_file = open(os.path.join(args.out, "drill_log.jsonl"), "w", encoding="utf-8")

    def log(**record):
        line = json.dumps(record)
        print(line, flush=True)
        log_file.write(line + "\n")

    tok = Tokenizer.from_file(os.path.join(args.tokenizer, "tokenizer.json"))
    eos = tok.token_to_id("<|end_of_text|>")
    with gzip.open(args.drills, "rt", encoding="utf-8") as f:
        cases = [json.loads(line) for line in f if line.strip()]
    if not cases:
        sys.exit(f"drill_cpu.py: {args.drills} holds no drills")
    train = {"number_order_higher": [], "number_order_lower": []}
    test = {"number_order_higher": [], "number_order_lower": []}
    for c in cases:
        (test if held_out(c, args.held_out) else train)[c["task"]].append(encode(tok, c, eos))
    test = {task: examples[:400] for task, examples in test.items()}
    tasks = ["number_order_higher"] if args.directions == "higher" else list(train)
    log(event="start", argv=sys.argv, init=args.init, train={k: len(v) for k, v in train.items()},
        held_out={k: len(v) for k, v in test.items()})
    model = LlamaForCausalLM.from_pretrained(args.init, dtype=torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)

    def report(step, loss, elapsed):
        model.eval()
        log(event="held_out", step=step, seconds=round(elapsed), loss=loss,
            larger=accuracy(model, test["number_order_higher"]), smaller=accuracy(model, test["number_order_lower"]))
        model.train()

    report(0, None, 0.0)
    started, step = time.time(), 0
    while time.time() - started < args.seconds:
        pool = [train[tasks[i]] for i in rng.integers(0, len(tasks), args.batch)]
        examples = [p[rng.integers(0, len(p))] for p in pool]
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
