// load_model.cpp: hkv::load_model (model.h): config.json + safetensors checkpoint -> LoadedModel.
#include <filesystem>
#include <memory>
#include <new>

#include "error.h"
#include "loader/checkpoint.h"
#include "loader/model_config.h"
#include "loader/text_file.h"
#include "loader/weight_binding.h"
#include "model.h"
#include "util/json.h"
#include "util/sha256.h"

namespace hkv {

namespace {

// Keeps the mapped checkpoint files and the converted fp32 buffer alive for Weights.
class CheckpointStore final : public WeightStore {
 public:
  CheckpointStore(std::unique_ptr<loader::Checkpoint> checkpoint, loader::AlignedBuffer converted)
      : checkpoint_(std::move(checkpoint)), converted_(std::move(converted)) {}

 private:
  std::unique_ptr<loader::Checkpoint> checkpoint_;
  loader::AlignedBuffer converted_;
};

// sha256 over config.json's bytes, then each safetensors header as stored, files in name order:
// identifies the model's architecture and tensor layout without hashing the weights.
std::string fingerprint(const std::string &config_text, const loader::Checkpoint &checkpoint) {
  Sha256 h;
  h.update(config_text.data(), config_text.size());
  for (const auto &file : checkpoint.files()) h.update(file->header_json().data(), file->header_json().size());
  return h.hex_digest();
}

std::unique_ptr<LoadedModel> load(const std::string &dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw Error(HKV_ERR_IO, dir + ": model folder does not exist or is not a directory");
  }
  const std::string config_path = (std::filesystem::path(dir) / "config.json").string();
  const std::string config_text = loader::read_text_file(config_path);
  const json::Value config_json = json::parse(config_text, config_path);

  auto model = std::make_unique<LoadedModel>();
  model->config = loader::parse_model_config(config_json, config_path);
  auto checkpoint = std::make_unique<loader::Checkpoint>(dir);
  loader::BoundWeights bound = loader::bind_weights(model->config, *checkpoint, config_path);
  model->weights = std::move(bound.weights);
  model->weights_dtype = loader::dtype_short_name(bound.dominant_dtype);
  model->n_params = bound.n_params;
  model->fingerprint = fingerprint(config_text, *checkpoint);
  model->store = std::make_unique<CheckpointStore>(std::move(checkpoint), std::move(bound.converted));
  return model;
}

}  // namespace

std::unique_ptr<LoadedModel> load_model(const std::string &dir) {
  try {
    return load(dir);
  } catch (const std::bad_alloc &) {
    throw Error(HKV_ERR_OUT_OF_MEMORY, dir + ": out of memory while loading the model");
  }
}

}  // namespace hkv
