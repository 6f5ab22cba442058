#include "cuda/attention.cuh"

#include <algorithm>
#include <cmath>
#include <string>

#include "cuda/cuda_check.cuh"

namespace hkv::cuda {

namespace {

using bf16 = __nv_bfloat16;

constexpr float kLog2e = 1.4426950408889634f;

// ---------------------------------------------------------------- prefill (tensor cores)
// A block owns 128 queries of one head (8 warps x 16 rows) and walks 64-key tiles of its KV
// head, double-buffered: the next tile's keys and values stream in by cp.async while the
// current one is used. S = Q K^T and O += P V use mma.sync m16n8k16 (bf16 in, fp32
// accumulate); S stays in registers, where its accumulator layout is already the A-operand
// layout that P needs. A warp skips tiles that lie wholly after its last query.
constexpr int kRows = 128, kKeys = 64, kWarps = 8;

__device__ __forceinline__ uint32_t smem_addr(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }

__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

// 16 bytes global -> shared without a register round trip; zero-filled when !valid.
__device__ __forceinline__ void cp_async16(void *dst, const void *src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// c[4] += a[4] (16x16, row) * b[2] (16x8, col)
__device__ __forceinline__ void mma_bf16(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t *>(&v);
}

// Starts copying `rows` rows of d bf16 (row stride `stride` elements in global) into shared
// rows of d + 8; rows at or past `valid` are zero-filled.
template <int D>
__device__ void load_tile_async(bf16 *dst, const bf16 *src, int64_t stride, int rows, int valid) {
  constexpr int chunks = D / 8;  // 16-byte pieces per row
  for (int i = threadIdx.x; i < rows * chunks; i += blockDim.x) {
    const int r = i / chunks, c = (i % chunks) * 8;
    const bool ok = r < valid;
    cp_async16(dst + r * (D + 8) + c, src + (ok ? r * stride + c : 0), ok);
  }
}

template <int D>
__global__ void __launch_bounds__(kWarps * 32)
    flash_prefill_kernel(const bf16 *q, const bf16 *k, const bf16 *v, bf16 *out, int m, int c0, int n_heads,
                         int n_kv_heads, float scale_log2) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  constexpr int tile = kKeys * (D + 8);
  bf16 *qs = reinterpret_cast<bf16 *>(smem_raw);
  bf16 *ks = qs + kRows * (D + 8);  // [2][kKeys][D + 8]
  bf16 *vs = ks + 2 * tile;         // [2][kKeys][D + 8]

  // Later query tiles see more keys: start them first.
  const int q0 = (gridDim.x - 1 - blockIdx.x) * kRows;
  const int h = blockIdx.y, g = h / (n_heads / n_kv_heads);
  const int q_stride = n_heads * D, kv_stride = n_kv_heads * D;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int quad_row = lane / 4, quad_col = lane % 4;
  const int key_end = c0 + min(q0 + kRows, m);  // keys any row of the block may see
  const int n_tiles = (key_end + kKeys - 1) / kKeys;
  const bf16 *kg = k + g * D, *vg = v + g * D;

  load_tile_async<D>(qs, q + (int64_t)q0 * q_stride + h * D, q_stride, kRows, m - q0);
  load_tile_async<D>(ks, kg, kv_stride, kKeys, key_end);
  load_tile_async<D>(vs, vg, kv_stride, kKeys, key_end);
  cp_async_commit();

  uint32_t qf[D / 16][4];
  float o[D / 8][4];
  for (int i = 0; i < D / 8; i++) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
  const int pos_a = c0 + q0 + warp * 16 + quad_row;  // the thread's two query rows
  const int pos_b = pos_a + 8;
  const int warp_last = c0 + q0 + warp * 16 + 15;    // the warp's last query position

  for (int t = 0; t < n_tiles; t++) {
    const int k0 = t * kKeys;
    if (t + 1 < n_tiles) {
      const int next = (t + 1) & 1;
      load_tile_async<D>(ks + next * tile, kg + (int64_t)(k0 + kKeys) * kv_stride, kv_stride, kKeys, key_end - k0 - kKeys);
      load_tile_async<D>(vs + next * tile, vg + (int64_t)(k0 + kKeys) * kv_stride, kv_stride, kKeys, key_end - k0 - kKeys);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    if (t == 0)
      for (int kk = 0; kk < D / 16; kk++)
        ldmatrix_x4(qf[kk], qs + (warp * 16 + (lane % 8) + ((lane / 8) % 2) * 8) * (D + 8) + kk * 16 + (lane / 16) * 8);
    const bf16 *kt = ks + (t & 1) * tile, *vt = vs + (t & 1) * tile;

    if (k0 <= warp_last) {
      float s[kKeys / 8][4];
      for (int i = 0; i < kKeys / 8; i++) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
      for (int kk = 0; kk < D / 16; kk++)
        for (int np = 0; np < kKeys / 16; np++) {
          uint32_t b[4];
          ldmatrix_x4(b, kt + (np * 16 + (lane % 8) + (lane / 16) * 8) * (D + 8) + kk * 16 + ((lane / 8) % 2) * 8);
          mma_bf16(s[2 * np], qf[kk], b[0], b[1]);
          mma_bf16(s[2 * np + 1], qf[kk], b[2], b[3]);
        }

      // Scale into the log2 domain and mask future and missing keys.
      const bool diagonal = k0 + kKeys > c0 + q0 + warp * 16 || k0 + kKeys > key_end;
      float tile_max[2] = {-INFINITY, -INFINITY};
      for (int nb = 0; nb < kKeys / 8; nb++)
        for (int e = 0; e < 4; e++) {
          const int key = k0 + nb * 8 + quad_col * 2 + (e & 1);
          const int pos = e < 2 ? pos_a : pos_b;
          float x = s[nb][e] * scale_log2;
          if (diagonal && (key > pos || key >= key_end)) x = -INFINITY;
          s[nb][e] = x;
          tile_max[e / 2] = fmaxf(tile_max[e / 2], x);
        }
      float alpha[2], base[2];
      for (int r = 0; r < 2; r++) {
        tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
        tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
        const float new_max = fmaxf(row_max[r], tile_max[r]);
        base[r] = new_max == -INFINITY ? 0.f : new_max;
        alpha[r] = exp2f(row_max[r] - base[r]);
        row_max[r] = new_max;
        row_sum[r] *= alpha[r];
      }
      for (int nb = 0; nb < kKeys / 8; nb++)
        for (int e = 0; e < 4; e++) {
          const float p = exp2f(s[nb][e] - base[e / 2]);
          s[nb][e] = p;
          row_sum[e / 2] += p;
        }
      for (int i = 0; i < D / 8; i++) {
        o[i][0] *= alpha[0];
        o[i][1] *= alpha[0];
        o[i][2] *= alpha[1];
        o[i][3] *= alpha[1];
      }
      for (int kk = 0; kk < kKeys / 16; kk++) {
        const uint32_t pa[4] = {pack_bf16(s[2 * kk][0], s[2 * kk][1]), pack_bf16(s[2 * kk][2], s[2 * kk][3]),
                                pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3])};
        for (int dp = 0; dp < D / 16; dp++) {
          uint32_t b[4];
          ldmatrix_x4_trans(b, vt + (kk * 16 + (lane % 8) + ((lane / 8) % 2) * 8) * (D + 8) + dp * 16 + (lane / 16) * 8);
          mma_bf16(o[2 * dp], pa, b[0], b[1]);
          mma_bf16(o[2 * dp + 1], pa, b[2], b[3]);
        }
      }
    }
    __syncthreads();  // every warp is done with this stage before it is refilled
  }

