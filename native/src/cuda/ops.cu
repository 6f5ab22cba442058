#include "cuda/ops.cuh"

#include "cuda/cuda_check.cuh"

namespace hkv::cuda {

namespace {

__global__ void to_bf16_kernel(bf16 *dst, const float *src, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dst[i] = __float2bfloat16(src[i]);
}

__global__ void embed_kernel(float *x, const bf16 *table, const int32_t *tokens, int hidden) {
  const int t = blockIdx.x;
  const bf16 *row = table + (int64_t)tokens[t] * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) x[(int64_t)t * hidden + i] = __bfloat162float(row[i]);
}

// Sum over the block; every thread gets the total.
__device__ float block_sum(float v, float *shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float total = 0.f;
  for (int w = 0; w < (int)(blockDim.x / 32); w++) total += shared[w];
  __syncthreads();
  return total;
}

// One block per row. kVector: d % 4 == 0 and 16-byte aligned rows (every model here): float4
// reads and 4 bf16 written at once; the scalar form is for the rest.
template <bool kVector>
__global__ void rmsnorm_kernel(bf16 *out, const float *x, const float *weight, int d, float eps) {
  __shared__ float shared[32];
  const float *xt = x + (int64_t)blockIdx.x * d;
  bf16 *ot = out + (int64_t)blockIdx.x * d;
  float ss = 0.f;
  if constexpr (kVector) {
    const float4 *x4 = reinterpret_cast<const float4 *>(xt);
    for (int i = threadIdx.x; i < d / 4; i += blockDim.x) {
      const float4 v = x4[i];
      ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
    }
  } else {
    for (int i = threadIdx.x; i < d; i += blockDim.x) ss += xt[i] * xt[i];
  }
  ss = block_sum(ss, shared);
  const float scale = 1.0f / sqrtf(ss / d + eps);
  if constexpr (kVector) {
    const float4 *x4 = reinterpret_cast<const float4 *>(xt), *w4 = reinterpret_cast<const float4 *>(weight);
    uint2 *o4 = reinterpret_cast<uint2 *>(ot);
    for (int i = threadIdx.x; i < d / 4; i += blockDim.x) {
      const float4 v = x4[i], w = w4[i];
      __nv_bfloat162 lo = __floats2bfloat162_rn(w.x * (v.x * scale), w.y * (v.y * scale));
      __nv_bfloat162 hi = __floats2bfloat162_rn(w.z * (v.z * scale), w.w * (v.w * scale));
      o4[i] = make_uint2(*reinterpret_cast<uint32_t *>(&lo), *reinterpret_cast<uint32_t *>(&hi));
    }
  } else {
    for (int i = threadIdx.x; i < d; i += blockDim.x) ot[i] = __float2bfloat16(weight[i] * (xt[i] * scale));
  }
}

__global__ void split_qkv_rope_kernel(QkvSplit a) {
  const int t = blockIdx.x;
  const int hd = a.head_dim, half = hd / 2;
  const int q_dim = a.n_heads * hd, kv_dim = a.n_kv_heads * hd, width = q_dim + 2 * kv_dim;
  const int pos = a.positions ? a.positions[t] : a.pos_base + t;
  const bf16 *row = a.qkv + (int64_t)t * width;
  auto in = [&](int i) { return __bfloat162float(row[i]) + (a.bias ? a.bias[i] : 0.f); };
  const int q_pairs = a.n_heads * half, k_pairs = a.n_kv_heads * half;
  const bool in_window = a.q_window && pos >= a.window_begin;
  for (int i = threadIdx.x; i < q_pairs + k_pairs + kv_dim; i += blockDim.x) {
    if (i < q_pairs + k_pairs) {
      const bool is_q = i < q_pairs;
      const int p = is_q ? i : i - q_pairs;
      const int head = p / half, j = p % half;
      const int base = (is_q ? 0 : q_dim) + head * hd;
      const float angle = (float)pos * a.inv_freq[j];  // float32 product, as the CPU backend
      float s, c;
      sincosf(angle, &s, &c);
      const float x0 = in(base + j), x1 = in(base + j + half);
      const float r0 = x0 * c - x1 * s, r1 = x1 * c + x0 * s;
      if (is_q) {
        bf16 *qt = a.q + (int64_t)t * q_dim + head * hd;
        qt[j] = __float2bfloat16(r0);
        qt[j + half] = __float2bfloat16(r1);
        if (in_window) {
          float *w = a.q_window + (int64_t)(pos - a.window_begin) * q_dim + head * hd;
          w[j] = __bfloat162float(__float2bfloat16(r0));
          w[j + half] = __bfloat162float(__float2bfloat16(r1));
        }
      } else {
        bf16 *kt = a.k + (int64_t)t * kv_dim + head * hd;
        kt[j] = __float2bfloat16(r0);
        kt[j + half] = __float2bfloat16(r1);
      }
    } else {
      const int j = i - q_pairs - k_pairs;
      a.v[(int64_t)t * kv_dim + j] = __float2bfloat16(in(q_dim + kv_dim + j));
    }
  }
}

__global__ void silu_mul_kernel(bf16 *out, const bf16 *gu, int inter, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t t = i / inter, j = i % inter;
    const float g = __bfloat162float(gu[t * 2 * inter + j]);
    const float u = __bfloat162float(gu[t * 2 * inter + inter + j]);
    out[i] = __float2bfloat16(g / (1.0f + expf(-g)) * u);
  }
}

