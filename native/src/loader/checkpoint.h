// checkpoint.h: the safetensors files of a Hugging Face model folder, single-file
// (model.safetensors) or sharded (model.safetensors.index.json + the shards its weight_map names),
// with a lookup of tensors by name across them.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "loader/safetensors.h"

namespace hkv::loader {

class Checkpoint {
 public:
  // Opens `dir`'s checkpoint: model.safetensors when present (as transformers prefers it),
  // otherwise model.safetensors.index.json. Throws hkv::Error naming the file.
  explicit Checkpoint(const std::string &dir);

  // nullptr when no file holds the tensor.
  const TensorInfo *find(const std::string &name) const;
  // Where a missing tensor was expected (for messages): the single file, or the index file.
  const std::string &lookup_source() const { return lookup_source_; }
  // The file holding a tensor that find() returned.
  const std::string &file_of(const std::string &name) const;
  // Files sorted by file name (the fingerprint's order).
  const std::vector<std::unique_ptr<SafetensorsFile>> &files() const { return files_; }

 private:
  void open_sharded(const std::string &dir, const std::string &index_path);
  void index_tensors();

  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::string lookup_source_;  // the single file or the index file
  struct Location {
    const TensorInfo *tensor;
    const SafetensorsFile *file;
  };
  std::unordered_map<std::string, Location> tensors_;
};

}  // namespace hkv::loader
