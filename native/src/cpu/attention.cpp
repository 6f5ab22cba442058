#include "cpu/attention.h"

#include <algorithm>
#include <cmath>

#include "cpu/ops.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define HKV_AVX2 1
#endif

namespace hkv::cpu {

namespace {

// Keys (or values) per block: the block's rows (kKeyBlock x head_dim floats, 16 KiB at
// head_dim 32) stay in L1 while every query row of the tile uses them, so each tile reads its KV
// head's K and V from memory once however many rows it has. The tile's scores of the block
// (kAttentionRows x kKeyBlock floats, 16 KiB) mostly stay in L1 too; 128 took ~5% less CPU time
// than 64 at an 8K prompt (docs/benchmarks.md).
constexpr int kKeyBlock = 128;

#ifdef HKV_AVX2
// The 8 horizontal sums of a0..a7, as one vector: lane i = sum of ai's lanes. One reduction
// tree for 8 dot products instead of 8 separate horizontal sums.
inline __m256 hsum8(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4, __m256 a5, __m256 a6, __m256 a7) {
  const __m256 t0 = _mm256_hadd_ps(a0, a1), t1 = _mm256_hadd_ps(a2, a3);
  const __m256 t2 = _mm256_hadd_ps(a4, a5), t3 = _mm256_hadd_ps(a6, a7);
  // u0 = [low-half sums of a0..a3 | high-half sums of a0..a3], u1 the same for a4..a7.
  const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// s[j] = scale * dot(q, key j) for j in [0, n); head_dim is a multiple of 8. Eight keys at
// a time with eight accumulators, so the FMAs of different keys overlap and the scores come
// out as one vector store. *max is raised to the largest score (the softmax's shift, found
// here instead of in another pass over the row).
void scores_avx2(const float *q, const float *k, int kv_stride, int head_dim, float scale, int n, float *s,
                 float *max) {
  const __m256 vscale = _mm256_set1_ps(scale);
  __m256 vmax = _mm256_set1_ps(*max);
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    const float *kj = k + (size_t)j * kv_stride;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int d = 0; d < head_dim; d += 8) {
      const __m256 qd = _mm256_loadu_ps(q + d);
      a0 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(kj + d), a0);
      a1 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(kj + kv_stride + d), a1);
      a2 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(kj + 2 * kv_stride + d), a2);
      a3 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(kj + 3 * kv_stride + d), a3);
      a4 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(kj + 4 * kv_stride + d), a4);
      a5 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(kj + 5 * kv_stride + d), a5);
      a6 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(kj + 6 * kv_stride + d), a6);
      a7 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(kj + 7 * kv_stride + d), a7);
    }
    const __m256 sj = _mm256_mul_ps(hsum8(a0, a1, a2, a3, a4, a5, a6, a7), vscale);
    _mm256_storeu_ps(s + j, sj);
    vmax = _mm256_max_ps(vmax, sj);
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, vmax);
  for (float m : lanes) *max = std::max(*max, m);
  for (; j < n; j++) {
    s[j] = dot(q, k + (size_t)j * kv_stride, head_dim) * scale;
    *max = std::max(*max, s[j]);
  }
}

// out0/out1[0..8 * kChunks) += sum over j in [0, n) of w0[j] / w1[j] * v[j][0..8 * kChunks):
// two query rows' output slices live in registers for the whole block, and every value load
// feeds two FMAs (a per-key axpy loads and stores the output rows for every key).
template <int kChunks>
void weighted_values_2rows(const float *v, int kv_stride, const float *w0, const float *w1, int n, float *out0,
                           float *out1) {
  __m256 o0[kChunks], o1[kChunks];
  for (int c = 0; c < kChunks; c++) {
    o0[c] = _mm256_loadu_ps(out0 + 8 * c);
    o1[c] = _mm256_loadu_ps(out1 + 8 * c);
  }
  for (int j = 0; j < n; j++) {
    const float *vj = v + (size_t)j * kv_stride;
    const __m256 x0 = _mm256_broadcast_ss(w0 + j), x1 = _mm256_broadcast_ss(w1 + j);
    for (int c = 0; c < kChunks; c++) {
      const __m256 vc = _mm256_loadu_ps(vj + 8 * c);
      o0[c] = _mm256_fmadd_ps(x0, vc, o0[c]);
      o1[c] = _mm256_fmadd_ps(x1, vc, o1[c]);
    }
  }
  for (int c = 0; c < kChunks; c++) {
    _mm256_storeu_ps(out0 + 8 * c, o0[c]);
    _mm256_storeu_ps(out1 + 8 * c, o1[c]);
  }
}

// The same over all of head_dim (a multiple of 8), in slices of at most 32 floats: 8
// accumulators plus 4 value vectors fit the 16 AVX2 registers.
void weighted_values(const float *v, int kv_stride, int head_dim, const float *w0, const float *w1, int n,
                     float *out0, float *out1) {
  int d = 0;
  for (; d + 32 <= head_dim; d += 32) weighted_values_2rows<4>(v + d, kv_stride, w0, w1, n, out0 + d, out1 + d);
  switch ((head_dim - d) / 8) {
    case 3: weighted_values_2rows<3>(v + d, kv_stride, w0, w1, n, out0 + d, out1 + d); break;
    case 2: weighted_values_2rows<2>(v + d, kv_stride, w0, w1, n, out0 + d, out1 + d); break;
    case 1: weighted_values_2rows<1>(v + d, kv_stride, w0, w1, n, out0 + d, out1 + d); break;
    default: break;
  }
}

