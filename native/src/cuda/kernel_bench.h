// kernel_bench.h: timings of single CUDA kernels on synthetic data, for native/bench/bench_cuda
// (plain C++ declarations, defined only in builds with HEADKV_WITH_CUDA).
#pragma once

#include <string>
#include <vector>

namespace hkv::cuda::bench {

struct Bandwidth {
  double seconds;  // mean per call
  double bytes;    // bytes that one call must move
  double gb_per_s() const { return bytes / seconds / 1e9; }
};

// cudaMemcpy device to device of `bytes`: bytes counts the read and the write (DRAM traffic).
Bandwidth copy_bandwidth(double bytes, int iters);

// flash_decode of `batch` single-token queries over full per-KV-head caches of `length` tokens
// in pages of page_tokens: in pool order (each head's pages consecutive, as a fresh pool hands
// them out) or shuffled (scattered over the whole pool, as a long-running one can leave them).
// bytes counts the K and V of every cache head read once.
Bandwidth decode_attention_bandwidth(int batch, int n_heads, int n_kv_heads, int head_dim, int length, int page_tokens,
                                     bool shuffled, int iters);

// flash_prefill over one causal prompt of `length` tokens (random bf16 q, k, v), run as the
// engine runs it: `chunk` queries per launch over every key before them. flops counts the two
// matrix products over the causal half: 2 * 2 * heads * head_dim * length^2 / 2.
struct Compute {
  double seconds;  // mean per prompt
  double flops;
  double tflops() const { return flops / seconds / 1e12; }
};
// Each prefill kernel that runs here: "portable" (mma.sync) everywhere, "hopper" (wgmma) where the
// build and the device have it (attention.cuh's PrefillKernel).
std::vector<std::string> prefill_kernels(int head_dim);
Compute prefill_attention_compute(const std::string &kernel, int length, int chunk, int n_heads, int n_kv_heads,
                                  int head_dim, int iters);

// KV compression of one layer as the CUDA backend runs it after the layer's prefill
// (DeviceSelector): window scores of `window` random fp32 queries against `length` random bf16
// keys, then SnapKV's selection of kv_size - window = `cap` positions per KV head (pool 7,
// kv-head granularity, mean aggregation). select ends in a stream synchronisation, so it is
// timed on the host clock; window_scores with CUDA events.
struct CompressTiming {
  double window_scores_seconds;  // mean per layer
  double select_seconds;         // mean per layer, the host's copy of the kept positions included
};
CompressTiming compress_timing(int length, int n_heads, int n_kv_heads, int head_dim, int window, int cap, int iters);

// The cuBLAS GEMM as the CUDA backend calls it (Blas::gemm_bf16): out[m][n] = x[m][k] . w[n][k]^T
// with bf16 operands, out bf16, or fp32 accumulated onto (beta 1, as the residual adds).
// flops = 2 m n k.
Compute gemm_compute(int m, int n, int k, bool out_fp32, int iters);

}  // namespace hkv::cuda::bench
