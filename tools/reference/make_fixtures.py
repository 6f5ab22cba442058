#!/usr/bin/env python3
"""Builds the committed test fixtures (test/fixtures/) and the demo model (models/tiny-random-llama/).

Run from the repository root on a machine with torch, transformers, tokenizers and safetensors:
    python3 tools/reference/make_fixtures.py
Everything is seeded; the folders it writes are deleted and rebuilt. Each stage reports its own
failure and the script exits 1 if any stage failed or any cross-check disagreed.
See tools/reference/README.md and test/fixtures/README.md.
"""

import argparse
import copy
import json
import os
import platform
import shutil
import sys
import traceback

import numpy as np
import safetensors
import tokenizers
import torch
import transformers
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from tokenizers import models as tokenizer_models
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
)

import chat_templates
from allocation import headkv_kv_head_caps, headkv_query_head_caps, pyramidkv_layer_caps
from corpus import make_corpus
from headkv_reference import (
    GRANULARITIES,
    METHODS,
    budget_caps,
    compressed_greedy_decode,
    select_positions,
    window_pooled_scores,
)
from masked_forward import masked_forward
from tokenizer_cases import CHAT_CONVERSATIONS, parity_strings

SEED = 20261128
INIT_STD = 0.15  # weights ~ N(0, 0.15^2): logits spread over several units, greedy text varies
TEST_VOCAB = 1000
DEMO_VOCAB = 4096
GOLDEN_PROMPT_LENGTHS = (5, 17, 40)
GREEDY_NEW_TOKENS = 16
LOGITS_MAX_ABS = 1e-3
GREEDY_MIN_MARGIN = 5 * LOGITS_MAX_ABS  # prompts whose greedy steps come closer to a tie are skipped
NEAR_TIE = 1e-6  # a selection cut with a score gap in (0, NEAR_TIE) could fall elsewhere in fp32
PROMPT_RETRY_STRIDE = 7919
MAX_PROMPT_ATTEMPTS = 200
FORWARD_AGREEMENT = 1e-4  # masked_forward vs transformers' own logits, same process, same device
WINDOW = 8
POOL_KERNEL = 7
HEADKV_MODELS = ("llama-f32", "qwen2")
HEADKV_PROMPT_LENGTHS = (96, 200)
HEADKV_KV_SIZES = (16, 32)
HEADKV_BETA = 1.01
DECODE_PROMPT_LENGTH = 96
DECODE_KV_SIZE = 16
DECODE_STEPS = 8
DECODE_CASES = (
    ("headkv", "query-head"),
    ("headkv", "kv-head"),
    ("snapkv", "kv-head"),
    ("pyramidkv", "query-head"),
)

LLAMA3_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
]
CHATML_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Pre-tokenizer regexes of Meta-Llama-3 and Qwen2 (Qwen2 splits digits one by one).
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
LLAMA3_ROPE = {
    "rope_type": "llama3",
    "rope_theta": 500000.0,
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 64,
}

PROBLEMS: list[str] = []


def problem(message: str) -> None:
    print(f"PROBLEM: {message}", flush=True)
    PROBLEMS.append(message)


def run_stage(name, function, *args, **kwargs):
    print(f"== {name}", flush=True)
    try:
        return function(*args, **kwargs)
    except Exception as error:  # one broken stage must not hide the others' results
        traceback.print_exc()
        problem(f"stage {name} failed: {type(error).__name__}: {error}")
        return None


def write_json(path: str, obj, compact: bool = False) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def rounded_rows(t: torch.Tensor) -> list:
    """Logits rounded to 6 significant digits."""
    return [[float(f"{v:.6g}") for v in row] for row in t.tolist()]


# ------------------------------------------------------------------------------- tokenizers


def train_tokenizer(style: str, vocab_size: int, corpus: list[str], min_frequency: int = 2) -> Tokenizer:
    """Byte-level BPE laid out like Meta-Llama-3's (style llama3) or Qwen2's (style chatml)
    tokenizer.json; the special tokens come after the learned vocabulary, as in those models."""
    if style == "llama3":
        specials, pattern, ignore_merges = LLAMA3_SPECIALS, LLAMA3_SPLIT, True
    else:
        specials, pattern, ignore_merges = CHATML_SPECIALS, QWEN2_SPLIT, False
    tok = Tokenizer(tokenizer_models.BPE(ignore_merges=ignore_merges))
    if style == "chatml":
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(specials),
        min_frequency=min_frequency,
        show_progress=False,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    if style == "llama3":
        bos = "<|begin_of_text|>"
        tok.post_processor = processors.Sequence(
            [
                processors.ByteLevel(trim_offsets=False),
                processors.TemplateProcessing(
                    single=f"{bos}:0 $A:0",
                    pair=f"{bos}:0 $A:0 {bos}:1 $B:1",
                    special_tokens=[(bos, tok.token_to_id(bos))],
                ),
            ]
        )
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    size = tok.get_vocab_size(with_added_tokens=True)
    print(f"tokenizer {style}: vocab {size} (asked {vocab_size})")
    if size != vocab_size:
        problem(f"tokenizer {style}: the corpus gave a vocabulary of {size}, not {vocab_size}")
    return tok


