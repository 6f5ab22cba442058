// rope_config.cpp: RoPE settings from config.json (rope_config.h). The required parameters per
// type follow transformers' rope validation (modeling_rope_utils): linear needs factor; llama3
// needs factor, low_freq_factor, high_freq_factor and original_max_position_embeddings.
#include "loader/rope_config.h"

#include <cmath>
#include <limits>

#include "error.h"
#include "loader/json_fields.h"

namespace hkv::loader {

namespace {

constexpr double kDefaultTheta = 10000.0;  // LlamaConfig / MistralConfig / Qwen2Config default

double positive_number(const JsonFields &fields, const std::string &name) {
  double v = fields.number(name);
  if (!(v > 0.0) || !std::isfinite(v)) fields.fail(HKV_ERR_FORMAT, name, "(=" + std::to_string(v) + ") must be a positive number");
  return v;
}

// Reads the type-specific parameters from `params` (the rope_scaling or rope_parameters object).
// `type_field` is the member that held the type, for messages.
void read_scaling(const JsonFields &params, const std::string &type_field, const std::string &type, RopeConfig &rope) {
  if (type == "default") {
    rope.type = RopeType::Default;
  } else if (type == "linear") {
    rope.type = RopeType::Linear;
    rope.factor = positive_number(params, "factor");
  } else if (type == "llama3") {
    rope.type = RopeType::Llama3;
    rope.factor = positive_number(params, "factor");
    rope.low_freq_factor = positive_number(params, "low_freq_factor");
    rope.high_freq_factor = positive_number(params, "high_freq_factor");
    int64_t original = params.integer("original_max_position_embeddings");
    if (original <= 0 || original > std::numeric_limits<int>::max()) {
      params.fail(HKV_ERR_FORMAT, "original_max_position_embeddings", "(=" + std::to_string(original) + ") must be a positive int32");
    }
    rope.original_max_position = static_cast<int>(original);
    // The llama3 smoothing divides by (high - low).
    if (!(rope.high_freq_factor > rope.low_freq_factor)) {
      params.fail(HKV_ERR_FORMAT, "high_freq_factor",
                  "(=" + std::to_string(rope.high_freq_factor) + ") must be greater than low_freq_factor (=" +
                      std::to_string(rope.low_freq_factor) + ")");
    }
  } else {
    params.fail(HKV_ERR_UNSUPPORTED, type_field, "= \"" + type + "\" is not supported (supported rope types: default, linear, llama3)");
  }
}

}  // namespace

RopeConfig parse_rope_config(const json::Value &root, const std::string &file) {
  JsonFields top(root, file);
  RopeConfig rope;
  rope.theta = top.number_or("rope_theta", kDefaultTheta);

  if (const json::Value *parameters = top.find("rope_parameters")) {
    // transformers 5.x: everything, theta included, lives in rope_parameters.
    if (!parameters->is_object()) top.fail(HKV_ERR_FORMAT, "rope_parameters", "must be an object, got " + describe_json(*parameters));
    JsonFields params(*parameters, file, "rope_parameters.");
    rope.theta = params.number_or("rope_theta", rope.theta);
    read_scaling(params, "rope_type", params.string_or("rope_type", "default"), rope);
  } else if (const json::Value *scaling = top.find("rope_scaling")) {
    // transformers 4.x: rope_scaling names its type in "rope_type" or, in older files, "type".
    if (!scaling->is_object()) top.fail(HKV_ERR_FORMAT, "rope_scaling", "must be an object or null, got " + describe_json(*scaling));
    JsonFields params(*scaling, file, "rope_scaling.");
    const char *type_field = params.has("rope_type") ? "rope_type" : "type";
    if (!params.has(type_field)) {
      throw Error(HKV_ERR_FORMAT, file + ": field \"rope_scaling\" has neither \"rope_type\" nor \"type\"");
    }
    read_scaling(params, type_field, params.string(type_field), rope);
  }
  if (!(rope.theta > 0.0) || !std::isfinite(rope.theta)) {
    throw Error(HKV_ERR_FORMAT, file + ": rope_theta (=" + std::to_string(rope.theta) + ") must be a positive number");
  }
  return rope;
}

}  // namespace hkv::loader
