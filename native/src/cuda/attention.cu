#include "cuda/attention.cuh"

#include <algorithm>
#include <cmath>
#include <string>

#include "cuda/attention_hopper.cuh"
#include "cuda/attention_math.cuh"
#include "cuda/cuda_check.cuh"

namespace hkv::cuda {

namespace {

using bf16 = __nv_bfloat16;

constexpr float kLog2e = 1.4426950408889634f;

// ---------------------------------------------------------------- prefill (tensor cores)
// A block owns 128 queries of one head and walks 64-key tiles of its KV head, double-buffered:
// the next tile's keys and values stream in by cp.async while the current one is used.
// S = Q K^T and O += P V use mma.sync m16n8k16 (bf16 in, fp32 accumulate); S stays in
// registers, where its accumulator layout is already the A-operand layout that P needs. A warp
// skips tiles that lie wholly after its last query.
// Up to head size 128 a warp owns 32 query rows (two m16 tiles, 4 warps): each K and V
// fragment read from shared memory then feeds four mma instead of two, which is what keeps the
// tensor cores rather than shared memory the limit; its Q fragments are re-read from shared
// memory per 16 dimensions (there are not registers for them next to 32 rows of O). At head
// size 256 the O accumulators of 32 rows do not fit: a warp owns 16 rows (8 warps) and keeps Q
// in registers.
constexpr int kRows = 128, kKeys = 64;
constexpr float kRescaleSlack = 8.f;  // log2 units a row maximum may grow before O is rescaled
template <int D>
constexpr int kPrefillTiles = D <= 128 ? 2 : 1;  // m16 tiles per warp
template <int D>
constexpr int kPrefillWarps = kRows / (16 * kPrefillTiles<D>);

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
__global__ void __launch_bounds__(kPrefillWarps<D> * 32, D <= 128 ? 2 : 1)
    flash_prefill_kernel(const bf16 *q, const bf16 *k, const bf16 *v, bf16 *out, int m, int c0, int n_heads,
                         int n_kv_heads, float scale_log2) {
  constexpr int MT = kPrefillTiles<D>, kWarpRows = 16 * MT;
  constexpr bool kQInRegisters = MT == 1;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  constexpr int tile = kKeys * (D + 8);
  bf16 *qs = reinterpret_cast<bf16 *>(smem_raw);
  bf16 *ks = qs + kRows * (D + 8);  // [2][kKeys][D + 8]
  bf16 *vs = ks + 2 * tile;         // [2][kKeys][D + 8]

  // Later query tiles see more keys: start them first, every head's before any shorter one
  // (heads vary fastest in launch order), so the last wave holds the shortest tiles.
  const int q0 = (gridDim.y - 1 - blockIdx.y) * kRows;
  const int h = blockIdx.x, g = h / (n_heads / n_kv_heads);
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

  // The lane's ldmatrix row and column offsets for an A operand (16 x 16) at (row 0, col 0).
  const bf16 *q_lane = qs + (warp * kWarpRows + (lane % 8) + ((lane / 8) % 2) * 8) * (D + 8) + (lane / 16) * 8;
  uint32_t qf[kQInRegisters ? D / 16 : 1][4];
  float o[MT][D / 8][4];
  float row_max[MT][2], row_sum[MT][2];
  #pragma unroll
  for (int mt = 0; mt < MT; mt++) {
    #pragma unroll
    for (int i = 0; i < D / 8; i++) o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.f;
    row_max[mt][0] = row_max[mt][1] = -INFINITY;
    row_sum[mt][0] = row_sum[mt][1] = 0.f;
  }
  const int warp_first = c0 + q0 + warp * kWarpRows;  // the warp's first query position
  const int warp_last = warp_first + kWarpRows - 1;

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
    if constexpr (kQInRegisters)
      if (t == 0)
        #pragma unroll
        for (int kk = 0; kk < D / 16; kk++) ldmatrix_x4(qf[kk], q_lane + kk * 16);
    const bf16 *kt = ks + (t & 1) * tile, *vt = vs + (t & 1) * tile;

    if (k0 <= warp_last) {
      float s[MT][kKeys / 8][4];
      #pragma unroll
      for (int mt = 0; mt < MT; mt++)
        #pragma unroll
        for (int i = 0; i < kKeys / 8; i++) s[mt][i][0] = s[mt][i][1] = s[mt][i][2] = s[mt][i][3] = 0.f;
      #pragma unroll
      for (int kk = 0; kk < D / 16; kk++) {
        uint32_t a[MT][4];
        if constexpr (kQInRegisters) {
          #pragma unroll
          for (int e = 0; e < 4; e++) a[0][e] = qf[kk][e];
        } else {
          #pragma unroll
          for (int mt = 0; mt < MT; mt++) ldmatrix_x4(a[mt], q_lane + mt * 16 * (D + 8) + kk * 16);
        }
        #pragma unroll
        for (int np = 0; np < kKeys / 16; np++) {
          uint32_t b[4];
          ldmatrix_x4(b, kt + (np * 16 + (lane % 8) + (lane / 16) * 8) * (D + 8) + kk * 16 + ((lane / 8) % 2) * 8);
          #pragma unroll
          for (int mt = 0; mt < MT; mt++) {
            mma_bf16(s[mt][2 * np], a[mt], b[0], b[1]);
            mma_bf16(s[mt][2 * np + 1], a[mt], b[2], b[3]);
          }
        }
      }

      #pragma unroll
      for (int mt = 0; mt < MT; mt++) {
        // Mask future and missing keys: only a tile that reaches the m-tile's diagonal or the end
        // of the keys has any.
        const int tile_first = warp_first + mt * 16;
        if (k0 + kKeys > tile_first || k0 + kKeys > key_end) {
          const int pos_a = tile_first + quad_row;  // the thread's first query row (the second: +8)
          #pragma unroll
          for (int nb = 0; nb < kKeys / 8; nb++)
            #pragma unroll
            for (int e = 0; e < 4; e++) {
              const int key = k0 + nb * 8 + quad_col * 2 + (e & 1);
              if (key > pos_a + (e < 2 ? 0 : 8) || key >= key_end) s[mt][nb][e] = -INFINITY;
            }
        }
        float tile_max[2] = {-INFINITY, -INFINITY};
        #pragma unroll
        for (int nb = 0; nb < kKeys / 8; nb++)
          #pragma unroll
          for (int e = 0; e < 4; e++) tile_max[e / 2] = fmaxf(tile_max[e / 2], s[mt][nb][e]);
        const bool grew = quad_max_grew(tile_max, row_max[mt], scale_log2, kRescaleSlack);
        // The running maximum moves (and O and the sums are rescaled) only when a row of the warp
        // grew by more than kRescaleSlack: after the first tiles that is rare, and it saves the
        // warp D / 2 multiplications a tile. Meanwhile probabilities may reach 2^kRescaleSlack,
        // which fp32 sums and bf16 P hold without loss; the final division cancels the base.
        if (__any_sync(0xffffffffu, grew)) {
          float alpha[2];
          #pragma unroll
          for (int r = 0; r < 2; r++) {
            const float new_max = fmaxf(row_max[mt][r], tile_max[r]);
            alpha[r] = new_max == -INFINITY ? 1.f : exp2_ftz(row_max[mt][r] - new_max);
            row_max[mt][r] = new_max;
            row_sum[mt][r] *= alpha[r];
          }
          #pragma unroll
          for (int i = 0; i < D / 8; i++) {
            o[mt][i][0] *= alpha[0];
            o[mt][i][1] *= alpha[0];
            o[mt][i][2] *= alpha[1];
            o[mt][i][3] *= alpha[1];
          }
        }
        float neg_base[2];
        #pragma unroll
        for (int r = 0; r < 2; r++) neg_base[r] = row_max[mt][r] == -INFINITY ? 0.f : -row_max[mt][r];
        #pragma unroll
        for (int nb = 0; nb < kKeys / 8; nb++)
          #pragma unroll
          for (int e = 0; e < 4; e++) {
            const float p = exp2_ftz(fmaf(s[mt][nb][e], scale_log2, neg_base[e / 2]));
            s[mt][nb][e] = p;
            row_sum[mt][e / 2] += p;
          }
      }
      for (int kk = 0; kk < kKeys / 16; kk++) {
        uint32_t pa[MT][4];
        #pragma unroll
        for (int mt = 0; mt < MT; mt++) {
          pa[mt][0] = pack_bf16(s[mt][2 * kk][0], s[mt][2 * kk][1]);
          pa[mt][1] = pack_bf16(s[mt][2 * kk][2], s[mt][2 * kk][3]);
          pa[mt][2] = pack_bf16(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
          pa[mt][3] = pack_bf16(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
        }
        #pragma unroll
        for (int dp = 0; dp < D / 16; dp++) {
          uint32_t b[4];
          ldmatrix_x4_trans(b, vt + (kk * 16 + (lane % 8) + ((lane / 8) % 2) * 8) * (D + 8) + dp * 16 + (lane / 16) * 8);
          #pragma unroll
          for (int mt = 0; mt < MT; mt++) {
            mma_bf16(o[mt][2 * dp], pa[mt], b[0], b[1]);
            mma_bf16(o[mt][2 * dp + 1], pa[mt], b[2], b[3]);
          }
        }
      }
    }
    __syncthreads();  // every warp is done with this stage before it is refilled
  }

  #pragma unroll
  for (int mt = 0; mt < MT; mt++) {
    #pragma unroll
    for (int r = 0; r < 2; r++) {
      row_sum[mt][r] += __shfl_xor_sync(0xffffffffu, row_sum[mt][r], 1);
      row_sum[mt][r] += __shfl_xor_sync(0xffffffffu, row_sum[mt][r], 2);
    }
    const int t_a = q0 + warp * kWarpRows + mt * 16 + quad_row, t_b = t_a + 8;
    #pragma unroll
    for (int nb = 0; nb < D / 8; nb++) {
      const int col = h * D + nb * 8 + quad_col * 2;
      if (t_a < m)
        *reinterpret_cast<__nv_bfloat162 *>(out + (int64_t)t_a * q_stride + col) =
            __floats2bfloat162_rn(o[mt][nb][0] / row_sum[mt][0], o[mt][nb][1] / row_sum[mt][0]);
      if (t_b < m)
        *reinterpret_cast<__nv_bfloat162 *>(out + (int64_t)t_b * q_stride + col) =
            __floats2bfloat162_rn(o[mt][nb][2] / row_sum[mt][1], o[mt][nb][3] / row_sum[mt][1]);
    }
  }
}

template <int D>
void launch_prefill(const bf16 *q, const bf16 *k, const bf16 *v, bf16 *out, int m, int c0, int n_heads, int n_kv_heads,
                    cudaStream_t stream) {
  const int smem = (kRows + 4 * kKeys) * (D + 8) * (int)sizeof(bf16);
  // Per kernel and device; cheap enough to set on every launch.
  check(cudaFuncSetAttribute(flash_prefill_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem),
        "flash_prefill: shared memory size");
  const dim3 grid(n_heads, (m + kRows - 1) / kRows);
  const float scale_log2 = kLog2e / sqrtf((float)D);
  flash_prefill_kernel<D>
      <<<grid, kPrefillWarps<D> * 32, smem, stream>>>(q, k, v, out, m, c0, n_heads, n_kv_heads, scale_log2);
  check_launch("flash_prefill");
}

// ---------------------------------------------------------------- decode (flash-decoding)
// A block owns (split of kDecodeSplitTokens tokens, cache head, sequence) and every query head
// that reads that cache head, up to kMaxQ at a time. Each warp owns 32 tokens of the split: it
// streams their K and V rows from their pages into shared memory with cp.async (K and V in two
// groups, so the scores start while V is still arriving) and runs on tensor cores like the
// prefill, with the group's query heads as the 16 rows of the A operand: S = Q K^T (16 x 32),
// the softmax of each row over the warp's tokens in registers, O = P V (16 x D). Rows past the
// group's query heads are zero and never written; the tensor cores have room to spare, and
// scalar code here was bound by instruction latency (1.0 TB/s on an H100 whatever the split).
// The warps' partial results merge in shared memory (over the K rows, which are no longer
// needed) into one partial per split; flash_decode_combine_kernel merges the splits.
constexpr int kMaxQ = 16;
constexpr int kDecodeWarps = kDecodeSplitTokens / 32;

template <int D>
constexpr int decode_smem_bytes() {
  return 2 * kDecodeSplitTokens * (D + 8) * (int)sizeof(bf16)  // K and V rows, padded
         + kMaxQ * (D + 8) * (int)sizeof(bf16);                // the group's queries
}

template <int D>
__global__ void __launch_bounds__(kDecodeWarps * 32)
    flash_decode_kernel(const bf16 *q, PagedBatch cache, float *partial, int n_heads, int max_splits, float scale_log2) {
  constexpr int kRow = D + 8;  // shared row stride (bf16): conflict-free ldmatrix
  static_assert(kDecodeWarps * kMaxQ * (D + 2) * sizeof(float) <= kDecodeSplitTokens * kRow * sizeof(bf16),
                "the warps' partials must fit over the K rows");
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16 *ks = reinterpret_cast<bf16 *>(smem_raw);  // [kDecodeSplitTokens][kRow]
  bf16 *vs = ks + kDecodeSplitTokens * kRow;      // [kDecodeSplitTokens][kRow]
  bf16 *qs = vs + kDecodeSplitTokens * kRow;      // [kMaxQ][kRow]
  float *ws = reinterpret_cast<float *>(ks);      // [kDecodeWarps][kMaxQ][D + 2], once K is used

  const int split = blockIdx.x, c = blockIdx.y, b = blockIdx.z;
  // The sequence's granularity and the head's descriptor are read together (every sequence has
  // n_heads descriptors), not one after the other: each dependent global read before the first
  // cp.async is a memory latency the whole block waits out.
  // (Two int32 reads: the descriptors may sit at any 4-byte offset of the engine's upload.)
  const int32_t *desc = cache.heads + ((int64_t)b * n_heads + c) * 2;
  const int ch = cache.cache_heads[b], table_offset = desc[0], len = desc[1];
  if (c >= ch) return;
  const int32_t *table = cache.page_table + table_offset;
  const int t0 = split * kDecodeSplitTokens;
  if (t0 >= len) return;
  const int n_tok = min(len - t0, kDecodeSplitTokens);
  const int pt = cache.page_tokens;
  const int nq_all = n_heads / ch;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int quad_row = lane / 4, quad_col = lane % 4;
  const int w0 = warp * 32;  // the warp's first token in the split
  const int warp_tokens = max(0, min(32, n_tok - w0));

  // The page ids of the warp's tokens, one per lane (a warp's 32 tokens span at most 32 pages),
  // read once: looking each up inside the copy loop would put a dependent load before every
  // cp.async. Warps do not wait for each other.
  const int warp_page0 = (t0 + w0) / pt;
  int32_t lane_page = 0;
  if (warp_tokens > 0 && warp_page0 + lane <= (t0 + w0 + warp_tokens - 1) / pt) lane_page = table[warp_page0 + lane];
  // The warp's 32 rows of K (kv = 0) or V (kv = 1); rows past the split's end are zero-filled.
  auto load_rows = [&](bf16 *dst, int kv) {
    constexpr int chunks = D / 8;  // 16-byte pieces of a row
    #pragma unroll 4
    for (int i = lane; i < 32 * chunks; i += 32) {
      const int r = i / chunks, col = (i % chunks) * 8;
      const bool ok = r < warp_tokens;
      const int j = t0 + w0 + (ok ? r : 0);
      const int32_t page = __shfl_sync(0xffffffffu, lane_page, j / pt - warp_page0);
      const bf16 *src = cache.pages + (((int64_t)page * 2 + kv) * pt + j % pt) * D + col;
      cp_async16(dst + (w0 + r) * kRow + col, src, ok);
    }
    cp_async_commit();
  };
  if (warp_tokens > 0) {
    load_rows(ks, 0);
    load_rows(vs, 1);
  }

  for (int qh0 = 0; qh0 < nq_all; qh0 += kMaxQ) {
    const int nq = min(kMaxQ, nq_all - qh0);
    for (int i = threadIdx.x; i < kMaxQ * D / 8; i += blockDim.x) {
      const int r = i / (D / 8), col = (i % (D / 8)) * 8;
      uint4 v = make_uint4(0, 0, 0, 0);
      if (r < nq) v = *reinterpret_cast<const uint4 *>(q + ((int64_t)b * n_heads + c * nq_all + qh0 + r) * D + col);
      *reinterpret_cast<uint4 *>(qs + r * kRow + col) = v;
    }
    __syncthreads();

    float o[D / 8][4];
    for (int i = 0; i < D / 8; i++) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
    if (warp_tokens > 0) {
      // Scores of the group's query heads (rows) for the warp's tokens, in the log2 domain.
      if (qh0 == 0)
        cp_async_wait<1>();  // K has arrived; V may still be coming
      else
        cp_async_wait<0>();  // K was reloaded for this group (V arrived long ago)
      __syncwarp();
      float s[4][4];
      for (int i = 0; i < 4; i++) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
      for (int kk = 0; kk < D / 16; kk++) {
        uint32_t a[4];
        ldmatrix_x4(a, qs + ((lane % 8) + ((lane / 8) % 2) * 8) * kRow + kk * 16 + (lane / 16) * 8);
        for (int np = 0; np < 2; np++) {
          uint32_t kb[4];
          ldmatrix_x4(kb, ks + (w0 + np * 16 + (lane % 8) + (lane / 16) * 8) * kRow + kk * 16 + ((lane / 8) % 2) * 8);
          mma_bf16(s[2 * np], a, kb[0], kb[1]);
          mma_bf16(s[2 * np + 1], a, kb[2], kb[3]);
        }
      }
      for (int nb = 0; nb < 4; nb++)
        for (int e = 0; e < 4; e++) {
          const int tok = w0 + nb * 8 + quad_col * 2 + (e & 1);
          const float x = tok < n_tok ? s[nb][e] * scale_log2 : -INFINITY;
          s[nb][e] = x;
          row_max[e / 2] = fmaxf(row_max[e / 2], x);
        }
      for (int r = 0; r < 2; r++) {
        row_max[r] = fmaxf(row_max[r], __shfl_xor_sync(0xffffffffu, row_max[r], 1));
        row_max[r] = fmaxf(row_max[r], __shfl_xor_sync(0xffffffffu, row_max[r], 2));
      }
      for (int nb = 0; nb < 4; nb++)
        for (int e = 0; e < 4; e++) {
          const float p = exp2_ftz(s[nb][e] - row_max[e / 2]);
          s[nb][e] = p;
          row_sum[e / 2] += p;
        }
      for (int r = 0; r < 2; r++) {
        row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 1);
        row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 2);
      }

      cp_async_wait<0>();
      __syncwarp();
      for (int kk = 0; kk < 2; kk++) {
        const uint32_t pa[4] = {pack_bf16(s[2 * kk][0], s[2 * kk][1]), pack_bf16(s[2 * kk][2], s[2 * kk][3]),
                                pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3])};
        for (int dp = 0; dp < D / 16; dp++) {
          uint32_t vb[4];
          ldmatrix_x4_trans(vb, vs + (w0 + kk * 16 + (lane % 8) + ((lane / 8) % 2) * 8) * kRow + dp * 16 + (lane / 16) * 8);
          mma_bf16(o[2 * dp], pa, vb[0], vb[1]);
          mma_bf16(o[2 * dp + 1], pa, vb[2], vb[3]);
        }
      }
    }

