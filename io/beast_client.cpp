// The function client for plain HTTP (http:// and http+unix://): Boost.Beast
// on one asio event loop. See make_function_client in function_client.hpp.
//
// One I/O thread owns every connection and call: no locks on the hot path
// beyond asio's own post. A call takes a kept-alive connection to its
// endpoint (or opens one), writes the request from the caller's buffer (no
// copy), reads the answer with Beast's parser (limits: headers 16 KiB, body
// payload_max_bytes) and hands the decoded FromFunction to its completion.
// Failures are retried with retry_policy's backoff within the call budget,
// like the libcurl client. A kept-alive connection is peeked at before reuse
// (one the server closed while idle is dropped); one that turns out closed
// with nothing answered anyway (closed between the peek and the request) is
// replaced without counting an attempt.

#include "io/endpoint_url.hpp"
#include "io/function_client.hpp"
#include "io/retry_policy.hpp"
#include "protocol/codec.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace hearth::io {

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using clock = std::chrono::steady_clock;
using generic_socket = asio::generic::stream_protocol::socket;

/// Where one URL's calls go: a TCP host and port, or a UNIX socket file, and
/// the request target. Parsed once per URL (I/O thread).
struct target {
  std::string pool_key;    // "tcp host:port" or "unix /path"
  std::string host;        // TCP: the host to resolve
  std::string port;        // TCP: the port ("80" by default)
  std::string unix_socket; // set: a UNIX domain socket
  std::string head;        // "POST <target> HTTP/1.1\r\nHost: ...\r\n<fixed headers>Content-Length: "
};

/// Splits a plain http:// (or http+unix://) URL into a target; nullopt for
/// what this client leaves to libcurl (https, credentials in the URL).
std::optional<target> plain_target(const std::string& url) {
  auto where = parse_endpoint_url(url);
  if (!where)
    return std::nullopt;
  const std::string& u = where->url;
  if (u.size() < 7 || !std::equal(u.begin(), u.begin() + 7, "http://",
                                  [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; }))
    return std::nullopt;
  auto rest = u.substr(7);
  auto slash = rest.find_first_of("/?#");
  auto authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (auto hash = path.find('#'); hash != std::string::npos)
    path.erase(hash);
  if (path.empty() || path.front() == '?')
    path.insert(0, "/");
  if (authority.empty() || authority.find('@') != std::string::npos)
    return std::nullopt;
  target t;
  t.port = "80";
  if (authority.front() == '[') { // [v6]:port
    auto close = authority.find(']');
    if (close == std::string::npos)
      return std::nullopt;
    t.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':')
        return std::nullopt;
      t.port = authority.substr(close + 2);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string::npos) {
    t.host = authority.substr(0, colon);
    t.port = authority.substr(colon + 1);
  } else {
    t.host = authority;
  }
  if (t.port.empty() || t.port.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  t.unix_socket = where->unix_socket;
  t.pool_key = t.unix_socket.empty() ? "tcp " + t.host + ":" + t.port : "unix " + t.unix_socket;
  t.head = "POST " + path + " HTTP/1.1\r\nHost: " + authority
           + "\r\nContent-Type: application/octet-stream\r\nAccept: application/octet-stream\r\n"
             "User-Agent: hearth\r\nContent-Length: ";
  return t;
}

struct call {
  function_request req;
  completion done;
  const target* where = nullptr;
  std::optional<retry_policy> policy; // set by the first attempt: waiting in the queue is free
  int attempt = 0;
  std::string last_error;
};

/// One connection to an endpoint, with the call it serves (if any).
struct connection {
  explicit connection(asio::io_context& io) : socket(io), deadline(io) {}
  generic_socket socket;
  asio::steady_timer deadline;     // the attempt's (or the connect's) end
  boost::beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
  std::string head;                // the request line and headers being written
  std::string pool_key;            // its target's
  std::chrono::milliseconds ttl{0}; // the longest it may stay idle (pool_ttl)
  clock::time_point idle_since;
  bool reused = false;             // taken from the pool for this attempt
  bool timed_out = false;
  std::uint64_t turn = 0;          // bumped per attempt: a stale timer finds another turn
};

using conn_ptr = std::shared_ptr<connection>;

