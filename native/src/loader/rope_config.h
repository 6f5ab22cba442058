// rope_config.h: reads the rotary-embedding settings of config.json in both the transformers
// 4.x form (top-level rope_theta + rope_scaling) and the 5.x form (rope_parameters).
#pragma once

#include <string>

#include "model.h"
#include "util/json.h"

namespace hkv::loader {

// `root` is the config.json object, `file` its path for messages. Unknown rope types (yarn,
// dynamic, longrope, ...) throw hkv::Error(HKV_ERR_UNSUPPORTED) naming the field.
RopeConfig parse_rope_config(const json::Value &root, const std::string &file);

}  // namespace hkv::loader
