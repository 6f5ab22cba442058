// test_compress_select.cpp: window scores (softmax of the last window queries, causal inside
// the window and, for sliding-window models, inside the model's window; mean, max pooling,
// group aggregation) and the kept positions (top cap per head,
// ties to the lower position, Ada-SnapKV's layer-joint split).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "compress/compress.h"
#include "test_loader_support.h"

using hkv::CompressionPlan;
using hkv::Config;
using hkv_test::expect_error;

namespace {

Config make_config(int n_layers, int n_heads, int n_kv_heads, int head_dim) {
  Config cfg;
  cfg.n_layers = n_layers;
  cfg.n_heads = n_heads;
  cfg.n_kv_heads = n_kv_heads;
  cfg.head_dim = head_dim;
  return cfg;
}

hkv_kv_params make_params(hkv_kv_method method, int kv_size, int window, int kernel) {
  hkv_kv_params kv{};
  kv.method = method;
  kv.kv_size = kv_size;
  kv.window = window;
  kv.pool_kernel = kernel;
  kv.beta = 1.01f;
  kv.temp = 1.0f;
  kv.granularity = HKV_GRANULARITY_KV_HEAD;
  return kv;
}

bool near(double a, double b, double tol) { return std::fabs(a - b) <= tol; }

void check_near(const std::string &what, const std::vector<float> &actual, const std::vector<double> &expected,
                double tol) {
  if (actual.size() != expected.size()) {
    std::fprintf(stderr, "FAIL %s: %zu values, expected %zu\n", what.c_str(), actual.size(), expected.size());
    ++hkv_test::failures();
    return;
  }
  for (size_t i = 0; i < actual.size(); ++i) {
    if (!near(actual[i], expected[i], tol)) {
      std::fprintf(stderr, "FAIL %s: [%zu] = %.9g, expected %.9g\n", what.c_str(), i, actual[i], expected[i]);
      ++hkv_test::failures();
      return;
    }
  }
}

void check_positions(const std::string &what, const std::vector<int32_t> &actual,
                     const std::vector<int32_t> &expected) {
  if (actual == expected) return;
  std::string a, e;
  for (int32_t x : actual) a += std::to_string(x) + " ";
  for (int32_t x : expected) e += std::to_string(x) + " ";
  std::fprintf(stderr, "FAIL %s:\n  actual:   %s\n  expected: %s\n", what.c_str(), a.c_str(), e.c_str());
  ++hkv_test::failures();
}

void test_hand_scores() {
  // One head, head_dim 1, q = 1: logits are the keys. Keys [0, ln 3, 0, 0], window 1:
  // the last query sees all 4 keys: exp = 1, 3, 1, 1 -> prefix probs 1/6, 1/2, 1/6.
  const Config cfg = make_config(1, 1, 1, 1);
  const float q[] = {1.0f};
  const float keys[] = {0.0f, std::log(3.0f), 0.0f, 0.0f};
  hkv_kv_params kv = make_params(HKV_KV_SNAPKV, 2, 1, 1);
  std::vector<float> out;
  window_scores(cfg, kv, q, keys, 4, out);
  check_near("kernel 1", out, {1.0 / 6, 0.5, 1.0 / 6}, 1e-6);
  kv.pool_kernel = 3;
  window_scores(cfg, kv, q, keys, 4, out);
  check_near("kernel 3", out, {0.5, 0.5, 0.5}, 1e-6);
  kv.pool_kernel = 7;  // wider than the prefix: the row max everywhere
  window_scores(cfg, kv, q, keys, 4, out);
  check_near("kernel wider than prefix", out, {0.5, 0.5, 0.5}, 1e-6);

  // Window 2, causal: query at position 2 sees keys 0..2 (exp 1, 3, 1 -> 1/5, 3/5, 1/5 at
  // the prefix 0..1), query at 3 sees 0..3 (1/6, 1/2). Mean: (1/5+1/6)/2, (3/5+1/2)/2.
  const float q2[] = {1.0f, 1.0f};
  kv = make_params(HKV_KV_SNAPKV, 3, 2, 1);
  window_scores(cfg, kv, q2, keys, 4, out);
  check_near("causal window", out, {(0.2 + 1.0 / 6) / 2, (0.6 + 0.5) / 2}, 1e-6);

  // A sliding-window model (window 2): the query at position 2 sees keys 1..2 only (exp 3, 1
  // -> 3/4 at prefix position 1), the query at 3 sees keys 2..3 (no prefix key). Mean: 0, 3/8.
  Config sliding = cfg;
  sliding.sliding_window = 2;
  window_scores(sliding, kv, q2, keys, 4, out);
  check_near("sliding window", out, {0.0, 0.75 / 2}, 1e-6);
}

// Straightforward double-precision version of the rule, for comparison on random data.
// Keys a window query cannot see (before its sliding window) get probability 0.
std::vector<double> naive_scores(const Config &cfg, int window, int kernel, int aggregation, bool per_query_head,
                                 const std::vector<float> &q, const std::vector<float> &k, int n) {
  const int prefix = n - window, d = cfg.head_dim, group = cfg.n_heads / cfg.n_kv_heads;
  std::vector<std::vector<double>> pooled(cfg.n_heads, std::vector<double>(prefix));
  for (int h = 0; h < cfg.n_heads; ++h) {
    const int g = h / group;
    std::vector<double> mean(prefix, 0.0);
    for (int i = 0; i < window; ++i) {
      std::vector<double> logit(prefix + i + 1, -INFINITY);
      const int first = cfg.sliding_window > 0 ? std::max(0, prefix + i + 1 - cfg.sliding_window) : 0;
      for (int j = first; j <= prefix + i; ++j) {
        double dot = 0.0;
        for (int t = 0; t < d; ++t) dot += double(q[(i * cfg.n_heads + h) * d + t]) * k[(j * cfg.n_kv_heads + g) * d + t];
        logit[j] = dot / std::sqrt(double(d));
      }
      const double m = *std::max_element(logit.begin(), logit.end());
      double z = 0.0;
      for (double x : logit) z += std::exp(x - m);
      for (int j = 0; j < prefix; ++j) mean[j] += std::exp(logit[j] - m) / z / window;
    }
    for (int j = 0; j < prefix; ++j) {
      double best = -1.0;
      for (int t = std::max(0, j - kernel / 2); t <= std::min(prefix - 1, j + kernel / 2); ++t) best = std::max(best, mean[t]);
      pooled[h][j] = best;
    }
  }
  std::vector<double> out;
  const int heads = per_query_head ? cfg.n_heads : cfg.n_kv_heads;
  for (int c = 0; c < heads; ++c) {
    for (int j = 0; j < prefix; ++j) {
      if (per_query_head) {
        out.push_back(pooled[c][j]);
        continue;
      }
      double acc = 0.0;  // probabilities are >= 0: a valid start for the max too
      for (int m = 0; m < group; ++m)
        acc = aggregation == 1 ? std::max(acc, pooled[c * group + m][j]) : acc + pooled[c * group + m][j] / group;
      out.push_back(acc);
    }
  }
  return out;
}

void test_random_against_naive(int sliding_window) {
  // GQA: 4 query heads over 2 KV heads, head_dim 8, 40 tokens, window 5.
  Config cfg = make_config(1, 4, 2, 8);
  cfg.sliding_window = sliding_window;
  const int n = 40, window = 5;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  std::vector<float> q(size_t(window) * cfg.n_heads * cfg.head_dim), k(size_t(n) * cfg.n_kv_heads * cfg.head_dim);
  for (float &x : q) x = normal(rng);
  for (float &x : k) x = normal(rng);
  std::vector<float> out;
  for (int aggregation = 0; aggregation <= 1; ++aggregation) {
    for (int per_query = 0; per_query <= 1; ++per_query) {
      hkv_kv_params kv = make_params(HKV_KV_SNAPKV, 16, window, 5);
      kv.group_aggregation = aggregation;
      kv.granularity = per_query ? HKV_GRANULARITY_QUERY_HEAD : HKV_GRANULARITY_KV_HEAD;
      window_scores(cfg, kv, q.data(), k.data(), n, out);
      check_near("random aggregation " + std::to_string(aggregation) + " query-head " + std::to_string(per_query) +
                     " sliding window " + std::to_string(sliding_window),
                 out,
                 naive_scores(cfg, window, 5, aggregation, per_query, q, k, n), 1e-5);
    }
  }
}

void test_top_positions() {
  // One layer, one cache head, snapkv K=11 window 8: cap 3 of a 12-token prefix (prompt 20).
  const Config cfg = make_config(1, 1, 1, 4);
  hkv_kv_params kv = make_params(HKV_KV_SNAPKV, 11, 8, 7);
  const CompressionPlan plan = plan_compression(cfg, kv, 20);
  CHECK(plan.compress);
  std::vector<float> pooled = {0.1f, 0.9f, 0.3f, 0.9f, 0.2f, 0.5f, 0.9f, 0.0f, 0.4f, 0.1f, 0.2f, 0.3f};
  auto kept = select_positions(cfg, kv, plan, 0, pooled, 20);
  CHECK_EQ_NUM(kept.size(), 1);
  check_positions("top 3", kept[0], {1, 3, 6});
  // Ties at the cut: four 0.9s for three slots -> the lowest positions win.
  pooled[10] = 0.9f;
  pooled[0] = 0.9f;
  check_positions("ties by position", select_positions(cfg, kv, plan, 0, pooled, 20)[0], {0, 1, 3});
  // All equal: a prefix of positions.
  std::fill(pooled.begin(), pooled.end(), 0.25f);
  check_positions("all equal", select_positions(cfg, kv, plan, 0, pooled, 20)[0], {0, 1, 2});
  // NaN never beats a number.
  pooled = {NAN, 0.1f, NAN, 0.2f, 0.0f, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
  check_positions("nan last", select_positions(cfg, kv, plan, 0, pooled, 20)[0], {1, 3, 4});
  // Wrong score count is a caller bug.
  pooled.resize(5);
  expect_error(
      "score count", [&] { select_positions(cfg, kv, plan, 0, pooled, 20); }, HKV_ERR_INTERNAL, {"5 scores"});
}

void test_headkv_caps_in_selection() {
  // HeadKV caps above the prefix (cap_at_prompt 0): that head keeps its whole prefix.
  const Config cfg = make_config(1, 2, 2, 4);
  const std::vector<float> scores = {0.0f, 1.0f};
  hkv_kv_params kv = make_params(HKV_KV_HEADKV, 12, 8, 7);  // b = 4
  kv.beta = 1.0f;                                            // pool 8, floor 0: caps [0, 8]
  kv.head_scores = scores.data();
  const CompressionPlan plan = plan_compression(cfg, kv, 14);  // prefix 6
  CHECK(plan.compress);
  CHECK(plan.caps == std::vector<int32_t>({0, 8}));
  std::vector<float> pooled(12, 0.5f);
  const auto kept = select_positions(cfg, kv, plan, 0, pooled, 14);
  CHECK(kept[0].empty());
  check_positions("cap above prefix", kept[1], {0, 1, 2, 3, 4, 5});
}

void test_ada_snapkv() {
  // Two heads, K=13, window 8: b=5, floor int(5*0.2) = 1; layer total 10 of a 10-token prefix.
  const Config cfg = make_config(1, 2, 2, 4);
  hkv_kv_params kv = make_params(HKV_KV_ADA_SNAPKV, 13, 8, 7);
  const CompressionPlan plan = plan_compression(cfg, kv, 18);
  CHECK(plan.compress);
  std::vector<float> pooled(20);
  // Head 0 outranks head 1 everywhere: counts 10, 0 -> caps round(10*0.8+1)=9, round(0+1)=1.
  for (int j = 0; j < 10; ++j) {
    pooled[j] = 1.0f + 0.01f * float(j);
    pooled[10 + j] = 0.5f - 0.01f * float(j);
  }
  auto kept = select_positions(cfg, kv, plan, 0, pooled, 18);
  check_positions("ada head 0", kept[0], {1, 2, 3, 4, 5, 6, 7, 8, 9});
  check_positions("ada head 1", kept[1], {0});
  for (int j = 0; j < 10; ++j) {
    pooled[j] = 0.1f * float(j);             // head 0: best 0.9, 0.8, 0.7 ...
    pooled[10 + j] = 10.0f - float(j >= 7);  // head 1: seven 10s, three 9s
  }
  kept = select_positions(cfg, kv, plan, 0, pooled, 18);
  // The joint top 10: head 1's seven 10s and three 9s (all above head 0's best 0.9): counts
  // 0, 10 -> caps 1, 9.
  check_positions("ada joint head 0", kept[0], {9});
  check_positions("ada joint head 1", kept[1], {0, 1, 2, 3, 4, 5, 6, 7, 8});
  // Equal scores across heads: the lower head wins the joint ties (counts 10, 0).
  std::fill(pooled.begin(), pooled.end(), 1.0f);
  kept = select_positions(cfg, kv, plan, 0, pooled, 18);
  CHECK_EQ_NUM(kept[0].size(), 9);
  CHECK_EQ_NUM(kept[1].size(), 1);
  // Mixed: head 0 scores 3 entries at 5.0, head 1 has 7 entries at 4.0, the rest 0:
  // counts 3, 7 -> round(2.4 + 1) = 3, round(5.6 + 1) = 7.
  std::fill(pooled.begin(), pooled.end(), 0.0f);
  for (int j : {2, 5, 7}) pooled[j] = 5.0f;
  for (int j = 0; j < 7; ++j) pooled[10 + 3 + j] = 4.0f;
  kept = select_positions(cfg, kv, plan, 0, pooled, 18);
  check_positions("ada mixed head 0", kept[0], {2, 5, 7});
  check_positions("ada mixed head 1", kept[1], {3, 4, 5, 6, 7, 8, 9});
}

// The memory bound the context reserves for: a layer keeps at most heads * (b + 0.4) prefix
// tokens, every head at least int(0.2 b), never more than the prefix.
void test_ada_bounds() {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (int heads : {1, 3, 8}) {
    for (int kv_size : {9, 17, 40}) {
      const Config cfg = make_config(1, heads, heads, 4);
      hkv_kv_params kv = make_params(HKV_KV_ADA_SNAPKV, kv_size, 8, 7);
      const int b = kv_size - 8, n_prompt = kv_size + 50, prefix = n_prompt - 8;
      const CompressionPlan plan = plan_compression(cfg, kv, n_prompt);
      for (int trial = 0; trial < 20; ++trial) {
        std::vector<float> pooled(size_t(heads) * prefix);
        // Skewed so that some heads win most of the joint ranking.
        for (int h = 0; h < heads; ++h)
          for (int j = 0; j < prefix; ++j) pooled[size_t(h) * prefix + j] = uniform(rng) * float(1 + h * trial % 5);
        const auto kept = select_positions(cfg, kv, plan, 0, pooled, n_prompt);
        double total = 0;
        for (const auto &positions : kept) {
          total += double(positions.size());
          CHECK(int(positions.size()) >= b / 5);
          CHECK(int(positions.size()) <= prefix);
        }
        CHECK(total <= heads * (b + 0.4) + 1e-9);
      }
    }
  }
}

void test_not_compressed() {
  const Config cfg = make_config(1, 2, 1, 4);
  hkv_kv_params kv = make_params(HKV_KV_SNAPKV, 64, 8, 7);
  const CompressionPlan plan = plan_compression(cfg, kv, 20);
  CHECK(!plan.compress);
  const auto kept = select_positions(cfg, kv, plan, 0, {}, 20);
  CHECK_EQ_NUM(kept.size(), 1);
  check_positions("uncompressed keeps the prefix", kept[0], {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
}

void test_window_errors() {
  const Config cfg = make_config(1, 1, 1, 1);
  const float q[] = {1.0f};
  const float keys[] = {0.0f, 1.0f};
  std::vector<float> out;
  hkv_kv_params kv = make_params(HKV_KV_SNAPKV, 4, 2, 3);
  expect_error(
      "window as long as the prompt", [&] { window_scores(cfg, kv, q, keys, 2, out); }, HKV_ERR_INVALID_ARGUMENT,
      {"kv_compression.window"});
  kv = make_params(HKV_KV_SNAPKV, 4, 1, 2);
  expect_error(
      "even kernel", [&] { window_scores(cfg, kv, q, keys, 2, out); }, HKV_ERR_INVALID_ARGUMENT,
      {"kv_compression.pool_kernel"});
}

}  // namespace

int main() {
  test_hand_scores();
  for (int sliding_window : {0, 3, 12, 40}) test_random_against_naive(sliding_window);
  test_top_positions();
  test_headkv_caps_in_selection();
  test_ada_snapkv();
  test_ada_bounds();
  test_not_compressed();
  test_window_errors();
  return hkv_test::finish("test_compress_select");
}
