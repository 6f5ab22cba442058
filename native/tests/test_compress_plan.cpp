// test_compress_plan.cpp: per-head budgets (compress/compress.h plan_compression): the
// published HeadKV allocation of HEADKV.md section 3 on the reference Llama-3-8B R2 scores
// (skipped when ../shared is absent), hand-checked small cases for every method, kv-head
// sums, caps at the prompt length with redistribution, and invalid parameters.
#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "compress/compress.h"
#include "test_loader_support.h"
#include "util/json.h"

using hkv::CompressionPlan;
using hkv::Config;
using hkv_test::expect_error;

namespace {

Config make_config(int n_layers, int n_heads, int n_kv_heads) {
  Config cfg;
  cfg.n_layers = n_layers;
  cfg.n_heads = n_heads;
  cfg.n_kv_heads = n_kv_heads;
  cfg.head_dim = 4;
  return cfg;
}

hkv_kv_params make_params(hkv_kv_method method, int kv_size, hkv_kv_granularity granularity) {
  hkv_kv_params kv{};
  kv.method = method;
  kv.kv_size = kv_size;
  kv.window = 8;
  kv.pool_kernel = 7;
  kv.beta = 1.01f;
  kv.temp = 1.0f;
  kv.granularity = granularity;
  kv.cap_at_prompt = 0;
  kv.group_aggregation = 0;
  kv.head_scores = nullptr;
  return kv;
}

int64_t sum(const std::vector<int32_t> &v) { return std::accumulate(v.begin(), v.end(), int64_t(0)); }

void check_caps(const std::string &what, const std::vector<int32_t> &actual, const std::vector<int32_t> &expected) {
  if (actual == expected) return;
  std::string a, e;
  for (int32_t x : actual) a += std::to_string(x) + " ";
  for (int32_t x : expected) e += std::to_string(x) + " ";
  std::fprintf(stderr, "FAIL %s:\n  actual:   %s\n  expected: %s\n", what.c_str(), a.c_str(), e.c_str());
  ++hkv_test::failures();
}

// The reference's published score file: "layer-head" -> per-trial scores; a head's score is
// the mean of its list. Returns false when the file is absent.
bool load_reference_scores(const std::string &path, std::vector<float> &scores) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  const hkv::json::Value doc = hkv::json::parse(text.str(), path);
  for (const auto &member : doc.as_object()) {
    double total = 0.0;
    for (const auto &v : member.value.as_array()) total += v.as_number();
    scores.push_back(float(total / double(member.value.as_array().size())));
  }
  return true;
}

void test_reference_allocation() {
  const std::string path = "../shared/reference/head_scores/Meta-Llama-3-8B-Instruct_retrieval_reasoning_heads.json";
  std::vector<float> scores;
  if (!load_reference_scores(path, scores)) {
    std::printf("SKIP reference allocation: %s not found\n", path.c_str());
    return;
  }
  CHECK_EQ_NUM(scores.size(), 1024);
  const Config cfg = make_config(32, 32, 8);
  struct Known {
    int kv_size;
    float beta;
    int min, max, median;  // median < 0: not published
    int64_t sum;
  };
  const Known known[] = {{128, 1.01f, 2, 1821, 14, 122864}, {64, 1.2f, 10, 719, -1, 57320},
                         {1024, 1.2f, -1, 13208, -1, 1040386}};
  for (const Known &k : known) {
    hkv_kv_params kv = make_params(HKV_KV_HEADKV, k.kv_size, HKV_GRANULARITY_QUERY_HEAD);
    kv.beta = k.beta;
    kv.head_scores = scores.data();
    const CompressionPlan plan = plan_compression(cfg, kv, 100000);
    CHECK(plan.compress);
    CHECK_EQ_NUM(plan.cache_heads, 32);
    CHECK_EQ_NUM(plan.window, 8);
    std::vector<int32_t> sorted = plan.caps;
    std::sort(sorted.begin(), sorted.end());
    if (k.min >= 0) CHECK_EQ_NUM(sorted.front(), k.min);
    CHECK_EQ_NUM(sorted.back(), k.max);
    // numpy's median of 1024 values: mean of the two middle ones.
    if (k.median >= 0) CHECK_EQ_NUM((sorted[511] + sorted[512]) / 2.0, k.median);
    CHECK_EQ_NUM(sum(plan.caps), k.sum);

    // kv-head granularity: a quarter of the query-head total, every KV head at least the floor.
    kv.granularity = HKV_GRANULARITY_KV_HEAD;
    const CompressionPlan kv_plan = plan_compression(cfg, kv, 100000);
    CHECK_EQ_NUM(kv_plan.cache_heads, 8);
    CHECK_EQ_NUM(kv_plan.caps.size(), 256);
    CHECK_EQ_NUM(sum(kv_plan.caps), k.sum / 4);
    if (k.min >= 0) CHECK(*std::min_element(kv_plan.caps.begin(), kv_plan.caps.end()) >= k.min);

    // Capped at a 4000-token prompt: nobody above the prefix, nothing lost.
    kv.cap_at_prompt = 1;
    const CompressionPlan capped = plan_compression(cfg, kv, 4000);
    CHECK(*std::max_element(capped.caps.begin(), capped.caps.end()) <= 4000 - 8);
    CHECK_EQ_NUM(sum(capped.caps), k.sum / 4);
  }
}

