// op_harness.h: host-side entry points to single CUDA ops, for tests that compare each op with
// its CPU counterpart (native/tests/test_cuda_backend.cpp). Plain C++: inputs and outputs are
// host fp32 vectors; bf16 operands are rounded on upload, bf16 results widened on download.
// Defined only in builds with HEADKV_WITH_CUDA.
#pragma once

#include <cstdint>
#include <vector>

#include "compress/compress.h"
#include "headkv.h"
#include "model.h"
#include "sampler.h"

namespace hkv::cuda::harness {

// Visible GPUs; 0 when there is no driver or device.
int device_count();

// out[m][d] = x / rms(x) * weight
std::vector<float> rmsnorm(const std::vector<float> &x, const std::vector<float> &weight, int m, int d, float eps);

// out[m][n] = x[m][k] . w[n][k]^T (cuBLAS, bf16 operands, fp32 result)
std::vector<float> matmul(const std::vector<float> &x, const std::vector<float> &w, int m, int n, int k);

// Splits qkv[m][q_dim + 2 kv_dim] (+ bias) into rotated q, rotated k and v at positions[m].
void qkv_rope(const Config &cfg, const std::vector<float> &qkv, const std::vector<float> &bias,
              const std::vector<int32_t> &positions, std::vector<float> &q, std::vector<float> &k, std::vector<float> &v);

// out[m][inter] = silu(gu[m][0:inter]) * gu[m][inter:]
std::vector<float> silu_mul(const std::vector<float> &gu, int m, int inter);

// Whether the Hopper (wgmma) prefill kernel runs here for head_dim (sm_90a build, cc 9.0 device).
bool hopper_prefill_available(int head_dim);

// Causal attention of q[m][n_heads * d] at positions c0.. over k, v [c0 + m][n_kv_heads * d], by
// the Hopper kernel or the portable one.
std::vector<float> prefill_attention(const std::vector<float> &q, const std::vector<float> &k, const std::vector<float> &v,
                                     int m, int c0, int n_heads, int n_kv_heads, int head_dim, bool hopper);

// Decode attention of q[B][n_heads * d] over paged caches: pages [n_pages][2][page_tokens][d],
// page_lists[b][c] the page ids of cache head c of sequence b, lengths[b][c] its token count.
std::vector<float> decode_attention(const std::vector<float> &q, const std::vector<float> &pages, int page_tokens,
                                    const std::vector<std::vector<std::vector<int32_t>>> &page_lists,
                                    const std::vector<std::vector<int32_t>> &lengths, int n_heads, int head_dim);

// The GPU window scores (pooled, per cache head) of q_window [window][n_heads][d] and keys
// [n][n_kv_heads][d] (keys rounded to bf16).
std::vector<float> window_scores(const Config &cfg, const hkv_kv_params &kv, const std::vector<float> &q_window,
                                 const std::vector<float> &keys, int n_prompt);

// The GPU selection from pooled scores [cache_heads][n - window].
std::vector<std::vector<int32_t>> select(const Config &cfg, const hkv_kv_params &kv, const CompressionPlan &plan, int layer,
                                         const std::vector<float> &pooled, int n_prompt);

// Tokens picked on the GPU (cuda/sampling.cuh): token i from row rows[i] of logits
// [n_rows][vocab] with draws[i].
std::vector<int32_t> sample(const std::vector<float> &logits, int vocab, const std::vector<int32_t> &rows,
                            const std::vector<TokenDraw> &draws);

}  // namespace hkv::cuda::harness
