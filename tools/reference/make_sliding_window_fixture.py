#!/usr/bin/env python3
"""Sliding-window attention fixtures: test/fixtures/models/{mistral-swa,qwen2-swa} and goldens.

mistral-swa: the weights, tokenizer and generation config of test/fixtures/models/mistral
(written by make_fixtures.py) with config.json's sliding_window set to SLIDING_WINDOW, so that
the golden prompts (up to 40 tokens) and their greedy continuations (16 more) run far past the
window in every layer. qwen2-swa: test/fixtures/models/qwen2 with use_sliding_window, the same
window and max_window_layers 1, so that layer 0 attends every earlier token and layers 1 and 2
slide (transformers' layer_types). Each golden has the schema of the other goldens (logits at
every prompt position, greedy tokens chosen with a margin) plus decode_logits: the logits of
every greedy step, recomputed without a cache, so that the engine's decode path is checked
against transformers' sliding-window mask step by step, not only through the argmax.

Run from the repository root after make_fixtures.py (it reads the mistral and qwen2 fixtures):
    python3 tools/reference/make_sliding_window_fixture.py
It writes test/fixtures/models/{mistral-swa,qwen2-swa}/, test/fixtures/golden/{mistral-swa,
qwen2-swa}.json and test/fixtures/sliding-window-provenance.json (command, versions, checks),
and exits 1 when a check fails.
"""

import copy
import json
import os
import shutil
import sys

import torch
import transformers

from make_fixtures import (
    GOLDEN_PROMPT_LENGTHS,
    GREEDY_MIN_MARGIN,
    GREEDY_NEW_TOKENS,
    LOGITS_MAX_ABS,
    SEED,
    full_logits,
    generate_greedy,
    load_fp32,
    recomputed_greedy,
    regular_vocab,
    robust_prompt,
    rounded_rows,
    versions,
    write_json,
)
from tokenizers import Tokenizer

SLIDING_WINDOW = 8
COPIED_FILES = ("generation_config.json", "tokenizer.json", "tokenizer_config.json")
# name -> (source fixture, config.json changes, prompt lengths). qwen2-swa has two prompts, not
# three, to keep its golden under 1 MB.
VARIANTS = {
    "mistral-swa": ("mistral", {"sliding_window": SLIDING_WINDOW}, GOLDEN_PROMPT_LENGTHS),
    "qwen2-swa": (
        "qwen2",
        {
            "use_sliding_window": True,
            "sliding_window": SLIDING_WINDOW,
            "max_window_layers": 1,
            "layer_types": ["full_attention", "sliding_attention", "sliding_attention"],
        },
        GOLDEN_PROMPT_LENGTHS[1:],
    ),
}


def check(condition: bool, message: str, problems: list) -> None:
    print(("ok: " if condition else "PROBLEM: ") + message)
    if not condition:
        problems.append(message)


def write_model(source_dir: str, out_dir: str, changes: dict) -> None:
    """The source fixture's weights saved again with the config changes."""
    model = load_fp32(source_dir)
    for key, value in changes.items():
        setattr(model.config, key, value)
    shutil.rmtree(out_dir, ignore_errors=True)
    model.save_pretrained(out_dir)
    for name in COPIED_FILES:
        shutil.copyfile(os.path.join(source_dir, name), os.path.join(out_dir, name))
    with open(os.path.join(out_dir, "config.json"), encoding="utf-8") as f:
        written = json.load(f)
    for key, value in changes.items():
        if written.get(key) != value:
            raise RuntimeError(f"{out_dir}/config.json: {key} {written.get(key)!r}, expected {value!r}")