// Reads a committed file (tests run from the repository root).
std::string read_text(const std::string &path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "FAIL cannot read %s\n", path.c_str());
    ++hkv_test::failures();
    return "";
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<int32_t> flat_ints(const hkv::json::Value &matrix) {
  std::vector<int32_t> out;
  for (const auto &row : matrix.as_array())
    for (const auto &v : row.as_array()) out.push_back(int32_t(v.as_integer()));
  return out;
}

// test/fixtures/allocation/synthetic.json: allocations computed with numpy by
// tools/reference/allocation.py for small and 32x32 score matrices.
void test_synthetic_fixture() {
  const std::string path = "test/fixtures/allocation/synthetic.json";
  const std::string text = read_text(path);
  if (text.empty()) return;
  const hkv::json::Value doc = hkv::json::parse(text, path);
  const int window = int(doc.find("window")->as_integer());
  int cases = 0;
  for (const auto &matrix : doc.find("matrices")->as_array()) {
    const std::string name = matrix.find("name")->as_string();
    std::vector<float> scores;
    const auto &rows = matrix.find("scores")->as_array();
    for (const auto &row : rows)
      for (const auto &v : row.as_array()) scores.push_back(float(v.as_number()));
    const int n_layers = int(rows.size());
    const int n_heads = int(rows[0].as_array().size());
    const Config cfg = make_config(n_layers, n_heads, int(matrix.find("n_kv_heads")->as_integer()));
    for (const auto &c : matrix.find("cases")->as_array()) {
      hkv_kv_params kv = make_params(HKV_KV_HEADKV, int(c.find("kv_size")->as_integer()), HKV_GRANULARITY_QUERY_HEAD);
      kv.window = window;
      kv.beta = float(c.find("beta")->as_number());
      kv.temp = float(c.find("temp")->as_number());
      kv.head_scores = scores.data();
      const std::string what = name + " K=" + std::to_string(kv.kv_size) + " beta=" + std::to_string(kv.beta) +
                               " temp=" + std::to_string(kv.temp);
      const int n_prompt = 1 << 20;  // long enough that no cap matters
      check_caps(what + " query-head", plan_compression(cfg, kv, n_prompt).caps, flat_ints(*c.find("query_head_caps")));
      kv.granularity = HKV_GRANULARITY_KV_HEAD;
      check_caps(what + " kv-head", plan_compression(cfg, kv, n_prompt).caps, flat_ints(*c.find("kv_head_caps")));
      ++cases;
    }
  }
  for (const auto &c : doc.find("pyramidkv")->as_array()) {
    const Config cfg = make_config(int(c.find("n_layers")->as_integer()), 2, 1);
    hkv_kv_params kv = make_params(HKV_KV_PYRAMIDKV, int(c.find("kv_size")->as_integer()), HKV_GRANULARITY_KV_HEAD);
    kv.window = window;
    const int n_prompt = int(c.find("n_prompt")->as_integer());
    std::vector<int32_t> expected;
    for (const auto &v : c.find("caps")->as_array()) expected.push_back(int32_t(v.as_integer()));
    check_caps("pyramidkv K=" + std::to_string(kv.kv_size) + " n=" + std::to_string(n_prompt),
               plan_compression(cfg, kv, n_prompt).caps, expected);
    ++cases;
  }
  CHECK(cases > 0);
}

