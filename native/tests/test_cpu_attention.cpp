// test_cpu_attention.cpp: the CPU attention tile (cpu::attend_rows) and softmax against a
// double-precision reference, at the shapes the golden fixtures do not reach: rows past a key
// block boundary (hundreds of keys), tiles of 1 to 32 rows of unequal lengths, rows of one query
// head and of several query heads sharing the KV head (as prefill builds them under GQA),
// head_dim 8 to 128 and head_dims that are not a multiple of 8 (the portable path on every
// build), and sliding windows (each row attends its last `window` keys only, so rows of a tile
// start at different keys and whole key blocks before every row's window are skipped).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "cpu/attention.h"
#include "cpu/ops.h"

namespace {

int failures = 0;

void check(bool ok, const char *what, double got, double limit) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s: %.3g exceeds %.3g\n", what, got, limit);
    failures++;
  }
}

// One tile: `positions` consecutive query positions ending at last_len keys, each with `heads`
// query heads, over a KV head inside rows of kv_stride floats (as in prefill, where one
// token's Q holds every query head and its K every KV head). Rows are position-major.
// window > 0: each row attends only its last `window` keys.
void check_tile(std::mt19937 &rng, int head_dim, int heads, int positions, int last_len, int window = 0) {
  const int rows = heads * positions;
  const int kv_stride = 2 * head_dim + 3, q_stride = heads * head_dim + 1, out_stride = heads * head_dim + 5;
  const float scale = 1.0f / std::sqrt((float)head_dim);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> qs((size_t)positions * q_stride), k((size_t)last_len * kv_stride), v((size_t)last_len * kv_stride);
  // Keys scaled up so that some rows are peaked (large score spread), as in a trained model.
  for (auto &x : qs) x = normal(rng);
  for (auto &x : k) x = 2.f * normal(rng);
  for (auto &x : v) x = normal(rng);
  std::vector<float> outs((size_t)positions * out_stride, NAN), scratch;
  const float *q[hkv::cpu::kAttentionRows];
  float *out[hkv::cpu::kAttentionRows];
  int lens[hkv::cpu::kAttentionRows] = {}, starts[hkv::cpu::kAttentionRows] = {};
  for (int t = 0; t < positions; t++)
    for (int h = 0; h < heads; h++) {
      const int r = t * heads + h;
      q[r] = &qs[(size_t)t * q_stride + (size_t)h * head_dim];
      out[r] = &outs[(size_t)t * out_stride + (size_t)h * head_dim];
      lens[r] = last_len - (positions - 1 - t);
      starts[r] = window > 0 ? std::max(0, lens[r] - window) : 0;
    }
  hkv::cpu::attend_rows(q, rows, window > 0 ? starts : nullptr, lens, k.data(), v.data(), kv_stride, head_dim, scale,
                        out, scratch);

  double worst = 0;
  for (int r = 0; r < rows; r++) {
    std::vector<double> p(lens[r], 0.0);
    double mx = -INFINITY, sum = 0;
    for (int j = starts[r]; j < lens[r]; j++) {
      double d = 0;
      for (int i = 0; i < head_dim; i++) d += (double)q[r][i] * k[(size_t)j * kv_stride + i];
      p[j] = d * scale;
      mx = std::max(mx, p[j]);
    }
    for (int j = starts[r]; j < lens[r]; j++) sum += (p[j] = std::exp(p[j] - mx));
    for (int i = 0; i < head_dim; i++) {
      double o = 0;
      for (int j = starts[r]; j < lens[r]; j++) o += p[j] / sum * v[(size_t)j * kv_stride + i];
      const double diff = std::fabs(out[r][i] - o);
      worst = std::max(worst, std::isnan(diff) ? INFINITY : diff);
    }
  }
  char what[128];
  std::snprintf(what, sizeof what,
                "attend_rows head_dim %d heads %d positions %d len %d window %d: max |out - reference|", head_dim, heads,
                positions, last_len, window);
  check(worst < 2e-5, what, worst, 2e-5);
}

// softmax over long rows spanning the whole float exp range, each entry against exp in double.
void check_softmax(std::mt19937 &rng) {
  std::uniform_real_distribution<float> uniform(-100.f, 5.f);
  double worst = 0;
  for (int n : {1, 5, 8, 9, 1023, 1024, 1031, 20000}) {
    std::vector<float> x(n);
    for (auto &e : x) e = uniform(rng);
    std::vector<double> ref(n);
    const double mx = *std::max_element(x.begin(), x.end());
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (ref[i] = std::exp((double)x[i] - mx));
    hkv::cpu::softmax(x.data(), n);
    // Relative to each entry down to 1e-30; below that, absolute (the far tail may flush to 0).
    for (int i = 0; i < n; i++) {
      const double r = ref[i] / sum, diff = std::fabs(x[i] - r);
      worst = std::max(worst, r > 1e-30 ? diff / r : diff / 1e-30);
    }
  }
  // The error is that of the float subtraction x - max (1 ulp of |x| up to 100 is 4e-6 of
  // exp's argument) plus exp's own few ulp.
  check(worst < 1e-5, "softmax: max relative error", worst, 1e-5);
}

}  // namespace

int main() {
  std::mt19937 rng(5);
  check_softmax(rng);
  for (int head_dim : {8, 16, 20, 32, 40, 64, 128})
    for (int heads : {1, 4})
      for (int positions = 1; positions * heads <= hkv::cpu::kAttentionRows; positions++)
        for (int last_len : {positions, 9, 64, 127, 128, 129, 300, 1100})
          if (last_len >= positions) check_tile(rng, head_dim, heads, positions, last_len);
  for (int head_dim : {16, 20, 64})
    for (int heads : {1, 4})
      for (int positions : {1, 3, 8})
        for (int last_len : {9, 129, 300, 1100})
          for (int window : {1, 7, 128, 200, 2000})
            if (positions * heads <= hkv::cpu::kAttentionRows && last_len >= positions)
              check_tile(rng, head_dim, heads, positions, last_len, window);
  if (failures) {
    std::fprintf(stderr, "test_cpu_attention: %d failures\n", failures);
    return 1;
  }
  std::printf("test_cpu_attention: all checks passed\n");
  return 0;
}
