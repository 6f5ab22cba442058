// json_fields.cpp: typed member reads with file/field-naming errors (json_fields.h).
#include "loader/json_fields.h"

#include <cmath>
#include <cstdio>
#include <utility>

#include "error.h"

namespace hkv::loader {

std::string describe_json(const json::Value &value) {
  switch (value.type()) {
    case json::Type::Null: return "null";
    case json::Type::Bool: return value.as_bool() ? "true" : "false";
    case json::Type::Number: {
      if (value.is_integer()) return std::to_string(value.as_integer());
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", value.as_number());
      return buf;
    }
    case json::Type::String: return "string \"" + value.as_string() + "\"";
    case json::Type::Array: return "an array";
    case json::Type::Object: return "an object";
  }
  return "?";
}

JsonFields::JsonFields(const json::Value &object, std::string file, std::string prefix)
    : object_(object), file_(std::move(file)), prefix_(std::move(prefix)) {}

void JsonFields::fail(hkv_status status, const std::string &name, const std::string &what) const {
  throw Error(status, file_ + ": field \"" + prefix_ + name + "\" " + what);
}

const json::Value *JsonFields::find(const std::string &name) const {
  const json::Value *v = object_.find(name);
  return (v == nullptr || v->is_null()) ? nullptr : v;
}

const json::Value &JsonFields::require(const std::string &name) const {
  const json::Value *v = find(name);
  if (v == nullptr) {
    throw Error(HKV_ERR_FORMAT, file_ + ": missing required field \"" + prefix_ + name + "\"");
  }
  return *v;
}

int64_t JsonFields::as_integer(const std::string &name, const json::Value &value) const {
  if (!value.is_integer()) fail(HKV_ERR_FORMAT, name, "must be an integer, got " + describe_json(value));
  return value.as_integer();
}

int64_t JsonFields::integer(const std::string &name) const { return as_integer(name, require(name)); }

int64_t JsonFields::integer_or(const std::string &name, int64_t fallback) const {
  const json::Value *v = find(name);
  return v == nullptr ? fallback : as_integer(name, *v);
}

double JsonFields::number(const std::string &name) const {
  const json::Value &v = require(name);
  if (!v.is_number()) fail(HKV_ERR_FORMAT, name, "must be a number, got " + describe_json(v));
  return v.as_number();
}

double JsonFields::number_or(const std::string &name, double fallback) const {
  return has(name) ? number(name) : fallback;
}

bool JsonFields::boolean_or(const std::string &name, bool fallback) const {
  const json::Value *v = find(name);
  if (v == nullptr) return fallback;
  if (!v->is_bool()) fail(HKV_ERR_FORMAT, name, "must be true or false, got " + describe_json(*v));
  return v->as_bool();
}

std::string JsonFields::string(const std::string &name) const {
  const json::Value &v = require(name);
  if (!v.is_string()) fail(HKV_ERR_FORMAT, name, "must be a string, got " + describe_json(v));
  return v.as_string();
}

std::string JsonFields::string_or(const std::string &name, const std::string &fallback) const {
  return has(name) ? string(name) : fallback;
}

}  // namespace hkv::loader