void test_headkv_small() {
  // L=2, H=2 (MHA). K=18, window 8: b=10; beta 2: per-head pool 5, pool 20, floor 5.
  // s = [1,3,2,2]/8 -> s*20+5 = [7.5, 12.5, 10, 10] -> half-even [8, 12, 10, 10].
  const Config cfg = make_config(2, 2, 2);
  const std::vector<float> scores = {1, 3, 2, 2};
  hkv_kv_params kv = make_params(HKV_KV_HEADKV, 18, HKV_GRANULARITY_KV_HEAD);
  kv.beta = 2.0f;
  kv.head_scores = scores.data();
  CompressionPlan plan = plan_compression(cfg, kv, 1000);
  CHECK(plan.compress);
  check_caps("headkv half-even", plan.caps, {8, 12, 10, 10});
  // Same plan twice: deterministic.
  check_caps("headkv deterministic", plan_compression(cfg, kv, 1000).caps, plan.caps);

  // temp 2: s^2 = [1,9,4,4]/18 -> s*20+5 = [6.11, 15, 9.44, 9.44] -> [6, 15, 9, 9].
  kv.temp = 2.0f;
  check_caps("headkv temp 2", plan_compression(cfg, kv, 1000).caps, {6, 15, 9, 9});
  kv.temp = 1.0f;

  // beta 1.2 with b = 12 (K=20): the reference's Python 12 // 1.2 is 10 (1.2 as a double is
  // below 1.2), float 1.2f would give 9. Pool 10*4 = 40, floor 2.
  // s*40+2 = [7, 17, 12, 12].
  kv.kv_size = 20;
  kv.beta = 1.2f;
  check_caps("headkv beta as typed", plan_compression(cfg, kv, 1000).caps, {7, 17, 12, 12});

  // beta 1: no floor, everything shared. s*40 = [5, 15, 10, 10] with b=10.
  kv.kv_size = 18;
  kv.beta = 1.0f;
  check_caps("headkv beta 1", plan_compression(cfg, kv, 1000).caps, {5, 15, 10, 10});
}

void test_kv_head_sums() {
  // L=2, H=4, 2 KV heads (group 2). K=17: b=9; beta 2: 9 // 2 = 4, pool 4*8 = 32, floor 5.
  // scores sum to 32: query caps = scores + 5 = [14,5,9,6, 13,8,5,12] (sum 72).
  // Group sums 19, 15, 21, 17 -> halves 9.5, 7.5, 10.5, 8.5 -> floors 34, total 36: the two
  // extra units go to the lowest indices among equal remainders -> [10, 8, 10, 8].
  const Config cfg = make_config(2, 4, 2);
  const std::vector<float> scores = {9, 0, 4, 1, 8, 3, 0, 7};
  hkv_kv_params kv = make_params(HKV_KV_HEADKV, 17, HKV_GRANULARITY_QUERY_HEAD);
  kv.beta = 2.0f;
  kv.head_scores = scores.data();
  check_caps("query-head caps", plan_compression(cfg, kv, 1000).caps, {14, 5, 9, 6, 13, 8, 5, 12});
  kv.granularity = HKV_GRANULARITY_KV_HEAD;
  const CompressionPlan plan = plan_compression(cfg, kv, 1000);
  CHECK_EQ_NUM(plan.cache_heads, 2);
  check_caps("kv-head caps", plan.caps, {10, 8, 10, 8});
}

