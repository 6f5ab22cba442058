#include "cuda/op_harness.h"

#include "cuda/attention.cuh"
#include "cuda/attention_hopper.cuh"
#include "cuda/blas.cuh"
#include "cuda/compress.cuh"
#include "cuda/cuda_check.cuh"
#include "cuda/device_buffer.cuh"
#include "cuda/ops.cuh"
#include "cuda/sampling.cuh"
#include "rope.h"

namespace hkv::cuda::harness {

namespace {

template <typename T>
DeviceBuffer upload(const std::vector<T> &host) {
  DeviceBuffer d(std::max<size_t>(1, sizeof(T) * host.size()), "test input");
  check(cudaMemcpy(d.as<void>(), host.data(), sizeof(T) * host.size(), cudaMemcpyHostToDevice), "test upload");
  return d;
}

DeviceBuffer upload_bf16(const std::vector<float> &host) {
  DeviceBuffer f = upload(host);
  DeviceBuffer d(std::max<size_t>(1, sizeof(bf16) * host.size()), "test input");
  to_bf16(d.as<bf16>(), f.as<float>(), (int64_t)host.size(), 0);
  check(cudaDeviceSynchronize(), "test upload");
  return d;
}

std::vector<float> download_bf16(const DeviceBuffer &d, size_t n) {
  std::vector<bf16> raw(n);
  check(cudaDeviceSynchronize(), "test op");
  check(cudaMemcpy(raw.data(), d.as<void>(), sizeof(bf16) * n, cudaMemcpyDeviceToHost), "test download");
  std::vector<float> out(n);
  for (size_t i = 0; i < n; i++) out[i] = __bfloat162float(raw[i]);
  return out;
}

std::vector<float> download_f32(const DeviceBuffer &d, size_t n) {
  std::vector<float> out(n);
  check(cudaDeviceSynchronize(), "test op");
  check(cudaMemcpy(out.data(), d.as<void>(), sizeof(float) * n, cudaMemcpyDeviceToHost), "test download");
  return out;
}

}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

std::vector<float> rmsnorm(const std::vector<float> &x, const std::vector<float> &weight, int m, int d, float eps) {
  DeviceBuffer dx = upload(x), dw = upload(weight), out(sizeof(bf16) * m * d, "test output");
  cuda::rmsnorm(out.as<bf16>(), dx.as<float>(), dw.as<float>(), m, d, eps, 0);
  return download_bf16(out, (size_t)m * d);
}

std::vector<float> matmul(const std::vector<float> &x, const std::vector<float> &w, int m, int n, int k) {
  DeviceBuffer dx = upload_bf16(x), dw = upload_bf16(w), out(sizeof(float) * m * n, "test output");
  Blas(0).gemm_bf16(dx.as<bf16>(), dw.as<bf16>(), out.as<float>(), true, 0.f, m, n, k);
  return download_f32(out, (size_t)m * n);
}

void qkv_rope(const Config &cfg, const std::vector<float> &qkv, const std::vector<float> &bias,
              const std::vector<int32_t> &positions, std::vector<float> &q, std::vector<float> &k, std::vector<float> &v) {
  const int m = (int)positions.size();
  Rope rope(cfg.rope, cfg.head_dim);
  DeviceBuffer dqkv = upload_bf16(qkv), dbias = upload(bias), dpos = upload(positions), dfreq = upload(rope.inv_freq());
  DeviceBuffer dq(sizeof(bf16) * m * cfg.q_dim(), "test output"), dk(sizeof(bf16) * m * cfg.kv_dim(), "test output"),
      dv(sizeof(bf16) * m * cfg.kv_dim(), "test output");
  QkvSplit a{dqkv.as<bf16>(), bias.empty() ? nullptr : dbias.as<float>(), dfreq.as<float>(), dpos.as<int32_t>(), 0, m,
             cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, dq.as<bf16>(), dk.as<bf16>(), dv.as<bf16>(), nullptr, 0};
  split_qkv_rope(a, 0);
  q = download_bf16(dq, (size_t)m * cfg.q_dim());
  k = download_bf16(dk, (size_t)m * cfg.kv_dim());
  v = download_bf16(dv, (size_t)m * cfg.kv_dim());
}

std::vector<float> silu_mul(const std::vector<float> &gu, int m, int inter) {
  DeviceBuffer dgu = upload_bf16(gu), out(sizeof(bf16) * m * inter, "test output");
  cuda::silu_mul(out.as<bf16>(), dgu.as<bf16>(), m, inter, 0);
  return download_bf16(out, (size_t)m * inter);
}

bool hopper_prefill_available(int head_dim) { return flash_prefill_hopper_available(head_dim); }

std::vector<float> prefill_attention(const std::vector<float> &q, const std::vector<float> &k, const std::vector<float> &v,
                                     int m, int c0, int n_heads, int n_kv_heads, int head_dim, bool hopper) {
  DeviceBuffer dq = upload_bf16(q), dk = upload_bf16(k), dv = upload_bf16(v);
  DeviceBuffer out(sizeof(bf16) * m * n_heads * head_dim, "test output");
  flash_prefill(dq.as<bf16>(), dk.as<bf16>(), dv.as<bf16>(), out.as<bf16>(), m, c0, n_heads, n_kv_heads, head_dim, 0,
                hopper ? PrefillKernel::kHopper : PrefillKernel::kPortable);
  return download_bf16(out, (size_t)m * n_heads * head_dim);
}

std::vector<float> decode_attention(const std::vector<float> &q, const std::vector<float> &pages, int page_tokens,
                                    const std::vector<std::vector<std::vector<int32_t>>> &page_lists,
                                    const std::vector<std::vector<int32_t>> &lengths, int n_heads, int head_dim) {
  const int B = (int)page_lists.size();
  std::vector<int32_t> chs(B), desc((size_t)B * n_heads * 2, 0), table;
  int max_len = 1;
  for (int b = 0; b < B; b++) {
    chs[b] = (int32_t)page_lists[b].size();
    for (int c = 0; c < chs[b]; c++) {
      desc[((size_t)b * n_heads + c) * 2] = (int32_t)table.size();
      desc[((size_t)b * n_heads + c) * 2 + 1] = lengths[b][c];
      max_len = std::max(max_len, lengths[b][c]);
      table.insert(table.end(), page_lists[b][c].begin(), page_lists[b][c].end());
    }
  }
  DeviceBuffer dq = upload_bf16(q), dpages = upload_bf16(pages), dchs = upload(chs), ddesc = upload(desc),
               dtable = upload(table);
  DeviceBuffer partial(sizeof(float) * decode_partial_floats(B, n_heads, head_dim, max_len), "test scratch");
  DeviceBuffer out(sizeof(bf16) * B * n_heads * head_dim, "test output");
  PagedBatch cache{dpages.as<bf16>(), page_tokens, dchs.as<int32_t>(), ddesc.as<int32_t>(), dtable.as<int32_t>(), B, max_len};
  flash_decode(dq.as<bf16>(), cache, partial.as<float>(), out.as<bf16>(), n_heads, head_dim, 0);
  return download_bf16(out, (size_t)B * n_heads * head_dim);
}

std::vector<float> window_scores(const Config &cfg, const hkv_kv_params &kv, const std::vector<float> &q_window,
                                 const std::vector<float> &keys, int n_prompt) {
  DeviceBuffer dq = upload(q_window), dk = upload_bf16(keys);
  DeviceSelector selector;
  const float *pooled = selector.window_scores(cfg, kv, dq.as<float>(), dk.as<bf16>(), n_prompt, 0);
  const bool per_query_head = kv.granularity == HKV_GRANULARITY_QUERY_HEAD || cfg.group() == 1;
  const size_t n = (size_t)(per_query_head ? cfg.n_heads : cfg.n_kv_heads) * (n_prompt - kv.window);
  std::vector<float> out(n);
  check(cudaDeviceSynchronize(), "window scores");
  check(cudaMemcpy(out.data(), pooled, sizeof(float) * n, cudaMemcpyDeviceToHost), "test download");
  return out;
}

std::vector<std::vector<int32_t>> select(const Config &cfg, const hkv_kv_params &kv, const CompressionPlan &plan, int layer,
                                         const std::vector<float> &pooled, int n_prompt) {
  DeviceBuffer d = upload(pooled);
  DeviceSelector selector;
  return selector.select(cfg, kv, plan, layer, d.as<float>(), n_prompt, 0);
}

std::vector<int32_t> sample(const std::vector<float> &logits, int vocab, const std::vector<int32_t> &rows,
                            const std::vector<TokenDraw> &draws) {
  DeviceBuffer d = upload(logits);
  DeviceSampler sampler;
  std::vector<int32_t> tokens;
  sampler.sample(d.as<float>(), rows, draws, vocab, tokens, 0);
  return tokens;
}

}  // namespace hkv::cuda::harness
