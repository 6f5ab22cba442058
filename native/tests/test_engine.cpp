// test_engine.cpp: behaviour of contexts and sequences through the C ABI, on a committed
// fixture model: continuous batching gives each sequence the tokens it gets alone, memory is
// accounted and returned, cancellation and stop tokens end sequences, bad calls are errors,
// every sampled token is the reference sampler's pick from that sequence's logits.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "headkv.h"
#include "test_loader_support.h"
#include "test_sampled_decode.h"

namespace {

const char *kModel = "test/fixtures/models/llama-f32";

struct Run {
  std::vector<int32_t> prompt;
  hkv_sampling_params sampling;
  hkv_kv_params kv;
  int join_at_step = 0;  // batched run: the decode step before which this sequence is added
};

hkv_context *make_context(hkv_model *model, int64_t kv_bytes = 32 << 20) {
  hkv_context_params cp = hkv_context_default_params();
  cp.kv_cache_bytes = kv_bytes;
  cp.prefill_chunk = 16;
  hkv_context *ctx = nullptr;
  if (hkv_context_create(model, &cp, &ctx) != HKV_OK) std::fprintf(stderr, "context: %s\n", hkv_last_error());
  return ctx;
}

// Runs the given sequences in one context; sequence i joins before decode step join_at_step.
std::vector<std::vector<int32_t>> run_together(hkv_model *model, const std::vector<Run> &runs) {
  hkv_context *ctx = make_context(model);
  std::vector<std::vector<int32_t>> tokens(runs.size());
  std::map<int32_t, size_t> index_of;
  size_t added = 0;
  for (int step = 0;; step++) {
    for (size_t i = 0; i < runs.size(); i++) {
      if (runs[i].join_at_step != step) continue;
      int32_t id, first;
      CHECK(hkv_seq_add(ctx, runs[i].prompt.data(), (int32_t)runs[i].prompt.size(), &runs[i].sampling, &runs[i].kv, &id) == HKV_OK);
      CHECK(hkv_seq_prefill(ctx, id, nullptr, nullptr, &first) == HKV_OK);
      tokens[i].push_back(first);
      index_of[id] = i;
      added++;
    }
    hkv_step_token out[16];
    int32_t n = 0;
    CHECK(hkv_step(ctx, out, 16, &n) == HKV_OK);
    for (int k = 0; k < n; k++)
      if (out[k].token >= 0) tokens[index_of[out[k].seq_id]].push_back(out[k].token);
    if (n == 0 && added == runs.size()) break;
    if (step > 1000) break;
  }
  hkv_context_free(ctx);
  return tokens;
}

void test_batching_matches_alone(hkv_model *model) {
  std::vector<Run> runs;
  for (int i = 0; i < 5; i++) {
    Run r;
    for (int t = 0; t < 9 + 7 * i; t++) r.prompt.push_back((t * 37 + i * 11 + 5) % 200);
    r.sampling = hkv_sampling_default_params();
    r.sampling.max_new_tokens = 6 + 3 * i;
    if (i % 2 == 1) {
      r.sampling.temperature = 0.9f;
      r.sampling.top_p = 0.9f;
      r.sampling.top_k = 40;
      r.sampling.seed = 1234 + i;
    }
    r.kv = hkv_kv_default_params();
    r.join_at_step = i;  // sequences join while others decode
    runs.push_back(r);
  }
  const auto together = run_together(model, runs);
  for (size_t i = 0; i < runs.size(); i++) {
    Run alone = runs[i];
    alone.join_at_step = 0;
    const auto single = run_together(model, {alone})[0];
    if (single != together[i]) {
      std::fprintf(stderr, "FAIL batching: sequence %zu decoded together differs from alone\n", i);
      ++hkv_test::failures();
    }
    CHECK((int)single.size() == runs[i].sampling.max_new_tokens);
  }
}

void test_memory_and_removal(hkv_model *model) {
  hkv_model_info info;
  hkv_model_get_info(model, &info);
  hkv_context *ctx = make_context(model);
  std::vector<int32_t> prompt(40, 7);
  hkv_sampling_params sp = hkv_sampling_default_params();
  sp.max_new_tokens = 4;
  hkv_kv_params kv = hkv_kv_default_params();
  int32_t id, tok;
  CHECK(hkv_seq_add(ctx, prompt.data(), 40, &sp, &kv, &id) == HKV_OK);
  CHECK(hkv_seq_prefill(ctx, id, nullptr, nullptr, &tok) == HKV_OK);
  hkv_seq_info si;
  CHECK(hkv_seq_get_info(ctx, id, &si) == HKV_OK);
  const int64_t token_bytes = 2LL * info.head_dim * 4;
  CHECK_EQ_NUM(si.kv_bytes_full, 40LL * info.n_layers * info.n_kv_heads * token_bytes);
  CHECK_EQ_NUM(si.kv_bytes_kept, si.kv_bytes_full);
  hkv_context_stats st;
  hkv_context_get_stats(ctx, &st);
  CHECK_EQ_NUM(st.pages_used, si.kv_pages);
  CHECK_EQ_NUM(st.kv_bytes_held, si.kv_pages * st.page_bytes);
  CHECK(hkv_seq_remove(ctx, id) == HKV_OK);
  hkv_context_get_stats(ctx, &st);
  CHECK_EQ_NUM(st.pages_used, 0);
  CHECK_EQ_NUM(st.free_slots, 16);
  hkv_context_free(ctx);
}

void test_admission_refuses_what_does_not_fit(hkv_model *model) {
  hkv_model_info info;
  hkv_model_get_info(model, &info);
  const int64_t page_bytes = 2LL * 16 * info.head_dim * 4;
  // Room for exactly 4 pages per layer and KV head: 64 tokens of one sequence.
  hkv_context *ctx = make_context(model, page_bytes * info.n_layers * info.n_kv_heads * 4);
  std::vector<int32_t> prompt(60, 3);
  hkv_sampling_params sp = hkv_sampling_default_params();
  sp.max_new_tokens = 4;
  hkv_kv_params kv = hkv_kv_default_params();
  int32_t id;
  CHECK(hkv_seq_add(ctx, prompt.data(), 60, &sp, &kv, &id) == HKV_OK);
  int32_t id2;
  CHECK(hkv_seq_add(ctx, prompt.data(), 60, &sp, &kv, &id2) == HKV_ERR_OUT_OF_MEMORY);
  CHECK(std::string(hkv_last_error()).find("KV cache") != std::string::npos);
  sp.max_new_tokens = 5;  // 65 tokens: one page more per head than the pool has
  CHECK(hkv_seq_remove(ctx, id) == HKV_OK);
  CHECK(hkv_seq_add(ctx, prompt.data(), 60, &sp, &kv, &id) == HKV_ERR_OUT_OF_MEMORY);
  hkv_context_free(ctx);
}

void test_cancel_and_stop(hkv_model *model) {
  hkv_context *ctx = make_context(model);
  std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6};
  hkv_sampling_params sp = hkv_sampling_default_params();
  sp.max_new_tokens = 50;
  hkv_kv_params kv = hkv_kv_default_params();
  int32_t id, first;
  CHECK(hkv_seq_add(ctx, prompt.data(), 6, &sp, &kv, &id) == HKV_OK);
  CHECK(hkv_seq_prefill(ctx, id, nullptr, nullptr, &first) == HKV_OK);
  hkv_step_token out[4];
  int32_t n;
  CHECK(hkv_step(ctx, out, 4, &n) == HKV_OK && n == 1);
  const int32_t second = out[0].token;
  CHECK(hkv_seq_cancel(ctx, id) == HKV_OK);
  CHECK(hkv_step(ctx, out, 4, &n) == HKV_OK);
  CHECK(n == 1 && out[0].finish == HKV_FINISH_CANCELLED && out[0].token == -1);
  CHECK(hkv_step(ctx, out, 4, &n) == HKV_OK && n == 0);
  CHECK(hkv_seq_remove(ctx, id) == HKV_OK);