  for (int r = 0; r < 2; r++) {
    row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 1);
    row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 2);
  }
  const int t_a = q0 + warp * 16 + quad_row, t_b = t_a + 8;
  for (int nb = 0; nb < D / 8; nb++) {
    const int col = h * D + nb * 8 + quad_col * 2;
    if (t_a < m)
      *reinterpret_cast<__nv_bfloat162 *>(out + (int64_t)t_a * q_stride + col) =
          __floats2bfloat162_rn(o[nb][0] / row_sum[0], o[nb][1] / row_sum[0]);
    if (t_b < m)
      *reinterpret_cast<__nv_bfloat162 *>(out + (int64_t)t_b * q_stride + col) =
          __floats2bfloat162_rn(o[nb][2] / row_sum[1], o[nb][3] / row_sum[1]);
  }
}

template <int D>
void launch_prefill(const bf16 *q, const bf16 *k, const bf16 *v, bf16 *out, int m, int c0, int n_heads, int n_kv_heads,
                    cudaStream_t stream) {
  const int smem = (kRows + 4 * kKeys) * (D + 8) * (int)sizeof(bf16);
  // Per kernel and device; cheap enough to set on every launch.
  check(cudaFuncSetAttribute(flash_prefill_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem),
        "flash_prefill: shared memory size");
  const dim3 grid((m + kRows - 1) / kRows, n_heads);
  const float scale_log2 = kLog2e / sqrtf((float)D);
  flash_prefill_kernel<D><<<grid, kWarps * 32, smem, stream>>>(q, k, v, out, m, c0, n_heads, n_kv_heads, scale_log2);
  check_launch("flash_prefill");
}