void test_cap_at_prompt() {
  // L=1, H=4 (MHA), K=18: b=10; beta 2: pool 20, floor 5.
  const Config cfg = make_config(1, 4, 4);
  hkv_kv_params kv = make_params(HKV_KV_HEADKV, 18, HKV_GRANULARITY_KV_HEAD);
  kv.beta = 2.0f;

  // s*20+5 = [6, 6, 7, 21]; prompt 28 -> prefix 20: head 3 gives 1 back, weights .05 .05 .1
  // -> shares .25 .25 .5 -> the unit goes to head 2.
  std::vector<float> scores = {1, 1, 2, 16};
  kv.head_scores = scores.data();
  check_caps("reference keeps caps above the prefix", plan_compression(cfg, kv, 28).caps, {6, 6, 7, 21});
  kv.cap_at_prompt = 1;
  check_caps("cap at prompt", plan_compression(cfg, kv, 28).caps, {6, 6, 8, 20});

  // [5, 6, 14, 15] with prefix 11 (prompt 19): heads 2, 3 give 7 to head 1 (the only one with
  // weight), which then exceeds 11 and gives 2 to head 0 (zero weight, but the only one open).
  scores = {0, 1, 9, 10};
  kv.head_scores = scores.data();
  check_caps("redistribution iterates", plan_compression(cfg, kv, 19).caps, {7, 11, 11, 11});

  // All surplus to zero-weight heads: equal shares, remainder to the lower index.
  scores = {0, 0, 0, 1};  // [5, 5, 5, 25] at prefix 20 -> 5 units over 3 heads
  kv.head_scores = scores.data();
  check_caps("uniform fallback", plan_compression(cfg, kv, 28).caps, {7, 7, 6, 20});
}

void test_baselines() {
  const Config cfg = make_config(4, 2, 1);
  hkv_kv_params kv = make_params(HKV_KV_SNAPKV, 108, HKV_GRANULARITY_KV_HEAD);
  CompressionPlan plan = plan_compression(cfg, kv, 5000);
  CHECK(plan.compress);
  CHECK_EQ_NUM(plan.cache_heads, 1);
  check_caps("snapkv", plan.caps, {100, 100, 100, 100});
  kv.granularity = HKV_GRANULARITY_QUERY_HEAD;
  check_caps("snapkv query-head", plan_compression(cfg, kv, 5000).caps, std::vector<int32_t>(8, 100));

  // PyramidKV, b=100: min 100//20 = 5, max 195, steps 190//3 = 63 -> 195, 132, 69, 6.
  kv.method = HKV_KV_PYRAMIDKV;
  kv.granularity = HKV_GRANULARITY_KV_HEAD;
  check_caps("pyramidkv", plan_compression(cfg, kv, 5000).caps, {195, 132, 69, 6});
  // Prompt 158 (prefix 150 <= 195): max 150, min 200-150 = 50, steps 100//3 = 33.
  check_caps("pyramidkv short prompt", plan_compression(cfg, kv, 158).caps, {150, 117, 84, 51});
  // One layer: keeps b.
  check_caps("pyramidkv one layer", plan_compression(make_config(1, 2, 1), kv, 5000).caps, {100});

  // Ada-SnapKV: caps hold the uniform share; selection splits the layer total.
  kv.method = HKV_KV_ADA_SNAPKV;
  check_caps("ada-snapkv plan", plan_compression(cfg, kv, 5000).caps, {100, 100, 100, 100});
}

