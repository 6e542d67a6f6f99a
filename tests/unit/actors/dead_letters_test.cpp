#include "actors/dead_letters.hpp"

#include "unit/actors/partition_parts.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::actors;
using hearth::testing::addr;
using protocol::key_group;

TEST_CASE("a dead letter exists once its batch is committed, numbered and stamped") {
  hearth::testing::partition_parts parts;
  std::vector<state::dead_letter> seen;
  dead_letters office{*parts.store, [&](const state::dead_letter& d) { seen.push_back(d); }};
  state::write_batch wb;
  office.stage(wb, key_group{5}, {addr("cart", "a"), {{std::nullopt, protocol::make_int(1)}}, "boom"},
               1234);
  CHECK(office.staged() == 1);
  REQUIRE(seen.size() == 1);
  CHECK(office.list(10)->empty()); // staged, not committed
  REQUIRE(parts.store->commit(wb));
  auto all = office.list(10);
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  auto& d = all->front();
  CHECK(d.kg.value == 5);
  CHECK(d.seq == seen[0].seq);
  CHECK(d.time_ms == 1234);
  CHECK(d.reason == "boom");
  CHECK(d.target == addr("cart", "a"));
  REQUIRE(d.invocations.size() == 1);
  CHECK(office.find(key_group{5}, d.seq));
  CHECK_FALSE(office.find(key_group{6}, d.seq));
}

TEST_CASE("replaying a dead letter stages its deletion and hands its messages back") {
  hearth::testing::partition_parts parts;
  dead_letters office{*parts.store};
  state::write_batch wb;
  office.stage(wb, key_group{1}, {addr("cart", "a"), {{std::nullopt, protocol::make_int(1)},
                                                       {std::nullopt, protocol::make_int(2)}}, "x"}, 1);
  // An egress record's letter has no address id: nothing to re-deliver.
  office.stage(wb, key_group{1}, {{{"io.statefun.playground", "egress"}, ""},
                                  {{std::nullopt, protocol::make_int(3)}}, "y"}, 1);
  REQUIRE(parts.store->commit(wb));
  auto all = *office.list(10);
  REQUIRE(all.size() == 2);

  state::write_batch replay;
  state::dead_letter out;
  CHECK(office.take_for_replay(key_group{1}, 999, replay, out) == dead_letters::replay_check::absent);
  CHECK(office.take_for_replay(key_group{1}, all[1].seq, replay, out)
        == dead_letters::replay_check::nothing_to_deliver);
  CHECK(replay.empty());
  REQUIRE(office.take_for_replay(key_group{1}, all[0].seq, replay, out)
          == dead_letters::replay_check::ready);
  CHECK(out.invocations.size() == 2);
  CHECK(out.target == addr("cart", "a"));
  CHECK(office.list(10)->size() == 2); // until the deletion is committed
  REQUIRE(parts.store->commit(replay));
  CHECK(office.list(10)->size() == 1);
}

TEST_CASE("dropping a dead letter stages its deletion; an absent one is reported") {
  hearth::testing::partition_parts parts;
  dead_letters office{*parts.store};
  state::write_batch wb;
  office.stage(wb, key_group{2}, {addr("cart", "a"), {}, "x"}, 1);
  REQUIRE(parts.store->commit(wb));
  auto seq = office.list(1)->front().seq;
  state::write_batch drop;
  CHECK_FALSE(office.stage_drop(key_group{2}, seq + 1, drop));
  CHECK(drop.empty());
  CHECK(office.stage_drop(key_group{2}, seq, drop));
  REQUIRE(parts.store->commit(drop));
  CHECK(office.list(10)->empty());
}
