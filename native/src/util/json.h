// json.h: a small strict JSON (RFC 8259) reader producing a DOM, for config.json and
// safetensors headers. Strict means: no comments, no trailing commas, no NaN/Infinity, no
// duplicate object keys, valid UTF-8 only; every parse error names the source and line:column.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hkv::json {

enum class Type { Null, Bool, Number, String, Array, Object };

// Human-readable name of a type ("null", "boolean", "number", "string", "array", "object").
const char *type_name(Type type);

struct Member;

class Value {
 public:
  Value() = default;
  static Value make_null();
  static Value make_bool(bool b);
  // `integer` holds the exact value when the literal was an integer (no fraction, no
  // exponent) that fits int64; `is_integer` says so.
  static Value make_number(double number, bool is_integer, int64_t integer);
  static Value make_string(std::string s);
  static Value make_array(std::vector<Value> items);
  static Value make_object(std::vector<Member> members);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }
  // True for a number written as an integer literal that fits int64.
  bool is_integer() const { return type_ == Type::Number && is_integer_; }

  // Accessors; calling one on a value of another type throws std::logic_error (a caller bug:
  // callers check the type first and report bad input themselves).
  bool as_bool() const;
  double as_number() const;
  int64_t as_integer() const;
  const std::string &as_string() const;
  const std::vector<Value> &as_array() const;
  const std::vector<Member> &as_object() const;

  // Object member lookup; nullptr when absent. Throws std::logic_error on a non-object.
  const Value *find(std::string_view key) const;

 private:
  Type type_ = Type::Null;
  bool bool_ = false;
  bool is_integer_ = false;
  double number_ = 0.0;
  int64_t integer_ = 0;
  std::string string_;
  std::vector<Value> array_;
  std::vector<Member> object_;
};

struct Member {
  std::string key;
  Value value;
};

// Parses one JSON document (surrounding whitespace allowed). Throws hkv::Error(HKV_ERR_FORMAT)
// with a message "<source>:<line>:<column>: <what>" on any syntax error.
Value parse(std::string_view text, const std::string &source);

}  // namespace hkv::json
