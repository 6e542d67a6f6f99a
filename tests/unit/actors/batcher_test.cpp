#include "actors/batcher.hpp"
#include "actors/instance_state.hpp"

#include "protocol/primitives.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::actors;
using protocol::expire_mode;
using protocol::state_mutation;
using protocol::state_spec;

namespace {
protocol::invocation msg(int i) { return {std::nullopt, protocol::make_int(i)}; }
} // namespace

TEST_CASE("a batch accumulates while a request is in flight") {
  batcher b;
  CHECK(!b.next_batch());
  b.enqueue(msg(1));
  auto first = b.next_batch();
  REQUIRE(first);
  CHECK(first->size() == 1);
  CHECK(b.busy());
  b.enqueue(msg(2));
  b.enqueue(msg(3));
  CHECK(!b.next_batch()); // one in flight at a time
  CHECK(b.pending() == 3);
  CHECK(b.complete() == 1);
  auto second = b.next_batch();
  REQUIRE(second);
  CHECK(second->size() == 2);
  CHECK(b.in_flight() == *second); // a retry re-sends exactly this batch
  CHECK(b.complete() == 2);
  CHECK(!b.busy());
  CHECK(b.pending() == 0);
}

TEST_CASE("no batch holds more than maxNumBatchRequests; the rest leave next, in order") {
  batcher b{2};
  for (int i = 1; i <= 5; ++i)
    b.enqueue(msg(i));
  auto first = b.next_batch();
  REQUIRE(first);
  CHECK(*first == std::vector<protocol::invocation>{msg(1), msg(2)});
  CHECK(b.pending() == 5);
  CHECK(b.complete() == 2);
  auto second = b.next_batch();
  REQUIRE(second);
  CHECK(*second == std::vector<protocol::invocation>{msg(3), msg(4)});
  b.complete();
  auto third = b.next_batch();
  REQUIRE(third);
  CHECK(*third == std::vector<protocol::invocation>{msg(5)});
}

TEST_CASE("drain returns in-flight then buffered invocations") {
  batcher b;
  b.enqueue(msg(1));
  b.next_batch();
  b.enqueue(msg(2));
  auto all = b.drain();
  REQUIRE(all.size() == 2);
  CHECK(all[0] == msg(1));
  CHECK(all[1] == msg(2));
  CHECK(!b.busy());
}

TEST_CASE("every registered state is attached; values only when present") {
  std::vector<state_spec> specs{{"a", protocol::int_type_name, expire_mode::none, 0},
                                {"b", protocol::int_type_name, expire_mode::none, 0}};
  instance_state s;
  std::vector<state_change> changes;
  REQUIRE(s.apply({{state_mutation::kind::modify, "a", protocol::make_int(1)}}, specs, 10, changes));
  auto entries = s.attach(specs, 20, changes);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].value.has_value());
  CHECK(!entries[1].value.has_value());
}

TEST_CASE("mutations are checked against the registered specs before any applies") {
  std::vector<state_spec> specs{{"a", protocol::int_type_name, expire_mode::none, 0}};
  instance_state s;
  std::vector<state_change> changes;
  auto bad_type = s.apply({{state_mutation::kind::modify, "a", protocol::make_string("x")}}, specs,
                          0, changes);
  CHECK(bad_type.err().code == errc::conflict);
  auto unknown = s.apply({{state_mutation::kind::modify, "a", protocol::make_int(1)},
                          {state_mutation::kind::modify, "zz", protocol::make_int(1)}},
                         specs, 0, changes);
  CHECK(unknown.err().code == errc::unknown);
  CHECK(s.values().empty());
  CHECK(changes.empty());
  REQUIRE(s.apply({{state_mutation::kind::modify, "a", protocol::make_int(1)}}, specs, 0, changes));
  REQUIRE(s.apply({{state_mutation::kind::remove, "a", {}}}, specs, 0, changes));
  CHECK(s.values().empty());
  CHECK(changes.size() == 2);
  CHECK(!changes[1].second.has_value());
}

TEST_CASE("state expires after write or after invoke") {
  std::vector<state_spec> specs{{"w", protocol::int_type_name, expire_mode::after_write, 100},
                                {"i", protocol::int_type_name, expire_mode::after_invoke, 100}};
  instance_state s;
  std::vector<state_change> changes;
  REQUIRE(s.apply({{state_mutation::kind::modify, "w", protocol::make_int(1)},
                   {state_mutation::kind::modify, "i", protocol::make_int(1)}},
                  specs, 0, changes));
  // Invoked at 60: both alive; "i" gets its access time refreshed.
  auto e = s.attach(specs, 60, changes);
  CHECK(e[0].value.has_value());
  CHECK(e[1].value.has_value());
  // At 120: "w" (written at 0) expired, "i" (read at 60) still alive.
  changes.clear();
  e = s.attach(specs, 120, changes);
  CHECK(!e[0].value.has_value());
  CHECK(e[1].value.has_value());
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].first == "w");
  CHECK(!changes[0].second.has_value());
  // Not invoked for 100 ms after 120: "i" expires too.
  e = s.attach(specs, 220, changes);
  CHECK(!e[1].value.has_value());
}

TEST_CASE("specs register once and cannot change") {
  std::vector<state_spec> reg;
  REQUIRE(register_specs(reg, {{"a", protocol::int_type_name, expire_mode::none, 0}}));
  REQUIRE(register_specs(reg, {{"b", protocol::string_type_name, expire_mode::none, 0}}));
  CHECK(reg.size() == 2);
  REQUIRE(register_specs(reg, {{"a", protocol::int_type_name, expire_mode::none, 0}}));
  CHECK(reg.size() == 2);
  CHECK(register_specs(reg, {{"a", protocol::string_type_name, expire_mode::none, 0}}).err().code
        == errc::conflict);
  REQUIRE(register_specs(reg, {{"a", protocol::int_type_name, expire_mode::after_write, 5}}));
  CHECK(reg[0].mode == expire_mode::none); // the registered expiration stays
}
