// The runtime's function client (make_function_client) on real sockets,
// against the project's own HTTP server (answers, retries, limits, the
// in-flight bound) and a bare peer that closes kept-alive connections.

#include "io/function_client.hpp"
#include "io/http_server.hpp"
#include "protocol/codec.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

using namespace hearth;
using namespace std::chrono_literals;

namespace {

/// An encoded FromFunction with one state mutation named `name`, so that
/// answers can be told apart.
std::string answer(const std::string& name) {
  protocol::invocation_response r;
  protocol::state_mutation m;
  m.name = name;
  r.mutations.push_back(m);
  return protocol::encode(protocol::from_function{r});
}

std::string mutation_of(const io::function_reply& reply) {
  REQUIRE(reply.response);
  auto& r = std::get<protocol::invocation_response>(*reply.response);
  REQUIRE(r.mutations.size() == 1);
  return r.mutations[0].name;
}

io::function_reply call(io::function_client& client, const std::string& url, std::string body = "x",
                        io::transport_options t = {}) {
  std::promise<io::function_reply> p;
  auto f = p.get_future();
  client.invoke(io::function_request{url, std::move(body), t},
                [&p](io::function_reply r) { p.set_value(std::move(r)); });
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  return f.get();
}

io::http_response octets(std::string body, int status = 200) {
  io::http_response res;
  res.status = status;
  res.content_type = "application/octet-stream";
  res.body = std::move(body);
  return res;
}

} // namespace

TEST_CASE("function client: answers decoded, the request's path and body as sent") {
  std::mutex mtx;
  std::vector<std::string> seen;
  auto srv = io::start_http_server({}, [&](io::http_request& req) {
    std::lock_guard<std::mutex> g{mtx};
    seen.push_back(req.path + " " + req.content_type + " " + req.body);
    return octets(answer("n" + std::to_string(seen.size())));
  });
  REQUIRE(srv);
  auto client = io::make_function_client();
  auto base = "http://127.0.0.1:" + std::to_string((*srv)->port());
  for (int i = 1; i <= 3; ++i) {
    auto r = call(*client, base + "/fns/counter?x=1", "body" + std::to_string(i));
    CHECK(r.attempts == 1);
    CHECK(mutation_of(r) == "n" + std::to_string(i));
  }
  std::lock_guard<std::mutex> g{mtx};
  CHECK(seen == std::vector<std::string>{"/fns/counter application/octet-stream body1",
                                         "/fns/counter application/octet-stream body2",
                                         "/fns/counter application/octet-stream body3"});
  client->shutdown();
}

TEST_CASE("function client: failures are retried within the budget, then named") {
  std::atomic<int> calls{0};
  auto srv = io::start_http_server({}, [&](io::http_request&) {
    int n = ++calls;
    if (n <= 2)
      return octets("oops", 500);
    return octets(answer("ok"));
  });
  REQUIRE(srv);
  auto client = io::make_function_client();
  auto url = "http://127.0.0.1:" + std::to_string((*srv)->port()) + "/f";
  auto r = call(*client, url);
  CHECK(r.attempts == 3);
  CHECK(mutation_of(r) == "ok");

  SUBCASE("a budget too short for success names the last cause") {
    calls = -1000;
    io::transport_options t;
    t.call = 100ms;
    auto failed = call(*client, url, "x", t);
    REQUIRE_FALSE(failed.response);
    CHECK(failed.response.err().code == errc::unavailable);
    CHECK(failed.response.err().message.find("last: HTTP 500") != std::string::npos);
    CHECK(failed.attempts > 1);
  }
  client->shutdown();
}

TEST_CASE("function client: nothing listening, a malformed answer, an answer over payload_max_bytes") {
  auto client = io::make_function_client();
  io::transport_options t;
  t.call = 200ms;
  {
    // A port that was just free: connection refused.
    auto srv = io::start_http_server({}, [](io::http_request&) { return octets(answer("x")); });
    REQUIRE(srv);
    auto port = (*srv)->port();
    (*srv)->stop();
    auto r = call(*client, "http://127.0.0.1:" + std::to_string(port) + "/f", "x", t);
    REQUIRE_FALSE(r.response);
    CHECK(r.response.err().message.find("connecting") != std::string::npos);
  }
  std::string reply;
  auto srv = io::start_http_server({}, [&](io::http_request&) { return octets(reply); });
  REQUIRE(srv);
  auto url = "http://127.0.0.1:" + std::to_string((*srv)->port()) + "/f";
  reply = "\xff\xff\xff";
  auto bad = call(*client, url, "x", t);
  REQUIRE_FALSE(bad.response);
  CHECK(bad.response.err().message.find("malformed response") != std::string::npos);

  reply = answer(std::string(1000, 'a'));
  t.payload_max_bytes = reply.size() - 1;
  auto big = call(*client, url, "x", t);
  REQUIRE_FALSE(big.response);
  CHECK(big.response.err().message.find("payload_max_bytes") != std::string::npos);
  t.payload_max_bytes = reply.size();
  auto exact = call(*client, url, "x", t);
  CHECK(exact.attempts == 1);
  CHECK(mutation_of(exact) == std::string(1000, 'a'));
  client->shutdown();
}

/// A bare HTTP/1.1 peer on a blocking socket, for what the project's server
/// does not do: close a kept-alive connection right after answering, or on a
/// request without answering. Connections are served one at a time, in
/// order; `plan(connection, request)` (both counted from 0) says what to do.
class raw_peer {
public:
  enum class act { answer, answer_then_close, close_unanswered };

