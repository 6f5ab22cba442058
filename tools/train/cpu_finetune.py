"""What drill_cpu.py and variants_cpu.py share: short CPU fine-tunes of a Hugging Face model on
prompt/answer cases, with the loss on answer tokens only (train.py's encoding, batches and
logits), scored on held-out cases by teacher-forced exactness (every answer token the argmax),
logged as JSON lines."""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import LlamaForCausalLM

import train


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
        self.eos = self.tok.token_to_id(train.EOS)

    def log(self, **record):
        line = json.dumps(record)
        print(line, flush=True)
        self.log_file.write(line + "\n")

    def encode(self, case):
        """The case as train.py encodes it: prompt ids (BOS added) and answer ids (' ' + answer, then EOS)."""
        return train.encode_cases(self.tok, [case], self.eos)[0]

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
            ids, rows, cols, targets = train.make_batch(draw_examples(self.rng), "cpu")
            loss = F.cross_entropy(train.answer_logits(model, ids, rows, cols), targets)
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
    cases = train.read_cases(path)
    if not cases:
        sys.exit(f"{what}: {path} holds no cases")
    return cases


@torch.no_grad()
def accuracy(model, examples):
    ids, rows, cols, targets = train.make_batch(examples, "cpu")
    right = (train.answer_logits(model, ids, rows, cols).argmax(-1) == targets).tolist()
    hits, at = 0, 0
    for e in examples:
        hits += all(right[at: at + len(e["answer"])])
        at += len(e["answer"])
    return round(hits / len(examples), 4)
