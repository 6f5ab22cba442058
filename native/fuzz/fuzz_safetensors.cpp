// fuzz_safetensors.cpp: libFuzzer target for the safetensors header parser (loader/safetensors.h).
// The input is a whole .safetensors file. SafetensorsFile only opens paths, so the bytes go into
// an anonymous in-memory file (memfd) opened through /proc/self/fd. Rejections must be
// hkv::Error; any other exception, a crash or a sanitizer report is a finding. Accepted files
// must describe tensors that lie inside the mapping, since the engine reads them without checks.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "error.h"
#include "loader/safetensors.h"

namespace {

// One memfd reused across runs (truncated and rewritten each time): creating one per input
// would dominate the run time.
int input_fd() {
  static int fd = [] {
    int created = memfd_create("fuzz_safetensors", 0);
    if (created < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    return created;
  }();
  return fd;
}

void write_all(int fd, const uint8_t *data, size_t size) {
  if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) std::abort();
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n <= 0) std::abort();
    data += n;
    size -= static_cast<size_t>(n);
  }
}

[[noreturn]] void invariant_broken(const std::string &what) {
  std::fprintf(stderr, "fuzz_safetensors: accepted file breaks an invariant: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = input_fd();
  write_all(fd, data, size);
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    hkv::loader::SafetensorsFile file(path);
    uint64_t header_bytes = file.header_json().size();
    for (const hkv::loader::TensorInfo &tensor : file.tensors()) {
      const uint8_t *mapping_begin = reinterpret_cast<const uint8_t *>(file.header_json().data()) - 8;
      uint64_t begin = static_cast<uint64_t>(tensor.data - mapping_begin);
      if (begin < 8 + header_bytes) invariant_broken("tensor \"" + tensor.name + "\" starts inside the header");
      if (begin > size || tensor.nbytes > size - begin) {
        invariant_broken("tensor \"" + tensor.name + "\" runs past the end of the file");
      }
      if (file.find(tensor.name) != &tensor) invariant_broken("find(\"" + tensor.name + "\") does not return the tensor");
      // Touch the first and last byte: the engine reads tensors straight from the mapping.
      if (tensor.nbytes > 0) {
        volatile uint8_t first = tensor.data[0];
        volatile uint8_t last = tensor.data[tensor.nbytes - 1];
        (void)first;
        (void)last;
      }
    }
  } catch (const hkv::Error &) {
    // A documented rejection.
  }
  return 0;
}