// ---------------------------------------------------------------- decode (flash-decoding)
// A block owns (split of kDecodeSplitTokens tokens, cache head, sequence) and every query head
// that reads that cache head (up to kMaxQ at a time). It first streams the split's K and V rows
// from their pages into shared memory with cp.async, all at once and coalesced (the kernel is
// bound by memory bandwidth, so the loads must be many and wide); then each warp takes 32
// tokens: a lane computes its token's scores for every query head of the group, the warp does
// the online softmax over its 32 tokens with shuffles, and P V runs with each lane owning
// D / 32 output dimensions. The warps' partial results merge in shared memory into one
// partial per split; flash_decode_combine_kernel merges the splits.
constexpr int kMaxQ = 8;
constexpr int kDecodeWarps = kDecodeSplitTokens / 32;

template <int D>
constexpr int decode_smem_bytes() {
  return 2 * kDecodeSplitTokens * (D + 8) * (int)sizeof(bf16)     // K and V rows, padded
         + kMaxQ * D * (int)sizeof(float)                          // the group's queries
         + kDecodeWarps * kMaxQ * (D + 2) * (int)sizeof(float);    // per-warp partials
}

// n consecutive bf16 of shared memory (n = 1, 2, 4 or 8; aligned to n elements) as floats.
template <int N>
__device__ __forceinline__ void load_bf16(float *dst, const bf16 *src) {
  if constexpr (N == 1) {
    dst[0] = __bfloat162float(*src);
  } else if constexpr (N == 2) {
    const float2 f = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(src));
    dst[0] = f.x;
    dst[1] = f.y;
  } else if constexpr (N == 4) {
    const uint2 raw = *reinterpret_cast<const uint2 *>(src);
    const __nv_bfloat162 *p = reinterpret_cast<const __nv_bfloat162 *>(&raw);
    for (int e = 0; e < 2; e++) {
      const float2 f = __bfloat1622float2(p[e]);
      dst[2 * e] = f.x;
      dst[2 * e + 1] = f.y;
    }
  } else {
    static_assert(N == 8, "load_bf16: 1, 2, 4 or 8 elements");
    const uint4 raw = *reinterpret_cast<const uint4 *>(src);
    const __nv_bfloat162 *p = reinterpret_cast<const __nv_bfloat162 *>(&raw);
    for (int e = 0; e < 4; e++) {
      const float2 f = __bfloat1622float2(p[e]);
      dst[2 * e] = f.x;
      dst[2 * e + 1] = f.y;
    }
  }
}