def fast_tokenizer(tok: Tokenizer, style: str, max_length: int) -> PreTrainedTokenizerFast:
    if style == "llama3":
        fast = PreTrainedTokenizerFast(
            tokenizer_object=tok,
            bos_token="<|begin_of_text|>",
            eos_token="<|eot_id|>",
            clean_up_tokenization_spaces=False,
            model_max_length=max_length,
        )
        fast.chat_template = chat_templates.LLAMA3
    else:
        fast = PreTrainedTokenizerFast(
            tokenizer_object=tok,
            eos_token="<|im_end|>",
            pad_token="<|endoftext|>",
            clean_up_tokenization_spaces=False,
            model_max_length=max_length,
        )
        fast.chat_template = chat_templates.CHATML
    return fast


def save_tokenizer(fast: PreTrainedTokenizerFast, directory: str) -> None:
    """save_pretrained, then the chat template moved into tokenizer_config.json (recent
    transformers write it to chat_template.jinja; the engine reads tokenizer_config.json)."""
    template = fast.chat_template
    fast.save_pretrained(directory)
    config_path = os.path.join(directory, "tokenizer_config.json")
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    jinja_path = os.path.join(directory, "chat_template.jinja")
    if os.path.exists(jinja_path):
        with open(jinja_path, encoding="utf-8") as f:
            config["chat_template"] = f.read()
        os.remove(jinja_path)
    if config.get("chat_template") != template:
        problem(f"{config_path}: chat_template not saved verbatim")
    config["chat_template"] = template
    write_json(config_path, config)
    reloaded = AutoTokenizer.from_pretrained(directory)
    if reloaded.chat_template != template:
        problem(f"{directory}: reloaded tokenizer lost the chat template")


def token_ids(tok: Tokenizer, style: str) -> dict:
    names = LLAMA3_SPECIALS if style == "llama3" else CHATML_SPECIALS
    return {name: tok.token_to_id(name) for name in names}


def regular_vocab(tok: Tokenizer) -> int:
    """Ids below this are learned tokens (the special tokens follow them)."""
    return tok.get_vocab_size(with_added_tokens=False)


# ----------------------------------------------------------------------------------- models


def randomize(model, seed: int) -> None:
    """Every parameter drawn from one seeded generator: matrices N(0, INIT_STD^2), biases
    N(0, 0.1^2), norm weights 1 + N(0, 0.1^2) (not all ones, so a missing norm weight shows)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if param.ndim >= 2:
                param.copy_(noise * INIT_STD)
            elif name.endswith("bias"):
                param.copy_(noise * 0.1)
            else:
                param.copy_(1.0 + noise * 0.1)


def build_model(arch, n_layers, vocab_size, ids, seed, *, head_dim=16, rope=None, hidden=64,
                heads=4, kv_heads=2, intermediate=128, max_positions=512):
    """A random-weight model in float32. ids: the tokenizer's special token ids."""
    if arch == "qwen2":
        bos, eos = ids["<|endoftext|>"], ids["<|im_end|>"]
        generation_eos, pad = [ids["<|im_end|>"], ids["<|endoftext|>"]], ids["<|endoftext|>"]
    else:
        bos, eos = ids["<|begin_of_text|>"], ids["<|eot_id|>"]
        generation_eos, pad = [ids["<|end_of_text|>"], ids["<|eot_id|>"]], None
    rope_parameters = dict(rope) if rope else {
        "rope_type": "default",
        "rope_theta": 1000000.0 if arch == "qwen2" else 10000.0,
    }
    common = dict(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=n_layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max_positions,
        rms_norm_eps=1e-5,
        initializer_range=INIT_STD,
        hidden_act="silu",
        bos_token_id=bos,
        eos_token_id=eos,
        rope_parameters=rope_parameters,
    )
    if arch == "llama":
        config = LlamaConfig(**common, head_dim=head_dim, attention_bias=False, mlp_bias=False,
                             tie_word_embeddings=False)
        model_class = LlamaForCausalLM
    elif arch == "mistral":
        config = MistralConfig(**common, head_dim=head_dim, sliding_window=None, tie_word_embeddings=False)
        model_class = MistralForCausalLM
    elif arch == "qwen2":
        config = Qwen2Config(**common, tie_word_embeddings=True, use_sliding_window=False,
                             max_window_layers=n_layers)
        model_class = Qwen2ForCausalLM
    else:
        raise ValueError(f"unknown architecture {arch!r}")
    stored = getattr(config, "rope_parameters", None)
    if not stored or stored.get("rope_theta") != rope_parameters["rope_theta"] or stored.get(
        "rope_type"
    ) != rope_parameters["rope_type"]:
        raise RuntimeError(f"{arch}: config kept rope_parameters {stored!r}, asked {rope_parameters!r}")
    torch.manual_seed(seed)
    model = model_class(config)
    randomize(model, seed)
    model.generation_config = GenerationConfig(bos_token_id=bos, eos_token_id=generation_eos, pad_token_id=pad)
    return model.eval()