  // The greedy second token as a stop token ends the sequence right there.
  sp.stop_token_ids = &second;
  sp.n_stop_token_ids = 1;
  CHECK(hkv_seq_add(ctx, prompt.data(), 6, &sp, &kv, &id) == HKV_OK);
  CHECK(hkv_seq_prefill(ctx, id, nullptr, nullptr, &first) == HKV_OK);
  CHECK(hkv_step(ctx, out, 4, &n) == HKV_OK && n == 1 && out[0].token == second && out[0].finish == HKV_FINISH_STOP);
  hkv_seq_info si;
  CHECK(hkv_seq_get_info(ctx, id, &si) == HKV_OK && si.state == HKV_SEQ_FINISHED && si.n_generated == 2);
  hkv_context_free(ctx);
}

// A fork continues exactly like its source would have, on its own copy of the cache.
void test_fork(hkv_model *model) {
  std::vector<int32_t> prompt;
  for (int t = 0; t < 37; t++) prompt.push_back((t * 13 + 1) % 150);
  Run alone{prompt, hkv_sampling_default_params(), hkv_kv_default_params(), 0};
  alone.sampling.max_new_tokens = 12;
  const auto reference = run_together(model, {alone})[0];

  hkv_context *ctx = make_context(model);
  int32_t src, first;
  CHECK(hkv_seq_add(ctx, prompt.data(), (int32_t)prompt.size(), &alone.sampling, &alone.kv, &src) == HKV_OK);
  CHECK(hkv_seq_prefill(ctx, src, nullptr, nullptr, &first) == HKV_OK);
  std::map<int32_t, std::vector<int32_t>> tokens;
  tokens[src].push_back(first);
  hkv_step_token out[4];
  int32_t n;
  for (int s = 0; s < 3; s++) {
    CHECK(hkv_step(ctx, out, 4, &n) == HKV_OK && n == 1);
    tokens[src].push_back(out[0].token);
  }
  int32_t forked;
  CHECK(hkv_seq_fork(ctx, src, &alone.sampling, &forked) == HKV_OK);
  tokens[forked] = tokens[src];
  hkv_seq_info a, b;
  hkv_seq_get_info(ctx, src, &a);
  hkv_seq_get_info(ctx, forked, &b);
  CHECK_EQ_NUM(b.kv_bytes_kept, a.kv_bytes_kept);
  CHECK_EQ_NUM(b.kv_pages, a.kv_pages);
  // The source leaves after one more step; the fork must not depend on its pages.
  CHECK(hkv_step(ctx, out, 4, &n) == HKV_OK && n == 2);
  for (int k = 0; k < n; k++) tokens[out[k].seq_id].push_back(out[k].token);
  CHECK(hkv_seq_remove(ctx, src) == HKV_OK);
  while (hkv_step(ctx, out, 4, &n) == HKV_OK && n > 0)
    for (int k = 0; k < n; k++) tokens[out[k].seq_id].push_back(out[k].token);
  if (tokens[forked] != reference || (int)tokens[src].size() != 5) {
    std::fprintf(stderr, "FAIL fork: the forked sequence's tokens differ from the source run alone\n");
    ++hkv_test::failures();
  }
  CHECK(hkv_seq_fork(ctx, 999, &alone.sampling, &forked) == HKV_ERR_NOT_FOUND);
  hkv_context_free(ctx);
}

