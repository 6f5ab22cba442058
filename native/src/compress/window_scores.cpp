// window_scores.cpp: the SnapKV observation window (HEADKV.md section 4). The last `window`
// prompt queries attend over the prompt; each prefix position's score is its attention weight
// averaged over those queries, max-pooled along positions, then aggregated to cache heads.
// With a sliding-window model (cfg.sliding_window = W > 0) each window query attends as the
// model does: the query at position i softmaxes over keys (i - W, i] only, so a key that no
// window query can see scores zero (the model's own attention gives it no weight either).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "compress/compress.h"
#include "error.h"

namespace hkv {

namespace {

// Window queries of the query heads sharing one KV head, scored against every key:
// logits[r * n + j] for row r = (head in group) * window + (window query), key j.
// Rows are the inner loop so that the compiler vectorises without reassociating any sum.
void group_logits(const Config &cfg, int window, int kv_head, const float *q_window, const float *keys, int n,
                  std::vector<float> &logits) {
  const int d = cfg.head_dim, group = cfg.group(), rows = group * window;
  std::vector<float> q_t(size_t(d) * rows);  // [d][rows]
  for (int g = 0; g < group; ++g) {
    const int q_head = kv_head * group + g;
    for (int i = 0; i < window; ++i) {
      const float *q = q_window + (size_t(i) * cfg.n_heads + q_head) * d;
      for (int k = 0; k < d; ++k) q_t[size_t(k) * rows + g * window + i] = q[k];
    }
  }
  const float scale = std::sqrt(float(d));
  logits.resize(size_t(rows) * n);
  std::vector<float> acc(rows);
  for (int j = 0; j < n; ++j) {
    const float *key = keys + (size_t(j) * cfg.n_kv_heads + kv_head) * d;
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int k = 0; k < d; ++k) {
      const float kv = key[k];
      const float *qk = q_t.data() + size_t(k) * rows;
      for (int r = 0; r < rows; ++r) acc[r] += qk[r] * kv;
    }
    for (int r = 0; r < rows; ++r) logits[size_t(r) * n + j] = acc[r] / scale;
  }
}

// PyTorch max_pool1d(kernel, stride 1, padding kernel/2): padding never wins the max.
void max_pool(const float *in, int len, int kernel, float *out) {
  const int half = kernel / 2;
  for (int j = 0; j < len; ++j) {
    const int lo = std::max(0, j - half), hi = std::min(len - 1, j + half);
    float m = in[lo];
    for (int t = lo + 1; t <= hi; ++t) m = std::max(m, in[t]);
    out[j] = m;
  }
}

}  // namespace

void window_scores(const Config &cfg, const hkv_kv_params &kv, const float *q_window, const float *keys,
                   int n_prompt, std::vector<float> &out) {
  const int window = kv.window;
  if (window < 1 || window >= n_prompt)
    throw Error(HKV_ERR_INVALID_ARGUMENT, "kv_compression.window: must be in [1, n_prompt), got " +
                                              std::to_string(window) + " for a prompt of " + std::to_string(n_prompt));
  if (kv.pool_kernel < 1 || kv.pool_kernel % 2 == 0)
    throw Error(HKV_ERR_INVALID_ARGUMENT,
                "kv_compression.pool_kernel: must be an odd number >= 1, got " + std::to_string(kv.pool_kernel));
  const int prefix = n_prompt - window;
  const int group = cfg.group();
  std::vector<float> pooled(size_t(cfg.n_heads) * prefix);  // per query head
  std::vector<float> logits, mean(prefix), probs(n_prompt);
  for (int kv_head = 0; kv_head < cfg.n_kv_heads; ++kv_head) {
    group_logits(cfg, window, kv_head, q_window, keys, n_prompt, logits);
    for (int g = 0; g < group; ++g) {
      std::fill(mean.begin(), mean.end(), 0.0f);
      for (int i = 0; i < window; ++i) {
        // Window query i sits at position prefix + i and sees keys [first, prefix + i].
        const float *row = logits.data() + size_t(g * window + i) * n_prompt;
        const int visible = prefix + i + 1;
        const int first = cfg.sliding_window > 0 ? std::max(0, visible - cfg.sliding_window) : 0;
        float m = -std::numeric_limits<float>::infinity();
        for (int j = first; j < visible; ++j) m = std::max(m, row[j]);
        float sum = 0.0f;
        for (int j = first; j < visible; ++j) {
          probs[j] = std::exp(row[j] - m);
          sum += probs[j];
        }
        for (int j = first; j < prefix; ++j) mean[j] += probs[j] / sum;
      }
      for (int j = 0; j < prefix; ++j) mean[j] /= float(window);
      max_pool(mean.data(), prefix, kv.pool_kernel, pooled.data() + size_t(kv_head * group + g) * prefix);
    }
  }

  if (kv.granularity == HKV_GRANULARITY_QUERY_HEAD || group == 1) {
    out = std::move(pooled);
    return;
  }
  // kv-head granularity: one score row per KV head from its group's rows (mean or max).
  out.assign(size_t(cfg.n_kv_heads) * prefix, 0.0f);
  for (int kv_head = 0; kv_head < cfg.n_kv_heads; ++kv_head) {
    float *dst = out.data() + size_t(kv_head) * prefix;
    const float *first = pooled.data() + size_t(kv_head * group) * prefix;
    std::copy(first, first + prefix, dst);
    for (int g = 1; g < group; ++g) {
      const float *src = first + size_t(g) * prefix;
      if (kv.group_aggregation == 1) {
        for (int j = 0; j < prefix; ++j) dst[j] = std::max(dst[j], src[j]);
      } else {
        for (int j = 0; j < prefix; ++j) dst[j] += src[j];
      }
    }
    if (kv.group_aggregation != 1)
      for (int j = 0; j < prefix; ++j) dst[j] /= float(group);
  }
}

}  // namespace hkv
