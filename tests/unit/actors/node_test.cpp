// Wiring of the node, partitions and address actors, with a fake function
// client answering from the test thread.

#include "actors/node.hpp"

#include "fakes/fake_function_client.hpp"
#include "fakes/faulty_env.hpp"
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
  fakes::faulty_env env;

  explicit fixture(const char* yaml = module_yaml) {
    cfg.set("scheduler.max-threads", size_t{2});
    sys = std::make_unique<caf::actor_system>(cfg);
    auto module = io::parse_module(yaml, "m.yaml");
    REQUIRE(module);
    actors::node_options opts;
    opts.data_dir = dir;
    opts.partitions = 2;
    opts.env = &env;
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

namespace {

/// Answers calls until one carries `count` state, and returns it (the
/// handshake rounds of a fresh or rebuilt address come first).
std::optional<fakes::fake_function_client::call> call_with_state(fakes::fake_function_client& client) {
  for (int i = 0; i < 5; ++i) {
    auto c = client.next();
    if (!c)
      return std::nullopt;
    if (!c->batch.states.empty())
      return c;
    fixture::answer(*c, protocol::incomplete_context{{{"count", protocol::int_type_name}}});
  }
  return std::nullopt;
}

/// Delivers once the node takes messages again (while it rebuilds its
/// partitions it answers errc::unavailable); the last answer after 30 s.
result<actors::delivery> deliver_when_up(actors::node& n, const address& a, const std::string& s) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    auto r = n.deliver(a, protocol::make_string(s));
    if (r || r.err().code != errc::unavailable || std::chrono::steady_clock::now() > deadline)
      return r;
    std::this_thread::sleep_for(10ms);
  }
}

std::int32_t count_of(const fakes::fake_function_client::call& c) {
  auto& v = c.batch.states.at(0).value;
  return v ? *protocol::as_int(*v) : 0;
}

} // namespace

TEST_CASE_FIXTURE(fixture, "a failed commit is never applied: the partitions are rebuilt and the log replays it once") {
  REQUIRE(node->deliver(counter, protocol::make_string("a")));
  auto c = call_with_state(*client);
  REQUIRE(c);
  CHECK(count_of(*c) == 0);
  // The commit of this batch's effects fails (a full disk).
  env.fail(fakes::faulty_env::op::commit, ENOSPC);
  invocation_response r;
  r.mutations.push_back({state_mutation::kind::modify, "count", protocol::make_int(1)});
  answer(*c, r);
  // The rebuilt partition gets "a" again from the log: the state it carries
  // is the one before the failed batch, not the one the function returned.
  auto again = call_with_state(*client);
  REQUIRE(again);
  CHECK(count_of(*again) == 0);
  REQUIRE(again->batch.invocations.size() == 1);
  CHECK(*protocol::as_string(again->batch.invocations[0].argument) == "a");
  CHECK(env.failed(fakes::faulty_env::op::commit) == 1);
  answer(*again, r);
  // Applied once: the next message sees count 1 (the rebuild may still be
  // finishing when the replayed call comes).
  REQUIRE(deliver_when_up(*node, counter, "b"));
  auto next = client->next();
  REQUIRE(next);
  CHECK(count_of(*next) == 1);
  answer(*next, invocation_response{});
  auto h = node->health();
  CHECK(h.restarts == 1);
  CHECK(h.ready);
  CHECK(h.pipeline == "running");
}

TEST_CASE_FIXTURE(fixture, "a failed ingress-log fsync refuses the message, rebuilds, and the next message is taken") {
  env.fail(fakes::faulty_env::op::fdatasync, EIO);
  auto refused = node->deliver(counter, protocol::make_string("lost"));
  REQUIRE(!refused);
  CHECK(refused.err().code == errc::unavailable);
  // The node rebuilds the log and the partitions; meanwhile messages are refused.
  REQUIRE(deliver_when_up(*node, counter, "kept"));
  auto c = call_with_state(*client);
  REQUIRE(c);
  REQUIRE(c->batch.invocations.size() == 1);
  CHECK(*protocol::as_string(c->batch.invocations[0].argument) == "kept");
  answer(*c, invocation_response{});
  CHECK(node->health().restarts == 1);
}

TEST_CASE_FIXTURE(fixture, "a checkpoint whose files cannot be written fails at once, and the next one completes") {
  // Part and manifest files are renamed into place; the ingress log never is.
  env.fail(fakes::faulty_env::op::rename, ENOSPC);
  auto started = std::chrono::steady_clock::now();
  auto failed = node->trigger_checkpoint(30s);
  REQUIRE(!failed);
  CHECK(std::chrono::steady_clock::now() - started < 10s); // not the 60 s timeout
  CHECK(failed.err().message.find("No space left on device") != std::string::npos);
  auto h = node->health();
  CHECK(h.checkpoint_failure.find("No space left on device") != std::string::npos);
  CHECK(h.ready); // the partitions and the log are fine
  auto next = node->trigger_checkpoint(30s);
  REQUIRE(next);
  CHECK(node->health().checkpoint_failure.empty());
  CHECK(node->health().last_checkpoint == next->id);
}

