// test_golden.cpp: the engine against the PyTorch/transformers reference (llm.c's test_gpt2
// style). For every test/fixtures/golden/<model>.json: the logits at every prompt position
// (each prefix prefilled on its own, and with tiny prefill chunks) within the fixture's
// tolerance, and the greedy continuation token for token; where a golden has decode_logits
// (the sliding-window fixture), also the logits of every greedy step. Exits non-zero on any
// mismatch.
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

namespace {

using hkv_test::ints;
using hkv_test::read_file;

using Engine = hkv_test::EngineHandles;

// Prefills `prompt` in a fresh sequence and returns the last position's logits.
bool prefill_logits(hkv_context *ctx, const std::vector<int32_t> &prompt, int vocab, std::vector<float> &logits) {
  hkv_sampling_params sp = hkv_sampling_default_params();
  sp.max_new_tokens = 1;
  hkv_kv_params kv = hkv_kv_default_params();
  int32_t id = -1, token = -1;
  if (hkv_seq_add(ctx, prompt.data(), (int32_t)prompt.size(), &sp, &kv, &id) != HKV_OK ||
      hkv_seq_prefill(ctx, id, nullptr, nullptr, &token) != HKV_OK) {
    std::fprintf(stderr, "  engine error: %s\n", hkv_last_error());
    return false;
  }
  logits.resize(vocab);
  const bool ok = hkv_seq_get_logits(ctx, id, logits.data(), vocab) == HKV_OK;
  hkv_seq_remove(ctx, id);
  return ok;
}

void check_model(const fs::path &golden_path) {
  const hkv::json::Value golden = hkv::json::parse(read_file(golden_path), golden_path.string());
  const std::string name = golden.find("model")->as_string();
  const double tol = golden.find("tolerance")->find("logits_max_abs")->as_number();
  const fs::path model_dir = fs::path("test/fixtures/models") / name;

  for (int chunk : {512, 3}) {
    Engine e;
    hkv_model_params mp = hkv_model_default_params();
    mp.n_threads = 2;
    if (hkv_model_load(model_dir.string().c_str(), &mp, &e.model) != HKV_OK) {
      std::fprintf(stderr, "FAIL %s: load: %s\n", name.c_str(), hkv_last_error());
      ++hkv_test::failures();
      return;
    }
    hkv_model_info info;
    hkv_model_get_info(e.model, &info);
    hkv_context_params cp = hkv_context_default_params();
    cp.kv_cache_bytes = 64 << 20;
    cp.prefill_chunk = chunk;
    if (hkv_context_create(e.model, &cp, &e.ctx) != HKV_OK) {
      std::fprintf(stderr, "FAIL %s: context: %s\n", name.c_str(), hkv_last_error());
      ++hkv_test::failures();
      return;
    }
    int case_index = 0;
    for (const auto &c : golden.find("cases")->as_array()) {
      const std::vector<int32_t> prompt = ints(*c.find("prompt_ids"));
      const auto &logits_ref = c.find("logits")->as_array();
      double worst = 0.0;
      int worst_pos = -1;
      std::vector<float> logits;
      for (size_t n = 1; n <= prompt.size(); n++) {
        if (!prefill_logits(e.ctx, std::vector<int32_t>(prompt.begin(), prompt.begin() + n), info.vocab_size, logits)) {
          ++hkv_test::failures();
          return;
        }
        const auto &ref = logits_ref[n - 1].as_array();
        for (int v = 0; v < info.vocab_size; v++) {
          const double d = std::fabs(logits[v] - ref[v].as_number());
          if (d > worst) {
            worst = d;
            worst_pos = (int)n - 1;
          }
        }
      }
      std::printf("  %-16s chunk %3d case %d: %zu positions, max |logit diff| %.3g (tolerance %.3g)\n", name.c_str(), chunk,
                  case_index, prompt.size(), worst, tol);
      if (!(worst <= tol)) {
        std::fprintf(stderr, "FAIL %s case %d: logits differ by %.6g at position %d (tolerance %.3g)\n", name.c_str(),
                     case_index, worst, worst_pos, tol);
        ++hkv_test::failures();
      }

      // Greedy continuation through the decode path.
      const std::vector<int32_t> expected = ints(*c.find("greedy_ids"));
      hkv_sampling_params sp = hkv_sampling_default_params();
      sp.max_new_tokens = (int32_t)expected.size();
      hkv_kv_params kv = hkv_kv_default_params();
      int32_t id = -1, token = -1;
      std::vector<int32_t> got;
      if (hkv_seq_add(e.ctx, prompt.data(), (int32_t)prompt.size(), &sp, &kv, &id) != HKV_OK ||
          hkv_seq_prefill(e.ctx, id, nullptr, nullptr, &token) != HKV_OK) {
        std::fprintf(stderr, "FAIL %s: generate: %s\n", name.c_str(), hkv_last_error());
        ++hkv_test::failures();
        return;
      }
      got.push_back(token);
      // decode_logits[t]: the logits that chose greedy token t, read after the step that made it.
      const hkv::json::Value *decode_ref = c.find("decode_logits");
      double decode_worst = 0.0;
      int decode_worst_step = -1;
      auto check_decode_logits = [&](size_t step) {
        if (!decode_ref || step >= decode_ref->as_array().size()) return;
        std::vector<float> row(info.vocab_size);
        if (hkv_seq_get_logits(e.ctx, id, row.data(), info.vocab_size) != HKV_OK) {
          std::fprintf(stderr, "FAIL %s: decode logits: %s\n", name.c_str(), hkv_last_error());
          ++hkv_test::failures();
          return;
        }
        const auto &ref = decode_ref->as_array()[step].as_array();
        for (int v = 0; v < info.vocab_size; v++) {
          const double d = std::fabs(row[v] - ref[v].as_number());
          if (!(d <= decode_worst)) {
            decode_worst = d;
            decode_worst_step = (int)step;
          }
        }
      };
      check_decode_logits(0);
      hkv_step_token out[4];
      int32_t n_out = 0;
      while ((int)got.size() < sp.max_new_tokens && hkv_step(e.ctx, out, 4, &n_out) == HKV_OK && n_out > 0)
        for (int i = 0; i < n_out; i++)
          if (out[i].seq_id == id && out[i].token >= 0) {
            got.push_back(out[i].token);
            check_decode_logits(got.size() - 1);
          }
      hkv_seq_remove(e.ctx, id);
      if (decode_ref) {
        std::printf("  %-16s chunk %3d case %d: %zu decode steps, max |logit diff| %.3g (tolerance %.3g)\n", name.c_str(),
                    chunk, case_index, decode_ref->as_array().size(), decode_worst, tol);
        if (!(decode_worst <= tol)) {
          std::fprintf(stderr, "FAIL %s case %d: decode logits differ by %.6g at step %d (tolerance %.3g)\n",
                       name.c_str(), case_index, decode_worst, decode_worst_step, tol);
          ++hkv_test::failures();
        }
      }
      if (got != expected) {
        std::fprintf(stderr, "FAIL %s case %d: greedy tokens differ\n  got:     ", name.c_str(), case_index);
        for (int t : got) std::fprintf(stderr, "%d ", t);
        std::fprintf(stderr, "\n  expected: ");
        for (int t : expected) std::fprintf(stderr, "%d ", t);
        std::fprintf(stderr, "\n");
        ++hkv_test::failures();
      }
      case_index++;
    }
  }
}

}  // namespace

int main() {
  const fs::path dir = "test/fixtures/golden";
  std::vector<fs::path> files;
  if (fs::exists(dir))
    for (const auto &entry : fs::directory_iterator(dir)) {
      const std::string file = entry.path().filename().string();
      if (entry.path().extension() == ".json" && file.find(".headkv.") == std::string::npos) files.push_back(entry.path());
    }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "FAIL: no golden fixtures under %s (generate them with tools/reference/make_fixtures.py)\n",
                 dir.string().c_str());
    return 1;
  }
  for (const auto &f : files) check_model(f);
  return hkv_test::finish("test_golden");
}
