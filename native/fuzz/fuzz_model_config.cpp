// fuzz_model_config.cpp: libFuzzer target for config.json parsing: the strict JSON reader
// followed by parse_model_config (loader/model_config.h) and its rope section. Rejections must
// be hkv::Error; any other exception (std::logic_error from a type-unchecked accessor), a crash
// or a sanitizer report (UBSan: integer overflow in the shape arithmetic) is a finding. An
// accepted config must satisfy the checks the engine relies on.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "error.h"
#include "loader/model_config.h"
#include "util/json.h"

namespace {

[[noreturn]] void invariant_broken(const char *what) {
  std::fprintf(stderr, "fuzz_model_config: accepted config breaks an invariant: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  try {
    hkv::json::Value root = hkv::json::parse(text, "config.json");
    hkv::Config cfg = hkv::loader::parse_model_config(root, "config.json");
    if (cfg.n_layers <= 0 || cfg.hidden <= 0 || cfg.intermediate <= 0 || cfg.vocab <= 0) invariant_broken("non-positive size");
    if (cfg.n_heads <= 0 || cfg.n_kv_heads <= 0 || cfg.n_heads % cfg.n_kv_heads != 0) invariant_broken("head counts");
    if (cfg.head_dim <= 0 || cfg.head_dim % 2 != 0) invariant_broken("head_dim must be positive and even");
    if (cfg.max_positions <= 0) invariant_broken("max_position_embeddings must be positive");
    if (!(cfg.rms_eps > 0.0f)) invariant_broken("rms_norm_eps must be positive");
  } catch (const hkv::Error &) {
    // A documented rejection.
  }
  return 0;
}