def save_model(model, directory, dtype, fast, max_shard_size=None) -> bool:
    shutil.rmtree(directory, ignore_errors=True)
    to_save = copy.deepcopy(model).to(dtype)
    kwargs = {"max_shard_size": max_shard_size} if max_shard_size else {}
    to_save.save_pretrained(directory, **kwargs)
    save_tokenizer(fast, directory)
    names = sorted(os.listdir(directory))
    if any(name.endswith(".bin") for name in names):
        problem(f"{directory}: pickle weights written: {names}")
    if max_shard_size:
        shards = [n for n in names if n.endswith(".safetensors")]
        if "model.safetensors.index.json" not in names or len(shards) < 2:
            problem(f"{directory}: expected 2+ shards and an index, got {names}")
    elif "model.safetensors" not in names:
        problem(f"{directory}: no model.safetensors in {names}")
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    written = config.get("dtype", config.get("torch_dtype"))
    expected = str(dtype).replace("torch.", "")
    if written != expected:
        problem(f"{directory}/config.json: dtype {written!r}, expected {expected!r}")
    size = sum(os.path.getsize(os.path.join(directory, n)) for n in names)
    print(f"saved {directory}: {names} ({size / 1e6:.2f} MB)")
    return True


def rewrite_config_as_v4(directory: str) -> bool:
    """transformers 5 writes rope_parameters {rope_type, rope_theta, ...} and "dtype"; 4.x wrote
    rope_theta and rope_scaling at the top level and "torch_dtype". Rewrites config.json so."""
    path = os.path.join(directory, "config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    rope = config.pop("rope_parameters", None)
    if not isinstance(rope, dict) or "rope_theta" not in rope:
        raise RuntimeError(f"{path}: no flat rope_parameters to rewrite: {rope!r}")
    rope = dict(rope)
    config["rope_theta"] = rope.pop("rope_theta")
    config["rope_scaling"] = rope if rope.get("rope_type", "default") != "default" else None
    if "dtype" in config:
        config["torch_dtype"] = config.pop("dtype")
    config["transformers_version"] = "4.48.0"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(dict(sorted(config.items())), f, indent=2)
        f.write("\n")
    return True


def load_fp32(directory: str):
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    wrong = [n for n, p in model.named_parameters() if p.dtype != torch.float32]
    if wrong:
        raise RuntimeError(f"{directory}: parameters not float32 after load: {wrong[:3]}")
    return model


# ---------------------------------------------------------------------------------- goldens


@torch.no_grad()
def full_logits(model, prompt) -> torch.Tensor:
    ids = torch.tensor([prompt], dtype=torch.long, device=model.device)
    return model(input_ids=ids, use_cache=False).logits[0].float().cpu()


def top2_margin(logits: torch.Tensor) -> float:
    top2 = torch.topk(logits, 2).values
    return float(top2[0] - top2[1])


@torch.no_grad()
def recomputed_greedy(model, prompt, n_new):
    """Greedy by full recomputation; returns (tokens, top-1 minus top-2 logit per step)."""
    sequence, margins = list(prompt), []
    for _ in range(n_new):
        logits = full_logits(model, sequence)[-1]
        margins.append(top2_margin(logits))
        sequence.append(int(torch.argmax(logits)))
    return sequence[len(prompt):], margins


@torch.no_grad()
def generate_greedy(model, prompt, n_new):
    """model.generate, greedy, no stop token: eos is cleared so that every step is an argmax."""
    config = GenerationConfig(do_sample=False, num_beams=1, max_new_tokens=n_new, eos_token_id=None,
                              pad_token_id=0)
    saved = model.generation_config
    model.generation_config = config
    try:
        ids = torch.tensor([prompt], dtype=torch.long)
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config)
    finally:
        model.generation_config = saved
    return out[0, len(prompt):].tolist()


def candidate_prompt(length: int, n_regular: int, seed: int, attempt: int) -> list[int]:
    return np.random.RandomState(seed + length + PROMPT_RETRY_STRIDE * attempt).randint(0, n_regular, size=length).tolist()


def robust_prompt(model, length: int, n_regular: int, seed: int, n_new: int) -> list[int]:
    """The first seeded candidate whose greedy continuation never comes within GREEDY_MIN_MARGIN
    of a tie, so that an engine inside the logits tolerance must produce the same tokens."""
    for attempt in range(MAX_PROMPT_ATTEMPTS):
        prompt = candidate_prompt(length, n_regular, seed, attempt)
        _, margins = recomputed_greedy(model, prompt, n_new)
        if min(margins) >= GREEDY_MIN_MARGIN:
            return prompt
    raise RuntimeError(f"no {length}-token prompt with greedy margins >= {GREEDY_MIN_MARGIN} in {MAX_PROMPT_ATTEMPTS} tries")


