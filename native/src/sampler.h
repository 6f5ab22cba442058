// sampler.h: per-sequence token sampling (greedy, temperature, top-k, top-p). A sequence's
// Sampler holds its rule and its own seeded generator and hands out one TokenDraw per token, so
// its output does not depend on what else is in the batch; the backend picks the token of each
// draw from the logits where they are (pick_token on the host, the CUDA sampler on the GPU,
// which follows pick_token step for step).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "headkv.h"

namespace hkv {

// How to pick one token. temperature <= 0 is greedy and ignores the rest; otherwise uniform is
// the draw in [0, 1) that chooses within the kept candidates.
struct TokenDraw {
  float temperature = 0.f;
  int32_t top_k = 0;  // 0: no limit
  float top_p = 1.f;  // 1: no cut
  double uniform = 0.0;
};

class Sampler {
 public:
  explicit Sampler(const hkv_sampling_params &params);
  // The draw of the next token: the rule, and for a non-greedy rule exactly one uniform from
  // this sequence's generator (a greedy rule leaves the generator untouched).
  TokenDraw next_draw();

 private:
  double next_uniform();  // [0, 1), from splitmix64/xoshiro256** (portable, unlike std distributions)

  float temperature_;
  int32_t top_k_;
  float top_p_;
  uint64_t state_[4];
};

// The reference sampling algorithm, from logits[vocab] on the host. Greedy: the highest logit,
// ties to the lowest token id (a NaN at id 0 wins, other NaNs never do). Otherwise: logits /
// temperature ordered highest first (equal values by token id), the first top_k kept,
// probabilities exp(l - max) in float summed in double, the shortest prefix whose cumulative
// probability reaches top_p kept, then the first candidate at which the running sum passes
// uniform * (kept sum). `scratch` is reused between calls.
int32_t pick_token(const float *logits, int vocab, const TokenDraw &draw,
                   std::vector<std::pair<float, int32_t>> &scratch);

}  // namespace hkv