__device__ __forceinline__ float warp_max(float x) {
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}
__device__ __forceinline__ float warp_sum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

template <int D>
__global__ void __launch_bounds__(kDecodeWarps * 32)
    flash_decode_kernel(const bf16 *q, PagedBatch cache, float *partial, int n_heads, int max_splits, float scale_log2) {
  constexpr int kRow = D + 8;                   // shared row stride (bf16): conflict-free 16-byte reads
  constexpr int kDims = D >= 32 ? D / 32 : 1;   // output dimensions per lane in P V
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16 *ks = reinterpret_cast<bf16 *>(smem_raw);                  // [kDecodeSplitTokens][kRow]
  bf16 *vs = ks + kDecodeSplitTokens * kRow;                      // [kDecodeSplitTokens][kRow]
  float *qs = reinterpret_cast<float *>(vs + kDecodeSplitTokens * kRow);  // [kMaxQ][D], log2-scaled
  float *ws = qs + kMaxQ * D;                                     // [kDecodeWarps][kMaxQ][D + 2]

  const int split = blockIdx.x, c = blockIdx.y, b = blockIdx.z;
  const int ch = cache.cache_heads[b];
  if (c >= ch) return;
  const int32_t *desc = cache.heads + ((int64_t)b * n_heads + c) * 2;
  const int32_t *table = cache.page_table + desc[0];
  const int len = desc[1];
  const int t0 = split * kDecodeSplitTokens;
  if (t0 >= len) return;
  const int n_tok = min(len - t0, kDecodeSplitTokens);
  const int pt = cache.page_tokens;
  const int nq_all = n_heads / ch;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  // The split's page ids first, in one coalesced read: looking each up in global memory inside
  // the copy loop would put a dependent load before every cp.async.
  __shared__ int32_t split_pages[kDecodeSplitTokens + 1];
  const int first_page = t0 / pt, n_pages = (t0 + n_tok - 1) / pt - first_page + 1;
  for (int i = threadIdx.x; i < n_pages; i += blockDim.x) split_pages[i] = table[first_page + i];
  __syncthreads();
  constexpr int chunks = D / 8;  // 16-byte pieces of a row
  for (int i = threadIdx.x; i < kDecodeSplitTokens * chunks; i += blockDim.x) {
    const int r = i / chunks, col = (i % chunks) * 8;
    const bool ok = r < n_tok;
    const int j = t0 + (ok ? r : 0);
    const bf16 *kp = cache.pages + ((int64_t)split_pages[j / pt - first_page] * 2 * pt + j % pt) * D + col;
    cp_async16(ks + r * kRow + col, kp, ok);
    cp_async16(vs + r * kRow + col, kp + (int64_t)pt * D, ok);
  }
  cp_async_commit();

  const int tok = warp * 32 + lane;  // the lane's token in the split
  const bool valid = tok < n_tok;
  const int warp_tokens = max(0, min(32, n_tok - warp * 32));
  const int d0 = lane * kDims;       // the lane's first output dimension
  const bool owns = d0 < D;

  for (int qh0 = 0; qh0 < nq_all; qh0 += kMaxQ) {
    const int nq = min(kMaxQ, nq_all - qh0);
    __syncthreads();  // the previous group's qs and ws are consumed
    for (int i = threadIdx.x; i < nq * D; i += blockDim.x) {
      const int h = c * nq_all + qh0 + i / D;
      qs[i] = __bfloat162float(q[((int64_t)b * n_heads + h) * D + i % D]) * scale_log2;
    }
    cp_async_wait<0>();
    __syncthreads();

    // Scores of the lane's token (log2 domain).
    float s[kMaxQ];
#pragma unroll
    for (int i = 0; i < kMaxQ; i++) s[i] = 0.f;
    const bf16 *krow = ks + tok * kRow;
#pragma unroll 4
    for (int col = 0; col < D; col += 8) {
      float kf[8];
      load_bf16<8>(kf, krow + col);
#pragma unroll
      for (int i = 0; i < kMaxQ; i++) {
        if (i >= nq) break;
        const float4 qa = *reinterpret_cast<const float4 *>(qs + i * D + col);
        const float4 qb = *reinterpret_cast<const float4 *>(qs + i * D + col + 4);
        s[i] += qa.x * kf[0] + qa.y * kf[1] + qa.z * kf[2] + qa.w * kf[3] + qb.x * kf[4] + qb.y * kf[5] +
                qb.z * kf[6] + qb.w * kf[7];
      }
    }

    // The warp's softmax over its tokens, then P V.
    float m[kMaxQ], l[kMaxQ], p[kMaxQ], acc[kMaxQ][kDims];
#pragma unroll
    for (int i = 0; i < kMaxQ; i++) {
      m[i] = -INFINITY;
      l[i] = 0.f;
      p[i] = 0.f;
      for (int k = 0; k < kDims; k++) acc[i][k] = 0.f;
      if (i >= nq || warp_tokens == 0) continue;
      m[i] = warp_max(valid ? s[i] : -INFINITY);
      p[i] = valid ? exp2f(s[i] - m[i]) : 0.f;
      l[i] = warp_sum(p[i]);
    }
    for (int t = 0; t < warp_tokens; t++) {
      float vf[kDims];
      if (owns) load_bf16<kDims>(vf, vs + (warp * 32 + t) * kRow + d0);
#pragma unroll
      for (int i = 0; i < kMaxQ; i++) {
        if (i >= nq) break;
        const float pi = __shfl_sync(0xffffffffu, p[i], t);
        if (owns)
          for (int k = 0; k < kDims; k++) acc[i][k] += pi * vf[k];
      }
    }

    // Merge the warps into the split's partial.
    for (int i = 0; i < nq; i++) {
      float *w = ws + (warp * kMaxQ + i) * (D + 2);
      if (owns)
        for (int k = 0; k < kDims; k++) w[d0 + k] = acc[i][k];
      if (lane == 0) {
        w[D] = m[i];
        w[D + 1] = l[i];
      }
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < nq * D; idx += blockDim.x) {
      const int i = idx / D, d = idx % D;
      float m_all = -INFINITY;
      for (int wp = 0; wp < kDecodeWarps; wp++) m_all = fmaxf(m_all, ws[(wp * kMaxQ + i) * (D + 2) + D]);
      float a = 0.f, sum = 0.f;
      for (int wp = 0; wp < kDecodeWarps; wp++) {
        const float *w = ws + (wp * kMaxQ + i) * (D + 2);
        if (w[D] == -INFINITY) continue;
        const float f = exp2f(w[D] - m_all);
        a += w[d] * f;
        sum += w[D + 1] * f;
      }
      const int h = c * nq_all + qh0 + i;
      float *dst = partial + (((int64_t)b * n_heads + h) * max_splits + split) * (D + 2);
      dst[d] = a;
      if (d == 0) {
        dst[D] = m_all;
        dst[D + 1] = sum;
      }
    }
  }
}