  explicit raw_peer(std::function<act(int, int)> plan) : plan_(std::move(plan)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }

  ~raw_peer() {
    ::shutdown(fd_, SHUT_RDWR); // ends the accept
    thread_.join();
    ::close(fd_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/f"; }

  /// Waits until the peer closed `n` connections.
  void await_closed(int n) {
    std::unique_lock<std::mutex> lock{mtx_};
    REQUIRE(cv_.wait_for(lock, 30s, [&] { return closed_ >= n; }));
  }

  int connections() {
    std::lock_guard<std::mutex> g{mtx_};
    return connections_;
  }

  int requests() {
    std::lock_guard<std::mutex> g{mtx_};
    return requests_;
  }

private:
  void run() {
    for (int conn = 0;; ++conn) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0)
        return;
      {
        std::lock_guard<std::mutex> g{mtx_};
        ++connections_;
      }
      for (int req = 0; read_request(c); ++req) {
        {
          std::lock_guard<std::mutex> g{mtx_};
          ++requests_;
        }
        auto what = plan_(conn, req);
        if (what != act::close_unanswered) {
          auto body = answer("ok");
          auto head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: "
                      + std::to_string(body.size()) + "\r\n\r\n";
          auto out = head + body;
          if (::send(c, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size()))
            break;
        }
        if (what != act::answer)
          break;
      }
      ::close(c);
      std::lock_guard<std::mutex> g{mtx_};
      ++closed_;
      cv_.notify_all();
    }
  }

  /// Reads one request (headers and a Content-Length body); false at the end
  /// of the stream.
  static bool read_request(int c) {
    std::string in;
    char buf[4096];
    size_t end;
    while ((end = in.find("\r\n\r\n")) == std::string::npos) {
      auto n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0)
        return false;
      in.append(buf, static_cast<size_t>(n));
    }
    std::string lower = in.substr(0, end);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    auto cl = lower.find("content-length:");
    size_t want = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 15));
    while (in.size() < end + 4 + want) {
      auto n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0)
        return false;
      in.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  std::function<act(int, int)> plan_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mtx_;
  std::condition_variable cv_;
  int connections_ = 0, requests_ = 0, closed_ = 0;
};

TEST_CASE("function client: a kept-alive connection the server closed after answering is not reused") {
  raw_peer peer{[](int, int) { return raw_peer::act::answer_then_close; }};
  auto client = io::make_function_client();
  auto first = call(*client, peer.url());
  CHECK(first.attempts == 1);
  peer.await_closed(1); // the connection the client keeps is closed now
  auto second = call(*client, peer.url());
  CHECK(second.attempts == 1);
  CHECK(mutation_of(second) == "ok");
  CHECK(peer.connections() == 2);
  CHECK(peer.requests() == 2); // the closed one was not written to
  client->shutdown();
}

TEST_CASE("function client: a kept-alive connection closed on the request, unanswered, is replaced without counting an attempt") {
  // The peer answers the first request and closes the connection on the
  // second, as a server whose idle timeout fires just as the request comes.
  raw_peer peer{[](int conn, int req) {
    return conn == 0 && req == 1 ? raw_peer::act::close_unanswered : raw_peer::act::answer;
  }};
  auto client = io::make_function_client();
  CHECK(call(*client, peer.url()).attempts == 1);
  auto second = call(*client, peer.url());
  CHECK(second.attempts == 1);
  CHECK(mutation_of(second) == "ok");
  CHECK(peer.connections() == 2);
  CHECK(peer.requests() == 3); // sent twice: on the closed connection, then on a new one
  client->shutdown();
}

TEST_CASE("function client: a new connection closed unanswered is a failed attempt, retried within the budget") {
  raw_peer peer{[](int, int) { return raw_peer::act::close_unanswered; }};
  auto client = io::make_function_client();
  io::transport_options t;
  t.call = 300ms;
  auto r = call(*client, peer.url(), "x", t);
  REQUIRE_FALSE(r.response);
  CHECK(r.attempts > 1);
  CHECK(r.attempts == peer.requests());
  CHECK(r.response.err().message.find("receiving") != std::string::npos);
  client->shutdown();
}

// (http+unix:// is exercised end to end by tests/integration/tls_endpoints.)
TEST_CASE("function client: more calls than max_calls_in_flight wait their turn") {
  std::atomic<int> in_handler{0}, peak{0};
  io::http_server_options opts;
  opts.threads = 16;
  auto srv = io::start_http_server(opts, [&](io::http_request& req) {
    int now = ++in_handler;
    for (int p = peak; now > p && !peak.compare_exchange_weak(p, now);) {
    }
    std::this_thread::sleep_for(20ms);
    --in_handler;
    return octets(answer(req.body));
  });
  REQUIRE(srv);
  io::curl_client_options copts;
  copts.max_calls_in_flight = 3;
  auto client = io::make_function_client(copts);
  auto url = "http://127.0.0.1:" + std::to_string((*srv)->port()) + "/f";
  constexpr int n = 12;
  std::vector<std::promise<io::function_reply>> ps(n);
  for (int i = 0; i < n; ++i)
    client->invoke(io::function_request{url, "c" + std::to_string(i), {}},
                   [&ps, i](io::function_reply r) { ps[i].set_value(std::move(r)); });
  for (int i = 0; i < n; ++i) {
    auto f = ps[i].get_future();
    REQUIRE(f.wait_for(30s) == std::future_status::ready);
    CHECK(mutation_of(f.get()) == "c" + std::to_string(i));
  }
  CHECK(peak <= 3);
  CHECK(peak >= 1);
  client->shutdown();
}
