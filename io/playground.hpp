#pragma once

// The playground ingress and egress (StateFun playground semantics, compat
// doc §3.4): request parsing for the ingress and the egress record format.
// Pure logic; the HTTP servers are wired in apps/, the durable topics are
// state::egress_store.

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

/// The message an ingress body carries. With `Content-Type:
/// application/vnd.<typename>` the body bytes pass through untouched under
/// that typename; any other body is text and becomes a proper
/// io.statefun.types/string value, which every SDK's asString() reads.
/// errc::malformed when the vnd typename is not `<namespace>/<name>`.
result<protocol::typed_value> ingress_value(const std::string& content_type, std::string body);

/// A record of the playground egress.
struct egress_record {
  std::string topic;
  std::string payload;
};

/// Decodes an io.statefun.playground/EgressRecord value ({"topic", "payload"}).
result<egress_record> decode_egress_record(const protocol::typed_value& v);


} // namespace hearth::io
