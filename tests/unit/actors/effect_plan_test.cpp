#include "actors/effect_plan.hpp"

#include "unit/actors/partition_parts.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::actors;
using hearth::testing::addr;
using hearth::testing::egress_value;

namespace {
struct fixture : hearth::testing::partition_parts {
  routing route{0, 1, 128};
  dead_letters letters{*store};
  egress_router egress{module, true};
  effect_context context() { return {*store, module, route, letters, egress, 5000}; }
  std::optional<protocol::typed_value> value(const protocol::address& a, const std::string& name) {
    auto s = *store->load_states(route.kg_of(a), a);
    auto it = s.find(name);
    if (it == s.end())
      return std::nullopt;
    return it->second.value;
  }
};
const auto source = addr("cart", "a");
} // namespace

TEST_CASE("a batch's effects are staged together and escape only through the plan") {
  fixture f;
  effects fx;
  fx.source = source;
  fx.completed = 3;
  fx.outgoing.push_back({addr("cart", "b"), protocol::make_int(1)});
  // No such function; its id in another key group than the sender's.
  protocol::address unknown{{"org.other", "x"}, "1"};
  while (f.route.kg_of(unknown) == f.route.kg_of(source))
    unknown.id += "1";
  fx.outgoing.push_back({unknown, protocol::make_int(2)});
  fx.delayed.push_back({false, "", 250, addr("cart", "c"), protocol::make_int(3)});
  fx.egresses.push_back({"io.statefun.playground", "egress", egress_value("out", "done")});
  fx.changes.push_back({"count", state::stored_value{protocol::make_int(9), 5000, 5000}});
  fx.changes.push_back({"count", state::stored_value{protocol::make_int(10), 5000, 5000}});
  fx.changes.push_back({"old", std::nullopt});

  auto plan = plan_effects(f.context(), fx);
  // Nothing is visible before the commit.
  CHECK_FALSE(f.value(source, "count"));
  CHECK(f.letters.list(10)->empty());

  REQUIRE(plan.out.size() == 1);
  CHECK(plan.out[0].target == addr("cart", "b"));
  CHECK(plan.out[0].inv.caller == source);
  REQUIRE(plan.records.size() == 1);
  CHECK(plan.records[0].payload == "done");
  CHECK(plan.earliest == 5250);
  CHECK(plan.record.invocations == 3);
  CHECK(plan.record.messages_sent == 1);
  CHECK(plan.record.delayed == 1);
  CHECK(plan.record.egress_records == 1);
  CHECK(plan.record.states_changed == std::vector<std::string>{"count", "old"});
  CHECK_FALSE(plan.record.failed);

  REQUIRE(f.store->commit(plan.writes));
  CHECK(f.value(source, "count") == protocol::make_int(10)); // the last write wins
  auto letters = *f.letters.list(10);
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].reason == "unknown function type 'org.other/x'");
  CHECK(letters[0].kg == f.route.kg_of(source)); // in the sender's key group
  CHECK(f.store->delayed_of(f.route.kg_of(source), source)->size() == 1);
}

TEST_CASE("a failed batch stages its expirations and one dead letter with all its messages") {
  fixture f;
  state::write_batch seed;
  seed.put_state(f.route.kg_of(source), source, "ttl", {protocol::make_int(1), 1, 1});
  REQUIRE(f.store->commit(seed));
  failure fl;
  fl.source = source;
  fl.reason = "function answered 500";
  fl.invocations = {{std::nullopt, protocol::make_int(1)}, {std::nullopt, protocol::make_int(2)}};
  fl.changes.push_back({"ttl", std::nullopt});
  auto plan = plan_failure(f.context(), fl);
  CHECK(plan.record.failed);
  CHECK(plan.record.invocations == 2);
  CHECK(plan.record.failure == "function answered 500");
  CHECK(plan.out.empty());
  REQUIRE(f.store->commit(plan.writes));
  CHECK_FALSE(f.value(source, "ttl"));
  auto letters = *f.letters.list(10);
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].target == source);
  CHECK(letters[0].invocations.size() == 2);
}
