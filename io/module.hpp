#pragma once

// module.yaml: StateFun 3.x multi-document module definitions, as Hearth
// supports them (README "module.yaml reference"). Loading is done once at
// start-up, on the main thread.

#include "protocol/address.hpp"
#include "protocol/result.hpp"

#include <chrono>
#include <cstdint>
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

/// A loaded module.
struct module_config {
  std::vector<endpoint_spec> endpoints;
  std::optional<playground_ingress_spec> ingress;
  std::optional<playground_egress_spec> egress;

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
