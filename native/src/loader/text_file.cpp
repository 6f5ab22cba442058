// text_file.cpp: whole-file read (text_file.h).
#include "loader/text_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "error.h"

namespace hkv::loader {

std::string read_text_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    throw Error(HKV_ERR_IO, path + ": cannot open: " + std::strerror(err));
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(HKV_ERR_IO, path + ": read error");
  return text;
}

}  // namespace hkv::loader
