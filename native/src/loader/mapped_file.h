// mapped_file.h: a whole file memory-mapped read-only (RAII: unmapped on destruction).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hkv::loader {

class MappedFile {
 public:
  // Maps `path`; throws hkv::Error(HKV_ERR_IO) naming the path when it cannot be opened,
  // is not a regular file, or cannot be mapped. An empty file maps to size() == 0.
  explicit MappedFile(const std::string &path);
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  const std::string &path() const { return path_; }
  const uint8_t *data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::string path_;
  const uint8_t *data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace hkv::loader
