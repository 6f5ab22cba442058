// probe_scoring.cpp: HeadKV-R and HeadKV-R2 scoring rules (see probe_scoring.h).
#include "compress/probe_scoring.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "error.h"

namespace hkv {

HeadScoreProbe::HeadScoreProbe(int32_t span_begin, int32_t span_end, int32_t n_prompt, int n_layers, int n_heads)
    : span_begin_(span_begin), span_end_(span_end), n_layers_(n_layers), n_heads_(n_heads) {
  if (span_begin < 0 || span_end <= span_begin || span_end > n_prompt)
    throw Error(HKV_ERR_INVALID_ARGUMENT, "probe.span: [" + std::to_string(span_begin) + ", " +
                                              std::to_string(span_end) + ") is not a non-empty range inside the " +
                                              std::to_string(n_prompt) + "-token prompt");
  if (n_layers < 1 || n_heads < 1)
    throw Error(HKV_ERR_INVALID_ARGUMENT, "probe: n_layers and n_heads must be >= 1");
  scores_.assign(size_t(n_layers) * n_heads, 0.0);
}

int HeadScoreProbe::head_index(int layer, int q_head) const {
  if (layer < 0 || layer >= n_layers_ || q_head < 0 || q_head >= n_heads_)
    throw Error(HKV_ERR_INTERNAL, "probe: attention of layer " + std::to_string(layer) + " head " +
                                      std::to_string(q_head) + " is outside the probe's " + std::to_string(n_layers_) +
                                      " x " + std::to_string(n_heads_) + " heads");
  return layer * n_heads_ + q_head;
}

RetrievalProbe::RetrievalProbe(int32_t span_begin, int32_t span_end, std::vector<int32_t> prompt, int n_layers,
                               int n_heads)
    : HeadScoreProbe(span_begin, span_end, int32_t(prompt.size()), n_layers, n_heads),
      prompt_(std::move(prompt)),
      argmax_position_(size_t(n_layers) * n_heads, -1) {}

void RetrievalProbe::on_attention(int layer, int q_head, const float *probs, const int32_t *positions, int n) {
  const int h = head_index(layer, q_head);
  int best = -1;
  for (int i = 0; i < n; ++i) {
    if (best < 0 || probs[i] > probs[best] || (probs[i] == probs[best] && positions[i] < positions[best])) best = i;
  }
  argmax_position_[h] = best < 0 ? -1 : positions[best];
}

void RetrievalProbe::on_token(int32_t token) {
  const double credit = 1.0 / span_length();
  for (size_t h = 0; h < scores_.size(); ++h) {
    const int32_t pos = argmax_position_[h];
    if (pos >= 0 && in_span(pos) && prompt_[pos] == token) scores_[h] += credit;
    argmax_position_[h] = -1;
  }
  ++steps_;
}

RetrievalReasoningProbe::RetrievalReasoningProbe(int32_t span_begin, int32_t span_end, int32_t n_prompt, int n_layers,
                                                 int n_heads)
    : HeadScoreProbe(span_begin, span_end, n_prompt, n_layers, n_heads), pending_(size_t(n_layers) * n_heads, 0.0) {}

void RetrievalReasoningProbe::on_attention(int layer, int q_head, const float *probs, const int32_t *positions,
                                           int n) {
  const int h = head_index(layer, q_head);
  const int top = std::min(n, int(span_length()));
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0);
  auto better = [&](int32_t a, int32_t b) {
    return probs[a] > probs[b] || (probs[a] == probs[b] && positions[a] < positions[b]);
  };
  if (top < n) std::nth_element(order_.begin(), order_.begin() + top, order_.end(), better);
  double gained = 0.0;
  for (int k = 0; k < top; ++k) {
    const int i = order_[k];
    if (in_span(positions[i])) gained += double(probs[i]);
  }
  pending_[h] = gained / span_length();
}

void RetrievalReasoningProbe::on_token(int32_t) {
  for (size_t h = 0; h < scores_.size(); ++h) {
    scores_[h] += pending_[h];
    pending_[h] = 0.0;
  }
  ++steps_;
}

}  // namespace hkv
