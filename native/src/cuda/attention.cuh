// attention.cuh: the two attention kernels of the bf16 backend.
//   prefill: causal flash attention (tiled, online softmax, tensor cores) of one chunk's
//            queries over the layer's contiguous keys and values so far (GQA);
//   decode:  flash-decoding over each sequence's paged, ragged per-head cache, split along the
//            sequence, batched over all sequences.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace hkv::cuda {

// Head sizes the attention kernels are built for.
bool attention_supports_head_dim(int head_dim);

// The prefill kernels: kHopper (wgmma, attention_hopper.cuh) where the build and the device have
// it, else kPortable (mma.sync, sm_80 and up). kAuto picks; the others exist for tests and
// benchmarks, and kHopper where it is missing is an HKV_ERR_UNSUPPORTED error.
enum class PrefillKernel { kAuto, kPortable, kHopper };

// out[m][n_heads * d] for queries q[m][n_heads * d] at positions c0 .. c0 + m - 1, over keys and
// values k, v: [c0 + m][n_kv_heads * d]; query t sees keys 0 .. c0 + t.
void flash_prefill(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v, __nv_bfloat16 *out, int m,
                   int c0, int n_heads, int n_kv_heads, int head_dim, cudaStream_t stream,
                   PrefillKernel kernel = PrefillKernel::kAuto);

// Decode attention of B single-token queries q[B][n_heads * d] over paged caches.
//   pages:       [n_pages][2][page_tokens][d] bf16
//   cache_heads: [B] cache heads of each sequence (n_kv_heads or n_heads); query head h reads
//                cache head h / (n_heads / cache_heads[b])
//   heads:       [B][n_heads][2] {offset into page_table, length} of each cache head
//   page_table:  page ids of every head, in token order
//   partial:     scratch of decode_partial_floats(...) floats
struct PagedBatch {
  const __nv_bfloat16 *pages;
  int page_tokens;
  const int32_t *cache_heads;
  const int32_t *heads;
  const int32_t *page_table;
  int batch;
  int max_len;  // longest cache head of the batch
};
// Tokens of one decode split (one block; a multiple of 32: one warp per 32 tokens).
constexpr int kDecodeSplitTokens = 128;
int64_t decode_partial_floats(int batch, int n_heads, int head_dim, int max_len);
void flash_decode(const __nv_bfloat16 *q, const PagedBatch &cache, float *partial, __nv_bfloat16 *out, int n_heads,
                  int head_dim, cudaStream_t stream);

}  // namespace hkv::cuda
