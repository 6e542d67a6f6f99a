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


} // namespace hearth::io
