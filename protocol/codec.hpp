#pragma once

// Wire codec: the protocol value types to and from StateFun's protobuf bytes.
// Thread-safe (no shared state). Decoders never throw: malformed input is an
// errc::malformed error naming what was wrong.

#include "protocol/messages.hpp"
#include "protocol/result.hpp"

#include <string>
#include <string_view>

namespace hearth::protocol {

/// Serializes a ToFunction carrying `batch`.
std::string encode(const invocation_batch& batch);

/// Parses a ToFunction. Fails when the bytes are not a ToFunction with an invocation.
result<invocation_batch> decode_to_function(std::string_view bytes);

/// Serializes a FromFunction (used by tests and tools acting as a function).
std::string encode(const from_function& response);

/// Parses a FromFunction. Neither oneof set means an empty response (StateFun).
result<from_function> decode_from_function(std::string_view bytes);

/// Serializes a list of specs (an IncompleteInvocationContext); used to persist
/// registered specs in a format that is the protocol's own.
std::string encode_specs(const std::vector<state_spec>& specs);
result<std::vector<state_spec>> decode_specs(std::string_view bytes);

/// Generic egress records (statefun-sdk-protos io/*.proto).
struct kafka_record {
  std::string key;
  std::string value;
  std::string topic;
};
struct kinesis_record {
  std::string partition_key;
  std::string value;
  std::string stream;
  std::string explicit_hash_key;
};
inline constexpr const char* kafka_record_type_name =
  "type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord";
inline constexpr const char* kinesis_record_type_name =
  "type.googleapis.com/io.statefun.sdk.egress.KinesisEgressRecord";

result<kafka_record> decode_kafka_record(const typed_value& v);
/// The TypedValue an SDK's kafkaEgressMessage carries (for tests and tools).
typed_value encode_kafka_record(const kafka_record& r);
result<kinesis_record> decode_kinesis_record(const typed_value& v);

} // namespace hearth::protocol
