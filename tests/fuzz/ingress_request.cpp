// Ingress request parsing: the path, the Content-Type (typename), the
// Idempotency-Key and the body, as the playground ingress takes them.
// Input: path, content type and body separated by "\n--\n".

#include "io/playground.hpp"
#include "fuzz_util.hpp"

#include <cstdlib>

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  fuzz::fields in{data, size};
  auto path = in.next();
  auto content_type = in.next();
  auto body = in.rest();
  auto target = io::parse_ingress_path(path);
  if (target && (target->type.ns.empty() || target->type.name.empty() || target->id.empty()))
    std::abort(); // an accepted path names a whole address
  auto value = io::ingress_value(content_type, body);
  if (value && value->type_name.empty())
    std::abort();
  return 0;
}