namespace {

/// Functions that take one message per call: an address is full at two.
struct one_per_call : fixture {
  one_per_call() : fixture(R"(kind: io.statefun.endpoints.v2/http
spec:
  functions: test/*
  urlPathTemplate: http://127.0.0.1:1/{function.name}
  maxNumBatchRequests: 1
)") {}
};

} // namespace

TEST_CASE_FIXTURE(one_per_call, "a message whose spill to a full address's backlog fails is not lost: rebuilt, it arrives once") {
  const address hub{{"test", "hub"}, "h"};
  const address src{{"test", "src"}, "s"};
  invocation_response fan_out;
  fan_out.outgoing.push_back({hub, protocol::make_string("m1")});
  fan_out.outgoing.push_back({hub, protocol::make_string("m2")});
  REQUIRE(node->deliver(hub, protocol::make_string("x")));
  REQUIRE(node->deliver(src, protocol::make_string("go")));
  std::optional<fakes::fake_function_client::call> to_src;
  for (int i = 0; i < 2 && !to_src; ++i) {
    auto c = client->next();
    REQUIRE(c);
    if (c->batch.target == src)
      to_src = std::move(c); // hub's call for "x" stays unanswered: hub is busy
  }
  REQUIRE(to_src);
  // src's effects write nothing (no state), so the next commit is m2's: m1
  // joins hub's pending messages, m2 must wait on disk, and that commit fails.
  env.fail(fakes::faulty_env::op::commit, ENOSPC);
  answer(*to_src, fan_out);
  // Rebuilt from the last checkpoint, the log replays x and go; from then on
  // hub gets x, m1 and m2, each once, in that order.
  std::vector<std::string> at_hub;
  while (at_hub.size() < 3 || std::find(at_hub.begin(), at_hub.end(), "m2") == at_hub.end()) {
    auto c = client->next(30s);
    REQUIRE(c);
    if (c->batch.target == src) {
      answer(*c, fan_out);
      continue;
    }
    REQUIRE(c->batch.invocations.size() == 1); // maxNumBatchRequests: 1
    auto got = *protocol::as_string(c->batch.invocations[0].argument);
    if (env.failed(fakes::faulty_env::op::commit) == 0 || (at_hub.empty() && got != "x"))
      continue; // a call of the partition that failed
    at_hub.push_back(got);
    answer(*c, invocation_response{});
  }
  CHECK(at_hub == std::vector<std::string>{"x", "m1", "m2"});
  CHECK(env.failed(fakes::faulty_env::op::commit) == 1);
  CHECK(!client->next(300ms)); // nothing more
  CHECK(node->health().restarts == 1);
  auto letters = node->dead_letters();
  REQUIRE(letters);
  CHECK(letters->empty());
}

namespace {

/// An at-least-once playground egress: records are appended after each batch's commit.
struct at_least_once : fixture {
  at_least_once() : fixture(R"(kind: io.statefun.endpoints.v2/http
spec:
  functions: test/*
  urlPathTemplate: http://127.0.0.1:1/{function.name}
---
kind: io.statefun.playground.v1/egress
spec:
  port: 0
  topics: [out]
  deliverySemantic: at-least-once
)") {}
};

} // namespace

TEST_CASE_FIXTURE(at_least_once, "an at-least-once egress append that fails is not lost: rebuilt, the record is appended") {
  const address emitter{{"test", "emitter"}, "e"};
  invocation_response emit;
  emit.egresses.push_back({"io.statefun.playground", "egress",
                           protocol::typed_value{io::playground_record_type, true,
                                                 R"({"topic":"out","payload":"p"})"}});
  REQUIRE(node->deliver(emitter, protocol::make_string("a")));
  auto c = client->next();
  REQUIRE(c);
  // The batch's own commit goes through (it numbers the record); the
  // append to the egress store after it fails.
  env.fail(fakes::faulty_env::op::commit, EIO, 1, 1);
  answer(*c, emit);
  auto again = client->next(30s);
  REQUIRE(again);
  REQUIRE(again->batch.invocations.size() == 1);
  CHECK(*protocol::as_string(again->batch.invocations[0].argument) == "a");
  CHECK(env.failed(fakes::faulty_env::op::commit) == 1);
  answer(*again, emit);
  auto egress = node->egress();
  REQUIRE(egress);
  std::optional<std::string> record;
  for (int i = 0; i < 300 && !record; ++i) {
    auto r = egress->pop("out");
    REQUIRE(r);
    record = *r;
    if (!record)
      std::this_thread::sleep_for(10ms); // appended right after the commit, on the partition's thread
  }
  CHECK(record == "p");
  CHECK(!*egress->pop("out"));
  CHECK(node->health().restarts == 1);
}
