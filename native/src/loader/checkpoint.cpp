// checkpoint.cpp: single-file and sharded safetensors checkpoints (checkpoint.h).
#include "loader/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "error.h"
#include "loader/json_fields.h"
#include "loader/text_file.h"
#include "util/json.h"

namespace hkv::loader {

namespace {

constexpr const char *kSingleFile = "model.safetensors";
constexpr const char *kIndexFile = "model.safetensors.index.json";

// A shard name from the index must name a file inside the folder, not a path out of it.
bool is_plain_file_name(const std::string &name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

}  // namespace

Checkpoint::Checkpoint(const std::string &dir) {
  namespace fs = std::filesystem;
  const std::string single = (fs::path(dir) / kSingleFile).string();
  const std::string index = (fs::path(dir) / kIndexFile).string();
  std::error_code ec;
  if (fs::exists(single, ec)) {
    files_.push_back(std::make_unique<SafetensorsFile>(single));
    lookup_source_ = single;
  } else if (fs::exists(index, ec)) {
    open_sharded(dir, index);
  } else {
    throw Error(HKV_ERR_IO, dir + ": no " + kSingleFile + " or " + kIndexFile + " in the model folder");
  }
  index_tensors();
}

void Checkpoint::open_sharded(const std::string &dir, const std::string &index_path) {
  lookup_source_ = index_path;
  json::Value root = json::parse(read_text_file(index_path), index_path);
  if (!root.is_object()) throw Error(HKV_ERR_FORMAT, index_path + ": top level must be a JSON object");
  JsonFields fields(root, index_path);
  const json::Value *weight_map = fields.find("weight_map");
  if (weight_map == nullptr) throw Error(HKV_ERR_FORMAT, index_path + ": missing required field \"weight_map\"");
  if (!weight_map->is_object()) fields.fail(HKV_ERR_FORMAT, "weight_map", "must be an object, got " + describe_json(*weight_map));

  // Shard name -> tensors the index places there; std::map keeps shards sorted by name.
  std::map<std::string, std::vector<std::string>> shards;
  for (const json::Member &entry : weight_map->as_object()) {
    if (!entry.value.is_string() || !is_plain_file_name(entry.value.as_string())) {
      throw Error(HKV_ERR_FORMAT, index_path + ": weight_map entry \"" + entry.key + "\" must be a file name in the model folder, got " +
                                      describe_json(entry.value));
    }
    shards[entry.value.as_string()].push_back(entry.key);
  }
  if (shards.empty()) throw Error(HKV_ERR_FORMAT, index_path + ": field \"weight_map\" is empty");

  for (const auto &[shard_name, tensor_names] : shards) {
    const std::string shard_path = (std::filesystem::path(dir) / shard_name).string();
    std::error_code ec;
    if (!std::filesystem::exists(shard_path, ec)) {
      throw Error(HKV_ERR_IO, shard_path + ": shard listed in " + index_path + " (for tensor \"" + tensor_names.front() +
                                  "\") does not exist");
    }
    files_.push_back(std::make_unique<SafetensorsFile>(shard_path));
    const SafetensorsFile &shard = *files_.back();
    for (const std::string &tensor : tensor_names) {
      if (shard.find(tensor) == nullptr) {
        throw Error(HKV_ERR_FORMAT, index_path + ": weight_map puts tensor \"" + tensor + "\" in " + shard_path +
                                        ", which does not contain it");
      }
    }
  }
}

void Checkpoint::index_tensors() {
  for (const auto &file : files_) {
    for (const TensorInfo &tensor : file->tensors()) {
      auto [it, inserted] = tensors_.emplace(tensor.name, Location{&tensor, file.get()});
      if (!inserted) {
        throw Error(HKV_ERR_FORMAT, "tensor \"" + tensor.name + "\" is stored twice: in " + it->second.file->path() + " and in " +
                                        file->path());
      }
    }
  }
}

const TensorInfo *Checkpoint::find(const std::string &name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second.tensor;
}

const std::string &Checkpoint::file_of(const std::string &name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? lookup_source_ : it->second.file->path();
}

}  // namespace hkv::loader
