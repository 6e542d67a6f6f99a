#include "io/http_client.hpp"
#include "io/http_server.hpp"

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
std::string url(const io::http_server& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + path;
}
} // namespace

TEST_CASE("an event-driven handler answers later, from another thread, holding no thread meanwhile") {
  std::mutex mtx;
  std::vector<std::pair<std::string, io::http_responder>> held;
  io::http_server_options opts;
  opts.threads = 1; // unused by an event-driven server but for large bodies
  auto srv = io::start_http_server(opts, [&](io::http_request& req, io::http_responder respond) {
    if (req.path == "/now")
      return respond(io::json_ok("{\"now\":true}"));
    std::lock_guard<std::mutex> g{mtx};
    held.emplace_back(std::move(req.body), std::move(respond));
  });
  REQUIRE(srv);
  auto& server = **srv;
  // More requests held at once than the server has threads of any kind.
  constexpr int n = 16;
  std::vector<std::future<result<io::http_reply>>> calls;
  for (int i = 0; i < n; ++i)
    calls.push_back(std::async(std::launch::async, [&, i] {
      return io::http_call("POST", url(server, "/later"), "body-" + std::to_string(i), {}, 30s);
    }));
  for (auto deadline = std::chrono::steady_clock::now() + 30s;;) {
    {
      std::lock_guard<std::mutex> g{mtx};
      if (held.size() == n)
        break;
    }
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(5ms);
  }
  // Answered while the others are still held.
  auto now = io::http_call("GET", url(server, "/now"));
  REQUIRE(now);
  CHECK(now->status == 200);
  CHECK(now->body == "{\"now\":true}");
  std::thread answerer([&] {
    std::lock_guard<std::mutex> g{mtx};
    for (auto& [body, respond] : held)
      respond(io::http_response{201, "text/plain", "echo " + body, {}});
  });
  answerer.join();
  for (int i = 0; i < n; ++i) {
    auto r = calls[i].get();
    REQUIRE(r);
    CHECK(r->status == 201);
    CHECK(r->body == "echo body-" + std::to_string(i));
  }
}

TEST_CASE("an answer after the server stopped is dropped") {
  std::promise<io::http_responder> got;
  auto srv = io::start_http_server(io::http_server_options{},
                                   [&](io::http_request&, io::http_responder respond) {
                                     got.set_value(std::move(respond));
                                   });
  REQUIRE(srv);
  auto call = std::async(std::launch::async, [&] {
    return io::http_call("GET", url(**srv, "/x"), {}, {}, 30s);
  });
  auto respond = got.get_future().get();
  (*srv)->stop();
  auto r = call.get();
  CHECK_FALSE(r); // the connection was closed without an answer
  respond(io::json_ok("{}")); // nobody to answer: no effect, no crash
  srv->reset();
  respond(io::json_ok("{}")); // the server is gone altogether
}