// The same for an even intermediate size (every model here): rows on the grid's y, two columns
// per thread, no 64-bit division per element.
__global__ void silu_mul_pairs_kernel(bf16 *out, const bf16 *gu, int m, int inter) {
  for (int64_t t = blockIdx.y; t < m; t += gridDim.y) {
    const __nv_bfloat162 *g2 = reinterpret_cast<const __nv_bfloat162 *>(gu + t * 2 * inter);
    const __nv_bfloat162 *u2 = g2 + inter / 2;
    __nv_bfloat162 *o2 = reinterpret_cast<__nv_bfloat162 *>(out + t * inter);
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < inter / 2; i += gridDim.x * blockDim.x) {
      const float2 g = __bfloat1622float2(g2[i]), u = __bfloat1622float2(u2[i]);
      o2[i] = __floats2bfloat162_rn(g.x / (1.0f + expf(-g.x)) * u.x, g.y / (1.0f + expf(-g.y)) * u.y);
    }
  }
}

// One warp per entry; lanes walk the head's elements.
__global__ void scatter_kv_kernel(bf16 *pages, const bf16 *k, const bf16 *v, const int32_t *src_row,
                                  const int32_t *kv_head, const int64_t *dst, int64_t n_entries, int n_kv_heads,
                                  int head_dim, int page_tokens) {
  const int64_t e = blockIdx.x * (int64_t)(blockDim.x / 32) + threadIdx.x / 32;
  if (e >= n_entries) return;
  const int lane = threadIdx.x % 32;
  const int64_t src = ((int64_t)src_row[e] * n_kv_heads + kv_head[e]) * head_dim;
  bf16 *kd = pages + dst[e];
  bf16 *vd = kd + (int64_t)page_tokens * head_dim;
  for (int i = lane; i < head_dim; i += 32) {
    kd[i] = k[src + i];
    vd[i] = v[src + i];
  }
}

__global__ void copy_rows_kernel(float *dst, const int32_t *dst_rows, const float *src, int width) {
  const int r = blockIdx.y;
  float *out = dst + (int64_t)dst_rows[r] * width;
  const float *in = src + (int64_t)r * width;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < width; i += gridDim.x * blockDim.x) out[i] = in[i];
}

int grid_for(int64_t n, int threads) { return (int)std::min<int64_t>((n + threads - 1) / threads, 65536); }

}  // namespace

void to_bf16(bf16 *dst, const float *src, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  to_bf16_kernel<<<grid_for(n, 256), 256, 0, stream>>>(dst, src, n);
  check_launch("to_bf16");
}

void embed(float *x, const bf16 *table, const int32_t *tokens, int m, int hidden, cudaStream_t stream) {
  embed_kernel<<<m, 256, 0, stream>>>(x, table, tokens, hidden);
  check_launch("embed");
}

void rmsnorm(bf16 *out, const float *x, const float *weight, int m, int d, float eps, cudaStream_t stream) {
  const bool vector = d % 4 == 0 && ((uintptr_t)out | (uintptr_t)x | (uintptr_t)weight) % 16 == 0;
  if (vector) rmsnorm_kernel<true><<<m, 256, 0, stream>>>(out, x, weight, d, eps);
  else rmsnorm_kernel<false><<<m, 256, 0, stream>>>(out, x, weight, d, eps);
  check_launch("rmsnorm");
}

void split_qkv_rope(const QkvSplit &a, cudaStream_t stream) {
  split_qkv_rope_kernel<<<a.m, 256, 0, stream>>>(a);
  check_launch("split_qkv_rope");
}

void silu_mul(bf16 *out, const bf16 *gu, int m, int inter, cudaStream_t stream) {
  if (m == 0) return;
  if (inter % 2 == 0) {
    const dim3 grid((unsigned)std::max(1, std::min(grid_for(inter / 2, 256), 64)), (unsigned)std::min(m, 65535));
    silu_mul_pairs_kernel<<<grid, 256, 0, stream>>>(out, gu, m, inter);
  } else {
    const int64_t n = (int64_t)m * inter;
    silu_mul_kernel<<<grid_for(n, 256), 256, 0, stream>>>(out, gu, inter, n);
  }
  check_launch("silu_mul");
}

void scatter_kv(bf16 *pages, const bf16 *k, const bf16 *v, const int32_t *src_row, const int32_t *kv_head,
                const int64_t *dst, int64_t n_entries, int n_kv_heads, int head_dim, int page_tokens, cudaStream_t stream) {
  if (n_entries == 0) return;
  const int warps = 8;
  scatter_kv_kernel<<<(unsigned)((n_entries + warps - 1) / warps), warps * 32, 0, stream>>>(
      pages, k, v, src_row, kv_head, dst, n_entries, n_kv_heads, head_dim, page_tokens);
  check_launch("scatter_kv");
}

void copy_rows(float *dst, const int32_t *dst_rows, const float *src, int n_rows, int width, cudaStream_t stream) {
  if (n_rows == 0 || width == 0) return;
  copy_rows_kernel<<<dim3((unsigned)grid_for(width, 256), (unsigned)n_rows), 256, 0, stream>>>(dst, dst_rows, src, width);
  check_launch("copy_rows");
}

}  // namespace hkv::cuda
