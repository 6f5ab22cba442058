// test_headkv.cpp: compression through the engine against the PyTorch reference
// (test/fixtures/golden/<model>.headkv.json, tools/reference/headkv_reference.py):
//  - the kept prompt positions of every head equal the reference selection (window included);
//  - greedy decoding over the compressed cache gives the reference's tokens, and its logits
//    equal full attention with each head's dropped positions masked out;
//  - bytes kept equal the budgets exactly, `full` and kv_size >= prompt equal the uncompressed
//    engine, and a pool sized for N full sequences admits the compressed ones the pages allow.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "headkv.h"
#include "test_fixture_support.h"
#include "test_loader_support.h"
#include "util/json.h"

namespace fs = std::filesystem;
using hkv::json::Value;

namespace {

using hkv_test::ints;
using hkv_test::read_file;

struct Fixture {
  Value root;
  hkv_model *model = nullptr;
  hkv_model_info info{};
  std::vector<float> head_scores;  // [n_layers * n_heads]

  const Value &prompt(const std::string &name) const {
    for (const auto &p : root.find("prompts")->as_array())
      if (p.find("name")->as_string() == name) return p;
    throw std::runtime_error("fixture has no prompt " + name);
  }

  hkv_kv_params kv_for(const Value &entry) const { return hkv_test::fixture_kv_params(root, entry, head_scores); }
};

hkv_context *make_context(hkv_model *model, int64_t bytes = 64 << 20, int page_tokens = 16) {
  hkv_context_params cp = hkv_context_default_params();
  cp.kv_cache_bytes = bytes;
  cp.page_tokens = page_tokens;
  cp.max_sequences = 256;
  cp.prefill_chunk = 32;
  hkv_context *ctx = nullptr;
  if (hkv_context_create(model, &cp, &ctx) != HKV_OK) std::fprintf(stderr, "context: %s\n", hkv_last_error());
  return ctx;
}

void check_selections(Fixture &f) {
  const std::string model = f.root.find("model")->as_string();
  const int window = (int)f.root.find("window")->as_integer();
  hkv_context *ctx = make_context(f.model);
  int checked = 0;
  for (const auto &entry : f.root.find("selections")->as_array()) {
    const std::string label = model + " " + entry.find("prompt")->as_string() + " " + entry.find("method")->as_string() + " " +
                              entry.find("granularity")->as_string() + " kv_size " +
                              std::to_string(entry.find("kv_size")->as_integer());
    const std::vector<int32_t> prompt = ints(*f.prompt(entry.find("prompt")->as_string()).find("prompt_ids"));
    const int n = (int)prompt.size();
    hkv_sampling_params sp = hkv_sampling_default_params();
    sp.max_new_tokens = 1;
    const hkv_kv_params kv = f.kv_for(entry);
    int32_t id, tok;
    if (hkv_seq_add(ctx, prompt.data(), n, &sp, &kv, &id) != HKV_OK || hkv_seq_prefill(ctx, id, nullptr, nullptr, &tok) != HKV_OK) {
      std::fprintf(stderr, "FAIL %s: %s\n", label.c_str(), hkv_last_error());
      ++hkv_test::failures();
      continue;
    }
    int32_t cache_heads = 0;
    hkv_seq_get_selection(ctx, id, &cache_heads, nullptr, nullptr, 0);
    std::vector<int32_t> counts((size_t)f.info.n_layers * cache_heads);
    hkv_seq_get_selection(ctx, id, &cache_heads, counts.data(), nullptr, 0);
    int64_t total = 0;
    for (int32_t c : counts) total += c;
    std::vector<int32_t> positions(total);
    hkv_seq_get_selection(ctx, id, &cache_heads, counts.data(), positions.data(), total);

    const auto &selected = entry.find("selected")->as_array();
    CHECK_EQ_NUM(cache_heads, selected[0].as_array().size());
    int64_t offset = 0, expected_tokens = 0;
    for (int l = 0; l < f.info.n_layers; l++) {
      for (int h = 0; h < cache_heads; h++) {
        std::vector<int32_t> expected = ints(selected[l].as_array()[h]);
        for (int p = n - window; p < n; p++) expected.push_back(p);
        const size_t i = (size_t)l * cache_heads + h;
        std::vector<int32_t> got(positions.begin() + offset, positions.begin() + offset + counts[i]);
        offset += counts[i];
        expected_tokens += (int64_t)expected.size();
        if (got != expected) {
          std::fprintf(stderr, "FAIL %s: layer %d head %d keeps %zu positions, reference %zu (first difference at index %zu)\n",
                       label.c_str(), l, h, got.size(), expected.size(),
                       (size_t)(std::mismatch(got.begin(), got.end(), expected.begin(), expected.end()).first - got.begin()));
          ++hkv_test::failures();
        }
      }
    }
    // Bytes kept are exactly the kept tokens, nothing simulated.
    hkv_seq_info si;
    hkv_seq_get_info(ctx, id, &si);
    CHECK_EQ_NUM(si.kv_bytes_kept, expected_tokens * 2 * f.info.head_dim * 4);
    CHECK_EQ_NUM(si.kv_bytes_full, (int64_t)n * f.info.n_layers * f.info.n_kv_heads * 2 * f.info.head_dim * 4);
    hkv_seq_remove(ctx, id);
    checked++;
  }
  std::printf("  %s: %d selections equal the reference\n", model.c_str(), checked);
  hkv_context_stats st;
  hkv_context_get_stats(ctx, &st);
  CHECK_EQ_NUM(st.pages_used, 0);
  hkv_context_free(ctx);
}

void check_decoding(Fixture &f) {
  const std::string model = f.root.find("model")->as_string();
  const double tol = f.root.find("tolerance")->find("logits_max_abs")->as_number();
  hkv_context *ctx = make_context(f.model);
  for (const auto &entry : f.root.find("decode")->as_array()) {
    const std::string label = model + " decode " + entry.find("method")->as_string() + " " + entry.find("granularity")->as_string();
    const std::vector<int32_t> prompt = ints(*f.prompt(entry.find("prompt")->as_string()).find("prompt_ids"));
    const auto &steps = entry.find("steps")->as_array();
    hkv_sampling_params sp = hkv_sampling_default_params();
    sp.max_new_tokens = (int32_t)steps.size() + 1;
    const hkv_kv_params kv = f.kv_for(entry);
    int32_t id, first;
    if (hkv_seq_add(ctx, prompt.data(), (int32_t)prompt.size(), &sp, &kv, &id) != HKV_OK ||
        hkv_seq_prefill(ctx, id, nullptr, nullptr, &first) != HKV_OK) {
      std::fprintf(stderr, "FAIL %s: %s\n", label.c_str(), hkv_last_error());
      ++hkv_test::failures();
      continue;
    }
    CHECK_EQ_NUM(first, entry.find("first_token")->as_integer());
    std::vector<float> logits(f.info.vocab_size);
    double worst = 0;
    for (size_t s = 0; s < steps.size(); s++) {
      hkv_step_token out[2];
      int32_t n_out = 0;
      if (hkv_step(ctx, out, 2, &n_out) != HKV_OK || n_out != 1) {
        std::fprintf(stderr, "FAIL %s: step %zu: %s\n", label.c_str(), s, hkv_last_error());
        ++hkv_test::failures();
        break;
      }
      CHECK_EQ_NUM(out[0].token, steps[s].find("next_token")->as_integer());
      hkv_seq_get_logits(ctx, id, logits.data(), f.info.vocab_size);
      const auto &ref = steps[s].find("logits")->as_array();
      for (int v = 0; v < f.info.vocab_size; v++) worst = std::max(worst, std::fabs(logits[v] - ref[v].as_number()));
    }
    std::printf("  %-40s max |logit diff| %.3g over %zu steps (tolerance %.3g)\n", label.c_str(), worst, steps.size(), tol);
    if (!(worst <= tol)) {
      std::fprintf(stderr, "FAIL %s: logits differ from masked full attention by %.6g\n", label.c_str(), worst);
      ++hkv_test::failures();
    }
    hkv_seq_remove(ctx, id);
  }
  hkv_context_free(ctx);
}

std::vector<int32_t> greedy(hkv_context *ctx, const std::vector<int32_t> &prompt, const hkv_kv_params &kv, int n_new) {
  hkv_sampling_params sp = hkv_sampling_default_params();
  sp.max_new_tokens = n_new;
  int32_t id, tok;
  std::vector<int32_t> out_tokens;
  if (hkv_seq_add(ctx, prompt.data(), (int32_t)prompt.size(), &sp, &kv, &id) != HKV_OK ||
      hkv_seq_prefill(ctx, id, nullptr, nullptr, &tok) != HKV_OK) {
    std::fprintf(stderr, "  engine: %s\n", hkv_last_error());
    return out_tokens;
  }
  out_tokens.push_back(tok);
  hkv_step_token out[2];
  int32_t n_out;
  while (hkv_step(ctx, out, 2, &n_out) == HKV_OK && n_out == 1) out_tokens.push_back(out[0].token);
  hkv_seq_remove(ctx, id);
  return out_tokens;
}

// Every method with kv_size at or above the prompt length keeps everything: same tokens as full.
void check_large_budget_is_full(Fixture &f) {
  hkv_context *ctx = make_context(f.model);
  const std::vector<int32_t> prompt = ints(*f.prompt("n96").find("prompt_ids"));
  hkv_kv_params full = hkv_kv_default_params();
  const auto reference = greedy(ctx, prompt, full, 10);
  CHECK(reference.size() == 10);
  for (hkv_kv_method m : {HKV_KV_SNAPKV, HKV_KV_PYRAMIDKV, HKV_KV_ADA_SNAPKV, HKV_KV_HEADKV})
    for (hkv_kv_granularity g : {HKV_GRANULARITY_KV_HEAD, HKV_GRANULARITY_QUERY_HEAD}) {
      hkv_kv_params kv = hkv_kv_default_params();
      kv.method = m;
      kv.granularity = g;
      kv.kv_size = (int32_t)prompt.size();
      kv.head_scores = f.head_scores.data();
      if (greedy(ctx, prompt, kv, 10) != reference) {
        std::fprintf(stderr, "FAIL method %d granularity %d with kv_size = prompt length differs from full\n", (int)m, (int)g);
        ++hkv_test::failures();
      }
    }
  hkv_context_free(ctx);
}

// A pool sized for N full-cache sequences admits as many compressed ones as their pages allow.
void check_admission_scales_with_budget(Fixture &f) {
  const std::vector<int32_t> prompt = ints(*f.prompt("n200").find("prompt_ids"));
  const int n = (int)prompt.size(), gen = 8, page = 8, kv_size = 16, N = 2;
  const int64_t page_bytes = 2LL * page * f.info.head_dim * 4;
  const int64_t full_pages = (int64_t)f.info.n_layers * f.info.n_kv_heads * ((n + gen + page - 1) / page);
  hkv_context *ctx = make_context(f.model, N * full_pages * page_bytes, page);
  hkv_sampling_params sp = hkv_sampling_default_params();
  sp.max_new_tokens = gen;
  hkv_kv_params kv = hkv_kv_default_params();
  kv.method = HKV_KV_SNAPKV;
  kv.kv_size = kv_size;
  int admitted = 0;
  int32_t id;
  while (admitted < 1000 && hkv_seq_add(ctx, prompt.data(), n, &sp, &kv, &id) == HKV_OK) admitted++;
  const int64_t compressed_pages = (int64_t)f.info.n_layers * f.info.n_kv_heads * ((kv_size + gen + page - 1) / page);
  const int64_t expected = N * full_pages / compressed_pages;
  std::printf("  pool for %d full sequences of %d tokens admits %d snapkv kv_size %d sequences (N * n / kv_size = %d)\n", N, n,
              admitted, kv_size, N * n / kv_size);
  CHECK_EQ_NUM(admitted, expected);
  CHECK(admitted >= N * n / kv_size / 2);
  hkv_context_free(ctx);
}

}  // namespace

