"""A float32 forward pass over a transformers Llama/Mistral/Qwen2 model with per-head masks.

transformers' eager attention takes one mask for all heads and layers; compressed decoding needs
a different key set per (layer, head). This forward reuses the model's own modules (norms,
projections, rotary embedding, MLP, head) and does only the attention arithmetic itself, in the
order of transformers' eager_attention_forward. make_fixtures.py checks it against the model's
own logits before any of its results are written.
"""

import torch


def head_dim_of(config) -> int:
    explicit = getattr(config, "head_dim", None)
    return int(explicit) if explicit else config.hidden_size // config.num_attention_heads


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


@torch.no_grad()
def masked_forward(model, ids: torch.Tensor, allowed=None):
    """ids: 1-D token ids [T]. allowed: None, or per layer a bool tensor [H, T, T] (True: the
    query row may attend to the key column), intersected with the causal mask.

    Returns (logits [T, vocab] float32, per layer (q [H, T, d], k [Hkv, T, d]) after RoPE).
    """
    config = model.config
    inner = model.model
    n_heads = config.num_attention_heads
    n_kv_heads = config.num_key_value_heads
    head_dim = head_dim_of(config)
    group = n_heads // n_kv_heads
    length = ids.shape[0]
    if allowed is not None and len(allowed) != len(inner.layers):
        raise ValueError(f"allowed has {len(allowed)} layers, the model {len(inner.layers)}")

    x = inner.embed_tokens(ids[None])
    positions = torch.arange(length, device=ids.device)[None]
    cos, sin = inner.rotary_emb(x, positions)
    cos, sin = cos[0], sin[0]  # [T, d], broadcast over heads
    causal = torch.ones(length, length, dtype=torch.bool, device=ids.device).tril()
    queries_keys = []
    for index, layer in enumerate(inner.layers):
        attention = layer.self_attn
        h = layer.input_layernorm(x)[0]
        q = attention.q_proj(h).view(length, n_heads, head_dim).transpose(0, 1)
        k = attention.k_proj(h).view(length, n_kv_heads, head_dim).transpose(0, 1)
        v = attention.v_proj(h).view(length, n_kv_heads, head_dim).transpose(0, 1)
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        queries_keys.append((q, k))
        k_rep = k.repeat_interleave(group, dim=0)
        v_rep = v.repeat_interleave(group, dim=0)
        scaling = getattr(attention, "scaling", head_dim**-0.5)
        scores = torch.matmul(q, k_rep.transpose(1, 2)) * scaling
        mask = causal if allowed is None else causal & allowed[index]
        scores = scores.masked_fill(~mask, float("-inf"))
        probs = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        out = torch.matmul(probs, v_rep).transpose(0, 1).reshape(length, n_heads * head_dim)
        x = x + attention.o_proj(out)[None]
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    x = inner.norm(x)
    return model.lm_head(x)[0].float(), queries_keys
