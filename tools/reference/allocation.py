"""Per-head prompt-token budgets (HEADKV.md sections 3, 6 and 7), in numpy float64.

Every function returns the number of SELECTED prefix tokens per head ("cap"); the alpha
window tokens are kept on top of it. No function caps a budget at the prompt length: that is
the reference behaviour (a head given more than the prefix holds simply keeps the whole prefix).
"""

import numpy as np


def _checked_scores(scores: np.ndarray, temp: float) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"head scores must be a [layers][heads] matrix, got shape {s.shape}")
    if np.any(s < 0) or not np.all(np.isfinite(s)) or s.sum() <= 0:
        raise ValueError("head scores must be finite, >= 0, and not all zero")
    s = s / s.sum()
    s = s**temp
    return s / s.sum()


def headkv_pool_and_floor(kv_size: int, window: int, beta: float) -> tuple[int, int]:
    """(b // beta, b - b // beta) with b = kv_size - window.

    Python's float floor division, as the HeadKV reference (ReasonSnapKVCluster) computes it:
    it floors the exact quotient, so 11 // 1.1 is 9.0 and 101 // 1.01 is 99.0, where
    floor(11 / 1.1) and floor(101 / 1.01) give 10 and 100 (the quotients round up to integers).
    """
    b = kv_size - window
    if b <= 0:
        raise ValueError(f"kv_size {kv_size} must exceed the window {window}")
    share = int(b // beta)
    return share, b - share


def headkv_query_head_caps(scores, kv_size: int, window: int, beta: float, temp: float = 1.0):
    """Section 3: cap[l][h] = round_half_even(s[l][h] * (b // beta) * L * H + min)."""
    s = _checked_scores(scores, temp)
    share, floor_tokens = headkv_pool_and_floor(kv_size, window, beta)
    pool = share * s.size
    caps = np.round(s * pool + floor_tokens)  # numpy rounds half to even
    return caps.astype(np.int64), pool, floor_tokens


def headkv_kv_head_caps(
    scores, n_kv_heads: int, kv_size: int, window: int, beta: float, temp: float = 1.0
):
    """kv-head granularity: kv_size stays the average budget per head, now per KV head.

    1. q = the section 3 query-head caps (rounded), layer-major.
    2. sums[g] = sum of q over the group's query heads (query head h belongs to KV head
       h // (H / Hkv), the order of transformers' repeat_kv); total = sum(sums).
    3. cap[g] = sums[g] // G, then one more token to the KV heads with the largest remainder
       sums[g] % G (equal remainders: lower layer-major index first) until the caps add up to
       total // G.
    """
    q_caps, pool, floor_tokens = headkv_query_head_caps(scores, kv_size, window, beta, temp)
    layers, heads = q_caps.shape
    if heads % n_kv_heads != 0:
        raise ValueError(f"{heads} query heads do not split into {n_kv_heads} KV heads")
    group = heads // n_kv_heads
    sums = q_caps.reshape(layers * n_kv_heads, group).sum(axis=1)
    caps = sums // group
    missing = int(sums.sum() // group - caps.sum())
    order = sorted(range(sums.size), key=lambda i: (-(sums[i] % group), i))
    for i in order[:missing]:
        caps[i] += 1
    return caps.reshape(layers, n_kv_heads), pool, floor_tokens


def snapkv_caps(n_layers: int, n_cache_heads: int, kv_size: int, window: int):
    """SnapKV: every head keeps kv_size - window prefix tokens."""
    if kv_size <= window:
        raise ValueError(f"kv_size {kv_size} must exceed the window {window}")
    return np.full((n_layers, n_cache_heads), kv_size - window, dtype=np.int64)


def pyramidkv_layer_caps(n_layers: int, kv_size: int, window: int, n_prompt: int, beta: int = 20):
    """PyramidKV per-layer budgets, as in the PyramidKV reference (PyramidKVCluster.update_kv):
        b = kv_size - window
        min = b // beta; max = 2b - min
        if max >= n_prompt - window: max = n_prompt - window; min = 2b - max
        step = (max - min) // (L - 1)
        cap[l] = max - l * step          (layer 0 largest)
    The PyramidKV repository also keeps b per layer when n_prompt < 2b; HeadKV's pyram_mode,
    which HEADKV.md follows, has no such branch, and neither has this function.
    """
    b = kv_size - window
    if b <= 0:
        raise ValueError(f"kv_size {kv_size} must exceed the window {window}")
    if n_layers < 2:
        raise ValueError("PyramidKV needs at least 2 layers")
    lo = b // beta
    hi = 2 * b - lo
    if hi >= n_prompt - window:
        hi = n_prompt - window
        lo = 2 * b - hi
    step = (hi - lo) // (n_layers - 1)
    return np.array([hi - layer * step for layer in range(n_layers)], dtype=np.int64)
