// text_file.h: reads a small whole file (config.json, the shard index) into memory.
#pragma once

#include <string>

namespace hkv::loader {

// Throws hkv::Error(HKV_ERR_IO) naming `path` when it cannot be read.
std::string read_text_file(const std::string &path);

}  // namespace hkv::loader
