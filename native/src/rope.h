// rope.h: rotary position embedding in the Hugging Face "rotate_half" layout (the first and
// second halves of a head are the two coordinates of each rotated pair).
#pragma once

#include <vector>

#include "model.h"

namespace hkv {

class Rope {
 public:
  Rope(const RopeConfig &cfg, int head_dim);
  // Rotates n_heads heads of one token, laid out [n_heads][head_dim], at position pos.
  void apply(float *x, int n_heads, int pos) const;
  // The rotation frequencies, for device backends that rotate on their own.
  const std::vector<float> &inv_freq() const { return inv_freq_; }

 private:
  int head_dim_;
  std::vector<float> inv_freq_;  // [head_dim / 2], after llama3/linear scaling
};

}  // namespace hkv
