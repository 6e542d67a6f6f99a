#pragma once

// io::aws: AWS Signature Version 4 for Hearth's own requests (Kinesis and
// S3), computed here rather than by libcurl (curl 7.88 mis-signs some query
// strings: docs/connectors.md), and checked against AWS's published test
// vectors. Also where credentials and regions come from, as AWS's SDKs
// resolve them.
//
// Thread-safe: pure functions.

#include "protocol/result.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::io::aws {

struct credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token; // empty: none
};

/// One HTTP request, as it will be sent.
struct request {
  std::string method;                                        // "GET", "POST", ...
  std::string host;                                          // "host" or "host:port", as in the Host header
  std::string path = "/";                                    // not encoded yet ("/bucket/a key")
  std::vector<std::pair<std::string, std::string>> query;    // not encoded yet, any order
  std::vector<std::pair<std::string, std::string>> headers;  // besides Host and those sign() adds
  std::string payload_sha256;                                // hex; "UNSIGNED-PAYLOAD" allowed
};

/// Signs `r` for `region` and `service` at `now`: the headers to add to the
/// request (Authorization, X-Amz-Date, X-Amz-Security-Token when there is a
/// session token, and x-amz-content-sha256 for service "s3"). The canonical
/// path is the path URI-encoded ('/' kept), and for every service but "s3"
/// encoded twice, as AWS specifies.
std::vector<std::pair<std::string, std::string>> sign(const request& r, const credentials& c,
                                                      const std::string& region,
                                                      const std::string& service,
                                                      std::chrono::system_clock::time_point now);

/// Percent-encoding as SigV4 wants it (unreserved characters kept; '/' kept
/// only when `keep_slash`).
std::string uri_encode(std::string_view s, bool keep_slash);

/// The query string as sent and as signed: sorted, every name and value
/// encoded, '=' on empty values.
std::string canonical_query(std::vector<std::pair<std::string, std::string>> query);

/// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

} // namespace hearth::io::aws
