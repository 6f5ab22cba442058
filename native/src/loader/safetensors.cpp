// safetensors.cpp: header parsing and validation for safetensors.h, following the format's
// reference implementation (huggingface/safetensors): header length limit of 100 MB, dtype
// names and sizes, data_offsets relative to the start of the data section.
#include "loader/safetensors.h"

#include <limits>

#include "error.h"
#include "loader/json_fields.h"
#include "util/json.h"

namespace hkv::loader {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit

struct DTypeSpec {
  const char *name;
  DType dtype;
  uint64_t bytes;
};

constexpr DTypeSpec kDTypes[] = {
    {"F32", DType::F32, 4},     {"F16", DType::F16, 2},     {"BF16", DType::BF16, 2},     {"F64", DType::Other, 8},
    {"I64", DType::Other, 8},   {"U64", DType::Other, 8},   {"I32", DType::Other, 4},     {"U32", DType::Other, 4},
    {"I16", DType::Other, 2},   {"U16", DType::Other, 2},   {"I8", DType::Other, 1},      {"U8", DType::Other, 1},
    {"BOOL", DType::Other, 1},  {"F8_E4M3", DType::Other, 1}, {"F8_E5M2", DType::Other, 1}, {"F8_E8M0", DType::Other, 1},
};

// Bytes per element, or 0 for a dtype name this table does not know (sub-byte or future
// dtypes: their extent cannot be checked, only their offsets).
const DTypeSpec *find_dtype(const std::string &name) {
  for (const DTypeSpec &spec : kDTypes) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

uint64_t read_u64_le(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

const char *dtype_short_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::Other: return "other";
  }
  return "other";
}

SafetensorsFile::SafetensorsFile(const std::string &path) : file_(path) {
  const std::string &p = file_.path();
  if (file_.size() < 8) {
    throw Error(HKV_ERR_IO, p + ": truncated: " + std::to_string(file_.size()) +
                                " bytes, too short for the 8-byte safetensors header length");
  }
  uint64_t header_bytes = read_u64_le(file_.data());
  if (header_bytes == 0 || header_bytes > kMaxHeaderBytes) {
    throw Error(HKV_ERR_FORMAT, p + ": header length " + std::to_string(header_bytes) +
                                    " is invalid (must be 1.." + std::to_string(kMaxHeaderBytes) + "): not a safetensors file?");
  }
  if (header_bytes > file_.size() - 8) {
    throw Error(HKV_ERR_IO, p + ": truncated: header length " + std::to_string(header_bytes) + " runs past the end of the file (" +
                                std::to_string(file_.size()) + " bytes)");
  }
  header_ = std::string_view(reinterpret_cast<const char *>(file_.data() + 8), header_bytes);
  data_section_ = file_.data() + 8 + header_bytes;
  data_size_ = file_.size() - 8 - header_bytes;
  parse_header();
}

const TensorInfo *SafetensorsFile::find(const std::string &name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::parse_header() {
  const std::string &p = file_.path();
  json::Value root = json::parse(header_, p + " (header)");
  if (!root.is_object()) throw Error(HKV_ERR_FORMAT, p + ": header must be a JSON object, got " + describe_json(root));

  tensors_.reserve(root.as_object().size());
  for (const json::Member &member : root.as_object()) {
    const std::string &name = member.key;
    if (name == "__metadata__") {
      bool string_map = member.value.is_object();
      if (string_map) {
        for (const json::Member &m : member.value.as_object()) string_map = string_map && m.value.is_string();
      }
      if (!string_map) throw Error(HKV_ERR_FORMAT, p + ": \"__metadata__\" must be an object of strings");
      continue;
    }
    const std::string where = p + ": tensor \"" + name + "\"";
    if (!member.value.is_object()) throw Error(HKV_ERR_FORMAT, where + " must be an object, got " + describe_json(member.value));
    JsonFields fields(member.value, p, name + ".");

    TensorInfo info;
    info.name = name;
    info.dtype_name = fields.string("dtype");
    const DTypeSpec *spec = find_dtype(info.dtype_name);
    info.dtype = spec ? spec->dtype : DType::Other;

    const json::Value *shape = fields.find("shape");
    if (shape == nullptr || !shape->is_array()) throw Error(HKV_ERR_FORMAT, where + ": \"shape\" must be an array of integers");
    info.numel = 1;
    for (const json::Value &dim : shape->as_array()) {
      int64_t d = fields.as_integer("shape", dim);
      if (d < 0) throw Error(HKV_ERR_FORMAT, where + ": negative dimension " + std::to_string(d) + " in \"shape\"");
      if (d != 0 && info.numel > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d)) {
        throw Error(HKV_ERR_FORMAT, where + ": \"shape\" element count overflows");
      }
      info.numel *= static_cast<uint64_t>(d);
      info.shape.push_back(d);
    }

    const json::Value *offsets = fields.find("data_offsets");
    if (offsets == nullptr || !offsets->is_array() || offsets->as_array().size() != 2) {
      throw Error(HKV_ERR_FORMAT, where + ": \"data_offsets\" must be an array [begin, end]");
    }
    int64_t begin = fields.as_integer("data_offsets", offsets->as_array()[0]);
    int64_t end = fields.as_integer("data_offsets", offsets->as_array()[1]);
    if (begin < 0 || end < begin) {
      throw Error(HKV_ERR_FORMAT, where + ": invalid data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "]");
    }
    if (static_cast<uint64_t>(end) > data_size_) {
      throw Error(HKV_ERR_FORMAT, where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                      "] run past the end of the data section (" + std::to_string(data_size_) +
                                      " bytes): file truncated or corrupt");
    }
    info.nbytes = static_cast<uint64_t>(end - begin);
    if (spec != nullptr) {
      bool overflow = info.numel > std::numeric_limits<uint64_t>::max() / spec->bytes;
      if (overflow || info.numel * spec->bytes != info.nbytes) {
        throw Error(HKV_ERR_FORMAT, where + ": data_offsets span " + std::to_string(info.nbytes) + " bytes but " +
                                        info.dtype_name + " shape of " + std::to_string(info.numel) +
                                        " elements needs " + (overflow ? std::string("more than 2^64") : std::to_string(info.numel * spec->bytes)));
      }
    }
    info.data = data_section_ + begin;
    by_name_.emplace(name, tensors_.size());
    tensors_.push_back(std::move(info));
  }
}

}  // namespace hkv::loader
