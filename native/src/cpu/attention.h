// attention.h: softmax attention of a tile of query rows over one KV head's keys and values,
// sharing every key and value load among the rows (the CPU analogue of a flash-attention tile).
#pragma once

#include <vector>

namespace hkv::cpu {

// Up to kAttentionRows query rows attend over keys/values [starts[r], lens[r]) of one KV head
// (starts null: from key 0). Sliding-window attention gives each row the start
// max(0, position - window + 1); key blocks before every row's start are not read.
//   q[r]:   row r's query                  [head_dim]
//   k,v:    key/value j at k + j * kv_stride [max(lens)][head_dim]
//   out[r]: row r's output                 [head_dim]
// The rows may belong to different query heads of the KV head's group (grouped-query
// attention): prefill puts every query head of a group in one tile, so each block of keys and
// values is read from memory once for the whole group. Scores are scaled by `scale` and
// softmaxed per row in fp32 (online: a running max and sum per row, so the tile's scores are
// one key block per row whatever the length). `scratch` is resized as needed.
constexpr int kAttentionRows = 32;
void attend_rows(const float *const *q, int rows, const int *starts, const int *lens, const float *k, const float *v,
                 int kv_stride, int head_dim, float scale, float *const *out, std::vector<float> &scratch);

}  // namespace hkv::cpu
