// ops.cuh: the elementwise and row-wise kernels of the bf16 forward pass (launchers). The
// residual stream is fp32; what feeds a matrix product is bf16.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace hkv::cuda {

using bf16 = __nv_bfloat16;

// dst[n] = bf16(src[n])
void to_bf16(bf16 *dst, const float *src, int64_t n, cudaStream_t stream);

// x[m][hidden] = table[tokens[t]] (fp32 residual from the bf16 embedding table)
void embed(float *x, const bf16 *table, const int32_t *tokens, int m, int hidden, cudaStream_t stream);

// out[m][d] = bf16(x / rms(x) * weight)
void rmsnorm(bf16 *out, const float *x, const float *weight, int m, int d, float eps, cudaStream_t stream);

// Splits the fused projection qkv[m][q_dim + 2 kv_dim] into q[m][q_dim], k[m][kv_dim] and
// v[m][kv_dim], adding the biases (bias: [q_dim + 2 kv_dim] or null) and rotating q and k at
// position positions[t] (or pos_base + t when positions is null). Rows whose position is
// >= window_begin are also written, fp32, to q_window[position - window_begin] (if non-null).
struct QkvSplit {
  const bf16 *qkv;
  const float *bias;
  const float *inv_freq;  // [head_dim / 2]
  const int32_t *positions;
  int pos_base;
  int m, n_heads, n_kv_heads, head_dim;
  bf16 *q, *k, *v;
  float *q_window;
  int window_begin;
};
void split_qkv_rope(const QkvSplit &a, cudaStream_t stream);

// out[m][inter] = silu(gu[m][0:inter]) * gu[m][inter:2 inter]
void silu_mul(bf16 *out, const bf16 *gu, int m, int inter, cudaStream_t stream);

// Copies rows of K and V into cache pages. Entry e: src_row[e] is the token's row in k/v
// ([rows][n_kv_heads][head_dim]), kv_head[e] the head read, dst[e] the element offset of the
// token's key in the page buffer (its value is page_tokens * head_dim further on).
void scatter_kv(bf16 *pages, const bf16 *k, const bf16 *v, const int32_t *src_row, const int32_t *kv_head,
                const int64_t *dst, int64_t n_entries, int n_kv_heads, int head_dim, int page_tokens, cudaStream_t stream);

// dst[dst_rows[r]][width] = src[r][width] for r < n_rows (fp32 rows, e.g. logits into slots).
void copy_rows(float *dst, const int32_t *dst_rows, const float *src, int n_rows, int width, cudaStream_t stream);

}  // namespace hkv::cuda
