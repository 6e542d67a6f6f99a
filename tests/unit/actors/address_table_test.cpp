#include "actors/address_table.hpp"

#include "unit/actors/partition_parts.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::actors;
using hearth::testing::addr;

namespace {
live_entry entry(size_t pending, std::int64_t last_active, std::uint64_t backlog = 0,
                 std::uint32_t max_batch = 0) {
  live_entry e;
  for (size_t i = 0; i < pending; ++i) {
    e.pending.push_back({std::nullopt, protocol::make_int(static_cast<int>(i))});
    e.tickets.push_back(std::nullopt);
  }
  e.last_active = last_active;
  e.backlog = backlog;
  e.admission.max_batch = max_batch;
  return e;
}
} // namespace

TEST_CASE("the admin API lists live actors by type and id prefix, sorted, up to the limit") {
  address_table t;
  for (auto id : {"b2", "a1", "b1", "c1"})
    t.insert(addr("cart", id), entry(0, 0));
  t.insert(addr("user", "b0"), entry(2, 0));
  auto all = t.list({"", "", 100});
  CHECK(all.total == 5);
  auto page = t.list({"com.example/cart", "b", 1});
  CHECK(page.total == 2);
  REQUIRE(page.actors.size() == 1);
  CHECK(page.actors[0].address == addr("cart", "b1"));
  auto users = t.list({"com.example/user", "", 10});
  REQUIRE(users.actors.size() == 1);
  CHECK(users.actors[0].pending == 2);
  CHECK(users.actors[0].busy);
}

TEST_CASE("inspection keeps the last finished batches and counts invocations and failures") {
  address_table t;
  auto& e = t.insert(addr("cart", "a"), entry(1, 0));
  for (int i = 0; i < 20; ++i) {
    invocation_record r;
    r.time_ms = i;
    r.invocations = 2;
    r.failed = i % 5 == 0;
    address_table::remember(e, r);
  }
  CHECK(e.recent.size() == address_table::recent_kept);
  CHECK(e.recent.back().time_ms == 19);
  CHECK(e.invocations == 32);
  CHECK(e.failures == 8);
  address_detail d;
  t.describe(addr("cart", "a"), d);
  CHECK(d.live);
  CHECK(d.pending.size() == 1);
  CHECK(d.summary.last_invocation_ms == 19);
  address_detail none;
  t.describe(addr("cart", "zz"), none);
  CHECK_FALSE(none.live);
  CHECK(none.summary.address == addr("cart", "zz"));
}

TEST_CASE("idle addresses are passivated, and beyond max_live the least recently active first") {
  address_table t;
  t.insert(addr("cart", "old"), entry(0, 100));
  t.insert(addr("cart", "recent"), entry(0, 900));
  t.insert(addr("cart", "busy"), entry(1, 0));          // pending: never
  t.insert(addr("cart", "waiting"), entry(0, 0, 3));    // backlog on disk: never
  CHECK(t.to_passivate(1000, 500, 100) == std::vector<protocol::address>{addr("cart", "old")});
  CHECK(t.to_passivate(1000, 5000, 100).empty());
  // Over max_live by 2: the two least recently active idle ones go.
  CHECK(t.to_passivate(1000, 5000, 2)
        == std::vector<protocol::address>{addr("cart", "old"), addr("cart", "recent")});
}

TEST_CASE("gauges count waiting messages and blocked addresses per function type") {
  address_table t;
  t.insert(addr("cart", "a"), entry(4, 0, 10, 2)); // 3 behind the one in flight, 10 on disk, blocked
  t.insert(addr("cart", "b"), entry(1, 0, 0, 2));
  auto g = t.gauges({{"com.example", "cart"}, {"com.example", "idle"}});
  CHECK(g[{"com.example", "cart"}].waiting == 13);
  CHECK(g[{"com.example", "cart"}].blocked == 1);
  CHECK(g.count({"com.example", "idle"}) == 1);
  CHECK(t.backlog_total() == 10);
  auto inboxes = t.pending_inboxes(routing{0, 1, 128});
  CHECK(inboxes.size() == 2);
}