template <int D>
__global__ void flash_decode_combine_kernel(const float *partial, PagedBatch cache, bf16 *out, int n_heads,
                                            int max_splits) {
  const int h = blockIdx.x, b = blockIdx.y;
  const int ch = cache.cache_heads[b];
  const int c = h / (n_heads / ch);
  const int len = cache.heads[((int64_t)b * n_heads + c) * 2 + 1];
  const int splits = (len + kDecodeSplitTokens - 1) / kDecodeSplitTokens;
  const float *src = partial + ((int64_t)b * n_heads + h) * max_splits * (D + 2);
  float m_all = -INFINITY;
  for (int s = 0; s < splits; s++) m_all = fmaxf(m_all, src[s * (D + 2) + D]);
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float a = 0.f, l = 0.f;
    for (int s = 0; s < splits; s++) {
      const float *p = src + s * (D + 2);
      const float f = exp2f(p[D] - m_all);
      a += p[d] * f;
      l += p[D + 1] * f;
    }
    out[((int64_t)b * n_heads + h) * D + d] = __float2bfloat16(a / l);
  }
}

template <int D>
void launch_decode(const bf16 *q, const PagedBatch &cache, float *partial, bf16 *out, int n_heads, cudaStream_t stream) {
  const int max_splits = (cache.max_len + kDecodeSplitTokens - 1) / kDecodeSplitTokens;
  const float scale_log2 = kLog2e / sqrtf((float)D);
  constexpr int smem = decode_smem_bytes<D>();
  check(cudaFuncSetAttribute(flash_decode_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem),
        "flash_decode: shared memory size");
  flash_decode_kernel<D><<<dim3(max_splits, n_heads, cache.batch), kDecodeWarps * 32, smem, stream>>>(
      q, cache, partial, n_heads, max_splits, scale_log2);
  check_launch("flash_decode");
  flash_decode_combine_kernel<D><<<dim3(n_heads, cache.batch), D < 32 ? 32 : D, 0, stream>>>(partial, cache, out,
                                                                                             n_heads, max_splits);
  check_launch("flash_decode_combine");
}

}  // namespace

