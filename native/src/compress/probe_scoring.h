// probe_scoring.h: the HeadKV-R and HeadKV-R2 head-importance rules (HEADKV.md section 2), as
// AttentionProbes. One probe scores one trial (one probe prompt, greedy decoding): scores()
// holds, per query head (layer-major), the sum over decode steps; the profile averages the
// trials whose answer was right.
#pragma once

#include <cstdint>
#include <vector>

#include "compress/attention_probe.h"

namespace hkv {

// What the two rules share: the needle span in prompt positions, the per-head totals, and the
// per-step contributions waiting for the sampled token.
class HeadScoreProbe : public AttentionProbe {
 public:
  const std::vector<double> &scores() const { return scores_; }  // [n_layers * n_heads]
  int steps() const { return steps_; }                           // tokens scored so far

 protected:
  // Throws hkv::Error(INVALID_ARGUMENT) unless 0 <= span_begin < span_end <= n_prompt.
  HeadScoreProbe(int32_t span_begin, int32_t span_end, int32_t n_prompt, int n_layers, int n_heads);
  int head_index(int layer, int q_head) const;  // throws INTERNAL when out of range
  bool in_span(int32_t position) const { return position >= span_begin_ && position < span_end_; }
  int32_t span_length() const { return span_end_ - span_begin_; }

  int32_t span_begin_, span_end_;
  int n_layers_, n_heads_;
  std::vector<double> scores_;
  int steps_ = 0;
};

// HeadKV-R (retrieval heads): a head earns 1/len(span) at a step when its most attended
// position lies in the span and the sampled token equals the prompt token there (a copy).
// Ties of attention go to the lower position.
class RetrievalProbe final : public HeadScoreProbe {
 public:
  RetrievalProbe(int32_t span_begin, int32_t span_end, std::vector<int32_t> prompt, int n_layers, int n_heads);
  void on_attention(int layer, int q_head, const float *probs, const int32_t *positions, int n) override;
  void on_token(int32_t token) override;

 private:
  std::vector<int32_t> prompt_;
  std::vector<int32_t> argmax_position_;  // [heads] of the current step; -1: not reported
};

// HeadKV-R2 (retrieval-reasoning heads): at each step, each of the head's N = len(span) most
// attended positions (ties: lower position) that lies in the span adds its weight / N. No copy
// check: the head is credited for looking at the right sentence, whatever is generated.
class RetrievalReasoningProbe final : public HeadScoreProbe {
 public:
  RetrievalReasoningProbe(int32_t span_begin, int32_t span_end, int32_t n_prompt, int n_layers, int n_heads);
  void on_attention(int layer, int q_head, const float *probs, const int32_t *positions, int n) override;
  void on_token(int32_t token) override;

 private:
  std::vector<double> pending_;  // [heads] contributions of the current step
  std::vector<int32_t> order_;   // scratch for the top-N selection
};

}  // namespace hkv
