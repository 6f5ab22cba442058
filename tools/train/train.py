#!/usr/bin/env python3
"""Trains headkv-tiny: a small Llama-architecture model with grouped-query attention that answers
the suite's long-context tasks (tools/train/README.md has the exact command and the data steps).

    python3 tools/train/train.py --data .train-data --tokenizer models/headkv-tiny --out OUT_DIR \
        --time-budget 390

Loss on answer tokens only; bf16 autocast; SDPA attention (FlashAttention kernels on the GPU);
a length curriculum from 256 to 8192 tokens driven by the share of the budget (tokens or
seconds, whichever is nearer its end) consumed; seeded. The time budget stops training early (saving first); a checkpoint is also written every
--save-every seconds, so an interrupted run leaves a usable model. The log is JSON lines.
"""
import argparse
import gzip
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
# (share of the budget, longest prompt length allowed from then on)
CURRICULUM = [(0.0, 512), (0.12, 1024), (0.25, 2048), (0.42, 4096), (0.6, 8192)]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="folder with train*.jsonl.gz and validation.jsonl.gz")
    p.add_argument("--tokenizer", required=True, help="folder with tokenizer.json and tokenizer_config.json")
    p.add_argument("--out", required=True, help="folder for the Hugging Face model and the log")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--layers", type=int, default=6)
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
        {"length": c["length"], "task": c["task"], "prompt": np.array(p.ids, dtype=np.int32), "answer": np.array(a.ids + [eos_id], dtype=np.int32)}
        for c, p, a in zip(cases, prompts, answers)
    ]


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


def save(model, out, log, reason, step):
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
    log(event="save", reason=reason, step=step, dir=model_dir)


@torch.no_grad()
def validate(model, examples, device, log, step):
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
    log(event="validation", step=step, accuracy=round(overall, 4), cells={k: f"{h}/{n}" for k, (h, n) in sorted(results.items())})
    return overall


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

    tok = Tokenizer.from_file(os.path.join(args.tokenizer, "tokenizer.json"))
    bos_id, eos_id = tok.token_to_id(BOS), tok.token_to_id(EOS)
    files = sorted(f for f in os.listdir(args.data) if f.startswith("train") and f.endswith(".jsonl.gz"))
    cases = [c for f in files for c in read_cases(os.path.join(args.data, f))]
    cases.sort(key=lambda c: c["id"])
    random.Random(args.seed).shuffle(cases)
    if args.max_cases:
        cases = cases[: args.max_cases]
    weights = {}
    for item in args.task_weight:
        task, _, n = item.partition("=")
        weights[task] = int(n)
    cases = [c for c in cases for _ in range(weights.get(c["task"], 1))]
    train = encode_cases(tok, cases, eos_id)
    valid_cases = read_cases(os.path.join(args.data, "validation.jsonl.gz"))
    valid = encode_cases(tok, valid_cases[: args.validation_cases or len(valid_cases)], eos_id)
    buckets = {}
    for e in train:
        buckets.setdefault(e["length"], []).append(e)
    log(event="data", cases=len(train), buckets={k: len(v) for k, v in sorted(buckets.items())},
        prompt_tokens=int(sum(len(e["prompt"]) for e in train)), validation=len(valid), seconds=round(time.time() - started, 1))

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
    cursor = {k: 0 for k in buckets}
    order = {k: np.random.permutation(len(v)) for k, v in buckets.items()}
    rng = np.random.default_rng(args.seed)
    step, seen_tokens, last_save = 0, 0.0, time.time()
    train_started = time.time()
    device_type = args.device.split(":")[0]
    while True:
        elapsed = time.time() - train_started
        # The schedule (curriculum and learning rate) runs on whichever budget is nearer its end.
        share = args.start_share + (1 - args.start_share) * max(seen_tokens / args.token_budget, elapsed / args.time_budget)
        if share >= 1.0:
            break
        limit = allowed_length(share)
        lengths = [k for k in buckets if k <= limit]
        # Half the steps on the longest allowed length, the rest spread over the shorter ones.
        length = max(lengths) if rng.random() < 0.5 or len(lengths) == 1 else int(rng.choice([k for k in lengths if k != max(lengths)]))
        per_batch = max(1, args.batch_tokens // length)
        examples = []
        for _ in range(per_batch):
            if cursor[length] >= len(order[length]):
                cursor[length] = 0
                order[length] = rng.permutation(len(buckets[length]))
            examples.append(buckets[length][order[length][cursor[length]]])
            cursor[length] += 1
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
            accuracy = (logits.argmax(-1) == targets).float().mean()
            log(event="step", step=step, length=length, batch=len(examples), loss=round(loss.item(), 4),
                token_accuracy=round(accuracy.item(), 4), grad_norm=round(float(grad_norm), 3), lr=round(lr, 6),
                share=round(share, 4), elapsed=round(time.time() - train_started, 1))
        if time.time() - last_save >= args.save_every:
            save(model, args.out, log, "periodic", step)
            last_save = time.time()
    save(model, args.out, log, "final", step)
    validate(model, valid, args.device, log, step)
    log(event="end", steps=step, tokens=int(seen_tokens), seconds=round(time.time() - started, 1))


if __name__ == "__main__":
    main()
