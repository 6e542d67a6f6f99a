// FromFunction decoding and the checks of its effects: every decoded
// response re-encodes and decodes to the same value, and every egress record
// it carries goes through the decoders the runtime applies to it.

#include "io/playground.hpp"
#include "protocol/codec.hpp"

#include <cstdlib>

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view bytes{reinterpret_cast<const char*>(data), size};
  auto r = protocol::decode_from_function(bytes);
  if (!r)
    return 0;
  auto again = protocol::decode_from_function(protocol::encode(*r));
  if (!again)
    std::abort(); // what was decoded must encode to something decodable
  if (auto* resp = std::get_if<protocol::invocation_response>(&*r)) {
    for (auto& e : resp->egresses) {
      (void)io::decode_egress_record(e.argument);
      (void)protocol::decode_kafka_record(e.argument);
      (void)protocol::decode_kinesis_record(e.argument);
      (void)e.egress_id();
    }
    for (auto& m : resp->outgoing)
      (void)m.target.to_string();
  }
  return 0;
}
