#!/usr/bin/env python3
"""Is the size of a number readable from a model's embeddings? For each checkpoint, a leave-one-out
ridge regression from the input embedding of each number token (ages 18-90, heights 150-199: the
numbers two_hop compares) to its value, scored as the share of number pairs whose predictions are
in the right order (0.5: no order at all; random vectors score about that).

    python3 tools/train/probe_numbers.py --tokenizer models/headkv-tiny MODEL.safetensors [...]

The two_hop task needs this order (or one the later layers build); tools/train/README.md has what
it showed.
"""
import argparse

import numpy as np
from safetensors.torch import load_file
from tokenizers import Tokenizer

RANGES = {"ages": range(18, 91), "heights": range(150, 200)}


def pairwise_order(embeddings, tokenizer, numbers):
    ids = [tokenizer.token_to_id(str(n)) for n in numbers]
    missing = [n for n, i in zip(numbers, ids) if i is None]
    if missing:
        raise SystemExit(f"probe_numbers.py: the tokenizer has no single token for {missing[:5]}")
    x, y = embeddings[ids].astype(np.float64), np.array(numbers, dtype=np.float64)
    predictions = []
    for i in range(len(numbers)):
        keep = np.arange(len(numbers)) != i
        design = np.c_[x[keep], np.ones(keep.sum())]
        beta = np.linalg.solve(design.T @ design + np.eye(design.shape[1]), design.T @ y[keep])
        predictions.append(np.r_[x[i], 1.0] @ beta)
    p = np.array(predictions)
    right = (p[:, None] > p[None, :]) == (y[:, None] > y[None, :])
    off_diagonal = ~np.eye(len(numbers), dtype=bool)
    return float(right[off_diagonal].mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokenizer", required=True, help="folder with tokenizer.json")
    parser.add_argument("weights", nargs="+", help="model.safetensors files")
    args = parser.parse_args()
    tokenizer = Tokenizer.from_file(f"{args.tokenizer}/tokenizer.json")
    for path in args.weights:
        tensors = load_file(path)
        if "model.embed_tokens.weight" not in tensors:
            raise SystemExit(f"probe_numbers.py: {path} has no model.embed_tokens.weight")
        embeddings = tensors["model.embed_tokens.weight"].float().numpy()  # bfloat16 on disk
        scores = {name: round(pairwise_order(embeddings, tokenizer, list(r)), 3) for name, r in RANGES.items()}
        print(path, " ".join(f"{name} {score}" for name, score in scores.items()))


if __name__ == "__main__":
    main()