def make_golden(name: str, model_path: str, out_path: str, n_regular: int, stored_dtype: str,
                lengths=GOLDEN_PROMPT_LENGTHS) -> dict:
    model = load_fp32(model_path)
    cuda_model = copy.deepcopy(model).to("cuda") if torch.cuda.is_available() else None
    prompts = [robust_prompt(model, length, n_regular, SEED, GREEDY_NEW_TOKENS) for length in lengths]
    cases, cuda_diff, own_diff, all_logits = [], 0.0, 0.0, []
    for prompt in prompts:
        logits = full_logits(model, prompt)
        all_logits.append(logits)
        own, _ = masked_forward(model, torch.tensor(prompt))
        own_diff = max(own_diff, float((own - logits).abs().max()))
        if cuda_model is not None:
            cuda_diff = max(cuda_diff, float((full_logits(cuda_model, prompt) - logits).abs().max()))
        recomputed, margins = recomputed_greedy(model, prompt, GREEDY_NEW_TOKENS)
        generated = generate_greedy(model, prompt, GREEDY_NEW_TOKENS)
        if generated != recomputed:
            problem(f"{name}: generate() {generated} != recomputed argmax {recomputed} (margins {margins})")
        if len(generated) != GREEDY_NEW_TOKENS:
            problem(f"{name}: generate() gave {len(generated)} tokens")
        cases.append(
            {
                "prompt_ids": prompt,
                "logits": rounded_rows(logits),
                "greedy_ids": generated,
                "greedy_margins": [float(f"{m:.6g}") for m in margins],
            }
        )
        print(
            f"{name} n={len(prompt)}: logits std {float(logits.std()):.3f} range "
            f"[{float(logits.min()):.2f}, {float(logits.max()):.2f}], greedy {generated} "
            f"({len(set(generated))} distinct), min margin {min(margins):.2e}"
        )
    if own_diff > FORWARD_AGREEMENT:
        problem(f"{name}: masked_forward differs from transformers by {own_diff:.2e}")
    cuda_note = (
        f"the same model on CUDA ({torch.cuda.get_device_name(0)}) differed by at most {cuda_diff:.2e}; "
        if cuda_model is not None
        else "no CUDA cross-check was run; "
    )
    golden = {
        "model": name,
        "weights_dtype": stored_dtype,
        "dtype_compute": "float32",
        "attn_implementation": "eager",
        "tolerance": {
            "logits_max_abs": LOGITS_MAX_ABS,
            "note": (
                f"Computed on CPU in float32 by transformers {transformers.__version__} / torch "
                f"{torch.__version__} from the saved weights"
                + (f" ({stored_dtype} upcast to float32 at load)" if stored_dtype != "float32" else "")
                + f"; logits rounded to 6 significant digits; {cuda_note}"
                f"tools/reference/masked_forward.py differed by {own_diff:.2e}. greedy_margins is the "
                "top-1 minus top-2 logit at each greedy step (recomputed without cache); prompts were "
                f"chosen so that every margin is at least {GREEDY_MIN_MARGIN:g}, so an engine within "
                "logits_max_abs must produce exactly greedy_ids."
            ),
        },
        "greedy_new_tokens": GREEDY_NEW_TOKENS,
        "cases": cases,
    }
    write_json(out_path, golden, compact=True)
    return {"prompts": prompts, "logits": all_logits}


# ----------------------------------------------------------------------------------- HeadKV


