// attention.h: softmax attention of a few query rows over one head's keys and values, sharing
// every key and value load among the rows (the CPU analogue of a flash-attention tile).
#pragma once

#include <vector>

namespace hkv::cpu {

// Up to kAttentionRows query rows of one head attend over keys/values [0, lens[r]) of one KV head.
//   q:   row r at q + r * q_stride            [rows][head_dim]
//   k,v: key/value j at k + j * kv_stride     [max(lens)][head_dim]
//   out: row r at out + r * out_stride        [rows][head_dim]
// Scores are scaled by `scale` and softmaxed per row in fp32. `scratch` is resized as needed.
// Eight rows: every key/value block read into L1 serves eight queries, while the rows' scores
// (8 x n floats, 256 KiB at 8K keys) still fit in L2; 8 rows took ~7% less CPU time than 4 at an
// 8K prompt (docs/benchmarks.md).
constexpr int kAttentionRows = 8;
void attend_rows(const float *q, int q_stride, int rows, const int *lens, const float *k, const float *v, int kv_stride,
                 int head_dim, float scale, float *out, int out_stride, std::vector<float> &scratch);

}  // namespace hkv::cpu
