#!/usr/bin/env python3
"""Trains the headkv-tiny byte-level BPE tokenizer on the suite's training text.

    python3 tools/train/build_tokenizer.py --corpus .train-data/corpus.txt --out models/headkv-tiny

Laid out like Meta-Llama-3's tokenizer.json (regex Split + ByteLevel, BOS added by the
post-processor, special tokens after the learned vocabulary), with the contraction group written
without the inline (?i:...) flag so that the same regex runs in JavaScript (the suite's fast
token counter splits texts with it). Writes tokenizer.json and tokenizer_config.json.
"""
import argparse
import json
import os

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, pre_tokenizers, processors, trainers
from tokenizers import models as tokenizer_models

SPLIT = (
    r"'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
BOS = "<|begin_of_text|>"
EOS = "<|end_of_text|>"
SPECIALS = [BOS, EOS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True, help="text file, one training prompt and answer a line")
    parser.add_argument("--out", required=True, help="model folder to write the tokenizer into")
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--max-length", type=int, default=8192)
    args = parser.parse_args()

    with open(args.corpus, encoding="utf-8") as f:
        lines = [line.rstrip("\n").replace("\\n", "\n") for line in f if line.strip()]
    tok = Tokenizer(tokenizer_models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=args.vocab_size - len(SPECIALS),
        min_frequency=2,
        show_progress=False,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(lines, trainer=trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    tok.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single=f"{BOS}:0 $A:0", pair=f"{BOS}:0 $A:0 {BOS}:1 $B:1", special_tokens=[(BOS, tok.token_to_id(BOS))]
            ),
        ]
    )
    size = tok.get_vocab_size(with_added_tokens=True)
    if size != args.vocab_size:
        raise SystemExit(f"build_tokenizer: the corpus gave a vocabulary of {size}, not {args.vocab_size}")
    os.makedirs(args.out, exist_ok=True)
    tok.save(os.path.join(args.out, "tokenizer.json"))
    # What transformers 5.x writes for a tokenizers-backed fast tokenizer (no chat template: the
    # model answers plain "...Question: ...\nAnswer:" prompts).
    config = {
        "backend": "tokenizers",
        "bos_token": BOS,
        "eos_token": EOS,
        "clean_up_tokenization_spaces": False,
        "model_max_length": args.max_length,
        "tokenizer_class": "TokenizersBackend",
    }
    with open(os.path.join(args.out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1)
        f.write("\n")
    print(f"build_tokenizer: tokenizers {tokenizers.__version__}, vocab {size}, {len(lines)} corpus lines -> {args.out}")


if __name__ == "__main__":
    main()
