// json.cpp: recursive-descent parser for json.h. Positions are byte offsets until an error is
// reported, then turned into 1-based line:column (column counted in bytes).
#include "util/json.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <utility>

#include "error.h"

namespace hkv::json {

const char *type_name(Type type) {
  switch (type) {
    case Type::Null: return "null";
    case Type::Bool: return "boolean";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "unknown";
}

Value Value::make_null() { return Value(); }

Value Value::make_bool(bool b) {
  Value v;
  v.type_ = Type::Bool;
  v.bool_ = b;
  return v;
}

Value Value::make_number(double number, bool is_integer, int64_t integer) {
  Value v;
  v.type_ = Type::Number;
  v.number_ = number;
  v.is_integer_ = is_integer;
  v.integer_ = integer;
  return v;
}

Value Value::make_string(std::string s) {
  Value v;
  v.type_ = Type::String;
  v.string_ = std::move(s);
  return v;
}

Value Value::make_array(std::vector<Value> items) {
  Value v;
  v.type_ = Type::Array;
  v.array_ = std::move(items);
  return v;
}

Value Value::make_object(std::vector<Member> members) {
  Value v;
  v.type_ = Type::Object;
  v.object_ = std::move(members);
  return v;
}

static void require_type(Type actual, Type wanted) {
  if (actual != wanted) {
    throw std::logic_error(std::string("json::Value: wanted ") + type_name(wanted) + ", have " + type_name(actual));
  }
}

bool Value::as_bool() const {
  require_type(type_, Type::Bool);
  return bool_;
}

double Value::as_number() const {
  require_type(type_, Type::Number);
  return number_;
}

int64_t Value::as_integer() const {
  require_type(type_, Type::Number);
  if (!is_integer_) throw std::logic_error("json::Value: number is not an integer literal");
  return integer_;
}

const std::string &Value::as_string() const {
  require_type(type_, Type::String);
  return string_;
}

const std::vector<Value> &Value::as_array() const {
  require_type(type_, Type::Array);
  return array_;
}

const std::vector<Member> &Value::as_object() const {
  require_type(type_, Type::Object);
  return object_;
}

const Value *Value::find(std::string_view key) const {
  require_type(type_, Type::Object);
  for (const Member &m : object_) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}

namespace {

// Deep nesting is legal JSON but would exhaust the stack of a recursive parser on hostile input.
constexpr int kMaxDepth = 256;

class Parser {
 public:
  Parser(std::string_view text, const std::string &source) : text_(text), source_(source) {}

  Value parse_document() {
    skip_whitespace();
    Value v = parse_value(0);
    skip_whitespace();
    if (pos_ != text_.size()) fail(pos_, "unexpected content after the JSON value");
    return v;
  }

 private:
  std::string_view text_;
  const std::string &source_;
  size_t pos_ = 0;

  [[noreturn]] void fail(size_t at, const std::string &what) const {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < at && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw Error(HKV_ERR_FORMAT, source_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + what);
  }

  static std::string describe(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
    static const char *hex = "0123456789abcdef";
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  void skip_whitespace() {
    while (!at_end()) {
      char c = peek();
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  void expect_literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) fail(pos_, "invalid literal (expected '" + std::string(word) + "')");
    pos_ += word.size();
  }

  Value parse_value(int depth) {
    if (at_end()) fail(pos_, "unexpected end of input, expected a value");
    char c = peek();
    switch (c) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': return Value::make_string(parse_string());
      case 't': expect_literal("true"); return Value::make_bool(true);
      case 'f': expect_literal("false"); return Value::make_bool(false);
      case 'n': expect_literal("null"); return Value::make_null();
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
        fail(pos_, "unexpected " + describe(c) + ", expected a value");
    }
  }

  Value parse_object(int depth) {
    if (depth > kMaxDepth) fail(pos_, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    ++pos_;  // '{'
    std::vector<Member> members;
    std::vector<size_t> key_offsets;
    skip_whitespace();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return Value::make_object(std::move(members));
    }
    for (;;) {
      skip_whitespace();
      if (at_end()) fail(pos_, "unexpected end of input inside an object");
      if (peek() != '"') fail(pos_, "unexpected " + describe(peek()) + ", expected a string key");
      key_offsets.push_back(pos_);
      std::string key = parse_string();
      skip_whitespace();
      if (at_end() || peek() != ':') fail(pos_, at_end() ? "unexpected end of input, expected ':'" : "unexpected " + describe(peek()) + ", expected ':'");
      ++pos_;
      skip_whitespace();
      Value value = parse_value(depth);
      members.push_back(Member{std::move(key), std::move(value)});
      skip_whitespace();
      if (at_end()) fail(pos_, "unexpected end of input inside an object, expected ',' or '}'");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        break;
      }
      fail(pos_, "unexpected " + describe(peek()) + ", expected ',' or '}'");
    }
    reject_duplicate_keys(members, key_offsets);
    return Value::make_object(std::move(members));
  }

  void reject_duplicate_keys(const std::vector<Member> &members, const std::vector<size_t> &key_offsets) const {
    std::vector<size_t> order(members.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      int c = members[a].key.compare(members[b].key);
      return c != 0 ? c < 0 : a < b;
    });
    for (size_t i = 1; i < order.size(); ++i) {
      if (members[order[i]].key == members[order[i - 1]].key) {
        fail(key_offsets[order[i]], "duplicate object key \"" + members[order[i]].key + "\"");
      }
    }
  }

  Value parse_array(int depth) {
    if (depth > kMaxDepth) fail(pos_, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    ++pos_;  // '['
    std::vector<Value> items;
    skip_whitespace();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return Value::make_array(std::move(items));
    }
    for (;;) {
      skip_whitespace();
      items.push_back(parse_value(depth));
      skip_whitespace();
      if (at_end()) fail(pos_, "unexpected end of input inside an array, expected ',' or ']'");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        break;
      }
      fail(pos_, "unexpected " + describe(peek()) + ", expected ',' or ']'");
    }
    return Value::make_array(std::move(items));
  }

