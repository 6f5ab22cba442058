#include "sampler.h"

#include <algorithm>
#include <cmath>

namespace hkv {

static uint64_t splitmix64(uint64_t &x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

Sampler::Sampler(const hkv_sampling_params &params)
    : temperature_(params.temperature), top_k_(params.top_k), top_p_(params.top_p) {
  uint64_t seed = params.seed;
  for (auto &s : state_) s = splitmix64(seed);
}

double Sampler::next_uniform() {
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return static_cast<double>(result >> 11) * 0x1.0p-53;
}

TokenDraw Sampler::next_draw() {
  TokenDraw draw;
  draw.temperature = temperature_;
  draw.top_k = top_k_;
  draw.top_p = top_p_;
  if (temperature_ > 0.f) draw.uniform = next_uniform();
  return draw;
}

int32_t pick_token(const float *logits, int vocab, const TokenDraw &draw,
                   std::vector<std::pair<float, int32_t>> &scratch) {
  if (draw.temperature <= 0.f) {
    int32_t best = 0;
    for (int i = 1; i < vocab; i++)
      if (logits[i] > logits[best]) best = i;
    return best;
  }
  auto &candidates = scratch;
  candidates.resize(vocab);
  for (int i = 0; i < vocab; i++) candidates[i] = {logits[i] / draw.temperature, i};
  // Highest first; equal logits ordered by token id so the result is deterministic.
  auto by_logit = [](const std::pair<float, int32_t> &a, const std::pair<float, int32_t> &b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t keep = candidates.size();
  if (draw.top_k > 0 && static_cast<size_t>(draw.top_k) < keep) {
    keep = draw.top_k;
    std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(), by_logit);
    candidates.resize(keep);
  } else {
    std::sort(candidates.begin(), candidates.end(), by_logit);
  }
  const float mx = candidates[0].first;
  double sum = 0.0;
  for (auto &c : candidates) {
    c.first = std::exp(c.first - mx);
    sum += c.first;
  }
  if (draw.top_p > 0.f && draw.top_p < 1.f) {
    double cum = 0.0;
    size_t n = 0;
    while (n < candidates.size()) {
      cum += candidates[n].first / sum;
      n++;
      if (cum >= draw.top_p) break;
    }
    candidates.resize(n);
    sum = 0.0;
    for (auto &c : candidates) sum += c.first;
  }
  double r = draw.uniform * sum;
  for (auto &c : candidates) {
    r -= c.first;
    if (r < 0) return c.second;
  }
  return candidates.back().second;
}

}  // namespace hkv
