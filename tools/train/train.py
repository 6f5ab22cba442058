#!/usr/bin/env python3
"""Trains headkv-tiny: a small Llama-architecture model with grouped-query attention that answers
the suite's long-context tasks (tools/train/README.md has the exact command and the data steps).

    python3 tools/train/train.py --data .train-data --tokenizer models/headkv-tiny --out OUT_DIR \
        --time-budget 390

Loss on answer tokens only; bf16 autocast; SDPA attention (FlashAttention kernels on the GPU);
a length curriculum from the shortest prompts to 8192 tokens driven by the share of the budget
(tokens or seconds, whichever is nearer its end) consumed, with a share of every later step kept on
the short, reasoning-heavy buckets; seeded. The time budget stops training early (saving first); a
checkpoint is also written every --save-every seconds, so an interrupted run leaves a usable model.
At the end: teacher-forced validation, then greedy decoding of test-split cases (test.jsonl.gz,
exported by export_data.ts) scored like `headkv eval`, written to OUT/eval.json. The log is JSON
lines.
"""
import argparse
import gzip
import re
import shutil
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from tokenizers import Tokenizer
from transformers import LlamaConfig, LlamaForCausalLM

BOS = "<|begin_of_text|>"
EOS = "<|end_of_text|>"
# (share of the budget, longest prompt length allowed from then on). The first phase learns the
# reasoning tasks (two_hop, variable_tracking) on short prompts, where a step holds hundreds of
# cases; long prompts come once the skills exist.
CURRICULUM = [(0.0, 384), (0.2, 1024), (0.3, 2048), (0.42, 4096), (0.58, 8192)]
# Prompts up to this length count as short for --short-share.
SHORT_LENGTH = 512


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="folder with train*.jsonl.gz and validation.jsonl.gz")
    p.add_argument("--tokenizer", required=True, help="folder with tokenizer.json and tokenizer_config.json")
    p.add_argument("--out", required=True, help="folder for the Hugging Face model and the log")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--head-dim", type=int, default=32)
    p.add_argument("--intermediate", type=int, default=768)
    p.add_argument("--rope-theta", type=float, default=500000.0)
    p.add_argument("--max-position", type=int, default=16384)
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--warmup-steps", type=int, default=150)
    p.add_argument("--batch-tokens", type=int, default=65536, help="padded tokens per optimizer step")
    p.add_argument("--token-budget", type=float, default=400e6, help="padded tokens the schedule spans at most")
    p.add_argument("--time-budget", type=float, default=390.0, help="seconds of training before the final save")
    p.add_argument("--save-every", type=float, default=90.0, help="seconds between checkpoints")
    p.add_argument("--max-cases", type=int, default=0, help="use only this many training cases (0: all)")
    p.add_argument("--validation-cases", type=int, default=0, help="validate on only this many cases (0: all)")
    p.add_argument("--init", default="", help="start from this Hugging Face model folder instead of random weights")
    p.add_argument("--start-share", type=float, default=0.0, help="begin the schedule here (0.6: all lengths, mid learning rate)")
    p.add_argument("--task-weight", action="append", default=[], metavar="TASK=N",
                   help="repeat this task's training cases N times (oversampling), e.g. two_hop=3")
    p.add_argument("--short-share", type=float, default=0.3,
                   help="after the first curriculum phase, this share of the steps draws a short (<= 512) bucket")
    p.add_argument("--max-length", type=int, default=0, help="train only on prompts up to this length (0: all)")
    p.add_argument("--tasks", default="", help="train only on these tasks, comma-separated (default: all)")
    p.add_argument("--rung", action="append", default=[], metavar="TASKS@END",
                   help="a rung of a task ladder (repeatable, in order): until share END of the budget, steps draw "
                        "these tasks (comma-separated) and those of every earlier rung, on short prompts")
    p.add_argument("--rung-focus", type=float, default=1.0,
                   help="on the ladder, this share of the steps draws the rung's tasks, the rest as usual")
    p.add_argument("--drop-tasks", default="", help="leave out these tasks' training cases, comma-separated")
    p.add_argument("--eval-per-cell", type=int, default=8,
                   help="greedy test cases per task and length (test.jsonl.gz; 0: skip)")
    p.add_argument("--eval-budget", type=float, default=100.0, help="seconds the greedy evaluation may take at most")
    p.add_argument("--validate-every", type=float, default=60.0,
                   help="seconds between quick teacher-forced validations on the 1K cases (0: never)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return p.parse_args()


class Log:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")

    def __call__(self, **record):
        line = json.dumps(record)
        print(line, flush=True)
        self.file.write(line + "\n")
        self.file.flush()


def read_cases(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def encode_cases(tok, cases, eos_id):
    """Prompt ids (BOS added by the tokenizer) and answer ids (' ' + answer, then EOS)."""
    prompts = tok.encode_batch([c["prompt"] for c in cases], add_special_tokens=True)
    answers = tok.encode_batch([" " + c["answer"] for c in cases], add_special_tokens=False)
    return [
        {"length": c["length"], "task": c["task"], "prompt": np.array(p.ids, dtype=np.int32), "answer": np.array(a.ids + [eos_id], dtype=np.int32),
         "text": c["answer"], "metric": c.get("metric", "exact"), "id": c["id"]}
        for c, p, a in zip(cases, prompts, answers)
    ]


# Training variants of one case (export_data.ts --two-hop-variants) share its id up to this suffix.
VARIANT_SUFFIX = re.compile(r"/(mirrored|comparison|mirrored-comparison|value|mirrored-value|lookup|mirrored-lookup)$")


def case_units(examples):
    """Examples grouped by the case they vary (in first-seen order): a unit always lands in one
    batch, so the model sees the same prompt asked both ways side by side."""
    units = {}
    for e in examples:
        units.setdefault(VARIANT_SUFFIX.sub("", e["id"]), []).append(e)
    return list(units.values())


def make_batch(examples, device):
    """Right-padded input ids and, per example, the positions whose next-token logits are scored."""
    width = max(len(e["prompt"]) + len(e["answer"]) - 1 for e in examples)
    ids = np.zeros((len(examples), width), dtype=np.int64)
    rows, cols, targets = [], [], []
    for i, e in enumerate(examples):
        seq = np.concatenate([e["prompt"], e["answer"][:-1]])
        ids[i, : len(seq)] = seq
        start = len(e["prompt"]) - 1
        for j, t in enumerate(e["answer"]):
            rows.append(i)
            cols.append(start + j)
            targets.append(t)
    t = lambda a: torch.tensor(np.array(a), dtype=torch.long, device=device)
    return t(ids), t(rows), t(cols), t(targets)


def answer_logits(model, ids, rows, cols):
    # Causal attention without a mask: right padding never influences earlier positions, and
    # SDPA then takes its FlashAttention path. The LM head runs on answer positions only.
    hidden = model.model(input_ids=ids, use_cache=False).last_hidden_state
    return model.lm_head(hidden[rows, cols])


def parse_ladder(rungs):
    """--rung values as (end share, the tasks drawn until then: this rung's and every earlier one's)."""
    ladder, tasks, previous_end = [], set(), 0.0
    for rung in rungs:
        names, at, end = rung.rpartition("@")
        if not at or not names:
            sys.exit(f"train.py: --rung {rung!r} is not TASKS@END")
        try:
            end = float(end)
        except ValueError:
            sys.exit(f"train.py: --rung {rung!r}: END {end!r} is not a number")
        if not previous_end < end <= 1.0:
            sys.exit(f"train.py: --rung {rung!r}: END must rise from rung to rung, within (0, 1]")
        tasks = tasks | set(names.split(","))
        ladder.append((end, tasks))
        previous_end = end
    return ladder


def allowed_length(share):
    allowed = CURRICULUM[0][1]
    for start, length in CURRICULUM:
        if share >= start:
            allowed = length
    return allowed


def learning_rate(args, step, share):
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, share))))


