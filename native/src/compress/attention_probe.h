// attention_probe.h: observes the attention of decode steps, for head-importance profiling
// (HeadKV-R and HeadKV-R2 scoring rules, HEADKV.md section 2). The context calls the probe
// once per decode step, layer and query head, with that head's softmax over its cache.
#pragma once

#include <cstdint>
#include <vector>

namespace hkv {

class AttentionProbe {
 public:
  virtual ~AttentionProbe() = default;
  // Before the layers of a decode step: the token that this step feeds (the one generated at
  // the previous step) is known only after sampling, so scoring of step t happens in
  // on_token(t) with the attention recorded during step t.
  //   layer, q_head: which head;  probs: [n] attention weights (sum 1);
  //   positions: [n] true prompt/generation position of each attended cache entry.
  virtual void on_attention(int layer, int q_head, const float *probs, const int32_t *positions, int n) = 0;
  // After sampling the token produced by the step whose attention was just reported.
  virtual void on_token(int32_t token) = 0;
};

}  // namespace hkv
