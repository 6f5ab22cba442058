"""GPU benchmark: the HeadKV engine (CUDA backend) against Hugging Face transformers, same run.

Writes a Llama-3-8B-shape model with random bf16 weights as a Hugging Face folder (nothing is
downloaded), measures transformers (sdpa attention, bf16, its own DynamicCache) on it, frees the
GPU, then runs the engine's driver native/bench/bench_cuda.cpp on the same folder.

    python3 tools/bench/bench_cuda.py --engine native/build-cuda/bench_cuda --out bench.json \
        [--prefill 8192,32768] [--decode-steps 32] [--job 8,32768,64,128] [--model-dir DIR]

Measured: batch-1 prefill tokens/s and batch-1 decode tokens/s at each length, and peak GPU
memory (transformers: torch.cuda.max_memory_allocated; engine: total - free after the run,
which includes its CUDA context, weights, KV pool and scratch).
"""
import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

SHAPE = dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
             num_key_value_heads=8, vocab_size=128256)


def log(record):
    print(json.dumps(record), flush=True)
    return record


def make_model(model_dir):
    config = LlamaConfig(**SHAPE, max_position_embeddings=131072, rope_theta=500000.0, rms_norm_eps=1e-5,
                         tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    t0 = time.time()
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = LlamaForCausalLM(config)
    torch.set_default_dtype(torch.float32)
    model.eval()
    if not os.path.exists(os.path.join(model_dir, "config.json")):
        model.save_pretrained(model_dir, max_shard_size="4GB")
    log({"what": "model", "params": sum(p.numel() for p in model.parameters()), "seconds": round(time.time() - t0, 1),
         "dir": model_dir})
    return model


@torch.no_grad()
def bench_transformers(model, lengths, decode_steps):
    results = []
    vocab = SHAPE["vocab_size"]
    gen = torch.Generator().manual_seed(0)
    warm = torch.randint(0, vocab, (1, 1024), generator=gen).cuda()
    model(warm, use_cache=True, logits_to_keep=1)
    for n in lengths:
        ids = torch.randint(0, vocab, (1, n), generator=gen).cuda()
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        out = model(ids, use_cache=True, logits_to_keep=1)
        torch.cuda.synchronize()
        s = time.perf_counter() - t0
        rec = {"what": "prefill", "engine": "transformers", "tokens": n, "seconds": round(s, 3),
               "tokens_per_s": round(n / s), "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}
        if decode_steps > 0:
            past = out.past_key_values
            token = out.logits[:, -1:].argmax(-1)
            for _ in range(2):  # warm-up steps, untimed
                out = model(token, past_key_values=past, use_cache=True)
                past = out.past_key_values
                token = out.logits[:, -1:].argmax(-1)
            torch.cuda.synchronize()
            t1 = time.perf_counter()
            for _ in range(decode_steps):
                out = model(token, past_key_values=past, use_cache=True)
                past = out.past_key_values
                token = out.logits[:, -1:].argmax(-1)
            torch.cuda.synchronize()
            rec["decode_tokens_per_s"] = round(decode_steps / (time.perf_counter() - t1), 1)
            rec["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        del out
        results.append(log(rec))
    return results


def bench_engine(engine, model_dir, lengths, decode_steps, chunk, job):
    cmd = [engine, model_dir, "--prefill", ",".join(map(str, lengths)), "--decode-steps", str(decode_steps),
           "--chunk", str(chunk)]
    if job:
        cmd += ["--job", job]
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    results = []
    for line in proc.stdout:
        print(line.rstrip(), flush=True)
        if line.startswith("{"):
            rec = json.loads(line)
            rec["engine"] = "headkv"
            results.append(rec)
    if proc.wait() != 0:
        print(f"engine exited with {proc.returncode}", file=sys.stderr, flush=True)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", required=True, help="path of the bench_cuda binary")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model-dir", default=os.path.join(tempfile.gettempdir(), "llama3-8b-shape-random"),
                    help="where the random model is written (reused when it holds a config.json)")
    ap.add_argument("--prefill", default="8192,32768")
    ap.add_argument("--decode-steps", type=int, default=32)
    ap.add_argument("--chunk", type=int, default=4096)
    ap.add_argument("--job", default="")
    args = ap.parse_args()
    lengths = [int(x) for x in args.prefill.split(",")]
    card = torch.cuda.get_device_name(0)
    log({"what": "card", "name": card, "torch": torch.__version__,
         "transformers": __import__("transformers").__version__})
    model = make_model(args.model_dir)
    hf = bench_transformers(model, lengths, args.decode_steps)
    del model
    gc.collect()
    torch.cuda.empty_cache()
    ours = bench_engine(args.engine, args.model_dir, lengths, args.decode_steps, args.chunk, args.job)
    with open(args.out, "w") as f:
        json.dump({"card": card, "transformers": hf, "headkv": ours}, f, indent=1)
    for rec in hf:
        mine = [r for r in ours if r.get("what") == "prefill" and r.get("tokens") == rec["tokens"]]
        if mine:
            log({"what": "ratio", "tokens": rec["tokens"],
                 "prefill_headkv_over_transformers": round(mine[0]["tokens_per_s"] / rec["tokens_per_s"], 3)})


if __name__ == "__main__":
    main()