def save(model, out, log, reason, step, tokenizer_dir):
    """The weights in bfloat16 (the fp32 master copy keeps training), as a Hugging Face folder."""
    model_dir = os.path.join(out, "model")
    os.makedirs(model_dir, exist_ok=True)
    state = {k: v.detach().to(torch.bfloat16).cpu() for k, v in model.state_dict().items()}
    model.save_pretrained(model_dir, state_dict=state, safe_serialization=True)
    config_path = os.path.join(model_dir, "config.json")
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    config["dtype"] = "bfloat16"
    with open(config_path, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    # A complete Hugging Face folder: the tokenizer travels with the weights.
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(tokenizer_dir, name), os.path.join(model_dir, name))
    log(event="save", reason=reason, step=step, dir=model_dir)


@torch.no_grad()
def validate(model, examples, device, log, step, event="validation"):
    """Teacher-forced argmax over the answer tokens: all right = greedy decoding reproduces the answer."""
    model.eval()
    results = {}
    for e in examples:
        ids, rows, cols, targets = make_batch([e], device)
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16):
            logits = answer_logits(model, ids, rows, cols)
        ok = bool((logits.argmax(-1) == targets).all())
        key = f"{e['task']}@{e['length']}"
        hit, n = results.get(key, (0, 0))
        results[key] = (hit + ok, n + 1)
    model.train()
    overall = sum(h for h, _ in results.values()) / max(1, sum(n for _, n in results.values()))
    log(event=event, step=step, accuracy=round(overall, 4), cells={k: f"{h}/{n}" for k, (h, n) in sorted(results.items())})
    return overall


