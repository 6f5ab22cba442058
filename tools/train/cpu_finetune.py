"""What drill_cpu.py and variants_cpu.py share: short CPU fine-tunes of a Hugging Face model on
prompt/answer cases, with the loss on answer tokens only (as train.py), scored on held-out cases
by teacher-forced exactness (every answer token the argmax), logged as JSON lines."""
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


def add_common_args(p, batch, report_every):
    p.add_argument("--init", required=True, help="Hugging Face model folder to start from")
    p.add_argument("--tokenizer", default="models/headkv-tiny", help="folder with tokenizer.json")
    p.add_argument("--seconds", type=float, required=True, help="training time")
    p.add_argument("--out", required=True)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--report-every", type=int, default=report_every)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)


class Session:
    """Seeds, the output folder, the JSON-lines log (OUT/LOG_NAME) and the tokenizer of one run."""

    def __init__(self, args, log_name):
        self.args = args
        torch.set_num_threads(args.threads)
        torch.manual_seed(args.seed)
        self.rng = np.random.default_rng(args.seed)
        os.makedirs(args.out, exist_ok=True)
        self.log_file = open(os.path.join(args.out, log_name), "w", encoding="utf-8")
        self.tok = Tokenizer.from_file(os.path.join(args.tokenizer, "tokenizer.json"))
        self.eos = self.tok.token_to_id("<|end_of_text|>")

    def log(self, **record):
        line = json.dumps(record)
        print(line, flush=True)
        self.log_file.write(line + "\n")

    def encode(self, case):
        """Prompt ids (BOS added) and answer ids (' ' + answer, then EOS), as train.py."""
        prompt = self.tok.encode(case["prompt"], add_special_tokens=True).ids
        return prompt, self.tok.encode(" " + case["answer"], add_special_tokens=False).ids + [self.eos]

    def finetune(self, draw_examples, held_out):
        """Trains for --seconds on draw_examples(rng) batches; logs accuracy on each held_out
        task (a dict: task -> encoded cases, logged under the key it maps to) at the start, every
        --report-every steps and at the end; saves OUT/model."""
        args = self.args
        model = LlamaForCausalLM.from_pretrained(args.init, dtype=torch.float32)
        optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)

        def report(step, loss, elapsed):
            model.eval()
            self.log(event="held_out", step=step, seconds=round(elapsed), loss=loss,
                     **{key: accuracy(model, cases) for key, cases in held_out.items() if cases})
            model.train()

        report(0, None, 0.0)
        started, step = time.time(), 0
        while time.time() - started < args.seconds:
            ids, rows, cols, targets = batch_tensors(draw_examples(self.rng))
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
        self.log(event="end", steps=step, seconds=round(time.time() - started))


def read_cases(path, what):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        cases = [json.loads(line) for line in f if line.strip()]
    if not cases:
        sys.exit(f"{what}: {path} holds no cases")
    return cases


def batch_tensors(examples):
    """Right-padded ids and, per answer token, the (row, column) whose logits predict it."""
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
