// Wiring of the node, partitions and address actors, with a fake function
// client answering from the test thread.

#include "actors/node.hpp"

#include "fakes/fake_function_client.hpp"
#include "protocol/primitives.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <thread>

using namespace hearth;
using namespace std::chrono_literals;
using protocol::address;
using protocol::invocation_response;
using protocol::state_mutation;

namespace {

const char* module_yaml = R"(kind: io.statefun.endpoints.v2/http
spec:
  functions: test/*
  urlPathTemplate: http://127.0.0.1:1/{function.name}
  maxNumBatchRequests: 1000
)";

struct fixture {
  std::string dir = (std::filesystem::temp_directory_path()
                     / ("hearth-node-test-" + std::to_string(std::random_device{}())))
                      .string();
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<fakes::fake_function_client> client
    = std::make_shared<fakes::fake_function_client>();
  std::unique_ptr<actors::node> node;

  fixture() {
    cfg.set("scheduler.max-threads", size_t{2});
    sys = std::make_unique<caf::actor_system>(cfg);
    auto module = io::parse_module(module_yaml, "m.yaml");
    REQUIRE(module);
    actors::node_options opts;
    opts.data_dir = dir;
    opts.partitions = 2;
    auto n = actors::node::start(*sys, opts,
                                 std::make_shared<const io::module_config>(std::move(*module)),
                                 client);
    REQUIRE(n);
    node = std::move(*n);
  }
  ~fixture() {
    node->shutdown();
    node.reset();
    sys.reset();
    std::filesystem::remove_all(dir);
  }

  static void answer(const fakes::fake_function_client::call& c, protocol::from_function r) {
    c.done(io::function_reply{std::move(r), 1});
  }
};

const address counter{{"test", "counter"}, "c1"};

} // namespace

TEST_CASE_FIXTURE(fixture, "the first batch goes through the handshake and later ones batch up") {
  REQUIRE(node->deliver(counter, protocol::make_string("a")));
  auto first = client->next();
  REQUIRE(first);
  CHECK(first->request.url == "http://127.0.0.1:1/counter");
  CHECK(first->batch.target == counter);
  CHECK(first->batch.states.empty());
  CHECK(first->batch.invocations.size() == 1);
  answer(*first, protocol::incomplete_context{{{"count", protocol::int_type_name}}});

  auto retry = client->next();
  REQUIRE(retry);
  REQUIRE(retry->batch.states.size() == 1);
  CHECK(retry->batch.states[0].name == "count");
  CHECK(!retry->batch.states[0].value);
  CHECK(retry->batch.invocations == first->batch.invocations);

  // While the retry is unanswered, more messages only buffer.
  REQUIRE(node->deliver(counter, protocol::make_string("b")));
  REQUIRE(node->deliver(counter, protocol::make_string("c")));
  std::this_thread::sleep_for(100ms);
  CHECK(client->waiting() == 0);

  invocation_response r;
  r.mutations.push_back({state_mutation::kind::modify, "count", protocol::make_int(1)});
  answer(*retry, r);
  auto second = client->next();
  REQUIRE(second);
  CHECK(second->batch.invocations.size() == 2);
  REQUIRE(second->batch.states.size() == 1);
  CHECK(*protocol::as_int(*second->batch.states[0].value) == 1);
  answer(*second, invocation_response{});
}

TEST_CASE_FIXTURE(fixture, "a failed batch becomes a dead letter and the address moves on") {
  REQUIRE(node->deliver(counter, protocol::make_string("doomed")));
  auto c = client->next();
  REQUIRE(c);
  REQUIRE(node->deliver(counter, protocol::make_string("next")));
  c->done(io::function_reply{error{errc::unavailable, "HTTP 500 forever"}, 3});
  auto n = client->next();
  REQUIRE(n);
  CHECK(n->batch.invocations.size() == 1);
  CHECK(*protocol::as_string(n->batch.invocations[0].argument) == "next");
  answer(*n, invocation_response{});

  auto letters = node->dead_letters();
  REQUIRE(letters);
  REQUIRE(letters->size() == 1);
  auto& d = letters->front();
  CHECK(d.target == counter);
  CHECK(d.reason == "HTTP 500 forever");
  REQUIRE(d.invocations.size() == 1);
  CHECK(*protocol::as_string(d.invocations[0].argument) == "doomed");

  auto replayed = node->replay(actors::node::dead_letter_id(d));
  REQUIRE(replayed);
  CHECK(*replayed == 1);
  auto again = client->next();
  REQUIRE(again);
  CHECK(*protocol::as_string(again->batch.invocations[0].argument) == "doomed");
  answer(*again, invocation_response{});
  CHECK(node->dead_letters()->empty());
  CHECK(node->replay(actors::node::dead_letter_id(d)).err().code == errc::unknown);
}

TEST_CASE_FIXTURE(fixture, "a delayed message is delivered after its delay with the sender as caller") {
  REQUIRE(node->deliver(counter, protocol::make_string("start")));
  auto c = client->next();
  REQUIRE(c);
  invocation_response r;
  address other{{"test", "other"}, "o1"};
  r.delayed.push_back({false, "tok", 300, other, protocol::make_string("later")});
  r.delayed.push_back({false, "tok", 300, other, protocol::make_string("dup")}); // same token
  auto sent_at = std::chrono::steady_clock::now();
  answer(*c, r);
  auto d = client->next(5s);
  REQUIRE(d);
  CHECK(std::chrono::steady_clock::now() - sent_at >= 290ms);
  CHECK(d->batch.target == other);
  REQUIRE(d->batch.invocations.size() == 1);
  CHECK(*protocol::as_string(d->batch.invocations[0].argument) == "later");
  REQUIRE(d->batch.invocations[0].caller);
  CHECK(*d->batch.invocations[0].caller == counter);
  answer(*d, invocation_response{});
  auto letters = node->dead_letters();
  REQUIRE(letters->size() == 1);
  CHECK(letters->front().reason.find("already pending") != std::string::npos);
}
