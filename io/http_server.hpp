#pragma once

// io::http_server: a small HTTP/1.1 server (Boost.Beast underneath) that hands
// every whole request to one handler. Connections are read and written by one
// event-driven I/O thread, within deadlines, so a slow or half-open client
// holds a socket but never a thread. A blocking handler runs on the server's
// own thread pool, never on a CAF scheduler thread, and may block; an
// event-driven one runs on the I/O thread and answers through a callback
// when it can (that is how the ingress holds back-pressured requests without
// holding threads).

#include "protocol/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hearth::io {

struct http_request {
  std::string method;
  std::string path;          // decoded path, without the query
  std::multimap<std::string, std::string> params; // query parameters, decoded
  std::string content_type;  // empty when absent
  std::string body;
  std::function<std::string(const std::string&)> header; // header lookup, "" when absent
};

struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers; // more response headers
};

/// A JSON error answer: {"error": message}.
http_response json_error(int status, const std::string& message);

/// A JSON answer from serialized JSON text.
http_response json_ok(std::string json_text, int status = 200);

/// Runs on a handler thread; it may take the request's body (move it out).
using http_handler = std::function<http_response(http_request&)>;

/// Answers one request: call it once, from any thread, now or later. An
/// answer after the server stopped is dropped.
using http_responder = std::function<void(http_response)>;

/// An event-driven handler: runs on the server's I/O thread, must not block,
/// and answers through `respond` (at once or later). A request waiting for
/// its answer holds no thread. It may take the request's body.
using http_async_handler = std::function<void(http_request&, http_responder respond)>;

struct http_server_options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0;                 // 0: any free port
  std::uint64_t max_body_bytes = 32ull << 20; // larger bodies get 413
  unsigned threads = 64;                  // concurrent requests being handled (blocking handler)
  unsigned max_connections = 1024;        // beyond: a new connection is closed at once
  std::size_t max_header_bytes = 16 << 10; // request line and headers; beyond: 431
  std::size_t max_target_bytes = 8 << 10; // the request target; beyond: 414
  // A kept-alive connection waits this long for the next request (advertised
  // in Keep-Alive: timeout=N), then is closed.
  std::chrono::milliseconds idle_timeout{5000};
  // From a request's first byte to the end of its headers (and the TLS
  // handshake); a slower client is closed.
  std::chrono::milliseconds header_timeout{10000};
  // Reading the body, and writing the answer.
  std::chrono::milliseconds body_timeout{60000};
  std::string name = "http";              // for log lines
  std::string tls_cert;                   // PEM certificate (chain): serve HTTPS; empty: HTTP
  std::string tls_key;                    // its PEM private key
};

class http_server {
public:
  virtual ~http_server() = default;
  /// The port actually bound.
  virtual std::uint16_t port() const = 0;
  /// Stops accepting and waits for the server thread. Idempotent.
  virtual void stop() = 0;
};

/// Binds and starts serving on a background thread. Fails with errc::io when
/// the address cannot be bound.
result<std::unique_ptr<http_server>> start_http_server(http_server_options opts,
                                                       http_handler handler);

/// The same with an event-driven handler (no thread pool: opts.threads only
/// bounds the requests with large bodies being read at once).
result<std::unique_ptr<http_server>> start_http_server(http_server_options opts,
                                                       http_async_handler handler);

} // namespace hearth::io