def float32_exact(values: np.ndarray) -> np.ndarray:
    """Scores the engine receives as C floats: keep only values a float32 holds exactly."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def synthetic_head_scores(n_layers: int, n_heads: int, seed: int) -> np.ndarray:
    """Skewed importance scores (a few heads dominate, as in the published profiles)."""
    scores = np.random.RandomState(seed).gamma(0.4, size=(n_layers, n_heads))
    return float32_exact(scores / scores.sum())


def analyse_prompt(name, model, prompt, head_scores):
    """Pooled scores and every (method, granularity, kv_size) selection for one prompt."""
    config = model.config
    logits, queries_keys = masked_forward(model, torch.tensor(prompt))
    diff = float((logits - full_logits(model, prompt)).abs().max())
    if diff > FORWARD_AGREEMENT:
        problem(f"{name} n={len(prompt)}: masked_forward differs from transformers by {diff:.2e}")
    pooled = [window_pooled_scores(q, k, WINDOW, POOL_KERNEL) for q, k in queries_keys]
    entries = {}
    for kv_size in HEADKV_KV_SIZES:
        for method in METHODS:
            for granularity in GRANULARITIES:
                beta = HEADKV_BETA if method == "headkv" else None
                caps = budget_caps(method, granularity, config, len(prompt), kv_size, WINDOW, beta, head_scores)
                selected, gaps = select_positions(pooled, caps, granularity, config.num_key_value_heads)
                entries[(method, granularity, kv_size)] = {
                    "prompt": f"n{len(prompt)}",
                    "method": method,
                    "granularity": granularity,
                    "kv_size": kv_size,
                    "beta": beta,
                    "caps": caps.tolist(),
                    "selected": selected,
                    "boundary_gaps": gaps,
                }
    near_ties = [g for e in entries.values() for layer in e["boundary_gaps"] for g in layer if g and g < NEAR_TIE]
    return pooled, entries, near_ties


def decode_cases(model, prompt, entries):
    """Compressed greedy decodes of DECODE_CASES, the full-cache greedy tokens, and the smallest
    top-1/top-2 margin met on the way."""
    config = model.config
    full_tokens, full_margins = recomputed_greedy(model, prompt, DECODE_STEPS + 1)
    keep_all = [[list(range(len(prompt) - WINDOW))] * config.num_attention_heads for _ in range(config.num_hidden_layers)]
    first, full_steps = compressed_greedy_decode(model, prompt, keep_all, "query-head", WINDOW, DECODE_STEPS)
    masked_tokens = [first] + [s["next_token"] for s in full_steps]
    if masked_tokens != full_tokens:
        problem(f"masked decode keeping everything {masked_tokens} != transformers greedy {full_tokens}")
    smallest = min(full_margins)
    decodes = []
    for method, granularity in DECODE_CASES:
        entry = entries[(method, granularity, DECODE_KV_SIZE)]
        first, steps = compressed_greedy_decode(model, prompt, entry["selected"], granularity, WINDOW, DECODE_STEPS)
        change = max(float((s["logits"] - f["logits"]).abs().max()) for s, f in zip(steps, full_steps))
        margins = [top2_margin(s["logits"]) for s in steps]
        smallest = min(smallest, *margins)
        decodes.append(
            {
                "prompt": f"n{len(prompt)}",
                "method": method,
                "granularity": granularity,
                "kv_size": DECODE_KV_SIZE,
                "beta": entry["beta"],
                "first_token": first,
                "max_abs_logit_change_vs_full_cache": float(f"{change:.6g}"),
                "steps": [
                    {
                        "input_token": s["input_token"],
                        "next_token": s["next_token"],
                        "margin": float(f"{m:.6g}"),
                        "logits": rounded_rows(s["logits"][None])[0],
                    }
                    for s, m in zip(steps, margins)
                ],
            }
        )
    return full_tokens, decodes, smallest


def make_headkv(name: str, model_path: str, out_path: str, n_regular: int) -> None:
    """Selections for HEADKV_PROMPT_LENGTHS and compressed decodes for the DECODE_PROMPT_LENGTH
    prompt. Prompts are the first seeded candidates with no near-tie at any selection cut and,
    for the decode prompt, no greedy step within GREEDY_MIN_MARGIN of a tie."""
    model = load_fp32(model_path)
    config = model.config
    head_scores = synthetic_head_scores(config.num_hidden_layers, config.num_attention_heads, SEED + 5)
    prompts, selections = [], []
    full_tokens, decodes = None, None
    for length in HEADKV_PROMPT_LENGTHS:
        for attempt in range(MAX_PROMPT_ATTEMPTS):
            prompt = candidate_prompt(length, n_regular, SEED + 1000, attempt)
            pooled, entries, near_ties = analyse_prompt(name, model, prompt, head_scores)
            if near_ties:
                continue
            if length != DECODE_PROMPT_LENGTH:
                break
            full_tokens, decodes, smallest = decode_cases(model, prompt, entries)
            if smallest >= GREEDY_MIN_MARGIN:
                break
        else:
            raise RuntimeError(f"{name}: no robust {length}-token prompt in {MAX_PROMPT_ATTEMPTS} tries")
        print(f"{name} n={length}: prompt attempt {attempt}")
        prompts.append(
            {
                "name": f"n{length}",
                "prompt_ids": prompt,
                "pooled_scores": [[[float(v) for v in row] for row in layer.tolist()] for layer in pooled],
            }
        )
        selections.extend(entries.values())
    for d in decodes:
        tokens = [d["first_token"]] + [s["next_token"] for s in d["steps"]]
        print(f"{name} decode {d['method']}/{d['granularity']}: {tokens} (full cache {full_tokens}); "
              f"max logit change vs full cache {d['max_abs_logit_change_vs_full_cache']:.3f}")
    write_json(
        out_path,
        {
            "model": name,
            "reference": "tools/reference/headkv_reference.py",
            "dtype_compute": "float32",
            "window": WINDOW,
            "pool_kernel": POOL_KERNEL,
            "pooling": "max",
            "window_query_aggregation": "mean",
            "group_aggregation": "mean",
            "tie_break": "higher pooled score first; equal scores: lower position first",
            "cap_at_prompt": False,
            "pyramid_beta": 20,
            "head_scores": head_scores.tolist(),
            "tolerance": {
                "logits_max_abs": LOGITS_MAX_ABS,
                "note": "logits_max_abs applies to the decode step logits. Prompts were chosen so that "
                f"no selection cut has a score gap in (0, {NEAR_TIE:g}) and no greedy step a margin "
                f"below {GREEDY_MIN_MARGIN:g}: selected positions, first_token and next_token must "
                "match exactly.",
            },
            "prompts": prompts,
            "selections": selections,
            "full_cache_tokens": full_tokens,
            "decode": decodes,
        },
        compact=True,
    )


def make_allocation_fixture(out_path: str) -> None:
    rng = np.random.RandomState(SEED + 7)
    with_zeros = float32_exact(rng.gamma(0.5, size=(3, 4)))
    with_zeros[0, 1] = 0.0
    with_zeros[2, 3] = 0.0
    matrices = [
        ("half-even-1x2", np.array([[0.25, 0.75]]), 1),
        ("4x8", float32_exact(rng.gamma(0.5, size=(4, 8))), 2),
        ("3x4-with-zeros", with_zeros, 2),
        ("32x32", float32_exact(rng.gamma(0.3, size=(32, 32))), 8),
    ]
    settings = [
        (10, 1.01, 1.0),
        (16, 1.01, 1.0),
        (19, 1.1, 1.0),
        (24, 10.0, 1.0),
        (32, 1.2, 1.0),
        (64, 1.005, 1.0),
        (64, 1.2, 2.0),
        (109, 1.01, 1.0),
        (128, 2.0, 1.0),
    ]
    out = []
    for name, scores, n_kv in matrices:
        cases = []
        for kv_size, beta, temp in settings:
            q_caps, pool, floor_tokens = headkv_query_head_caps(scores, kv_size, WINDOW, beta, temp)
            kv_caps, _, _ = headkv_kv_head_caps(scores, n_kv, kv_size, WINDOW, beta, temp)
            cases.append(
                {
                    "kv_size": kv_size,
                    "beta": beta,
                    "temp": temp,
                    "floor": floor_tokens,
                    "pool": pool,
                    "query_head_caps": q_caps.tolist(),
                    "kv_head_caps": kv_caps.tolist(),
                }
            )
        out.append({"name": name, "n_kv_heads": n_kv, "scores": scores.tolist(), "cases": cases})
    pyramid = [
        {"n_layers": layers, "kv_size": kv, "n_prompt": n, "caps": pyramidkv_layer_caps(layers, kv, WINDOW, n).tolist()}
        for layers, kv, n in [(3, 16, 96), (3, 32, 96), (3, 32, 40), (3, 16, 200), (2, 32, 200), (32, 128, 8000), (32, 128, 200)]
    ]
    write_json(
        out_path,
        {
            "window": WINDOW,
            "formula": "HEADKV.md section 3: b = kv_size - window; share = b // beta (Python float floor "
            "division); pool = share * L * H; floor = b - share; s = scores / sum; s = s ** temp; s /= sum; "
            "query_head_caps = round_half_even(s * pool + floor). kv_head_caps: sums of the group's "
            "query_head_caps, divided by the group size; the remainders go one token at a time to the "
            "KV heads with the largest sum % group (ties: lower layer-major index) until the caps add "
            "up to floor(total / group).",
            "pyramidkv_formula": "b = kv_size - window; min = b // 20; max = 2b - min; if max >= n_prompt - "
            "window: max = n_prompt - window, min = 2b - max; step = (max - min) // (L - 1); "
            "cap[l] = max - l * step",
            "matrices": out,
            "pyramidkv": pyramid,
        },
    )


# ------------------------------------------------------------------------- tokenizer parity


def make_tokenizer_fixtures(tokenizer_dirs: dict, parity_path: str, chat_path: str) -> None:
    strings = parity_strings(SEED + 3)
    parity, chats = {}, {}
    for style, (directory, relative) in tokenizer_dirs.items():
        tok = AutoTokenizer.from_pretrained(directory)
        raw = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
        cases = []
        for text in strings:
            ids = tok(text, add_special_tokens=False)["input_ids"]
            ids_special = tok(text, add_special_tokens=True)["input_ids"]
            raw_ids = raw.encode(text, add_special_tokens=False).ids
            raw_special = raw.encode(text, add_special_tokens=True).ids
            if ids != raw_ids or ids_special != raw_special:
                problem(f"{style}: transformers and tokenizers disagree on {text!r}: "
                        f"{ids}/{raw_ids}, {ids_special}/{raw_special}")
            decoded = tok.decode(ids, skip_special_tokens=False)
            cases.append(
                {
                    "text": text,
                    "ids": ids,
                    "ids_with_special_tokens": ids_special,
                    "decoded": decoded,
                    "decoded_skip_special_tokens": tok.decode(ids, skip_special_tokens=True),
                    "roundtrip": decoded == text,
                }
            )
        failed = [c["text"] for c in cases if not c["roundtrip"]]
        print(f"{style}: {len(cases)} strings, {len(failed)} without exact round trip: {failed[:5]!r}")
        parity[style] = {"tokenizer": relative, "vocab_size": len(tok), "cases": cases}
        chat_cases = []
        for conversation, messages in CHAT_CONVERSATIONS:
            for add_generation_prompt in (False, True):
                text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
                chat_cases.append(
                    {
                        "name": conversation,
                        "messages": messages,
                        "add_generation_prompt": add_generation_prompt,
                        "text": text,
                        "ids": tok(text, add_special_tokens=False)["input_ids"],
                    }
                )
        chats[style] = {"tokenizer": relative, "cases": chat_cases}
    write_json(parity_path, parity)
    write_json(chat_path, chats)


# ------------------------------------------------------------------------------- demo model

DEMO_CARD = """# tiny-random-llama

