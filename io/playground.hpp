#pragma once

// The playground ingress and egress (StateFun playground semantics, compat
// doc §3.4): request parsing for the ingress, and the in-memory topic queues
// of the egress. Pure logic; the HTTP servers are wired in apps/.

#include "io/module.hpp"
#include "protocol/messages.hpp"
#include "protocol/result.hpp"

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace hearth::io {

/// `/<namespace>/<type>/<id>` to an address. errc::malformed names the problem.
result<protocol::address> parse_ingress_path(const std::string& path);

/// The typename of an ingress body: `application/vnd.<typename>`, otherwise
/// io.statefun.types/string. errc::malformed when the vnd typename is not
/// `<namespace>/<name>`.
result<std::string> ingress_type_name(const std::string& content_type);

/// A record of the playground egress.
struct egress_record {
  std::string topic;
  std::string payload;
};

/// Decodes an io.statefun.playground/EgressRecord value ({"topic", "payload"}).
result<egress_record> decode_egress_record(const protocol::typed_value& v);

/// Per-topic FIFO queues, each bounded. Thread-safe.
class topic_queues {
public:
  explicit topic_queues(const playground_egress_spec& spec, size_t capacity = size_t{1} << 20);

  bool has_topic(const std::string& topic) const { return queues_.count(topic) != 0; }

  /// Appends; errc::unknown for an unknown topic, errc::too_large when full.
  status push(egress_record rec);

  /// Pops the oldest record of `topic`; nullopt when empty or unknown.
  std::optional<std::string> pop(const std::string& topic);

  size_t size(const std::string& topic) const;

private:
  size_t capacity_;
  mutable std::mutex mtx_;
  std::map<std::string, std::deque<std::string>> queues_;
};

} // namespace hearth::io