bool attention_supports_head_dim(int head_dim) {
  return head_dim == 16 || head_dim == 32 || head_dim == 64 || head_dim == 128 || head_dim == 256;
}

void flash_prefill(const bf16 *q, const bf16 *k, const bf16 *v, bf16 *out, int m, int c0, int n_heads, int n_kv_heads,
                   int head_dim, cudaStream_t stream) {
  switch (head_dim) {
    case 16: return launch_prefill<16>(q, k, v, out, m, c0, n_heads, n_kv_heads, stream);
    case 32: return launch_prefill<32>(q, k, v, out, m, c0, n_heads, n_kv_heads, stream);
    case 64: return launch_prefill<64>(q, k, v, out, m, c0, n_heads, n_kv_heads, stream);
    case 128: return launch_prefill<128>(q, k, v, out, m, c0, n_heads, n_kv_heads, stream);
    case 256: return launch_prefill<256>(q, k, v, out, m, c0, n_heads, n_kv_heads, stream);
  }
  throw Error(HKV_ERR_UNSUPPORTED, "CUDA attention: head_dim " + std::to_string(head_dim) + " is not built (16, 32, 64, 128, 256)");
}

int64_t decode_partial_floats(int batch, int n_heads, int head_dim, int max_len) {
  const int64_t splits = (max_len + kDecodeSplitTokens - 1) / kDecodeSplitTokens;
  return (int64_t)batch * n_heads * std::max<int64_t>(splits, 1) * (head_dim + 2);
}

void flash_decode(const bf16 *q, const PagedBatch &cache, float *partial, bf16 *out, int n_heads, int head_dim,
                  cudaStream_t stream) {
  switch (head_dim) {
    case 16: return launch_decode<16>(q, cache, partial, out, n_heads, stream);
    case 32: return launch_decode<32>(q, cache, partial, out, n_heads, stream);
    case 64: return launch_decode<64>(q, cache, partial, out, n_heads, stream);
    case 128: return launch_decode<128>(q, cache, partial, out, n_heads, stream);
    case 256: return launch_decode<256>(q, cache, partial, out, n_heads, stream);
  }
  throw Error(HKV_ERR_UNSUPPORTED, "CUDA attention: head_dim " + std::to_string(head_dim) + " is not built (16, 32, 64, 128, 256)");
}

}  // namespace hkv::cuda
