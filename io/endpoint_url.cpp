#include "io/endpoint_url.hpp"

#include <algorithm>
#include <cctype>

namespace hearth::io {

namespace {

std::string lower_prefix(const std::string& s, size_t n) {
  std::string out = s.substr(0, n);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool has_scheme(const std::string& url, const std::string& scheme) {
  return lower_prefix(url, scheme.size()) == scheme;
}

} // namespace

result<endpoint_url> parse_endpoint_url(const std::string& url) {
  if (has_scheme(url, "http://") || has_scheme(url, "https://"))
    return endpoint_url{url, {}};
  std::string scheme;
  for (auto* s : {"http+unix://", "https+unix://"})
    if (has_scheme(url, s))
      scheme = s;
  if (scheme.empty())
    return error{errc::malformed, "must start with http://, https://, http+unix:// or "
                                  "https+unix://, got '" + url + "'"};
  // The socket file: the path up to the first segment ending in ".sock".
  auto rest = url.substr(scheme.size()); // "/run/fns.sock/counter"
  for (size_t pos = rest.find(".sock"); pos != std::string::npos; pos = rest.find(".sock", pos + 1)) {
    auto end = pos + 5;
    if (end != rest.size() && rest[end] != '/')
      continue;
    auto socket = rest.substr(0, end);
    auto path = end == rest.size() ? std::string{"/"} : rest.substr(end);
    auto http = scheme.substr(0, scheme.find('+')) + "://localhost" + path;
    if (socket.empty() || socket.front() != '/')
      break;
    return endpoint_url{http, socket};
  }
  return error{errc::malformed, "a " + scheme.substr(0, scheme.size() - 3)
                                  + " URL needs an absolute path whose first segment ending in "
                                    "'.sock' is the socket file, as in "
                                  + scheme + "/run/functions.sock/{function.name}; got '" + url
                                  + "'"};
}

} // namespace hearth::io