void test_bad_calls(hkv_model *model) {
  hkv_context *ctx = make_context(model);
  hkv_model_info info;
  hkv_model_get_info(model, &info);
  std::vector<int32_t> bad = {1, info.vocab_size, 2};
  hkv_sampling_params sp = hkv_sampling_default_params();
  hkv_kv_params kv = hkv_kv_default_params();
  int32_t id;
  CHECK(hkv_seq_add(ctx, bad.data(), 3, &sp, &kv, &id) == HKV_ERR_INVALID_ARGUMENT);
  CHECK(std::string(hkv_last_error()).find("prompt[1]") != std::string::npos);
  CHECK(hkv_seq_add(ctx, bad.data(), 0, &sp, &kv, &id) == HKV_ERR_INVALID_ARGUMENT);
  sp.top_p = 0.f;
  CHECK(hkv_seq_add(ctx, bad.data(), 1, &sp, &kv, &id) == HKV_ERR_INVALID_ARGUMENT);
  CHECK(std::string(hkv_last_error()).find("top_p") != std::string::npos);
  CHECK(hkv_seq_remove(ctx, 999) == HKV_ERR_NOT_FOUND);
  CHECK(hkv_seq_prefill(ctx, 999, nullptr, nullptr, nullptr) == HKV_ERR_NOT_FOUND);
  std::vector<int32_t> too_long(info.max_position_embeddings, 1);
  sp = hkv_sampling_default_params();
  CHECK(hkv_seq_add(ctx, too_long.data(), (int32_t)too_long.size(), &sp, &kv, &id) == HKV_ERR_INVALID_ARGUMENT);
  hkv_context_params cp = hkv_context_default_params();
  cp.kv_cache_bytes = 10;
  hkv_context *tiny = nullptr;
  CHECK(hkv_context_create(model, &cp, &tiny) == HKV_ERR_INVALID_ARGUMENT && tiny == nullptr);
  hkv_model *missing = nullptr;
  CHECK(hkv_model_load("test/fixtures/models/does-not-exist", nullptr, &missing) != HKV_OK && missing == nullptr);
  CHECK(std::string(hkv_last_error()).find("does-not-exist") != std::string::npos);
  hkv_context_free(ctx);
}

