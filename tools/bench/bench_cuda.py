"""GPU benchmark: the HeadKV engine (CUDA backend) against Hugging Face transformers, same run.

Writes a Llama-3-8B-shape model with random bf16 weights as a Hugging Face folder (nothing is
downloaded), measures transformers (sdpa attention, bf16, its own DynamicCache) on it, frees the
GPU, then runs the engine's driver native/bench/bench_cuda.cpp on the same folder.

    python3 tools/bench/bench_cuda.py --engine native/build-cuda/bench_cuda --out bench.json \
        [--prefill 8192,32768] [--decode-steps 32] [--job 8,32768,64,128] [--job-method headkv]
        [--hf-job 64,32768,256] [--decode-kernel 64,32768] [--longest 131072,262144]
        [--hf-longest 65536,131072] [--model-dir DIR]

Measured: batch-1 prefill tokens/s and batch-1 decode tokens/s at each length, and peak GPU
memory (transformers: torch.cuda.max_memory_allocated; engine: total - free after the run,
which includes its CUDA context, weights, KV pool and scratch). --hf-job runs the product's job
on transformers (generate, greedy, full cache) at the largest batch that fits, one round of that
batch (every round of the job is the same work); --hf-longest / --longest try one document of
each length until one fails.
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
    config = LlamaConfig(**SHAPE, max_position_embeddings=1048576, rope_theta=500000.0, rms_norm_eps=1e-5,
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


def is_oom(err):
    return isinstance(err, torch.cuda.OutOfMemoryError) or "out of memory" in str(err).lower()


@torch.no_grad()
def bench_transformers_job(model, docs, n, new_tokens, batches=(64, 32, 16, 12, 10, 8, 6, 4, 2, 1)):
    """One round of the job at the largest batch (from `batches`) that completes."""
    vocab = SHAPE["vocab_size"]
    gen = torch.Generator().manual_seed(1)
    for b in batches:
        if b > docs:
            continue
        ids = torch.randint(0, vocab, (b, n), generator=gen).cuda()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        try:
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                                 min_new_tokens=new_tokens, do_sample=False, pad_token_id=0)
            torch.cuda.synchronize()
        except Exception as err:  # noqa: BLE001 - only out-of-memory moves on to a smaller batch
            if not is_oom(err):
                raise
            del ids
            gc.collect()
            torch.cuda.empty_cache()
            log({"what": "job", "engine": "transformers", "batch": b, "fits": False})
            continue
        s = time.perf_counter() - t0
        generated = int(out.shape[1] - n)
        del out, ids
        return log({"what": "job", "engine": "transformers", "batch": b, "fits": True, "docs": docs, "prompt": n,
                    "new_tokens": generated, "round_s": round(s, 2), "rounds": -(-docs // b),
                    "docs_per_hour": round(b / s * 3600),
                    "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)})
    return log({"what": "job", "engine": "transformers", "fits": False})


@torch.no_grad()
def bench_transformers_longest(model, lengths):
    vocab = SHAPE["vocab_size"]
    results = []
    for n in lengths:
        ids = torch.randint(0, vocab, (1, n), generator=torch.Generator().manual_seed(n)).cuda()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        try:
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=16, min_new_tokens=16,
                                 do_sample=False, pad_token_id=0)
            torch.cuda.synchronize()
            del out
            ok, why = True, None
        except Exception as err:  # noqa: BLE001
            if not is_oom(err):
                raise
            ok, why = False, str(err).splitlines()[0][:200]
        del ids
        gc.collect()
        torch.cuda.empty_cache()
        rec = {"what": "longest", "engine": "transformers", "tokens": n, "completed": ok,
               "seconds": round(time.perf_counter() - t0, 1), "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}
        if why:
            rec["error"] = why
        results.append(log(rec))
        if not ok:
            break
    return results


def bench_engine(engine, model_dir, lengths, decode_steps, chunk, job, job_method, decode_kernel, longest):
    cmd = [engine, model_dir, "--prefill", ",".join(map(str, lengths)), "--decode-steps", str(decode_steps),
           "--chunk", str(chunk), "--job-method", job_method]
    if job:
        cmd += ["--job", job]
    if decode_kernel:
        cmd += ["--decode-kernel", decode_kernel]
    if longest:
        cmd += ["--longest", longest]
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
    ap.add_argument("--job", default="", help="engine job DOCS,PROMPT,NEW,KV_SIZE")
    ap.add_argument("--job-method", default="headkv", choices=["snapkv", "headkv"])
    ap.add_argument("--hf-job", default="", help="transformers job DOCS,PROMPT,NEW")
    ap.add_argument("--decode-kernel", default="", help="engine decode attention kernel BATCH,LENGTH")
    ap.add_argument("--longest", default="", help="engine: prompt lengths to try in turn")
    ap.add_argument("--hf-longest", default="", help="transformers: prompt lengths to try in turn")
    ap.add_argument("--skip-transformers", action="store_true")
    args = ap.parse_args()
    lengths = [int(x) for x in args.prefill.split(",")] if args.prefill else []
    card = torch.cuda.get_device_name(0)
    log({"what": "card", "name": card, "torch": torch.__version__,
         "transformers": __import__("transformers").__version__})
    model = make_model(args.model_dir)
    hf = []
    if not args.skip_transformers:
        hf = bench_transformers(model, lengths, args.decode_steps)
        if args.hf_job:
            docs, n, new = (int(x) for x in args.hf_job.split(","))
            hf.append(bench_transformers_job(model, docs, n, new))
        if args.hf_longest:
            hf += bench_transformers_longest(model, [int(x) for x in args.hf_longest.split(",")])
    del model
    gc.collect()
    torch.cuda.empty_cache()
    ours = bench_engine(args.engine, args.model_dir, lengths, args.decode_steps, args.chunk, args.job, args.job_method,
                        args.decode_kernel, args.longest)
    with open(args.out, "w") as f:
        json.dump({"card": card, "transformers": hf, "headkv": ours}, f, indent=1)
    for rec in hf:
        if rec.get("what") != "prefill":
            continue
        mine = [r for r in ours if r.get("what") == "prefill" and r.get("tokens") == rec["tokens"]]
        if mine:
            log({"what": "ratio", "tokens": rec["tokens"],
                 "prefill_headkv_over_transformers": round(mine[0]["tokens_per_s"] / rec["tokens_per_s"], 3)})


if __name__ == "__main__":
    main()