int main() {
  const fs::path dir = "test/fixtures/golden";
  int files = 0;
  for (const char *name : {"llama-f32", "qwen2"}) {
    const fs::path path = dir / (std::string(name) + ".headkv.json");
    if (!fs::exists(path)) {
      std::fprintf(stderr, "FAIL: missing fixture %s\n", path.string().c_str());
      return 1;
    }
    Fixture f;
    f.root = hkv::json::parse(read_file(path), path.string());
    const fs::path model_dir = fs::path("test/fixtures/models") / f.root.find("model")->as_string();
    hkv_model_params mp = hkv_model_default_params();
    mp.n_threads = 2;
    if (hkv_model_load(model_dir.string().c_str(), &mp, &f.model) != HKV_OK) {
      std::fprintf(stderr, "FAIL: load %s: %s\n", model_dir.string().c_str(), hkv_last_error());
      return 1;
    }
    hkv_model_get_info(f.model, &f.info);
    for (const auto &row : f.root.find("head_scores")->as_array())
      for (const auto &v : row.as_array()) f.head_scores.push_back((float)v.as_number());
    check_selections(f);
    check_decoding(f);
    check_large_budget_is_full(f);
    check_admission_scales_with_budget(f);
    hkv_model_free(f.model);
    files++;
  }
  return hkv_test::finish("test_headkv");
}