class beast_client final : public function_client {
public:
  explicit beast_client(curl_client_options opts)
    : opts_(opts), guard_(asio::make_work_guard(io_)), resolver_(io_), sweeper_(io_), retry_timer_(io_) {
    sweep();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~beast_client() override {
    shutdown();
    // Drop what the I/O thread held, then the handlers still queued (their
    // completions are never called; see the contract).
    pools_.clear();
    queued_.clear();
    waiting_.clear();
    targets_.clear();
  }

  void invoke(function_request req, completion done) override {
    auto c = std::make_shared<call>();
    c->req = std::move(req);
    c->done = std::move(done);
    if (stopping_.load(std::memory_order_acquire))
      return;
    asio::post(io_, [this, c]() mutable { admit(std::move(c)); });
  }

  void shutdown() override {
    function_client* tls = nullptr;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopping_.exchange(true))
        return;
      tls = tls_.get(); // no new one after this (tls_client checks stopping_)
    }
    if (tls)
      tls->shutdown();
    guard_.reset();
    io_.stop();
    if (thread_.joinable())
      thread_.join();
  }

private:
  /// The libcurl client, started on the first call this client leaves to it.
  function_client* tls_client() {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return nullptr;
    if (!tls_)
      tls_ = make_curl_client(opts_);
    return tls_.get();
  }

  /// I/O thread: a new call.
  void admit(std::shared_ptr<call> c) {
    auto it = targets_.find(c->req.url);
    if (it == targets_.end()) {
      auto t = plain_target(c->req.url);
      it = targets_.emplace(c->req.url, t ? std::make_unique<target>(std::move(*t)) : nullptr).first;
    }
    if (!it->second) { // https or an unusual URL: libcurl's
      if (auto* tls = tls_client())
        tls->invoke(std::move(c->req), std::move(c->done));
      return;
    }
    c->where = it->second.get();
    queued_.push_back(std::move(c));
    start_queued();
  }

  void start_queued() {
    while (!queued_.empty() && in_flight_ < opts_.max_calls_in_flight) {
      auto c = std::move(queued_.front());
      queued_.pop_front();
      attempt(std::move(c));
    }
  }

  /// Starts one attempt of `c` (counts against max_calls_in_flight until it ends).
  void attempt(std::shared_ptr<call> c) {
    // The call budget counts from the first attempt, not from the queue.
    if (!c->policy)
      c->policy.emplace(c->req.transport.call, clock::now(), opts_.max_backoff);
    if (c->policy->remaining(clock::now()) < std::chrono::milliseconds{1}) {
      complete(*c, error{errc::unavailable, "call budget spent: " + c->last_error});
      return;
    }
    ++in_flight_;
    if (auto conn = take_idle(*c->where, c->req.transport)) {
      send(std::move(c), std::move(conn));
      return;
    }
    open(std::move(c));
  }

  /// A kept-alive connection to `t` that is still open, or null.
  conn_ptr take_idle(const target& t, const transport_options& transport) {
    auto it = pools_.find(t.pool_key);
    if (it == pools_.end())
      return nullptr;
    auto& idle = it->second;
    auto now = clock::now();
    while (!idle.empty()) {
      auto conn = std::move(idle.back());
      idle.pop_back();
      if (now - conn->idle_since >= transport.pool_ttl)
        continue; // too old: closed as it goes
      // The server may have closed it while idle: a peek says so without a
      // round trip (0: end of stream; data: a stray answer, unusable too).
      char byte;
      auto n = ::recv(conn->socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        conn->reused = true;
        return conn;
      }
    }
    return nullptr;
  }

  /// Opens a connection for `c` within its connect timeout.
  void open(std::shared_ptr<call> c) {
    auto conn = std::make_shared<connection>(io_);
    conn->pool_key = c->where->pool_key;
    conn->ttl = c->req.transport.pool_ttl;
    auto left = c->policy->remaining(clock::now());
    arm(conn, std::min(left, c->req.transport.connect));
    const target& t = *c->where;
    if (!t.unix_socket.empty()) {
      asio::local::stream_protocol::endpoint ep{t.unix_socket};
      conn->socket.async_connect(ep, [this, c, conn](boost::system::error_code ec) mutable {
        connected(std::move(c), std::move(conn), ec);
      });
      return;
    }
    resolver_.async_resolve(t.host, t.port, [this, c, conn](boost::system::error_code ec,
                                                           asio::ip::tcp::resolver::results_type found) mutable {
      if (ec || conn->timed_out) {
        failed(std::move(c), std::move(conn), ec ? ec : asio::error::timed_out, "resolving");
        return;
      }
      connect_next(std::move(c), std::move(conn), std::vector<asio::ip::tcp::endpoint>(found.begin(), found.end()), 0);
    });
  }

  /// Tries the resolved addresses in turn.
  void connect_next(std::shared_ptr<call> c, conn_ptr conn, std::vector<asio::ip::tcp::endpoint> eps,
                    size_t i) {
    if (i >= eps.size()) {
      failed(std::move(c), std::move(conn), asio::error::host_not_found, "connecting");
      return;
    }
    auto ep = eps[i];
    boost::system::error_code ignored;
    conn->socket.close(ignored);
    conn->socket.async_connect(asio::generic::stream_protocol::endpoint{ep},
                               [this, c, conn, eps = std::move(eps), i](boost::system::error_code ec) mutable {
                                 if (ec && !conn->timed_out && i + 1 < eps.size()) {
                                   connect_next(std::move(c), std::move(conn), std::move(eps), i + 1);
                                   return;
                                 }
                                 if (!ec)
                                   ::setsockopt(conn->socket.native_handle(), IPPROTO_TCP, TCP_NODELAY,
                                                &one_, sizeof one_);
                                 connected(std::move(c), std::move(conn), ec);
                               });
  }

  void connected(std::shared_ptr<call> c, conn_ptr conn, boost::system::error_code ec) {
    if (ec || conn->timed_out) {
      failed(std::move(c), std::move(conn), ec ? ec : asio::error::timed_out, "connecting");
      return;
    }
    send(std::move(c), std::move(conn));
  }

  /// Arms the connection's deadline `d` from now: when it passes, the socket
  /// is closed and the pending operation fails.
  void arm(const conn_ptr& conn, std::chrono::milliseconds d) {
    auto turn = ++conn->turn;
    conn->timed_out = false;
    conn->deadline.expires_after(d);
    conn->deadline.async_wait([conn, turn](boost::system::error_code ec) {
      if (ec || conn->turn != turn)
        return;
      conn->timed_out = true;
      boost::system::error_code ignored;
      conn->socket.close(ignored);
    });
  }

  /// A completion handler for one step of an attempt: on an error the attempt
  /// failed (while `doing`), otherwise `next` runs.
  template <class Next>
  auto then(const std::shared_ptr<call>& c, const conn_ptr& conn, const char* doing, Next next) {
    return [this, c, conn, doing, next = std::move(next)](boost::system::error_code ec, size_t) mutable {
      if (ec)
        return failed(std::move(c), std::move(conn), ec, doing);
      next();
    };
  }

  /// Writes the request of `c` on `conn`, then reads the answer.
  void send(std::shared_ptr<call> c, conn_ptr conn) {
    arm(conn, c->policy->remaining(clock::now()));
    conn->head = c->where->head;
    conn->head += std::to_string(c->req.body.size());
    conn->head += "\r\n\r\n";
    conn->parser.emplace();
    conn->parser->header_limit(16 << 10);
    conn->parser->body_limit(c->req.transport.payload_max_bytes);
    std::array<asio::const_buffer, 2> out{asio::buffer(conn->head), asio::buffer(c->req.body)};
    asio::async_write(conn->socket, out, then(c, conn, "sending", [this, c, conn] {
      // The header first: Beast 1.74's eager parse (what async_read does)
      // loses the body_limit error of a Content-Length when the body arrived
      // in the same read, and takes any size; the header-only read keeps it.
      // The body's own reads check chunked and read-to-end bodies.
      http::async_read_header(conn->socket, conn->buffer, *conn->parser,
                              then(c, conn, "receiving", [this, c, conn] {
                                if (conn->parser->is_done())
                                  return answered(c, conn);
                                http::async_read(conn->socket, conn->buffer, *conn->parser,
                                                 then(c, conn, "receiving", [this, c, conn] { answered(c, conn); }));
                              }));
    }));
  }


  /// One attempt ended with an answer.
  void answered(std::shared_ptr<call> c, conn_ptr conn) {
    ++conn->turn; // disarms the deadline
    conn->deadline.cancel();
    auto& res = conn->parser->get();
    int status = res.result_int();
    bool keep = conn->parser->keep_alive();
    std::string body = std::move(res.body());
    conn->parser.reset();
    end_attempt(std::move(conn), keep);
    c->attempt++;
    if (status >= 200 && status < 300 && body.empty()) {
      // Every SDK answers with a body (even "no effects" encodes to bytes), so
      // an empty 2xx is a misrouted call (wrong URL, a proxy), not a result.
      c->last_error = "HTTP " + std::to_string(status) + " with an empty body";
    } else if (status >= 200 && status < 300) {
      auto decoded = protocol::decode_from_function(body);
      if (decoded) {
        complete(*c, std::move(*decoded));
        return;
      }
      c->last_error = "malformed response: " + decoded.err().message;
    } else {
      c->last_error = "HTTP " + std::to_string(status);
    }
    retry(std::move(c));
  }

  /// One attempt ended without an answer.
  void failed(std::shared_ptr<call> c, conn_ptr conn, boost::system::error_code ec, const char* doing) {
    bool timed_out = conn->timed_out;
    // Nothing at all came back, and the connection was found closed: a
    // kept-alive connection the server had closed (the parser's own errors,
    // such as body_limit, leave its input in the buffer).
    bool nothing = conn->buffer.size() == 0 && !(conn->parser && conn->parser->got_some());
    bool closed = ec == http::error::end_of_stream || ec == asio::error::eof
                  || ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
    bool stale = conn->reused && !timed_out && nothing && closed;
    ++conn->turn;
    conn->deadline.cancel();
    end_attempt(std::move(conn), false);
    if (stale) {
      // Closed by the server while it was idle (between the peek and the
      // write): not the function's failure, and nothing was answered.
      attempt(std::move(c));
      return;
    }
    c->attempt++;
    if (timed_out)
      c->last_error = std::string{"timed out "} + doing;
    else if (ec == http::error::body_limit)
      c->last_error = "response exceeds payload_max_bytes ("
                      + std::to_string(c->req.transport.payload_max_bytes) + ")";
    else
      c->last_error = std::string{doing} + ": " + ec.message();
    retry(std::move(c));
  }

  /// Returns the connection to its pool (or closes it) and frees its slot.
  void end_attempt(conn_ptr conn, bool keep) {
    --in_flight_;
    if (keep && conn->socket.is_open()) {
      conn->idle_since = clock::now();
      conn->reused = false;
      conn->buffer.clear();
      auto& idle = pools_[conn->pool_key];
      idle.push_back(std::move(conn));
    } else {
      boost::system::error_code ignored;
      conn->socket.close(ignored);
    }
    // Started from the I/O loop, not from within this attempt's handler.
    if (!queued_.empty())
      asio::post(io_, [this] { start_queued(); });
  }

  void retry(std::shared_ptr<call> c) {
    auto wait = c->policy->backoff(c->attempt - 1, clock::now());
    if (!wait) {
      complete(*c, error{errc::unavailable, "no successful answer within the call budget of "
                                               + std::to_string(c->req.transport.call.count()) + " ms after "
                                               + std::to_string(c->attempt) + " attempt(s); last: "
                                               + c->last_error});
      return;
    }
    auto at = clock::now() + *wait;
    bool earliest = waiting_.empty() || at < waiting_.begin()->first;
    waiting_.emplace(at, std::move(c));
    if (earliest)
      arm_retries();
  }

  /// Wakes up for the earliest retry.
  void arm_retries() {
    retry_timer_.expires_at(waiting_.begin()->first);
    retry_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec)
        return; // moved earlier (re-armed), or stopped
      auto now = clock::now();
      while (!waiting_.empty() && waiting_.begin()->first <= now) {
        // A retry goes ahead of fresh calls: it has waited already.
        queued_.push_front(std::move(waiting_.begin()->second));
        waiting_.erase(waiting_.begin());
      }
      if (!waiting_.empty())
        arm_retries();
      start_queued();
    });
  }

  void complete(call& c, result<protocol::from_function> r) {
    c.done(function_reply{std::move(r), c.attempt});
  }

  /// Closes connections idle longer than their pool's ttl, once a second.
  void sweep() {
    sweeper_.expires_after(std::chrono::seconds{1});
    sweeper_.async_wait([this](boost::system::error_code ec) {
      if (ec)
        return;
      auto now = clock::now();
      for (auto& [key, idle] : pools_)
        idle.erase(std::remove_if(idle.begin(), idle.end(),
                                  [&](const conn_ptr& c) { return now - c->idle_since >= c->ttl; }),
                   idle.end());
      sweep();
    });
  }

  static constexpr int one_ = 1;

  curl_client_options opts_;
  asio::io_context io_{1}; // one thread runs it; destroyed after what holds its sockets
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer sweeper_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mtx_; // tls_
  std::unique_ptr<function_client> tls_;
  // I/O thread only:
  std::map<std::string, std::unique_ptr<target>> targets_; // by URL; null: libcurl's
  std::map<std::string, std::vector<conn_ptr>> pools_;    // idle connections by target
  std::deque<std::shared_ptr<call>> queued_;              // not started: at the in-flight limit
  std::multimap<clock::time_point, std::shared_ptr<call>> waiting_; // retries, by when
  asio::steady_timer retry_timer_;                        // for waiting_'s first
  long in_flight_ = 0;
};

} // namespace

std::unique_ptr<function_client> make_function_client(curl_client_options opts) {
  return std::make_unique<beast_client>(opts);
}

} // namespace hearth::io
