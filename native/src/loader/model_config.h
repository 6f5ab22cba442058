// model_config.h: config.json -> hkv::Config for LlamaForCausalLM, MistralForCausalLM and
// Qwen2ForCausalLM, with transformers' defaults and the consistency checks the engine relies on.
#pragma once

#include <string>

#include "model.h"
#include "util/json.h"

namespace hkv::loader {

// `root` is the parsed config.json, `file` its path for messages. Throws hkv::Error:
// UNSUPPORTED for another architecture or feature, FORMAT for a missing or inconsistent field.
Config parse_model_config(const json::Value &root, const std::string &file);

}  // namespace hkv::loader
