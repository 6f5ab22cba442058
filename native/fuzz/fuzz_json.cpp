// fuzz_json.cpp: libFuzzer target for the strict JSON reader (util/json.h) that parses
// config.json and safetensors headers. Rejections must be hkv::Error with the
// "<source>:<line>:<column>: " prefix; any other exception, a crash or a sanitizer report is a
// finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "error.h"
#include "util/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  try {
    hkv::json::parse(text, "fuzz.json");
  } catch (const hkv::Error &error) {
    if (std::string(error.what()).rfind("fuzz.json:", 0) != 0) {
      std::fprintf(stderr, "fuzz_json: error message does not name the source: %s\n", error.what());
      std::abort();
    }
  }
  return 0;
}
