// kernel_bench.h: timings of single CUDA kernels on synthetic data, for native/bench/bench_cuda
// (plain C++ declarations, defined only in builds with HEADKV_WITH_CUDA).
#pragma once

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

}  // namespace hkv::cuda::bench
