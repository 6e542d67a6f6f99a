#pragma once

// io::endpoint_url: where a function's URL points. StateFun's schemes are
// http://, https://, and http+unix:// and https+unix:// for a UNIX domain
// socket: the first path segment ending in ".sock" is the socket file and the
// rest is the request path (http+unix:///run/fns.sock/counter is POST
// /counter over /run/fns.sock).

#include "protocol/result.hpp"

#include <string>

namespace hearth::io {

struct endpoint_url {
  std::string url;         // an http:// or https:// URL to request
  std::string unix_socket; // the socket file; empty: TCP
};

/// Splits `url`; errc::malformed for another scheme, or a +unix URL with no
/// path segment ending in ".sock".
result<endpoint_url> parse_endpoint_url(const std::string& url);

} // namespace hearth::io
