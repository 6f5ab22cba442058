// test_sliding_window.cpp: sliding-window attention together with KV-cache compression, on the
// mistral-swa fixture (window 8). A decode query at position p attends only kept tokens at
// positions > p - 8. When SnapKV's observation window is at least the model's window, every
// token a decode query can see is kept (the last prompt tokens and the generated ones), so a
// compressed sequence must decode exactly as the uncompressed one: the same logits, bit for
// bit, at every step, while its cache holds far fewer prompt tokens. A decode that attended the
// selected older tokens would differ. Both sequences decode in one batch (ragged cache lengths),
// and the tokens also match the transformers golden (test/fixtures/golden/mistral-swa.json).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "headkv.h"
#include "test_fixture_support.h"
#include "test_loader_support.h"
#include "util/json.h"

namespace {

constexpr int kModelWindow = 8;

using Engine = hkv_test::EngineHandles;

bool ok(hkv_status status, const char *what) {
  if (status == HKV_OK) return true;
  std::fprintf(stderr, "FAIL %s: %s\n", what, hkv_last_error());
  ++hkv_test::failures();
  return false;
}

// Prompt tokens the cache of sequence `id` keeps, summed over layers and cache heads.
int64_t kept_prompt_tokens(hkv_context *ctx, const hkv_model_info &info, int32_t id) {
  int32_t cache_heads = 0;
  std::vector<int32_t> counts((size_t)info.n_layers * info.n_heads);  // room for query-head granularity
  if (!ok(hkv_seq_get_selection(ctx, id, &cache_heads, counts.data(), nullptr, 0), "selection counts")) return -1;
  counts.resize((size_t)info.n_layers * cache_heads);
  int64_t total = 0;
  for (int32_t c : counts) total += c;
  return total;
}

}  // namespace

int main() {
  const hkv::json::Value golden =
      hkv::json::parse(hkv_test::read_file("test/fixtures/golden/mistral-swa.json"), "mistral-swa.json");
  const hkv::json::Value &longest = golden.find("cases")->as_array().back();
  const std::vector<int32_t> prompt = hkv_test::ints(*longest.find("prompt_ids"));
  const std::vector<int32_t> expected = hkv_test::ints(*longest.find("greedy_ids"));
  const int n = (int)prompt.size();

  Engine e;
  hkv_model_params mp = hkv_model_default_params();
  mp.n_threads = 2;
  if (!ok(hkv_model_load("test/fixtures/models/mistral-swa", &mp, &e.model), "load")) return 1;
  hkv_model_info info;
  hkv_model_get_info(e.model, &info);
  hkv_context_params cp = hkv_context_default_params();
  cp.kv_cache_bytes = 16 << 20;
  if (!ok(hkv_context_create(e.model, &cp, &e.ctx), "context")) return 1;

  hkv_sampling_params sp = hkv_sampling_default_params();
  sp.max_new_tokens = (int32_t)expected.size();
  hkv_kv_params full = hkv_kv_default_params();
  hkv_kv_params snap = hkv_kv_default_params();
  snap.method = HKV_KV_SNAPKV;
  snap.window = kModelWindow;
  snap.kv_size = kModelWindow + 4;  // 4 of the 32 older prompt tokens per head
  snap.pool_kernel = 3;
  int32_t ids[2] = {-1, -1}, first[2] = {-1, -1};
  const hkv_kv_params *kvs[2] = {&full, &snap};
  for (int s = 0; s < 2; s++)
    if (!ok(hkv_seq_add(e.ctx, prompt.data(), n, &sp, kvs[s], &ids[s]), "add") ||
        !ok(hkv_seq_prefill(e.ctx, ids[s], nullptr, nullptr, &first[s]), "prefill"))
      return hkv_test::finish("test_sliding_window");

  const int64_t kept_full = kept_prompt_tokens(e.ctx, info, ids[0]),
                kept_snap = kept_prompt_tokens(e.ctx, info, ids[1]);
  CHECK_EQ_NUM(kept_full, (int64_t)info.n_layers * info.n_kv_heads * n);
  CHECK_EQ_NUM(kept_snap, (int64_t)info.n_layers * info.n_kv_heads * snap.kv_size);

  std::vector<std::vector<int32_t>> tokens = {{first[0]}, {first[1]}};
  std::vector<float> row_full(info.vocab_size), row_snap(info.vocab_size);
  int steps_compared = 0;
  for (;;) {
    if (!ok(hkv_seq_get_logits(e.ctx, ids[0], row_full.data(), info.vocab_size), "logits") ||
        !ok(hkv_seq_get_logits(e.ctx, ids[1], row_snap.data(), info.vocab_size), "logits"))
      break;
    if (std::memcmp(row_full.data(), row_snap.data(), sizeof(float) * info.vocab_size) != 0) {
      std::fprintf(stderr, "FAIL: compressed and full logits differ at generated token %zu\n", tokens[0].size() - 1);
      ++hkv_test::failures();
    }
    steps_compared++;
    if ((int)tokens[0].size() >= sp.max_new_tokens) break;
    hkv_step_token out[4];
    int32_t n_out = 0;
    if (!ok(hkv_step(e.ctx, out, 4, &n_out), "step") || n_out == 0) break;
    for (int i = 0; i < n_out; i++)
      for (int s = 0; s < 2; s++)
        if (out[i].seq_id == ids[s] && out[i].token >= 0) tokens[s].push_back(out[i].token);
  }
  CHECK_EQ_NUM(steps_compared, (int)expected.size());
  if (tokens[0] != expected || tokens[1] != expected) {
    std::fprintf(stderr, "FAIL: greedy tokens differ from the transformers golden (full %zu, snapkv %zu tokens)\n",
                 tokens[0].size(), tokens[1].size());
    ++hkv_test::failures();
  }
  std::printf("  %d tokens past a %d-token prompt (window %d): snapkv kv_size %d keeps %lld of %lld prompt "
              "entries, logits compared with the full cache at %d steps\n",
              (int)tokens[1].size(), n, kModelWindow, snap.kv_size, (long long)kept_snap, (long long)kept_full,
              steps_compared);
  return hkv_test::finish("test_sliding_window");
}
