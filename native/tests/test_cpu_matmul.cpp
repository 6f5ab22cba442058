// test_cpu_matmul.cpp: cpu::matmul against a double-precision reference at the shapes of both
// of its paths: few inputs (decode batches, 4-row weight blocks) and many (prefill chunks,
// packed 16-column panels with 6-row kernels), including column counts past the last full
// panel, input counts past the last full kernel, odd k and a bias, on 1 and 2 threads.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "cpu/ops.h"
#include "thread_pool.h"

namespace {

int failures = 0;

void check_matmul(hkv::ThreadPool &pool, std::mt19937 &rng, int m, int n, int k, bool with_bias) {
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x((size_t)m * k), w((size_t)n * k), bias(n), out((size_t)m * n, NAN);
  for (auto &e : x) e = normal(rng);
  for (auto &e : w) e = normal(rng);
  for (auto &e : bias) e = normal(rng);
  hkv::cpu::matmul(pool, out.data(), x.data(), w.data(), with_bias ? bias.data() : nullptr, m, n, k);
  // Relative to the norms of the two rows (the float rounding error of a k-term dot product).
  double worst = 0;
  for (int t = 0; t < m; t++)
    for (int j = 0; j < n; j++) {
      double ref = with_bias ? bias[j] : 0.0, scale = 1.0;
      for (int i = 0; i < k; i++) {
        ref += (double)x[(size_t)t * k + i] * w[(size_t)j * k + i];
        scale += std::fabs((double)x[(size_t)t * k + i] * w[(size_t)j * k + i]);
      }
      const double err = std::fabs(out[(size_t)t * n + j] - ref) / scale;
      worst = std::max(worst, std::isnan(err) ? INFINITY : err);
    }
  if (worst > 1e-6) {
    std::fprintf(stderr, "FAIL: matmul m %d n %d k %d bias %d on %d threads: relative error %.3g exceeds 1e-6\n", m, n,
                 k, with_bias, pool.size(), worst);
    failures++;
  }
}

}  // namespace

int main() {
  std::mt19937 rng(11);
  for (int threads : {1, 2}) {
    hkv::ThreadPool pool(threads);
    for (int m : {1, 5, 15, 16, 17, 23, 40})
      for (int n : {1, 7, 16, 17, 40, 100})
        for (int k : {8, 13, 256})
          for (bool with_bias : {false, true}) check_matmul(pool, rng, m, n, k, with_bias);
  }
  if (failures) {
    std::fprintf(stderr, "test_cpu_matmul: %d failures\n", failures);
    return 1;
  }
  std::printf("test_cpu_matmul: all checks passed\n");
  return 0;
}
