// module.yaml loading: any text either loads or fails with a message naming
// the file.

#include "io/module.hpp"

#include <cstdlib>

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string text{reinterpret_cast<const char*>(data), size};
  auto m = io::parse_module(text, "fuzz.yaml");
  if (!m && m.err().message.rfind("fuzz.yaml", 0) != 0)
    std::abort(); // every error names the file
  if (m)
    for (auto& ep : m->endpoints)
      (void)ep.url_for({"ns", "name"});
  return 0;
}