// The whole tile on AVX2 (head_dim a multiple of 8), one key block at a time: every row's
// scores of the block (and the block's max), then their exps against the row's running max,
// then the weighted values by pairs of rows. When a block raises a row's max, the row's output
// and sum so far are rescaled by exp(old max - new max) first (online softmax); each output row
// is divided by its sum at the end. A row past its length gets zero weights, so a pair runs to
// its longer row's length; an odd last row pairs with itself and writes its twin into
// spare_out (head_dim floats of scratch). Keys before a row's start get zero weights likewise,
// and blocks wholly before start_min (every row's start) are skipped. s holds
// kAttentionRows x kKeyBlock floats.
void attend_rows_avx2(const float *const *q, int rows, const int *starts, const int *lens, int start_min, int len_max,
                      const float *k, const float *v, int kv_stride, int head_dim, float scale, float *const *out,
                      float *s, float *spare_out) {
  float max[kAttentionRows];
  double sum[kAttentionRows];
  for (int r = 0; r < rows; r++) {
    max[r] = -INFINITY;
    sum[r] = 0.0;
    std::fill(out[r], out[r] + head_dim, 0.f);
  }
  for (int j0 = start_min / kKeyBlock * kKeyBlock; j0 < len_max; j0 += kKeyBlock) {
    const float *kb = k + (size_t)j0 * kv_stride;
    for (int r = 0; r < rows; r++) {
      float *sr = s + (size_t)r * kKeyBlock;
      // The row's keys in this block: [lo, n) of it.
      const int lo = starts ? std::min(kKeyBlock, std::max(0, starts[r] - j0)) : 0;
      const int n = std::max(lo, std::min(kKeyBlock, lens[r] - j0));
      std::fill(sr, sr + lo, 0.f);
      if (n > lo) {
        float block_max = max[r];
        scores_avx2(q[r], kb + (size_t)lo * kv_stride, kv_stride, head_dim, scale, n - lo, sr + lo, &block_max);
        if (block_max > max[r]) {
          // exp(-inf) = 0: a row's first block rescales its zero output and sum to zero.
          const float rescale = std::exp(max[r] - block_max);
          sum[r] *= rescale;
          for (int i = 0; i < head_dim; i++) out[r][i] *= rescale;
          max[r] = block_max;
        }
        sum[r] += exp_sum(sr + lo, n - lo, max[r]);
      }
      std::fill(sr + n, sr + kKeyBlock, 0.f);
    }
    const float *vb = v + (size_t)j0 * kv_stride;
    for (int r = 0; r < rows; r += 2) {
      const bool pair = r + 1 < rows;
      const int n = std::min(kKeyBlock, (pair ? std::max(lens[r], lens[r + 1]) : lens[r]) - j0);
      if (n <= 0) continue;
      const float *sr = s + (size_t)r * kKeyBlock;
      weighted_values(vb, kv_stride, head_dim, sr, pair ? sr + kKeyBlock : sr, n, out[r], pair ? out[r + 1] : spare_out);
    }
  }
  for (int r = 0; r < rows; r++) {
    const float inv = (float)(1.0 / sum[r]);
    for (int i = 0; i < head_dim; i++) out[r][i] *= inv;
  }
}
#endif

}  // namespace

void attend_rows(const float *const *q, int rows, const int *starts, const int *lens, const float *k, const float *v,
                 int kv_stride, int head_dim, float scale, float *const *out, std::vector<float> &scratch) {
  int len_max = 0, start_min = starts ? starts[0] : 0;
  for (int r = 0; r < rows; r++) len_max = std::max(len_max, lens[r]);
  if (starts)
    for (int r = 0; r < rows; r++) start_min = std::min(start_min, starts[r]);

#ifdef HKV_AVX2
  if (head_dim % 8 == 0) {
    scratch.resize((size_t)kAttentionRows * kKeyBlock + head_dim);
    attend_rows_avx2(q, rows, starts, lens, start_min, len_max, k, v, kv_stride, head_dim, scale, out, scratch.data(),
                     scratch.data() + (size_t)kAttentionRows * kKeyBlock);
    return;
  }
#endif

  // Portable path: each row's whole score row, softmaxed, then its weighted values. Key j is
  // read once for all rows (it stays in L1 across them), value j likewise.
  scratch.resize((size_t)rows * len_max);
  auto start = [&](int r) { return starts ? starts[r] : 0; };
  for (int j = start_min; j < len_max; j++) {
    const float *kj = k + (size_t)j * kv_stride;
    for (int r = 0; r < rows; r++)
      if (j >= start(r) && j < lens[r]) scratch[(size_t)r * len_max + j] = dot(q[r], kj, head_dim) * scale;
  }
  for (int r = 0; r < rows; r++) {
    softmax(&scratch[(size_t)r * len_max + start(r)], lens[r] - start(r));
    std::fill(out[r], out[r] + head_dim, 0.f);
  }
  for (int j = start_min; j < len_max; j++) {
    const float *vj = v + (size_t)j * kv_stride;
    for (int r = 0; r < rows; r++)
      if (j >= start(r) && j < lens[r]) axpy(scratch[(size_t)r * len_max + j], vj, out[r], head_dim);
  }
}

}  // namespace hkv::cpu
