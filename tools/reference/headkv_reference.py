"""PyTorch reference of HEADKV.md sections 3-4 and 6-7: budgets, token selection, and decoding
with a compressed cache (emulated by masking the dropped prompt positions).

Selection rule (HEADKV.md section 4), per query head:
    scores = softmax(q[n-w:] k^T / sqrt(d)) in float32, causal inside the window  -> [w, n]
    prefix = scores[:, :n-w].mean(over the w queries)                          -> [n-w]
    pooled = max_pool1d(prefix, kernel, stride 1, padding kernel // 2)
    keep   = the first cap positions of a stable sort on (-pooled, position)
kv-head granularity: the group's pooled rows are averaged (mean) before the top-cap.
A head whose cap is at least n - w keeps the whole prefix (no cap at the prompt length).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from allocation import (
    headkv_kv_head_caps,
    headkv_query_head_caps,
    pyramidkv_layer_caps,
    snapkv_caps,
)
from masked_forward import masked_forward

METHODS = ("snapkv", "pyramidkv", "headkv")
GRANULARITIES = ("query-head", "kv-head")


def window_pooled_scores(q: torch.Tensor, k: torch.Tensor, window: int, kernel: int) -> torch.Tensor:
    """q [H, n, d] and k [Hkv, n, d] after RoPE -> pooled prefix scores [H, n - window] (fp32)."""
    n_heads, n, head_dim = q.shape
    group = n_heads // k.shape[0]
    keys = k.repeat_interleave(group, dim=0).float()
    scores = torch.matmul(q[:, n - window :, :].float(), keys.transpose(1, 2)) / math.sqrt(head_dim)
    query_pos = torch.arange(n - window, n, device=q.device)[:, None]
    key_pos = torch.arange(n, device=q.device)[None, :]
    scores = scores.masked_fill(key_pos > query_pos, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    prefix = probs[:, :, : n - window].mean(dim=1)
    return F.max_pool1d(prefix[None], kernel_size=kernel, stride=1, padding=kernel // 2)[0]


def top_positions(row: torch.Tensor, cap: int):
    """Top-cap positions of one head (ascending) and the score gap at the cut.

    The gap is pooled[last kept] - pooled[first dropped] in sorted order: 0 means the cut fell
    inside a run of exactly equal scores (resolved by position), a tiny positive gap means an
    engine with a different float summation order could legitimately cut elsewhere. None when
    nothing or everything is kept.
    """
    order = torch.sort(-row, stable=True).indices
    take = min(int(cap), row.numel())
    kept = sorted(order[:take].tolist())
    if take == 0 or take == row.numel():
        return kept, None
    return kept, float(row[order[take - 1]] - row[order[take]])


def budget_caps(method, granularity, config, n_prompt, kv_size, window, beta=None, head_scores=None):
    """Selected prefix tokens per (layer, cache head): [L][cache_heads] int64."""
    n_layers = config.num_hidden_layers
    n_heads = config.num_attention_heads
    n_kv_heads = config.num_key_value_heads
    cache_heads = n_heads if granularity == "query-head" else n_kv_heads
    if method == "snapkv":
        return snapkv_caps(n_layers, cache_heads, kv_size, window)
    if method == "pyramidkv":
        per_layer = pyramidkv_layer_caps(n_layers, kv_size, window, n_prompt)
        return np.repeat(per_layer[:, None], cache_heads, axis=1)
    if method == "headkv":
        if granularity == "query-head":
            return headkv_query_head_caps(head_scores, kv_size, window, beta)[0]
        return headkv_kv_head_caps(head_scores, n_kv_heads, kv_size, window, beta)[0]
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def select_positions(pooled, caps, granularity, n_kv_heads):
    """pooled: per layer [H, P] tensors. Returns (selected [L][cache_heads][positions], gaps)."""
    selected, gaps = [], []
    for layer, rows in enumerate(pooled):
        if granularity == "kv-head":
            rows = rows.view(n_kv_heads, rows.shape[0] // n_kv_heads, rows.shape[1]).mean(dim=1)
        layer_sel, layer_gaps = [], []
        for head in range(rows.shape[0]):
            kept, gap = top_positions(rows[head], int(caps[layer][head]))
            layer_sel.append(kept)
            layer_gaps.append(gap)
        selected.append(layer_sel)
        gaps.append(layer_gaps)
    return selected, gaps


def _decode_masks(selected, granularity, group, n_prompt, window, length):
    """Per layer [H, length, length] bool: rows of generated tokens see only kept prefix
    positions, the window and the generated tokens; prompt rows see the whole causal prompt."""
    masks = []
    prefix = n_prompt - window
    for layer_sel in selected:
        keep = torch.zeros(len(layer_sel), prefix, dtype=torch.bool)
        for head, positions in enumerate(layer_sel):
            keep[head, positions] = True
        if granularity == "kv-head":
            keep = keep.repeat_interleave(group, dim=0)
        allowed = torch.ones(keep.shape[0], length, length, dtype=torch.bool)
        allowed[:, n_prompt:, :prefix] = keep[:, None, :]
        masks.append(allowed)
    return masks


@torch.no_grad()
def compressed_greedy_decode(model, prompt_ids, selected, granularity, window, n_steps):
    """Greedy decoding after compression, recomputed in full at each step with masks.

    The first token comes from the uncompressed prefill (compression follows the prefill).
    Each later step feeds the last token; every head attends to its kept prefix positions, the
    window and all generated tokens. RoPE positions are the true positions.
    Returns (first_token, [{input_token, logits (fp32 tensor), next_token}] * n_steps).
    """
    config = model.config
    group = config.num_attention_heads // config.num_key_value_heads
    prompt = torch.as_tensor(prompt_ids, dtype=torch.long)
    n_prompt = prompt.shape[0]
    prefill_logits, _ = masked_forward(model, prompt)
    tokens = [int(torch.argmax(prefill_logits[-1]))]
    steps = []
    for _ in range(n_steps):
        ids = torch.cat([prompt, torch.tensor(tokens, dtype=torch.long)])
        masks = _decode_masks(selected, granularity, group, n_prompt, window, ids.shape[0])
        logits, _ = masked_forward(model, ids, masks)
        next_token = int(torch.argmax(logits[-1]))
        steps.append({"input_token": tokens[-1], "logits": logits[-1], "next_token": next_token})
        tokens.append(next_token)
    return tokens[0], steps
