// test_loader_json.cpp: the strict JSON reader (util/json.h): values, escapes, exact integers,
// and one error per malformation with its line:column.
#include <cmath>
#include <string>

#include "test_loader_support.h"
#include "util/json.h"

using hkv::json::parse;
using hkv::json::Type;
using hkv::json::Value;
using hkv_test::expect_error;

static void test_values() {
  Value v = parse(R"( {"a": [1, -2.5e3, true, false, null], "b": {"c": "x\u00e9\ud83d\ude00\n\"/"}, "big": 9007199254740993} )",
                  "doc");
  CHECK(v.is_object());
  const Value *a = v.find("a");
  CHECK(a != nullptr && a->is_array() && a->as_array().size() == 5);
  if (a && a->is_array() && a->as_array().size() == 5) {
    const auto &items = a->as_array();
    CHECK(items[0].is_integer());
    CHECK_EQ_NUM(items[0].as_integer(), 1);
    CHECK(items[1].is_number() && !items[1].is_integer());
    CHECK_EQ_NUM(items[1].as_number(), -2500.0);
    CHECK(items[2].is_bool() && items[2].as_bool());
    CHECK(items[3].is_bool() && !items[3].as_bool());
    CHECK(items[4].is_null());
  }
  const Value *b = v.find("b");
  CHECK(b != nullptr && b->is_object());
  if (b && b->is_object()) {
    const Value *c = b->find("c");
    CHECK(c != nullptr && c->is_string());
    if (c && c->is_string()) CHECK_EQ_STR(c->as_string(), "x\xc3\xa9\xf0\x9f\x98\x80\n\"/");
  }
  // 2^53 + 1 is not representable as a double; the exact integer must survive.
  const Value *big = v.find("big");
  CHECK(big != nullptr && big->is_integer());
  if (big && big->is_integer()) CHECK(big->as_integer() == 9007199254740993LL);
  CHECK(v.find("absent") == nullptr);

  Value empty = parse("{}", "doc");
  CHECK(empty.is_object() && empty.as_object().empty());
  Value arr = parse("[[]]", "doc");
  CHECK(arr.is_array() && arr.as_array().size() == 1 && arr.as_array()[0].is_array());
  CHECK(parse("  \"raw \xe2\x82\xac\"  ", "doc").as_string() == "raw \xe2\x82\xac");
  CHECK(parse("0", "doc").as_integer() == 0);
  CHECK(parse("-0.0", "doc").as_number() == 0.0);
  CHECK(std::fabs(parse("1e-05", "doc").as_number() - 1e-5) < 1e-20);
  // An integer literal too large for int64 is still a number, just not an exact integer.
  Value huge = parse("123456789012345678901234567890", "doc");
  CHECK(huge.is_number() && !huge.is_integer());
  CHECK(parse("1e-400", "doc").as_number() == 0.0);
  // Object member order is kept.
  Value ordered = parse(R"({"z": 1, "a": 2})", "doc");
  CHECK(ordered.as_object().size() == 2 && ordered.as_object()[0].key == "z");
}

static void test_errors() {
  auto bad = [](const std::string &what, const std::string &text, const std::string &position,
                const std::string &detail) {
    expect_error(what, [&] { parse(text, "cfg.json"); }, HKV_ERR_FORMAT, {"cfg.json:" + position + ": ", detail});
  };
  bad("empty", "", "1:1", "unexpected end of input");
  bad("trailing comma in object", "{\"a\": 1,}", "1:9", "expected a string key");
  bad("trailing comma in array", "[1, 2,]", "1:7", "expected a value");
  bad("missing colon", "{\n  \"a\" 1\n}", "2:7", "expected ':'");
  bad("missing comma", "{\"a\": 1\n \"b\": 2}", "2:2", "expected ',' or '}'");
  bad("unterminated string", "{\"a\": \"abc", "1:7", "unterminated string");
  bad("bad escape", "\"a\\x\"", "1:3", "invalid escape");
  bad("bad unicode escape", "\"\\u12G4\"", "1:6", "invalid hex digit");
  bad("lone low surrogate", "\"\\udc00\"", "1:2", "unpaired low surrogate");
  bad("lone high surrogate", "\"\\ud800x\"", "1:2", "high surrogate");
  bad("control char", "\"a\tb\"", "1:3", "control character");
  bad("invalid utf8", "\"\xff\"", "1:2", "invalid UTF-8");
  bad("overlong utf8", "\"\xc0\xaf\"", "1:2", "invalid UTF-8");
  bad("truncated utf8", "\"\xe2\x82", "1:2", "UTF-8");
  bad("leading zero", "012", "1:2", "leading zeros");
  bad("bare minus", "-", "1:2", "expected a digit");
  bad("dot without digits", "1.", "1:3", "after '.'");
  bad("empty exponent", "1e+", "1:4", "exponent");
  bad("NaN", "NaN", "1:1", "expected a value");
  bad("Infinity", "[Infinity]", "1:2", "expected a value");
  bad("overflow", "1e999", "1:1", "out of range");
  bad("bad literal", "tru", "1:1", "invalid literal");
  bad("comment", "{} // x", "1:4", "unexpected content");
  bad("two values", "1 2", "1:3", "unexpected content");
  bad("duplicate key", "{\"a\": 1,\n \"b\": 2, \"a\": 3}", "2:10", "duplicate object key \"a\"");
  bad("unclosed array", "[1, 2", "1:6", "inside an array");
  bad("unclosed object", "{\"a\": 1", "1:8", "inside an object");
  std::string deep(300, '[');
  bad("too deep", deep, "1:257", "nesting deeper");
}

int main() {
  test_values();
  test_errors();
  return hkv_test::finish("test_loader_json");
}