    // Merge the warps into the split's partial: each warp's rows go over the K rows first.
    __syncthreads();  // every warp is done with K
    for (int r = 0; r < 2; r++) {
      const int row = quad_row + 8 * r;
      if (row >= nq) continue;
      float *w = ws + (warp * kMaxQ + row) * (D + 2);
      for (int nb = 0; nb < D / 8; nb++) {
        w[nb * 8 + quad_col * 2] = o[nb][2 * r];
        w[nb * 8 + quad_col * 2 + 1] = o[nb][2 * r + 1];
      }
      if (quad_col == 0) {
        w[D] = row_max[r];
        w[D + 1] = row_sum[r];
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
        const float f = exp2_ftz(w[D] - m_all);
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
    if (qh0 + kMaxQ < nq_all) {
      __syncthreads();  // the partials are read: K may come back over them for the next group
      if (warp_tokens > 0) load_rows(ks, 0);
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
                   int head_dim, cudaStream_t stream, PrefillKernel kernel) {
  if (kernel != PrefillKernel::kPortable && flash_prefill_hopper_available(head_dim))
    return flash_prefill_hopper(q, k, v, out, m, c0, n_heads, n_kv_heads, stream);
  if (kernel == PrefillKernel::kHopper)
    throw Error(HKV_ERR_UNSUPPORTED, "CUDA attention: the Hopper prefill kernel needs an sm_90a build, a compute "
                                     "capability 9.0 device and head_dim 128 (head_dim " + std::to_string(head_dim) + ")");
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