# Scoring as libs/suite/src/scoring.ts does it (LongBench normalization; ROUGE-L F1 for summary).
ASCII_PUNCTUATION = re.compile(r"""[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]""")


def normalize_answer(text):
    text = ASCII_PUNCTUATION.sub("", text.lower())
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def rouge_l(prediction, answer):
    p, a = prediction.lower().split(), answer.lower().split()
    if not p or not a:
        return 0.0
    previous = [0] * (len(a) + 1)
    for i in range(1, len(p) + 1):
        current = [0] * (len(a) + 1)
        for j in range(1, len(a) + 1):
            current[j] = previous[j - 1] + 1 if p[i - 1] == a[j - 1] else max(previous[j], current[j - 1])
        previous = current
    lcs = previous[len(a)]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(p), lcs / len(a)
    return 2 * precision * recall / (precision + recall)


def score_case(metric, prediction, answer):
    if metric == "exact":
        return 1.0 if normalize_answer(prediction) == normalize_answer(answer) else 0.0
    return rouge_l(prediction, answer)


def answer_line(generated):
    """The generated text up to its first line break (answers are one line), as scoring.ts reads it."""
    return generated.lstrip().split("\n")[0].strip()


@torch.no_grad()
def greedy_answers(model, tok, examples, device, eos_id):
    """Greedy decoding of one batch of prompts (left-padded, positions counted from each prompt's
    first real token, so padding changes nothing): the decoded answer line of each."""
    width = max(len(e["prompt"]) for e in examples)
    ids = torch.zeros((len(examples), width), dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for i, e in enumerate(examples):
        ids[i, width - len(e["prompt"]):] = torch.from_numpy(e["prompt"].astype(np.int64))
        mask[i, width - len(e["prompt"]):] = 1
    ids, mask = ids.to(device), mask.to(device)
    limit = max(len(e["answer"]) for e in examples) + 8
    newline = {i for i in range(tok.get_vocab_size(with_added_tokens=True)) if "\n" in tok.decode([i])}
    device_type = device.split(":")[0]
    out = [[] for _ in examples]
    done = [False] * len(examples)
    past = None
    position = (mask.cumsum(-1) - 1).clamp(min=0)
    step_ids = ids
    for _ in range(limit):
        with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
            result = model(input_ids=step_ids, attention_mask=mask, position_ids=position, past_key_values=past, use_cache=True)
        past = result.past_key_values
        next_ids = result.logits[:, -1].float().argmax(-1)
        for i, t in enumerate(next_ids.tolist()):
            if done[i]:
                continue
            if t == eos_id or t in newline:
                done[i] = True
            else:
                out[i].append(t)
        if all(done):
            break
        step_ids = next_ids[:, None]
        position = position[:, -1:] + 1
        mask = torch.cat([mask, torch.ones((len(examples), 1), dtype=mask.dtype, device=device)], dim=1)
    return [answer_line(tok.decode(o)) for o in out]


def greedy_eval(model, tok, examples, args, eos_id, log, step):
    """Full-cache accuracy by greedy decoding per task and length (exact match; ROUGE-L F1 for the
    summary), the numbers `headkv eval --methods full` reports; stops early at --eval-budget."""
    model.eval()
    started = time.time()
    cells = {}
    for e in examples:
        cells.setdefault((e["task"], e["length"]), []).append(e)
    scores, failures, partial = {}, [], False
    for (task, length), cell in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if time.time() - started > args.eval_budget:
            partial = True
            break
        cell = cell[: args.eval_per_cell]
        batch = max(1, 16384 // length)
        values = []
        for at in range(0, len(cell), batch):
            chunk = cell[at: at + batch]
            for e, prediction in zip(chunk, greedy_answers(model, tok, chunk, args.device, eos_id)):
                value = score_case(e["metric"], prediction, e["text"])
                values.append(value)
                if value < 1.0 and len(failures) < 40:
                    failures.append({"id": e["id"], "answer": e["text"], "prediction": prediction, "score": round(value, 3)})
        scores[f"{task}@{length}"] = {"mean": round(sum(values) / len(values), 4), "n": len(values)}
    by_length = {}
    for key, cell in scores.items():
        length = int(key.split("@")[1])
        total, n = by_length.get(length, (0.0, 0))
        by_length[length] = (total + cell["mean"] * cell["n"], n + cell["n"])
    summary = {
        "step": step,
        "split": "test",
        "per_cell": args.eval_per_cell,
        "partial": partial,
        "seconds": round(time.time() - started, 1),
        "overall": round(sum(c["mean"] * c["n"] for c in scores.values()) / max(1, sum(c["n"] for c in scores.values())), 4),
        "by_length": {str(k): round(t / n, 4) for k, (t, n) in sorted(by_length.items())},
        "min_cell": min(scores.items(), key=lambda kv: kv[1]["mean"])[0] if scores else None,
        "cells": scores,
        "failures": failures,
    }
    with open(os.path.join(args.out, "eval.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    log(event="greedy_eval", **{k: v for k, v in summary.items() if k != "failures"})
    model.train()
    return summary


def main():
    args = parse_args()
    started = time.time()
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "train_log.jsonl"))
    log(event="start", argv=sys.argv, torch=torch.__version__, transformers=transformers.__version__,
        device=torch.cuda.get_device_name(0) if args.device.startswith("cuda") else args.device)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)

    tok = Tokenizer.from_file(os.path.join(args.tokenizer, "tokenizer.json"))
    bos_id, eos_id = tok.token_to_id(BOS), tok.token_to_id(EOS)
    files = sorted(f for f in os.listdir(args.data) if f.startswith("train") and f.endswith(".jsonl.gz"))
    cases = [c for f in files for c in read_cases(os.path.join(args.data, f))]
    cases.sort(key=lambda c: c["id"])
    random.Random(args.seed).shuffle(cases)
    if args.max_length:
        cases = [c for c in cases if c["length"] <= args.max_length]
    if args.tasks:
        chosen = set(args.tasks.split(","))
        cases = [c for c in cases if c["task"] in chosen]
    if args.drop_tasks:
        dropped = set(args.drop_tasks.split(","))
        cases = [c for c in cases if c["task"] not in dropped]
    if args.max_cases:
        cases = cases[: args.max_cases]
    weights = {}
    for item in args.task_weight:
        task, _, n = item.partition("=")
        weights[task] = int(n)
    train = encode_cases(tok, cases, eos_id)
    units = [u for u in case_units(train) for _ in range(weights.get(u[0]["task"], 1))]
    valid_cases = read_cases(os.path.join(args.data, "validation.jsonl.gz"))
    if args.tasks:
        valid_cases = [c for c in valid_cases if c["task"] in chosen]
    valid = encode_cases(tok, valid_cases[: args.validation_cases or len(valid_cases)], eos_id)
    # The quick check during training: the shortest validation length only.
    quick = [e for e in valid if e["length"] == min(e["length"] for e in valid)] if valid else []
    test_path = os.path.join(args.data, "test.jsonl.gz")
    test_cases = read_cases(test_path) if args.eval_per_cell and os.path.exists(test_path) else []
    if args.tasks:
        test_cases = [c for c in test_cases if c["task"] in chosen]
    test = encode_cases(tok, test_cases, eos_id)
    buckets = {}
    for unit in units:
        buckets.setdefault(unit[0]["length"], []).append(unit)
    # Each rung's buckets: every unit cut to the rung's tasks (units left empty dropped).
    ladder = []
    for end, rung_tasks in parse_ladder(args.rung):
        missing = rung_tasks - {e["task"] for e in train}
        if missing:
            sys.exit(f"train.py: --rung names tasks with no training case: {','.join(sorted(missing))}")
        rung_buckets = {}
        for unit in units:
            kept = [e for e in unit if e["task"] in rung_tasks]
            if kept:
                rung_buckets.setdefault(kept[0]["length"], []).append(kept)
        ladder.append((end, rung_buckets))
    log(event="data", cases=len(train), units=len(units), buckets={k: sum(len(u) for u in v) for k, v in sorted(buckets.items())},
        tasks={t: sum(1 for e in train if e["task"] == t) for t in sorted({e["task"] for e in train})},
        prompt_tokens=int(sum(len(e["prompt"]) for e in train)), validation=len(valid), test=len(test),
        seconds=round(time.time() - started, 1))

    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(with_added_tokens=True), hidden_size=args.hidden, intermediate_size=args.intermediate,
        num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
        head_dim=args.head_dim, max_position_embeddings=args.max_position, rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": args.rope_theta}, tie_word_embeddings=False,
        attention_bias=False, mlp_bias=False, bos_token_id=bos_id, eos_token_id=eos_id, pad_token_id=None,
        initializer_range=0.02,
    )
    if args.init:
        model = LlamaForCausalLM.from_pretrained(args.init, dtype=torch.float32, attn_implementation="sdpa")
        log(event="init", model=args.init)
    else:
        model = LlamaForCausalLM(config)
        model.config._attn_implementation = "sdpa"
    model.to(args.device)
    log(event="model", parameters=sum(p.numel() for p in model.parameters()))
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=args.lr, betas=(0.9, 0.95), fused=args.device.startswith("cuda"))
    # One (buckets, cursor, order) pool for all tasks, then one per rung.
    pools = [(b, {k: 0 for k in b}, {k: np.random.permutation(len(v)) for k, v in b.items()})
             for b in [buckets] + [rung_buckets for _, rung_buckets in ladder]]
    rng = np.random.default_rng(args.seed)
    step, seen_tokens, last_save, last_check = 0, 0.0, time.time(), time.time()
    train_started = time.time()
    device_type = args.device.split(":")[0]
    while True:
        elapsed = time.time() - train_started
        # The schedule (curriculum and learning rate) runs on whichever budget is nearer its end.
        share = args.start_share + (1 - args.start_share) * max(seen_tokens / args.token_budget, elapsed / args.time_budget)
        if share >= 1.0:
            break
        limit = allowed_length(share)
        rung = next((i for i, (end, _) in enumerate(ladder) if share < end), None)
        if rung is not None and rng.random() >= args.rung_focus:
            rung = None
        pool, pool_cursor, pool_order = pools[0 if rung is None else rung + 1]
        lengths = sorted(k for k in pool if k <= limit) or [min(pool)]
        short = [k for k in lengths if k <= SHORT_LENGTH]
        if rung is not None:
            # The rung's tasks on short prompts, where a step holds hundreds of cases.
            length = int(rng.choice(short or lengths))
        elif limit > CURRICULUM[0][1] and short and rng.random() < args.short_share:
            # Keeps the reasoning skills learned on short prompts in training (the short buckets
            # hold most two_hop and variable_tracking cases).
            length = int(rng.choice(short))
        elif rng.random() < 0.5 or len(lengths) == 1:
            # Half the remaining steps on the longest allowed length, the rest over the shorter ones.
            length = max(lengths)
        else:
            length = int(rng.choice(lengths[:-1]))
        per_batch = max(1, args.batch_tokens // length)
        examples = []
        while len(examples) < per_batch:
            if pool_cursor[length] >= len(pool_order[length]):
                pool_cursor[length] = 0
                pool_order[length] = rng.permutation(len(pool[length]))
            examples.extend(pool[length][pool_order[length][pool_cursor[length]]])
            pool_cursor[length] += 1
        ids, rows, cols, targets = make_batch(examples, args.device)
        lr = learning_rate(args, step, share)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
            logits = answer_logits(model, ids, rows, cols)
        loss = F.cross_entropy(logits.float(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        seen_tokens += float(ids.numel())
        step += 1
        if step % 25 == 0:
            correct = (logits.argmax(-1) == targets).cpu().numpy()
            # Per task: the share of this batch's cases whose every answer token is right.
            tasks, at = {}, 0
            for e in examples:
                hit, n = tasks.get(e["task"], (0, 0))
                tasks[e["task"]] = (hit + int(correct[at: at + len(e["answer"])].all()), n + 1)
                at += len(e["answer"])
            log(event="step", step=step, length=length, batch=len(examples), loss=round(loss.item(), 4),
                token_accuracy=round(float(correct.mean()), 4), case_accuracy={t: round(h / n, 3) for t, (h, n) in sorted(tasks.items())},
                grad_norm=round(float(grad_norm), 3), lr=round(lr, 6), share=round(share, 4), rung=rung, elapsed=round(time.time() - train_started, 1))
        if args.validate_every and quick and time.time() - last_check >= args.validate_every:
            validate(model, quick, args.device, log, step, event="quick_validation")
            last_check = time.time()
        if time.time() - last_save >= args.save_every:
            save(model, args.out, log, "periodic", step, args.tokenizer)
            last_save = time.time()
    save(model, args.out, log, "final", step, args.tokenizer)
    log(event="trained", steps=step, tokens=int(seen_tokens), seconds=round(time.time() - train_started, 1))
    validate(model, valid, args.device, log, step)
    if test:
        greedy_eval(model, tok, test, args, eos_id, log, step)
    log(event="end", steps=step, tokens=int(seen_tokens), seconds=round(time.time() - started, 1))


if __name__ == "__main__":
    main()
