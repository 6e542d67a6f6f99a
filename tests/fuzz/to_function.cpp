// ToFunction decoding: a decoded batch re-encodes to bytes that decode to the
// same batch.

#include "protocol/codec.hpp"

#include <cstdlib>

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  auto r = protocol::decode_to_function({reinterpret_cast<const char*>(data), size});
  if (!r)
    return 0;
  auto again = protocol::decode_to_function(protocol::encode(*r));
  if (!again || again->target != r->target || again->invocations.size() != r->invocations.size()
      || again->states.size() != r->states.size())
    std::abort();
  return 0;
}
