#include "cpu/attention.h"

#include <algorithm>
#include <cmath>

#include "cpu/ops.h"

namespace hkv::cpu {

void attend_rows(const float *q, int q_stride, int rows, const int *lens, const float *k, const float *v, int kv_stride,
                 int head_dim, float scale, float *out, int out_stride, std::vector<float> &scratch) {
  int len_max = 0;
  for (int r = 0; r < rows; r++) len_max = std::max(len_max, lens[r]);
  scratch.resize((size_t)kAttentionRows * len_max);
  float *s[kAttentionRows];
  for (int r = 0; r < kAttentionRows; r++) s[r] = scratch.data() + (size_t)r * len_max;

  // Scores: each key row is loaded once for all query rows.
  for (int j = 0; j < len_max; j++) {
    const float *kj = k + (size_t)j * kv_stride;
    float acc[kAttentionRows];
    dot_rows(kj, q, q_stride, rows, head_dim, acc);
    for (int r = 0; r < rows; r++) s[r][j] = acc[r] * scale;
  }
  for (int r = 0; r < rows; r++) softmax(s[r], lens[r]);

  // Weighted values: each value row is loaded once for all query rows.
  for (int r = 0; r < rows; r++) std::fill(out + (size_t)r * out_stride, out + (size_t)r * out_stride + head_dim, 0.f);
  for (int j = 0; j < len_max; j++) {
    float w[kAttentionRows];
    for (int r = 0; r < rows; r++) w[r] = j < lens[r] ? s[r][j] : 0.f;
    axpy_rows(v + (size_t)j * kv_stride, w, out, out_stride, rows, head_dim);
  }
}

}  // namespace hkv::cpu