  Value parse_number() {
    size_t start = pos_;
    bool integer_literal = true;
    if (peek() == '-') ++pos_;
    if (at_end() || !is_digit(peek())) fail(pos_, "invalid number: expected a digit");
    if (peek() == '0') {
      ++pos_;
      if (!at_end() && is_digit(peek())) fail(pos_, "invalid number: leading zeros are not allowed");
    } else {
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    if (!at_end() && peek() == '.') {
      integer_literal = false;
      ++pos_;
      if (at_end() || !is_digit(peek())) fail(pos_, "invalid number: expected a digit after '.'");
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      integer_literal = false;
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (at_end() || !is_digit(peek())) fail(pos_, "invalid number: expected a digit in the exponent");
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    const char *first = text_.data() + start;
    const char *last = text_.data() + pos_;
    double number = 0.0;
    auto [ptr, ec] = std::from_chars(first, last, number);
    if (ec == std::errc::result_out_of_range) {
      // Underflow to zero is harmless; overflow to infinity is not representable in JSON.
      bool tiny = false;
      for (const char *p = first; p < last; ++p) {
        if (*p == 'e' || *p == 'E') tiny = p + 1 < last && p[1] == '-';
      }
      if (!tiny) fail(start, "number out of range: " + std::string(first, last));
      number = 0.0;
    } else if (ec != std::errc() || ptr != last) {
      fail(start, "invalid number: " + std::string(first, last));
    }
    int64_t integer = 0;
    bool fits = false;
    if (integer_literal) {
      auto r = std::from_chars(first, last, integer);
      fits = r.ec == std::errc() && r.ptr == last;
    }
    return Value::make_number(number, fits, fits ? integer : 0);
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  uint32_t parse_hex4() {
    if (text_.size() - pos_ < 4) fail(pos_, "unexpected end of input in a \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = hex_value(text_[pos_ + i]);
      if (h < 0) fail(pos_ + i, "invalid hex digit " + describe(text_[pos_ + i]) + " in a \\u escape");
      v = v * 16 + static_cast<uint32_t>(h);
    }
    pos_ += 4;
    return v;
  }

  static void append_utf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Validates one raw UTF-8 sequence starting at pos_ (a byte >= 0x80) and copies it.
  void copy_utf8_sequence(std::string &out) {
    size_t start = pos_;
    unsigned char b0 = static_cast<unsigned char>(text_[pos_]);
    int extra = 0;
    uint32_t cp = 0, min_cp = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      extra = 1, cp = b0 & 0x1F, min_cp = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      extra = 2, cp = b0 & 0x0F, min_cp = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      extra = 3, cp = b0 & 0x07, min_cp = 0x10000;
    } else {
      fail(start, "invalid UTF-8 lead " + describe(text_[pos_]) + " in a string");
    }
    if (text_.size() - pos_ <= static_cast<size_t>(extra)) fail(start, "truncated UTF-8 sequence in a string");
    for (int i = 1; i <= extra; ++i) {
      unsigned char b = static_cast<unsigned char>(text_[pos_ + i]);
      if ((b & 0xC0) != 0x80) fail(pos_ + i, "invalid UTF-8 continuation " + describe(text_[pos_ + i]) + " in a string");
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail(start, "invalid UTF-8 sequence in a string");
    out.append(text_.data() + pos_, static_cast<size_t>(extra) + 1);
    pos_ += static_cast<size_t>(extra) + 1;
  }

  std::string parse_string() {
    size_t start = pos_;
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail(start, "unterminated string");
      char c = peek();
      unsigned char u = static_cast<unsigned char>(c);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (u < 0x20) fail(pos_, "control character " + describe(c) + " in a string (must be escaped)");
      if (u >= 0x80) {
        copy_utf8_sequence(out);
        continue;
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      size_t escape_at = pos_;
      ++pos_;
      if (at_end()) fail(escape_at, "unterminated escape in a string");
      char e = peek();
      ++pos_;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail(escape_at, "unpaired low surrogate in a \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (text_.substr(pos_, 2) != "\\u") fail(escape_at, "high surrogate not followed by a \\u low surrogate");
            pos_ += 2;
            uint32_t low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail(escape_at, "high surrogate not followed by a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: fail(escape_at, "invalid escape '\\" + std::string(1, e) + "' in a string");
      }
    }
  }
};

}  // namespace

Value parse(std::string_view text, const std::string &source) {
  Parser parser(text, source);
  return parser.parse_document();
}

}  // namespace hkv::json
