#include "cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define HKV_AVX2 1
#endif

namespace hkv::cpu {

#ifdef HKV_AVX2
static inline float hsum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_hadd_ps(lo, lo);
  lo = _mm_hadd_ps(lo, lo);
  return _mm_cvtss_f32(lo);
}
#endif

float dot(const float *a, const float *b, int n) {
  int i = 0;
  float s = 0.f;
#ifdef HKV_AVX2
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  s = hsum(_mm256_add_ps(acc0, acc1));
#endif
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

void axpy(float a, const float *x, float *y, int n) {
  int i = 0;
#ifdef HKV_AVX2
  __m256 va = _mm256_set1_ps(a);
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
#endif
  for (; i < n; i++) y[i] += a * x[i];
}

// Four weight rows against two inputs: eight running sums kept in registers, so every weight
// and input load feeds several FMAs.
static void kernel_4x2(const float *w, int k, const float *x0, const float *x1, float out[8]) {
  const float *w0 = w, *w1 = w + k, *w2 = w + 2 * (int64_t)k, *w3 = w + 3 * (int64_t)k;
  int i = 0;
#ifdef HKV_AVX2
  __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps(), a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();
  __m256 a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps(), a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps();
  for (; i + 8 <= k; i += 8) {
    __m256 v0 = _mm256_loadu_ps(x0 + i), v1 = _mm256_loadu_ps(x1 + i);
    __m256 r0 = _mm256_loadu_ps(w0 + i), r1 = _mm256_loadu_ps(w1 + i);
    __m256 r2 = _mm256_loadu_ps(w2 + i), r3 = _mm256_loadu_ps(w3 + i);
    a00 = _mm256_fmadd_ps(r0, v0, a00); a01 = _mm256_fmadd_ps(r0, v1, a01);
    a10 = _mm256_fmadd_ps(r1, v0, a10); a11 = _mm256_fmadd_ps(r1, v1, a11);
    a20 = _mm256_fmadd_ps(r2, v0, a20); a21 = _mm256_fmadd_ps(r2, v1, a21);
    a30 = _mm256_fmadd_ps(r3, v0, a30); a31 = _mm256_fmadd_ps(r3, v1, a31);
  }
  out[0] = hsum(a00); out[1] = hsum(a01); out[2] = hsum(a10); out[3] = hsum(a11);
  out[4] = hsum(a20); out[5] = hsum(a21); out[6] = hsum(a30); out[7] = hsum(a31);
#else
  for (int j = 0; j < 8; j++) out[j] = 0.f;
#endif
  for (; i < k; i++) {
    out[0] += w0[i] * x0[i]; out[1] += w0[i] * x1[i];
    out[2] += w1[i] * x0[i]; out[3] += w1[i] * x1[i];
    out[4] += w2[i] * x0[i]; out[5] += w2[i] * x1[i];
    out[6] += w3[i] * x0[i]; out[7] += w3[i] * x1[i];
  }
}

#ifdef HKV_AVX2
// Inputs from which matmul packs weight panels (prefill chunks; decode batches below it read
// each weight row once through kernel_4x2 without the packing pass).
constexpr int kPanelMinRows = 16;
// Columns per packed weight panel: two AVX2 vectors.
constexpr int kPanelCols = 16;
// Input rows per panel kernel call: 6 rows x 2 vectors = 12 accumulators, plus the 2 panel
// vectors and a broadcast, within the 16 AVX2 registers.
constexpr int kPanelRows = 6;

// out[r][0..cols) = acc0[r] | acc1[r] (+ bias) for r < rows: the kernels' results, stored
// through a row buffer so that a panel's columns past n are dropped.
void store_panel_rows(const __m256 *acc0, const __m256 *acc1, int rows, const float *bias, int cols, float *out, int n) {
  float row[kPanelCols];
  for (int r = 0; r < rows; r++) {
    _mm256_storeu_ps(row, acc0[r]);
    _mm256_storeu_ps(row + 8, acc1[r]);
    for (int c = 0; c < cols; c++) out[(int64_t)r * n + c] = row[c] + (bias ? bias[c] : 0.f);
  }
}

// out[r][0..cols) = x[r] . panel^T (+ bias) for r < 6, where panel[i][c] = w[j0 + c][i]: each
// step over k loads 2 panel vectors and 6 broadcasts of x for 12 FMAs (an outer product), with
// no horizontal sums. The accumulators are named variables: as an array, GCC kept them in
// memory and stored all 12 on every step (about 2x the time).
void panel_kernel_6(const float *x, int k, const float *panel, const float *bias, int cols, float *out, int n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0;
  const float *x0 = x, *x1 = x + k, *x2 = x + 2 * (int64_t)k, *x3 = x + 3 * (int64_t)k, *x4 = x + 4 * (int64_t)k,
              *x5 = x + 5 * (int64_t)k;
  for (int i = 0; i < k; i++) {
    const __m256 w0 = _mm256_loadu_ps(panel + (int64_t)i * kPanelCols);
    const __m256 w1 = _mm256_loadu_ps(panel + (int64_t)i * kPanelCols + 8);
    __m256 xr = _mm256_broadcast_ss(x0 + i);
    a0 = _mm256_fmadd_ps(xr, w0, a0);
    b0 = _mm256_fmadd_ps(xr, w1, b0);
    xr = _mm256_broadcast_ss(x1 + i);
    a1 = _mm256_fmadd_ps(xr, w0, a1);
    b1 = _mm256_fmadd_ps(xr, w1, b1);
    xr = _mm256_broadcast_ss(x2 + i);
    a2 = _mm256_fmadd_ps(xr, w0, a2);
    b2 = _mm256_fmadd_ps(xr, w1, b2);
    xr = _mm256_broadcast_ss(x3 + i);
    a3 = _mm256_fmadd_ps(xr, w0, a3);
    b3 = _mm256_fmadd_ps(xr, w1, b3);
    xr = _mm256_broadcast_ss(x4 + i);
    a4 = _mm256_fmadd_ps(xr, w0, a4);
    b4 = _mm256_fmadd_ps(xr, w1, b4);
    xr = _mm256_broadcast_ss(x5 + i);
    a5 = _mm256_fmadd_ps(xr, w0, a5);
    b5 = _mm256_fmadd_ps(xr, w1, b5);
  }
  const __m256 acc0[6] = {a0, a1, a2, a3, a4, a5}, acc1[6] = {b0, b1, b2, b3, b4, b5};
  store_panel_rows(acc0, acc1, 6, bias, cols, out, n);
}

// The same for one input row (the rows past the last multiple of 6).
void panel_kernel_1(const float *x, int k, const float *panel, const float *bias, int cols, float *out, int n) {
  __m256 a = _mm256_setzero_ps(), b = a;
  for (int i = 0; i < k; i++) {
    const __m256 xr = _mm256_broadcast_ss(x + i);
    a = _mm256_fmadd_ps(xr, _mm256_loadu_ps(panel + (int64_t)i * kPanelCols), a);
    b = _mm256_fmadd_ps(xr, _mm256_loadu_ps(panel + (int64_t)i * kPanelCols + 8), b);
  }
  store_panel_rows(&a, &b, 1, bias, cols, out, n);
}

// matmul for many inputs (prefill chunks): each thread packs 16 weight rows at a time into a
// k x 16 panel (the transpose, zero past n) and runs every input row against it, 6 rows per
// kernel call. The packing costs one pass over the weights per call, small next to m x n x k.
void matmul_panels(ThreadPool &pool, float *out, const float *x, const float *w, const float *bias, int m, int n, int k) {
  const int64_t n_panels = (n + kPanelCols - 1) / kPanelCols;
  pool.parallel_for(n_panels, 1, [&](int64_t p0, int64_t p1) {
    std::vector<float> panel((size_t)k * kPanelCols);
    for (int64_t p = p0; p < p1; p++) {
      const int j0 = (int)p * kPanelCols, cols = std::min(kPanelCols, n - j0);
      for (int c = 0; c < kPanelCols; c++)
        for (int i = 0; i < k; i++) panel[(size_t)i * kPanelCols + c] = c < cols ? w[(int64_t)(j0 + c) * k + i] : 0.f;
      const float *b = bias ? bias + j0 : nullptr;
      int t = 0;
      for (; t + kPanelRows <= m; t += kPanelRows)
        panel_kernel_6(x + (int64_t)t * k, k, panel.data(), b, cols, out + (int64_t)t * n + j0, n);
      for (; t < m; t++) panel_kernel_1(x + (int64_t)t * k, k, panel.data(), b, cols, out + (int64_t)t * n + j0, n);
    }
  });
}
#endif

void matmul(ThreadPool &pool, float *out, const float *x, const float *w, const float *bias, int m, int n, int k) {
#ifdef HKV_AVX2
  if (m >= kPanelMinRows) {
    matmul_panels(pool, out, x, w, bias, m, n, k);
    return;
  }
#endif
  // Columns in blocks of 4 rows of w; each thread owns a contiguous range of blocks. Inputs go
  // in tiles of kTileTokens rows that stay in L2 while the thread's weight rows stream past
  // them, so a large m (prefill) reads each weight row m / kTileTokens times and a small m
  // (decode) reads it once.
  constexpr int kTileTokens = 64;
  const int64_t n_blocks = (n + 3) / 4;
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max(1, k));
  pool.parallel_for(n_blocks, grain, [&](int64_t b0, int64_t b1) {
    for (int t0 = 0; t0 < m; t0 += kTileTokens) {
      const int t1 = std::min(m, t0 + kTileTokens);
      for (int64_t b = b0; b < b1; b++) {
        const int j0 = static_cast<int>(b * 4);
        if (j0 + 4 <= n) {
          const float *wr = w + (int64_t)j0 * k;
          int t = t0;
          float acc[8];
          for (; t + 2 <= t1; t += 2) {
            kernel_4x2(wr, k, x + (int64_t)t * k, x + (int64_t)(t + 1) * k, acc);
            for (int r = 0; r < 4; r++) {
              const float bb = bias ? bias[j0 + r] : 0.f;
              out[(int64_t)t * n + j0 + r] = acc[2 * r] + bb;
              out[(int64_t)(t + 1) * n + j0 + r] = acc[2 * r + 1] + bb;
            }
          }
          for (; t < t1; t++) {
            const float *xt = x + (int64_t)t * k;
            for (int r = 0; r < 4; r++)
              out[(int64_t)t * n + j0 + r] = dot(wr + (int64_t)r * k, xt, k) + (bias ? bias[j0 + r] : 0.f);
          }
        } else {
          for (int j = j0; j < n; j++)
            for (int t = t0; t < t1; t++)
              out[(int64_t)t * n + j] = dot(w + (int64_t)j * k, x + (int64_t)t * k, k) + (bias ? bias[j] : 0.f);
        }
      }
    }
  });
}

