#include "actors/checkpoint_recorder.hpp"

#include "unit/actors/partition_parts.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::actors;
using hearth::testing::addr;

namespace {
envelope msg(const std::string& id, int v) { return {addr("cart", id), {std::nullopt, protocol::make_int(v)}}; }

void put(state::store& s, const std::string& id) {
  state::write_batch wb;
  wb.put_state(protocol::key_group{1}, addr("cart", id), "v", {protocol::make_int(1), 1, 1});
  REQUIRE(s.commit(wb));
}
} // namespace

TEST_CASE("the first barrier records; messages on a channel before its barrier are logged") {
  hearth::testing::partition_parts parts;
  routing route{1, 3, 128}; // inputs: the source and two peers
  checkpoint_recorder rec{route, 10, 0};
  auto step = rec.on_barrier(1, 0);
  CHECK(step.record);
  state::part_extras extras;
  extras.pending.push_back({protocol::key_group{1}, 0, addr("cart", "p"), {{std::nullopt, protocol::make_int(0)}}});
  extras.egress.push_back({7, "out", "x"});
  REQUIRE(rec.record(1, *parts.store, extras));
  CHECK(rec.last_recorded() == 1);
  rec.note_arrival(0, msg("a", 1)); // after the source's barrier: not logged
  rec.note_arrival(1, msg("b", 2)); // peer channels still open
  rec.note_arrival(2, msg("c", 3));
  CHECK_FALSE(rec.on_barrier(1, 1).complete);
  rec.note_arrival(1, msg("d", 4)); // after that channel's barrier
  CHECK(rec.on_barrier(1, 2).complete);
  auto job = rec.finish();
  REQUIRE(job);
  CHECK(job->checkpoint == 1);
  CHECK(job->partition == 1);
  CHECK(job->view);
  CHECK_FALSE(job->changed); // no completed checkpoint yet: full
  CHECK(job->chain == std::vector<std::string>{state::checkpoint_files::part_name(1, 1, true)});
  CHECK(job->extras.pending.size() == 1);
  CHECK(job->extras.egress.size() == 1);
  REQUIRE(job->extras.logged.size() == 2);
  CHECK(job->extras.logged[0].target == addr("cart", "b"));
  CHECK(job->extras.logged[1].target == addr("cart", "c"));
  CHECK_FALSE(rec.recording());
}

TEST_CASE("after a completed checkpoint, parts are incremental until the chain is full_every long") {
  hearth::testing::partition_parts parts;
  routing route{0, 1, 128};
  checkpoint_recorder rec{route, 3, 0};
  auto run = [&](std::uint64_t id) {
    REQUIRE(rec.on_barrier(id, 0).record);
    REQUIRE(rec.record(id, *parts.store, {}));
    auto job = rec.finish();
    REQUIRE(job);
    return *job;
  };
  put(*parts.store, "a");
  auto j1 = run(1);
  CHECK_FALSE(j1.changed);
  rec.completed(1);
  CHECK(rec.chain() == j1.chain);
  put(*parts.store, "b");
  auto j2 = run(2);
  REQUIRE(j2.changed);
  // b's key (and the store's counter), not a's.
  CHECK(j2.changed->count(state::state_key(protocol::key_group{1}, addr("cart", "b"), "v")) == 1);
  CHECK(j2.changed->count(state::state_key(protocol::key_group{1}, addr("cart", "a"), "v")) == 0);
  CHECK(j2.chain.size() == 2);
  CHECK(j2.chain[0] == j1.chain[0]);
  rec.completed(2);
  auto j3 = run(3);
  CHECK(j3.changed);
  rec.completed(3);
  auto j4 = run(4); // the chain holds 3 parts: full again
  CHECK_FALSE(j4.changed);
  CHECK(j4.chain.size() == 1);
}

TEST_CASE("a part never builds on a checkpoint that did not complete") {
  hearth::testing::partition_parts parts;
  routing route{0, 1, 128};
  checkpoint_recorder rec{route, 10, 0};
  std::vector<snapshot_job> jobs;
  for (std::uint64_t id : {1, 2, 3}) {
    REQUIRE(rec.on_barrier(id, 0).record);
    REQUIRE(rec.record(id, *parts.store, {}));
    auto job = rec.finish();
    REQUIRE(job);
    jobs.push_back(*job);
    if (id == 1)
      rec.completed(1);
    // 2 never completes (abandoned): 3 must not build on it.
  }
  CHECK(jobs[1].changed);       // on top of 1
  CHECK_FALSE(jobs[2].changed); // not on top of 2
  rec.completed(3);
  CHECK(rec.chain() == jobs[2].chain);
  rec.completed(1); // a late, older completion changes nothing
  CHECK(rec.last_completed() == 3);
  CHECK(rec.chain() == jobs[2].chain);
}
