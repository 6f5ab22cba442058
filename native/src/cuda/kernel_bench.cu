#include "cuda/kernel_bench.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <vector>

#include "cuda/attention.cuh"
#include "cuda/attention_hopper.cuh"
#include "cuda/blas.cuh"
#include "cuda/compress.cuh"
#include "cuda/cuda_check.cuh"
#include "cuda/device_buffer.cuh"

namespace hkv::cuda::bench {

namespace {

// Mean seconds of `iters` runs of fn after one warm-up run, timed with CUDA events.
template <typename Fn>
double time_kernel(int iters, Fn fn) {
  fn();
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  check(cudaEventRecord(start), "cudaEventRecord");
  for (int i = 0; i < iters; i++) fn();
  check(cudaEventRecord(stop), "cudaEventRecord");
  check(cudaEventSynchronize(stop), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms / 1e3 / iters;
}

template <typename T>
DeviceBuffer upload(const std::vector<T> &host) {
  DeviceBuffer d(std::max<size_t>(1, sizeof(T) * host.size()), "benchmark input");
  check(cudaMemcpy(d.as<void>(), host.data(), sizeof(T) * host.size(), cudaMemcpyHostToDevice), "benchmark upload");
  return d;
}

}  // namespace

Bandwidth copy_bandwidth(double bytes, int iters) {
  const size_t n = (size_t)(bytes / 2);
  DeviceBuffer src(n, "copy source"), dst(n, "copy destination");
  check(cudaMemset(src.as<void>(), 1, n), "cudaMemset");
  const double s = time_kernel(iters, [&] {
    check(cudaMemcpyAsync(dst.as<void>(), src.as<void>(), n, cudaMemcpyDeviceToDevice, 0), "cudaMemcpy");
  });
  return {s, 2.0 * (double)n};
}

Bandwidth decode_attention_bandwidth(int batch, int n_heads, int n_kv_heads, int head_dim, int length, int page_tokens,
                                     bool shuffled, int iters) {
  const int pages_per_head = (length + page_tokens - 1) / page_tokens;
  const int64_t n_pages = (int64_t)batch * n_kv_heads * pages_per_head;
  const size_t page_elems = (size_t)2 * page_tokens * head_dim;
  DeviceBuffer pages(sizeof(__nv_bfloat16) * page_elems * n_pages, "benchmark pages");
  check(cudaMemset(pages.as<void>(), 0x3c, pages.bytes()), "cudaMemset");  // small finite bf16 values
  std::vector<int32_t> order(n_pages);
  std::iota(order.begin(), order.end(), 0);
  if (shuffled) std::shuffle(order.begin(), order.end(), std::mt19937(1));
  std::vector<int32_t> cache_heads(batch, n_kv_heads), desc((size_t)batch * n_heads * 2, 0), table;
  table.reserve(n_pages);
  for (int b = 0; b < batch; b++)
    for (int c = 0; c < n_kv_heads; c++) {
      desc[((size_t)b * n_heads + c) * 2] = (int32_t)table.size();
      desc[((size_t)b * n_heads + c) * 2 + 1] = length;
      for (int p = 0; p < pages_per_head; p++) table.push_back(order[table.size()]);
    }
  DeviceBuffer dchs = upload(cache_heads), ddesc = upload(desc), dtable = upload(table);
  DeviceBuffer q(sizeof(__nv_bfloat16) * batch * n_heads * head_dim, "benchmark queries");
  check(cudaMemset(q.as<void>(), 0x3c, q.bytes()), "cudaMemset");
  DeviceBuffer out(sizeof(__nv_bfloat16) * batch * n_heads * head_dim, "benchmark output");
  DeviceBuffer partial(sizeof(float) * decode_partial_floats(batch, n_heads, head_dim, length), "benchmark scratch");
  const PagedBatch cache{pages.as<__nv_bfloat16>(), page_tokens, dchs.as<int32_t>(), ddesc.as<int32_t>(),
                         dtable.as<int32_t>(), batch, length};
  const double s = time_kernel(iters, [&] {
    flash_decode(q.as<__nv_bfloat16>(), cache, partial.as<float>(), out.as<__nv_bfloat16>(), n_heads, head_dim, 0);
  });
  const double bytes = (double)batch * n_kv_heads * length * head_dim * 2 /* K, V */ * sizeof(__nv_bfloat16);
  return {s, bytes};
}

std::vector<std::string> prefill_kernels(int head_dim) {
  std::vector<std::string> kernels = {"portable"};
  if (flash_prefill_hopper_available(head_dim)) kernels.push_back("hopper");
  return kernels;
}

Compute prefill_attention_compute(const std::string &kernel, int length, int chunk, int n_heads, int n_kv_heads,
                                  int head_dim, int iters) {
  const PrefillKernel which = kernel == "hopper" ? PrefillKernel::kHopper : PrefillKernel::kPortable;
  // Values in [-1, 1): random scores keep the online softmax's rescaling on its real path.
  auto random_bf16 = [](size_t n, uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    std::vector<__nv_bfloat16> v(n);
    for (auto &x : v) x = __float2bfloat16(dist(gen));
    return v;
  };
  const size_t q_elems = (size_t)length * n_heads * head_dim, kv_elems = (size_t)length * n_kv_heads * head_dim;
  DeviceBuffer q = upload(random_bf16(q_elems, 1)), k = upload(random_bf16(kv_elems, 2)),
               v = upload(random_bf16(kv_elems, 3));
  DeviceBuffer out(sizeof(__nv_bfloat16) * q_elems, "benchmark output");
  const size_t q_row = (size_t)n_heads * head_dim;
  const double s = time_kernel(iters, [&] {
    for (int c0 = 0; c0 < length; c0 += chunk)
      flash_prefill(q.as<__nv_bfloat16>() + c0 * q_row, k.as<__nv_bfloat16>(), v.as<__nv_bfloat16>(),
                    out.as<__nv_bfloat16>() + c0 * q_row, std::min(chunk, length - c0), c0, n_heads, n_kv_heads,
                    head_dim, 0, which);
  });
  return {s, 2.0 * n_heads * head_dim * (double)length * length};
}

CompressTiming compress_timing(int length, int n_heads, int n_kv_heads, int head_dim, int window, int cap, int iters) {
  Config cfg;
  cfg.n_layers = 1;
  cfg.n_heads = n_heads;
  cfg.n_kv_heads = n_kv_heads;
  cfg.head_dim = head_dim;
  hkv_kv_params kv = hkv_kv_default_params();
  kv.method = HKV_KV_SNAPKV;
  kv.window = window;
  kv.kv_size = window + cap;
  kv.pool_kernel = 7;
  kv.granularity = HKV_GRANULARITY_KV_HEAD;
  const CompressionPlan plan = plan_compression(cfg, kv, length);
  std::mt19937 gen(4);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> q_window((size_t)window * n_heads * head_dim);
  for (auto &x : q_window) x = dist(gen);
  std::vector<__nv_bfloat16> keys((size_t)length * n_kv_heads * head_dim);
  for (auto &x : keys) x = __float2bfloat16(dist(gen));
  DeviceBuffer dq = upload(q_window), dk = upload(keys);
  DeviceSelector selector;
  const float *pooled = nullptr;
  const double scores_s = time_kernel(iters, [&] {
    pooled = selector.window_scores(cfg, kv, dq.as<float>(), dk.as<__nv_bfloat16>(), length, 0);
  });
  selector.select(cfg, kv, plan, 0, pooled, length, 0);  // warm-up: sizes the sort's scratch
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; i++) selector.select(cfg, kv, plan, 0, pooled, length, 0);
  const double select_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
  return {scores_s, select_s};
}

Compute gemm_compute(int m, int n, int k, bool out_fp32, int iters) {
  DeviceBuffer x(sizeof(__nv_bfloat16) * m * (size_t)k, "benchmark input"),
      w(sizeof(__nv_bfloat16) * n * (size_t)k, "benchmark weights"),
      out((out_fp32 ? sizeof(float) : sizeof(__nv_bfloat16)) * m * (size_t)n, "benchmark output");
  check(cudaMemset(x.as<void>(), 0x3c, x.bytes()), "cudaMemset");  // small finite bf16 values
  check(cudaMemset(w.as<void>(), 0x3c, w.bytes()), "cudaMemset");
  check(cudaMemset(out.as<void>(), 0, out.bytes()), "cudaMemset");
  Blas blas(0);
  const double s = time_kernel(iters, [&] {
    blas.gemm_bf16(x.as<__nv_bfloat16>(), w.as<__nv_bfloat16>(), out.as<void>(), out_fp32, out_fp32 ? 1.f : 0.f, m, n, k);
  });
  return {s, 2.0 * m * (double)n * k};
}

}  // namespace hkv::cuda::bench
