// sampler.h: per-sequence token sampling (greedy, temperature, top-k, top-p) with its own
// seeded generator, so a sequence's output does not depend on what else is in the batch.
#pragma once

#include <cstdint>
#include <vector>

#include "headkv.h"

namespace hkv {

class Sampler {
 public:
  explicit Sampler(const hkv_sampling_params &params);
  // Picks the next token from logits[vocab]. Greedy ties go to the lowest token id.
  int32_t sample(const float *logits, int vocab);

 private:
  double next_uniform();  // [0, 1), from splitmix64/xoshiro256** (portable, unlike std distributions)

  float temperature_;
  int32_t top_k_;
  float top_p_;
  uint64_t state_[4];
  std::vector<std::pair<float, int32_t>> candidates_;  // scratch: (probability, token)
};

}  // namespace hkv