void rmsnorm(ThreadPool &pool, float *out, const float *x, const float *weight, int m, int d, float eps) {
  pool.parallel_for(m, 16, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; t++) {
      const float *xt = x + t * d;
      float *ot = out + t * d;
      double ss = 0.0;
      for (int i = 0; i < d; i++) ss += (double)xt[i] * xt[i];
      const float scale = 1.0f / std::sqrt(static_cast<float>(ss / d) + eps);
      for (int i = 0; i < d; i++) ot[i] = weight[i] * (xt[i] * scale);
    }
  });
}

void silu_mul(ThreadPool &pool, float *gate, const float *up, int64_t count) {
  pool.parallel_for(count, 4096, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const float g = gate[i];
      gate[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
  });
}

#ifdef HKV_AVX2
// exp(x) for 8 lanes, Cephes-style: exp(x) = 2^n * exp(r) with n = round(x / ln 2) and
// r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 split in two so that n ln 2 is exact enough), exp(r)
// from a degree-6 polynomial. Relative error about 2e-7 over the normal range (a few ulp
// against the correctly rounded expf); inputs below ln(FLT_MIN) give 0 (softmax's far tail,
// which std::exp would give as a denormal or 0), inputs above 88 saturate at exp(88).
// Softmax calls it n^2/2 times per head in a causal prefill, where libm's scalar expf was
// the largest single cost.
static inline __m256 exp8(__m256 x) {
  const __m256 lowest = _mm256_set1_ps(-87.33654475f);  // ln(FLT_MIN): 2^n stays a normal float
  const __m256 underflow = _mm256_cmp_ps(x, lowest, _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lowest), _mm256_set1_ps(88.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n built in the exponent field: n is in [-126, 127] after the clamp above.
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

static inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}
#endif

float exp_sum(float *x, int n, float shift) {
  int i = 0;
  double sum = 0.0;
#ifdef HKV_AVX2
  // Eight float partial sums per block of 1024 entries, each block's total added in double:
  // the rounding error stays that of a 128-term float sum however long the row is.
  const __m256 vshift = _mm256_set1_ps(shift);
  while (i + 8 <= n) {
    const int block_end = std::min(n, i + 1024);
    __m256 acc = _mm256_setzero_ps();
    for (; i + 8 <= block_end; i += 8) {
      const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vshift));
      _mm256_storeu_ps(x + i, e);
      acc = _mm256_add_ps(acc, e);
    }
    sum += hsum(acc);
  }
#endif
  for (; i < n; i++) {
    x[i] = std::exp(x[i] - shift);
    sum += x[i];
  }
  return static_cast<float>(sum);
}

void softmax(float *x, int n) {
  int i = 0;
  float mx = -INFINITY;
#ifdef HKV_AVX2
  if (n >= 8) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
    mx = hmax(vmax);
  }
#endif
  for (; i < n; i++) mx = std::max(mx, x[i]);

  const float inv = 1.0f / exp_sum(x, n, mx);
  i = 0;
#ifdef HKV_AVX2
  const __m256 vinv = _mm256_set1_ps(inv);
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
#endif
  for (; i < n; i++) x[i] *= inv;
}

}  // namespace hkv::cpu