void test_no_compression() {
  const Config cfg = make_config(2, 2, 1);
  hkv_kv_params kv = make_params(HKV_KV_SNAPKV, 128, HKV_GRANULARITY_KV_HEAD);
  // Prompt no longer than the budget: every head keeps everything.
  CompressionPlan plan = plan_compression(cfg, kv, 128);
  CHECK(!plan.compress);
  CHECK_EQ_NUM(plan.window, 8);
  check_caps("short prompt keeps all", plan.caps, {120, 120});
  plan = plan_compression(cfg, kv, 5);
  CHECK(!plan.compress);
  CHECK_EQ_NUM(plan.window, 5);
  check_caps("tiny prompt keeps all", plan.caps, {0, 0});
  // full: no window, caps are the prompt.
  kv.method = HKV_KV_FULL;
  kv.kv_size = 0;  // ignored by full
  plan = plan_compression(cfg, kv, 5000);
  CHECK(!plan.compress);
  CHECK_EQ_NUM(plan.window, 0);
  check_caps("full", plan.caps, {5000, 5000});
}

void test_invalid() {
  const Config cfg = make_config(2, 2, 2);
  const std::vector<float> scores = {1, 2, 3, 4};
  auto params = [&] {
    hkv_kv_params kv = make_params(HKV_KV_HEADKV, 128, HKV_GRANULARITY_KV_HEAD);
    kv.head_scores = scores.data();
    return kv;
  };
  auto expect = [&](const std::string &what, hkv_kv_params kv, std::initializer_list<std::string> needles,
                    int n_prompt = 1000) {
    expect_error(
        what, [&] { plan_compression(cfg, kv, n_prompt); }, HKV_ERR_INVALID_ARGUMENT, needles);
  };
  hkv_kv_params kv = params();
  kv.kv_size = 4;
  expect("kv_size below window", kv, {"kv_compression.kv_size", "window + 1 (9)", "got 4"});
  kv = params();
  kv.window = 0;
  expect("window 0", kv, {"kv_compression.window", "got 0"});
  kv = params();
  kv.pool_kernel = 4;
  expect("even kernel", kv, {"kv_compression.pool_kernel", "odd", "got 4"});
  kv = params();
  kv.pool_kernel = 0;
  expect("kernel 0", kv, {"kv_compression.pool_kernel"});
  kv = params();
  kv.beta = 0.5f;
  expect("beta below 1", kv, {"kv_compression.beta", ">= 1", "0.5"});
  kv = params();
  kv.temp = 0.0f;
  expect("temp 0", kv, {"kv_compression.temp", "> 0"});
  kv = params();
  kv.head_scores = nullptr;
  expect("no scores", kv, {"kv_compression.head_scores", "required"});
  const std::vector<float> negative = {1, -2, 3, 4};
  kv = params();
  kv.head_scores = negative.data();
  expect("negative score", kv, {"kv_compression.head_scores", "layer 0 head 1", ">= 0", "-2"});
  const std::vector<float> zeros = {0, 0, 0, 0};
  kv = params();
  kv.head_scores = zeros.data();
  expect("all zero", kv, {"kv_compression.head_scores", "all scores are zero"});
  kv = params();
  kv.granularity = static_cast<hkv_kv_granularity>(7);
  expect("granularity", kv, {"kv_compression.granularity", "got 7"});
  kv = params();
  kv.method = static_cast<hkv_kv_method>(9);
  expect("method", kv, {"kv_compression.method", "9"});
  kv = params();
  kv.cap_at_prompt = 2;
  expect("cap_at_prompt", kv, {"kv_compression.cap_at_prompt", "got 2"});
  kv = params();
  kv.group_aggregation = 3;
  expect("group_aggregation", kv, {"kv_compression.group_aggregation", "got 3"});
  expect("empty prompt", params(), {"kv_compression.n_prompt", "got 0"}, 0);
  // beta and temp only matter to headkv: snapkv accepts them as they are.
  kv = params();
  kv.method = HKV_KV_SNAPKV;
  kv.beta = 0.0f;
  kv.head_scores = nullptr;
  CHECK(plan_compression(cfg, kv, 1000).compress);
}

}  // namespace

int main() {
  test_reference_allocation();
  test_synthetic_fixture();
  test_headkv_small();
  test_kv_head_sums();
  test_cap_at_prompt();
  test_baselines();
  test_no_compression();
  test_invalid();
  return hkv_test::finish("test_compress_plan");
}