// prefill_chunk 0 (the default) is the backend's own chunk, 512 on the CPU: the same prompt
// logits bit for bit as an explicit 512, and within rounding of another chunking; a negative
// chunk is an error that names the field.
void test_default_prefill_chunk(hkv_model *model) {
  CHECK(hkv_context_default_params().prefill_chunk == 0);
  hkv_model_info info;
  hkv_model_get_info(model, &info);
  std::vector<int32_t> prompt(500);
  for (size_t i = 0; i < prompt.size(); i++) prompt[i] = (int32_t)((i * 37 + 11) % (size_t)info.vocab_size);
  auto prompt_logits = [&](int32_t chunk) {
    hkv_context_params cp = hkv_context_default_params();
    cp.prefill_chunk = chunk;
    hkv_context *ctx = nullptr;
    std::vector<float> logits(info.vocab_size);
    CHECK(hkv_context_create(model, &cp, &ctx) == HKV_OK);
    hkv_sampling_params sp = hkv_sampling_default_params();
    sp.max_new_tokens = 1;
    hkv_kv_params kv = hkv_kv_default_params();
    int32_t id = -1, first = -1;
    CHECK(hkv_seq_add(ctx, prompt.data(), (int32_t)prompt.size(), &sp, &kv, &id) == HKV_OK);
    CHECK(hkv_seq_prefill(ctx, id, nullptr, nullptr, &first) == HKV_OK);
    CHECK(hkv_seq_get_logits(ctx, id, logits.data(), info.vocab_size) == HKV_OK);
    hkv_context_free(ctx);
    return logits;
  };
  const std::vector<float> by_default = prompt_logits(0), by_512 = prompt_logits(512), by_100 = prompt_logits(100);
  CHECK(by_default == by_512);
  float worst = 0.f;
  for (size_t i = 0; i < by_default.size(); i++) worst = std::max(worst, std::fabs(by_default[i] - by_100[i]));
  std::printf("  default prefill chunk: logits equal to chunk 512, within %.2g of chunk 100\n", worst);
  CHECK(worst < 1e-3f);
  hkv_context_params cp = hkv_context_default_params();
  cp.prefill_chunk = -1;
  hkv_context *ctx = nullptr;
  CHECK(hkv_context_create(model, &cp, &ctx) == HKV_ERR_INVALID_ARGUMENT && ctx == nullptr);
  CHECK(std::string(hkv_last_error()).find("prefill_chunk") != std::string::npos);
}

// Greedy, temperature, top-k and top-p sequences stepping together, one forked halfway: each
// token equals pick_token on the logits that produced it with the sequence's own draws.
void test_sampled_decode(hkv_model *model) {
  hkv_context_params cp = hkv_context_default_params();
  cp.max_sequences = 8;
  hkv_context *ctx = nullptr;
  CHECK(hkv_context_create(model, &cp, &ctx) == HKV_OK);
  hkv_model_info info;
  hkv_model_get_info(model, &info);
  const auto tokens =
      hkv_test::sampled_decode(ctx, info.vocab_size, {1, 17, 230, 5, 999, 42, 42, 311, 8, 64}, "sampled decode, cpu");
  CHECK(tokens.size() == 5);
  hkv_context_free(ctx);
}

}  // namespace

int main() {
  hkv_model_params mp = hkv_model_default_params();
  mp.n_threads = 2;
  hkv_model *model = nullptr;
  if (hkv_model_load(kModel, &mp, &model) != HKV_OK) {
    std::fprintf(stderr, "FAIL: cannot load %s: %s\n", kModel, hkv_last_error());
    return 1;
  }
  test_batching_matches_alone(model);
  test_memory_and_removal(model);
  test_admission_refuses_what_does_not_fit(model);
  test_cancel_and_stop(model);
  test_fork(model);
  test_sampled_decode(model);
  test_bad_calls(model);
  test_default_prefill_chunk(model);
  hkv_model_free(model);
  return hkv_test::finish("test_engine");
}
