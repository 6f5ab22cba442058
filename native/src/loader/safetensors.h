// safetensors.h: one memory-mapped .safetensors file: 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the
// data section. Every tensor entry is validated on open (layout only; whether the engine
// supports its dtype is decided by whoever uses the tensor).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "loader/mapped_file.h"

namespace hkv::loader {

// The dtypes the engine computes from; every other safetensors dtype is Other.
enum class DType { F32, F16, BF16, Other };

// "f32" / "f16" / "bf16" (the names LoadedModel::weights_dtype uses).
const char *dtype_short_name(DType dtype);

struct TensorInfo {
  std::string name;
  std::string dtype_name;      // as written in the header ("F32", "I8", ...)
  DType dtype = DType::Other;
  std::vector<int64_t> shape;
  uint64_t numel = 0;
  const uint8_t *data = nullptr;  // inside the mapping; not necessarily aligned
  uint64_t nbytes = 0;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws hkv::Error naming the file (and the tensor):
  // IO when missing or truncated before the end of the header, FORMAT for a malformed header
  // or data offsets outside the data section.
  explicit SafetensorsFile(const std::string &path);

  const std::string &path() const { return file_.path(); }
  // The raw header bytes (JSON, possibly space-padded), as stored.
  std::string_view header_json() const { return header_; }
  const std::vector<TensorInfo> &tensors() const { return tensors_; }
  // nullptr when the file has no tensor of that name.
  const TensorInfo *find(const std::string &name) const;

 private:
  void parse_header();

  MappedFile file_;
  std::string_view header_;
  const uint8_t *data_section_ = nullptr;
  uint64_t data_size_ = 0;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace hkv::loader
