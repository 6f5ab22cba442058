// select.cpp: which prefix positions each cache head keeps (HEADKV.md sections 4 and 7).
// Every ranking orders by score, higher first, then by position, lower first, so equal pooled
// scores (common after max pooling) always resolve the same way.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "compress/compress.h"
#include "error.h"

namespace hkv {

namespace {

// Ada-SnapKV's floor: every head keeps at least this fraction of its uniform share.
constexpr float kAdaFloorRatio = 0.2f;

// NaN sorts below every number so the ordering stays strict and weak.
inline float rank_key(float s) { return std::isnan(s) ? -INFINITY : s; }

// Positions of the `cap` best scores of one row, ascending.
std::vector<int32_t> top_positions(const float *scores, int len, int cap) {
  std::vector<int32_t> idx(len);
  std::iota(idx.begin(), idx.end(), 0);
  if (cap < len) {
    auto better = [scores](int32_t a, int32_t b) {
      const float sa = rank_key(scores[a]), sb = rank_key(scores[b]);
      return sa > sb || (sa == sb && a < b);
    };
    std::nth_element(idx.begin(), idx.begin() + cap, idx.end(), better);
    idx.resize(std::max(cap, 0));
    std::sort(idx.begin(), idx.end());
  }
  return idx;
}

// Reference AdaptiveSnapKVCluster: rank all heads' scores of the layer together, count how
// many of the best heads * b each head owns, and give each head round(count * 0.8 + floor),
// computed in float32 as torch does. Ties across heads go to the lower head index.
std::vector<int32_t> ada_caps(const std::vector<float> &pooled, int heads, int prefix, int b) {
  const int64_t total = int64_t(heads) * b;
  const int64_t n = int64_t(heads) * prefix;
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), int64_t(0));
  auto better = [&pooled](int64_t a, int64_t c) {
    const float sa = rank_key(pooled[a]), sc = rank_key(pooled[c]);
    return sa > sc || (sa == sc && a < c);  // a < c: lower head, then lower position
  };
  std::nth_element(idx.begin(), idx.begin() + total, idx.end(), better);
  std::vector<int64_t> counts(heads, 0);
  for (int64_t k = 0; k < total; ++k) ++counts[idx[k] / prefix];
  const int floor_tokens = int(b * kAdaFloorRatio);
  std::vector<int32_t> caps(heads);
  for (int h = 0; h < heads; ++h) {
    const float v = float(counts[h]) * (1.0f - kAdaFloorRatio) + float(floor_tokens);
    caps[h] = std::min(int32_t(std::nearbyint(v)), int32_t(prefix));
  }
  return caps;
}

}  // namespace

std::vector<std::vector<int32_t>> select_positions(const Config &cfg, const hkv_kv_params &kv,
                                                   const CompressionPlan &plan, int layer,
                                                   const std::vector<float> &pooled, int n_prompt) {
  const int heads = plan.cache_heads;
  const int prefix = n_prompt - plan.window;
  if (layer < 0 || layer >= cfg.n_layers)
    throw Error(HKV_ERR_INTERNAL, "select_positions: layer " + std::to_string(layer) + " out of range");
  std::vector<std::vector<int32_t>> kept(heads);
  if (!plan.compress) {
    for (auto &positions : kept) {
      positions.resize(std::max(prefix, 0));
      std::iota(positions.begin(), positions.end(), 0);
    }
    return kept;
  }
  if (pooled.size() != size_t(heads) * prefix)
    throw Error(HKV_ERR_INTERNAL, "select_positions: " + std::to_string(pooled.size()) + " scores for " +
                                      std::to_string(heads) + " heads x " + std::to_string(prefix) + " positions");
  std::vector<int32_t> caps(plan.caps.begin() + size_t(layer) * heads, plan.caps.begin() + size_t(layer + 1) * heads);
  if (kv.method == HKV_KV_ADA_SNAPKV) caps = ada_caps(pooled, heads, prefix, kv.kv_size - kv.window);
  for (int h = 0; h < heads; ++h)
    kept[h] = top_positions(pooled.data() + size_t(h) * prefix, prefix, std::min(caps[h], prefix));
  return kept;
}

}  // namespace hkv
