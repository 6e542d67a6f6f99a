#pragma once

// io::function_client: sends a ToFunction to a remote function and delivers the
// decoded FromFunction, retrying within the call budget.
//
// Contract: invoke() is thread-safe and never blocks; `done` is called exactly
// once, on one of the client's I/O threads (never on the caller's), and must
// return quickly (post a message, nothing more). After shutdown() returns, no
// callback runs any more; calls still open are dropped without a callback.

#include "io/module.hpp"
#include "protocol/messages.hpp"
#include "protocol/result.hpp"

#include <functional>
#include <memory>
#include <string>

namespace hearth::io {

/// One call: where, what, and with which transport options.
struct function_request {
  std::string url;
  std::string body; // serialized ToFunction
  transport_options transport;
};

/// Outcome of a call: the decoded response, or errc::unavailable with the last
/// cause ("HTTP 500", "connection refused", "malformed response", "response
/// exceeds payload_max_bytes") once the call budget is spent, and the number
/// of attempts.
struct function_reply {
  result<protocol::from_function> response = error{errc::unavailable, "not sent"};
  int attempts = 0;
};

using completion = std::function<void(function_reply)>;

class function_client {
public:
  virtual ~function_client() = default;

  /// Starts a call; see the contract above.
  virtual void invoke(function_request req, completion done) = 0;

  /// Stops the I/O threads. Idempotent.
  virtual void shutdown() = 0;
};

/// Options of the libcurl client.
struct curl_client_options {
  /// Largest number of calls in flight, hence of open connections (the
  /// endpoints' largest pool_size). Further calls wait in the client's own
  /// queue, in order, never inside libcurl; a call's `call` budget starts
  /// with its first attempt, not in the queue. The queue holds at most one
  /// call per busy address (one request in flight per address), so it is
  /// bounded by the addresses a partition holds (partition.max_pending).
  long max_calls_in_flight = 1024;
  /// Cap on one backoff wait.
  std::chrono::milliseconds max_backoff{1000};
};

/// The libcurl multi-interface client with its own I/O thread and keep-alive
/// connection pool: every scheme, TLS included.
std::unique_ptr<function_client> make_curl_client(curl_client_options opts = {});

/// The runtime's client: plain HTTP (http://, http+unix://) over Boost.Beast
/// on one asio event loop with keep-alive pools per endpoint, the same
/// options, budget, retries and errors; https (and a URL with credentials)
/// goes to a libcurl client started on first use. The two share neither
/// threads nor connections; max_calls_in_flight bounds each.
std::unique_ptr<function_client> make_function_client(curl_client_options opts = {});

} // namespace hearth::io
