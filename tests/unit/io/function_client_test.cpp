// The runtime's function client (make_function_client) against the project's
// own HTTP server on real sockets: answers, retries, limits, kept-alive
// connections the server closed, UNIX sockets, and the in-flight bound.

#include "io/function_client.hpp"
#include "io/http_server.hpp"
#include "protocol/codec.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
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

TEST_CASE("function client: a kept-alive connection the server closed is replaced, not counted as a failure") {
  io::http_server_options opts;
  opts.idle_timeout = 50ms; // the server closes idle connections quickly
  std::atomic<int> calls{0};
  auto srv = io::start_http_server(opts, [&](io::http_request&) {
    ++calls;
    return octets(answer("ok"));
  });
  REQUIRE(srv);
  auto client = io::make_function_client();
  auto url = "http://127.0.0.1:" + std::to_string((*srv)->port()) + "/f";
  for (int i = 0; i < 3; ++i) {
    auto r = call(*client, url);
    CHECK(r.attempts == 1);
    CHECK(mutation_of(r) == "ok");
    std::this_thread::sleep_for(200ms); // longer than the server's idle timeout
  }
  CHECK(calls == 3);
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
