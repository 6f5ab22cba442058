// json_fields.h: typed reads of the members of one JSON object, for config files. Every error
// names the file and the field ("config.json: field \"rope_scaling.factor\" must be a number,
// got string \"2\""). A member whose value is null counts as absent, as transformers treats it.
#pragma once

#include <cstdint>
#include <string>

#include "headkv.h"
#include "util/json.h"

namespace hkv::loader {

// Short rendering of a JSON value for error messages: numbers and strings verbatim, containers
// by type name.
std::string describe_json(const json::Value &value);

class JsonFields {
 public:
  // `object` must outlive this reader. `prefix` is prepended to field names in messages
  // ("rope_scaling.").
  JsonFields(const json::Value &object, std::string file, std::string prefix = "");

  const std::string &file() const { return file_; }
  std::string field_name(const std::string &name) const { return prefix_ + name; }

  // nullptr when the member is absent or null.
  const json::Value *find(const std::string &name) const;
  bool has(const std::string &name) const { return find(name) != nullptr; }

  int64_t integer(const std::string &name) const;
  int64_t integer_or(const std::string &name, int64_t fallback) const;
  double number(const std::string &name) const;
  double number_or(const std::string &name, double fallback) const;
  bool boolean_or(const std::string &name, bool fallback) const;
  std::string string(const std::string &name) const;
  std::string string_or(const std::string &name, const std::string &fallback) const;

  // Throws hkv::Error(status, "<file>: field \"<prefix><name>\" <what>").
  [[noreturn]] void fail(hkv_status status, const std::string &name, const std::string &what) const;

  // Checks on a value already read from the field `name`.
  int64_t as_integer(const std::string &name, const json::Value &value) const;

 private:
  const json::Value &require(const std::string &name) const;

  const json::Value &object_;
  std::string file_;
  std::string prefix_;
};

}  // namespace hkv::loader
