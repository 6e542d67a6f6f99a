#pragma once

// module.yaml: StateFun 3.x multi-document module definitions, as Hearth
// supports them (README "module.yaml reference"). Loading is done once at
// start-up, on the main thread.

#include "protocol/address.hpp"
#include "protocol/result.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hearth::io {

using millis = std::chrono::milliseconds;

/// TLS options of an endpoint (StateFun's v2 transport names). Files are PEM;
/// the client key may be encrypted (PKCS#8), its password read at load time
/// from the file `client_key_password` names.
struct tls_options {
  std::string trust_cacerts;       // CA certificates to trust; empty: the system's
  std::string client_cert;         // for mutual TLS, with client_key
  std::string client_key;
  std::string client_key_password; // the password itself; empty: none

  /// One string that differs whenever any option does.
  std::string signature() const {
    return trust_cacerts + '\n' + client_cert + '\n' + client_key + '\n' + client_key_password;
  }
};

/// HTTP transport options of an endpoint (StateFun's async transport names).
struct transport_options {
  millis call{std::chrono::minutes{2}};   // budget for all attempts of one request
  millis connect{std::chrono::seconds{20}};
  millis pool_ttl{std::chrono::seconds{15}};
  std::uint32_t pool_size = 1024;
  std::uint64_t payload_max_bytes = 32ull << 20;
  std::shared_ptr<const tls_options> tls; // null: no TLS options given
};

/// `io.statefun.endpoints.v2/http` (and v1): where a set of function types is served.
struct endpoint_spec {
  std::string ns;          // namespace of the functions
  std::string name;        // function name, or empty for the `ns/*` wildcard
  std::string url_template; // may contain {function.name}
  std::uint32_t max_batch = 1000; // maxNumBatchRequests; 0 = no cap
  transport_options transport;
  std::string origin;      // "file:line" of the document, for messages

  bool wildcard() const { return name.empty(); }
  /// The URL for function type `t` ({function.name} replaced by t.name).
  std::string url_for(const protocol::function_type& t) const;
};

/// `io.statefun.playground.v1/ingress`.
struct playground_ingress_spec {
  std::uint16_t port = 8090;
};

/// `io.statefun.playground.v1/egress`.
struct playground_egress_spec {
  std::uint16_t port = 8091;
  std::vector<std::string> topics;
  /// `deliverySemantic: at-least-once`: records visible at once (duplicates
  /// possible after a crash). Default exactly-once: visible when the
  /// checkpoint that produced them completes.
  bool at_least_once = false;
};

/// A `key: value` entry of a connector's `properties` (or
/// `clientConfigProperties`) list, with where it was written.
struct connector_property {
  std::string key;
  std::string value;
  std::string origin; // "file:line"
};

/// A topic (or stream) of a connector ingress: its records' values become
/// TypedValues of `value_type`, sent to every target with the record's key
/// (Kafka) or partition key (Kinesis) as the id.
struct ingress_route {
  std::string name;       // topic or stream
  std::string value_type; // "<namespace>/<name>"
  std::vector<protocol::function_type> targets;
};

/// Where a Kafka ingress starts reading a partition the checkpoint knows
/// nothing of (StateFun's startupPosition).
struct kafka_startup {
  enum class kind { group_offsets, earliest, latest, specific_offsets, date } type = kind::latest;
  /// specific-offsets: "<topic>/<partition>" -> offset; partitions not named
  /// start at autoOffsetResetPosition.
  std::map<std::string, std::int64_t> offsets;
  std::int64_t date_ms = 0; // date: milliseconds since the epoch
};

/// `io.statefun.kafka.v1/ingress`.
struct kafka_ingress_spec {
  protocol::function_type id; // the ingress identifier, "<namespace>/<name>"
  std::string address;        // bootstrap.servers (may also come from properties)
  std::string group_id;       // consumerGroupId; empty: none (offsets are not committed to a group)
  std::vector<ingress_route> topics;
  bool reset_earliest = false; // autoOffsetResetPosition (default latest)
  kafka_startup startup;
  std::vector<connector_property> properties; // librdkafka consumer settings
  std::string origin;                         // "file:line" of the document
};

/// `io.statefun.kafka.v1/egress`.
struct kafka_egress_spec {
  protocol::function_type id; // functions address it as egress_namespace/egress_type
  std::string address;
  enum class delivery { exactly_once, at_least_once, none } semantic = delivery::at_least_once;
  millis transaction_timeout{std::chrono::minutes{15}};
  std::vector<connector_property> properties; // librdkafka producer settings
  std::string origin;
};

/// AWS settings of a Kinesis connector (StateFun's awsRegion / awsCredentials).
struct aws_region {
  enum class kind { default_chain, specific, custom_endpoint } type = kind::default_chain;
  std::string id;       // specific and custom-endpoint
  std::string endpoint; // custom-endpoint: "https://host:port"
};
struct aws_credentials {
  enum class kind { default_chain, basic, profile } type = kind::default_chain;
  std::string access_key_id, secret_access_key; // basic
  std::string profile_name, profile_path;       // profile (path empty: ~/.aws/credentials)
};

/// `io.statefun.kinesis.v1/ingress`.
struct kinesis_ingress_spec {
  protocol::function_type id;
  aws_region region;
  aws_credentials credentials;
  enum class start { latest, earliest, date } startup = start::latest;
  std::int64_t date_ms = 0;
  std::vector<ingress_route> streams;
  std::vector<connector_property> client_properties;
  std::string origin;
};

/// `io.statefun.kinesis.v1/egress`.
struct kinesis_egress_spec {
  protocol::function_type id;
  aws_region region;
  aws_credentials credentials;
  std::uint32_t max_outstanding = 1000;
  std::vector<connector_property> client_properties;
  std::string origin;
};

/// A loaded module.
struct module_config {
  std::vector<endpoint_spec> endpoints;
  std::optional<playground_ingress_spec> ingress;
  std::optional<playground_egress_spec> egress;
  std::vector<kafka_ingress_spec> kafka_ingresses;
  std::vector<kafka_egress_spec> kafka_egresses;
  std::vector<kinesis_ingress_spec> kinesis_ingresses;
  std::vector<kinesis_egress_spec> kinesis_egresses;

  /// The Kafka egress with identifier `id` (null: none).
  const kafka_egress_spec* find_kafka_egress(const protocol::function_type& id) const;
  /// The Kinesis egress with identifier `id` (null: none).
  const kinesis_egress_spec* find_kinesis_egress(const protocol::function_type& id) const;

  /// The endpoint serving `t`: an exact match first, then the namespace wildcard.
  const endpoint_spec* find_endpoint(const protocol::function_type& t) const;
};

/// Egress identifier of the playground egress (fixed, as in StateFun's playground).
inline constexpr const char* playground_egress_id = "io.statefun.playground/egress";
/// Typename of the records the playground egress accepts.
inline constexpr const char* playground_record_type = "io.statefun.playground/EgressRecord";

/// Reads and validates the module at `path`. Errors name the file, the line
/// and the field: "module.yaml:7: field 'spec.urlPathTemplate': is missing".
result<module_config> load_module(const std::string& path);

/// Same, from text; `name` is used in error messages.
result<module_config> parse_module(const std::string& text, const std::string& name);

/// Parses a duration the way StateFun (Flink TimeUtils) does: "2m", "1 min",
/// "10 sec", "500ms", "1minute"; a bare number is milliseconds. Zero and
/// negative durations are rejected.
result<millis> parse_duration(const std::string& text);

} // namespace hearth::io