@torch.no_grad()
def make_golden(name: str, model_dir: str, plain_dir: str, changes: dict, lengths, out_path: str, n_regular: int,
                problems: list) -> None:
    model = load_fp32(model_dir)
    plain = load_fp32(plain_dir)
    for key, value in changes.items():
        check(getattr(model.config, key) == value, f"{name}: transformers loads {key} = {value!r}", problems)
    # The same weights with every layer sliding: differs from a model whose first layers do not.
    every_layer = None
    if "layer_types" in changes:
        config = copy.deepcopy(model.config)
        config.layer_types = ["sliding_attention"] * config.num_hidden_layers
        every_layer = type(model)(config)
        every_layer.load_state_dict(model.state_dict())
        every_layer.eval()
    cases, window_effect, layer_effect = [], 0.0, 0.0
    for length in lengths:
        prompt = robust_prompt(model, length, n_regular, SEED, GREEDY_NEW_TOKENS)
        logits = full_logits(model, prompt)
        recomputed, margins = recomputed_greedy(model, prompt, GREEDY_NEW_TOKENS)
        generated = generate_greedy(model, prompt, GREEDY_NEW_TOKENS)
        check(generated == recomputed, f"{name} n={length}: generate() (with its cache) equals the recomputed argmax",
              problems)
        # decode_logits[t]: the logits that chose greedy_ids[t] (t = 0 is the prompt's last row).
        decode = torch.stack([full_logits(model, prompt + recomputed[:t])[-1] for t in range(GREEDY_NEW_TOKENS)])
        full = prompt + recomputed
        window_effect = max(window_effect, float((full_logits(plain, full) - full_logits(model, full)).abs().max()))
        if every_layer is not None:
            layer_effect = max(layer_effect, float((full_logits(every_layer, full) - full_logits(model, full)).abs().max()))
        cases.append(
            {
                "prompt_ids": prompt,
                "logits": rounded_rows(logits),
                "greedy_ids": generated,
                "greedy_margins": [float(f"{m:.6g}") for m in margins],
                "decode_logits": rounded_rows(decode),
            }
        )
        print(f"{name} n={length}: greedy {generated}, min margin {min(margins):.2e}")
    print(f"{name}: the sliding window moves the logits of the longest sequence by up to {window_effect:.3f}")
    check(window_effect > 10 * LOGITS_MAX_ABS, f"{name}: the window changes the logits well beyond the tolerance",
          problems)
    layer_note = ""
    if every_layer is not None:
        print(f"{name}: sliding in every layer instead would move them by up to {layer_effect:.3f}")
        check(layer_effect > 10 * LOGITS_MAX_ABS, f"{name}: the full-attention layers matter beyond the tolerance",
              problems)
        layer_note = f" Sliding in every layer instead would move them by up to {layer_effect:.3g}."
    golden = {
        "model": name,
        "weights_dtype": "float32",
        "dtype_compute": "float32",
        "attn_implementation": "eager",
        "sliding_window": SLIDING_WINDOW,
        "tolerance": {
            "logits_max_abs": LOGITS_MAX_ABS,
            "note": (
                f"Computed on CPU in float32 by transformers {transformers.__version__} / torch {torch.__version__} "
                f"with {type(model).__name__}'s sliding-window mask (window {SLIDING_WINDOW}: the query at position i "
                "attends keys i - window < j <= i, in the layers that slide); logits rounded to 6 significant digits. decode_logits[t] are "
                "the logits that chose greedy_ids[t], recomputed without a cache. Prompts were chosen so that "
                f"every greedy margin is at least {GREEDY_MIN_MARGIN:g}. Without the window the logits of the "
                f"longest sequence differ by up to {window_effect:.3g}." + layer_note
            ),
        },
        "greedy_new_tokens": GREEDY_NEW_TOKENS,
        "cases": cases,
    }
    write_json(out_path, golden, compact=True)


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    torch.set_grad_enabled(False)
    fixtures = os.path.join(root, "test", "fixtures")
    info = versions()
    problems: list = []
    for name, (source, changes, lengths) in VARIANTS.items():
        source_dir = os.path.join(fixtures, "models", source)
        out_dir = os.path.join(fixtures, "models", name)
        write_model(source_dir, out_dir, changes)
        n_regular = regular_vocab(Tokenizer.from_file(os.path.join(source_dir, "tokenizer.json")))
        make_golden(name, out_dir, source_dir, changes, lengths, os.path.join(fixtures, "golden", f"{name}.json"),
                    n_regular, problems)
    write_json(
        os.path.join(fixtures, "sliding-window-provenance.json"),
        {
            "command": "python3 tools/reference/make_sliding_window_fixture.py",
            "variants": {name: {"source_model": f"test/fixtures/models/{source}", "config_changes": changes}
                         for name, (source, changes, _) in VARIANTS.items()},
            "seed": SEED,
            "versions": info,
            "problems": problems,
        },
    )
    print(f"== done: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
