// test_fixture_support.h: reading the committed transformers fixtures (test/fixtures/golden)
// in the engine tests: files, token id lists, and a fixture entry's compression parameters.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "headkv.h"
#include "util/json.h"

namespace hkv_test {

// A loaded model and a context on it, freed together when the test is done with them.
struct EngineHandles {
  hkv_model *model = nullptr;
  hkv_context *ctx = nullptr;
  EngineHandles() = default;
  EngineHandles(const EngineHandles &) = delete;
  EngineHandles &operator=(const EngineHandles &) = delete;
  ~EngineHandles() {
    hkv_context_free(ctx);
    hkv_model_free(model);
  }
};

inline std::string read_file(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<int32_t> ints(const hkv::json::Value &v) {
  std::vector<int32_t> out;
  for (const auto &x : v.as_array()) out.push_back(static_cast<int32_t>(x.as_integer()));
  return out;
}

// The kv params of one "selections"/"decode" entry of a <model>.headkv.json fixture (root);
// head_scores must outlive the returned params.
inline hkv_kv_params fixture_kv_params(const hkv::json::Value &root, const hkv::json::Value &entry,
                                       const std::vector<float> &head_scores) {
  hkv_kv_params kv = hkv_kv_default_params();
  const std::string method = entry.find("method")->as_string();
  kv.method = method == "snapkv"       ? HKV_KV_SNAPKV
              : method == "pyramidkv"  ? HKV_KV_PYRAMIDKV
              : method == "ada-snapkv" ? HKV_KV_ADA_SNAPKV
              : method == "headkv"     ? HKV_KV_HEADKV
                                       : HKV_KV_FULL;
  kv.kv_size = (int32_t)entry.find("kv_size")->as_integer();
  kv.window = (int32_t)root.find("window")->as_integer();
  kv.pool_kernel = (int32_t)root.find("pool_kernel")->as_integer();
  kv.granularity = entry.find("granularity")->as_string() == "kv-head" ? HKV_GRANULARITY_KV_HEAD : HKV_GRANULARITY_QUERY_HEAD;
  kv.cap_at_prompt = root.find("cap_at_prompt")->as_bool() ? 1 : 0;
  kv.group_aggregation = root.find("group_aggregation")->as_string() == "max" ? 1 : 0;
  const hkv::json::Value *beta = entry.find("beta");
  if (beta && beta->is_number()) kv.beta = (float)beta->as_number();
  kv.head_scores = head_scores.data();
  return kv;
}

}  // namespace hkv_test
