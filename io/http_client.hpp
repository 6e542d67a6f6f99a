#pragma once

// io::http_call: one blocking HTTP request, for tools (the hearth CLI). Not
// for the runtime, whose calls go through function_client.

#include "protocol/result.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace hearth::io {

struct http_reply {
  long status = 0;
  std::string body;
};

/// Sends `method url` with `body` and the given "Name: value" headers; an
/// https URL is checked against the CAs in `ca_file` (empty: the system's).
/// errc::unavailable when the server cannot be reached (refused, timeout, TLS).
result<http_reply> http_call(const std::string& method, const std::string& url,
                             const std::string& body = {},
                             const std::vector<std::string>& headers = {},
                             std::chrono::milliseconds timeout = std::chrono::seconds{120},
                             const std::string& ca_file = {});

} // namespace hearth::io