A **random-weight** Llama model bundled with HeadKV Fleet for demos, smoke tests and CI. Its
weights are seeded Gaussian noise: it has learned nothing, and the text it generates is
gibberish. Use it to exercise loading, tokenization, chat templating, batching and KV-cache
compression end to end, never to judge output quality.

| field | value |
| --- | --- |
| architecture | LlamaForCausalLM |
| layers | {layers} |
| hidden size | {hidden} |
| attention | {heads} query heads over {kv_heads} KV heads, head_dim {head_dim} |
| MLP intermediate size | {intermediate} |
| vocabulary | {vocab} (byte-level BPE, Llama-3 layout and special tokens) |
| max positions | {max_positions} (RoPE theta {rope_theta}) |
| weights | {dtype} safetensors, {params} parameters |
| chat template | Llama-3-Instruct style (tokenizer_config.json) |

## How it was made

`python3 tools/reference/make_fixtures.py` (seed {seed}) trained the tokenizer with the
`tokenizers` library on an English-like corpus that the script composes itself
(tools/reference/corpus.py; no downloaded data), built the model with transformers
{transformers_version} / torch {torch_version}, drew every parameter from a seeded generator
(matrices N(0, {init_std}^2), norm weights 1 + N(0, 0.1^2)), and saved it with save_pretrained.
"""


def make_demo(corpus: list[str], directory: str, golden_path: str) -> None:
    tok = train_tokenizer("llama3", DEMO_VOCAB, corpus, min_frequency=1)
    fast = fast_tokenizer(tok, "llama3", 4096)
    shape = dict(hidden=128, heads=8, kv_heads=2, head_dim=16, intermediate=384, max_positions=4096)
    rope = {"rope_type": "default", "rope_theta": 500000.0}
    model = build_model("llama", 4, len(fast), token_ids(tok, "llama3"), SEED + 99, rope=rope, **shape)
    save_model(model, directory, torch.bfloat16, fast)
    params = sum(p.numel() for p in model.parameters())
    with open(os.path.join(directory, "README.md"), "w", encoding="utf-8") as f:
        f.write(
            DEMO_CARD.format(
                layers=4, vocab=len(fast), rope_theta=500000, dtype="bfloat16", params=f"{params:,}",
                seed=SEED + 99, transformers_version=transformers.__version__,
                torch_version=torch.__version__, init_std=INIT_STD, **shape,
            )
        )
    make_golden("../../../models/tiny-random-llama", directory, golden_path, regular_vocab(tok), "bfloat16",
                lengths=(8,))


# --------------------------------------------------------------------------------------- main


def versions() -> dict:
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
        "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "platform": platform.platform(),
    }
    print(json.dumps(info, indent=1), flush=True)
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        help="repository root to write into (default: this checkout)")
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_grad_enabled(False)
    fixtures = os.path.join(args.root, "test", "fixtures")
    models_dir = os.path.join(fixtures, "models")
    golden_dir = os.path.join(fixtures, "golden")
    for sub in ("models", "golden", "tokenizer", "allocation"):
        shutil.rmtree(os.path.join(fixtures, sub), ignore_errors=True)
    info = versions()

    corpus = make_corpus(3000, SEED)
    llama_tok = train_tokenizer("llama3", TEST_VOCAB, corpus)
    chatml_tok = train_tokenizer("chatml", TEST_VOCAB, corpus)
    llama_fast = fast_tokenizer(llama_tok, "llama3", 512)
    chatml_fast = fast_tokenizer(chatml_tok, "chatml", 512)
    llama_ids, chatml_ids = token_ids(llama_tok, "llama3"), token_ids(chatml_tok, "chatml")

    builds = {  # in-memory model -> (architecture, layers, tokenizer style, seed, options)
        "llama-f32": ("llama", 3, "llama3", SEED + 1, {}),
        "llama3-rope": ("llama", 2, "llama3", SEED + 2, {"rope": LLAMA3_ROPE}),
        "mistral": ("mistral", 2, "llama3", SEED + 3, {}),
        "qwen2": ("qwen2", 3, "chatml", SEED + 4, {}),
        "llama-headdim": ("llama", 2, "llama3", SEED + 5, {"head_dim": 32}),
    }
    tokenizer_of = {"llama3": (llama_tok, llama_fast, llama_ids), "chatml": (chatml_tok, chatml_fast, chatml_ids)}
    built = {}
    for source, (arch, layers, style, seed, options) in builds.items():
        _, fast, ids = tokenizer_of[style]
        model = run_stage(f"build {source}", build_model, arch, layers, len(fast), ids, seed, **options)
        if model is not None:
            built[source] = (model, style)
    plan = [  # (folder, in-memory model, stored dtype, max shard size)
        ("llama-f32", "llama-f32", torch.float32, None),
        ("llama-bf16", "llama-f32", torch.bfloat16, None),
        ("llama-f16", "llama-f32", torch.float16, None),
        ("llama-sharded", "llama-f32", torch.float32, "600KB"),
        ("llama3-rope", "llama3-rope", torch.float32, None),
        ("llama-config-v4", "llama3-rope", torch.float32, None),
        ("mistral", "mistral", torch.float32, None),
        ("qwen2", "qwen2", torch.float32, None),
        ("llama-headdim", "llama-headdim", torch.float32, None),
    ]
    saved = []
    for folder, source, dtype, shard in plan:
        if source not in built:
            continue
        model, style = built[source]
        raw, fast, _ = tokenizer_of[style]
        directory = os.path.join(models_dir, folder)
        if not run_stage(f"save {folder}", save_model, model, directory, dtype, fast, shard):
            continue
        if folder == "llama-config-v4" and not run_stage(
            "rewrite llama-config-v4 as 4.x", rewrite_config_as_v4, directory
        ):
            continue
        saved.append((folder, dtype, regular_vocab(raw)))

    goldens = {}
    for folder, dtype, n_regular in saved:
        result = run_stage(
            f"golden {folder}",
            make_golden,
            folder,
            os.path.join(models_dir, folder),
            os.path.join(golden_dir, f"{folder}.json"),
            n_regular,
            str(dtype).replace("torch.", ""),
        )
        if result:
            goldens[folder] = result

    def compare(a, b, expect_equal):
        if a not in goldens or b not in goldens:
            return
        if goldens[a]["prompts"] != goldens[b]["prompts"]:
            if expect_equal:
                problem(f"{a} and {b} hold the same weights but got different prompts")
            else:
                print(f"{a} and {b}: different prompts (greedy margins differ), no logits comparison")
            return
        diff = max(float((x - y).abs().max()) for x, y in zip(goldens[a]["logits"], goldens[b]["logits"]))
        print(f"max |logits({a}) - logits({b})| = {diff:.3e}")
        if expect_equal and diff != 0.0:
            problem(f"{a} and {b} hold the same weights but their logits differ by {diff:.3e}")
        if not expect_equal and diff == 0.0:
            problem(f"{a} and {b} should differ but gave identical logits")

    compare("llama-config-v4", "llama3-rope", True)
    compare("llama-sharded", "llama-f32", True)
    compare("llama-bf16", "llama-f32", False)
    compare("llama-f16", "llama-f32", False)

    def rope_scaling_effect():
        model = built["llama3-rope"][0]
        plain_config = copy.deepcopy(model.config)
        plain_config.rope_parameters = {"rope_type": "default", "rope_theta": LLAMA3_ROPE["rope_theta"]}
        plain = LlamaForCausalLM(plain_config)
        plain.load_state_dict(model.state_dict())
        prompt = candidate_prompt(40, regular_vocab(llama_tok), SEED, 0)
        diff = float((full_logits(plain.eval(), prompt) - full_logits(model, prompt)).abs().max())
        print(f"llama3 rope scaling moves the 40-token logits by up to {diff:.3f}")
        if diff < 10 * LOGITS_MAX_ABS:
            problem(f"llama3 rope scaling barely changes the logits ({diff:.2e}): the fixture cannot catch it")

    run_stage("llama3 rope scaling effect", rope_scaling_effect)

    for folder in HEADKV_MODELS:
        raw = chatml_tok if folder == "qwen2" else llama_tok
        run_stage(
            f"headkv {folder}",
            make_headkv,
            folder,
            os.path.join(models_dir, folder),
            os.path.join(golden_dir, f"{folder}.headkv.json"),
            regular_vocab(raw),
        )
    run_stage("allocation", make_allocation_fixture, os.path.join(fixtures, "allocation", "synthetic.json"))
    run_stage(
        "tokenizer parity",
        make_tokenizer_fixtures,
        {
            "llama3": (os.path.join(models_dir, "llama-f32"), "models/llama-f32"),
            "chatml": (os.path.join(models_dir, "qwen2"), "models/qwen2"),
        },
        os.path.join(fixtures, "tokenizer", "parity.json"),
        os.path.join(fixtures, "tokenizer", "chat_templates.json"),
    )
    run_stage(
        "demo model",
        make_demo,
        make_corpus(20000, SEED + 1),
        os.path.join(args.root, "models", "tiny-random-llama"),
        os.path.join(golden_dir, "tiny-random-llama.json"),
    )
    write_json(
        os.path.join(fixtures, "provenance.json"),
        {
            "command": "python3 tools/reference/make_fixtures.py",
            "seed": SEED,
            "versions": info,
            "problems": PROBLEMS,
        },
    )
    print(f"== done: {len(PROBLEMS)} problem(s)")
    for message in PROBLEMS:
        print(f"  - {message}")
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
