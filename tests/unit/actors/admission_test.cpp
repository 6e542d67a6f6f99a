#include "actors/admission.hpp"
#include "actors/ingress_gate.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::actors;

namespace {
const protocol::address hub{{"com.example", "hub"}, "h"};
const protocol::address other{{"com.example", "hub"}, "o"};
} // namespace

TEST_CASE("an ingress sender goes on at once while its address has room") {
  auto owned = std::make_shared<ingress_gate>();
  auto& gate = *owned;
  admission adm{{owned}, 0, 100};
  address_admission slot;
  slot.max_batch = 2;
  for (std::uint64_t off = 1; off <= 3; ++off) {
    gate.expect(off);
    adm.added(hub, slot, off, ingress_ticket{0, off});
  }
  CHECK(gate.is_accepted(1));
  CHECK(gate.is_accepted(2));
  // The third is over maxNumBatchRequests: its sender waits for the address.
  CHECK_FALSE(gate.is_accepted(3));
  CHECK(slot.deferred == std::vector<ingress_ticket>{{0, 3}});
  CHECK(gate.is_full(hub.to_string()));
  CHECK(adm.pending() == 3);
  // One batch of two completes: the address has room again.
  adm.completed(2);
  adm.settle(hub, slot, 1);
  CHECK(gate.is_accepted(3));
  CHECK(slot.deferred.empty());
  CHECK_FALSE(gate.is_full(hub.to_string()));
  CHECK(adm.pending() == 1);
}

TEST_CASE("a message nobody waits for waits on disk behind a full address or an older backlog") {
  address_admission slot;
  slot.max_batch = 2;
  CHECK_FALSE(admission::must_wait(slot, 2, 0));
  CHECK(admission::must_wait(slot, 3, 0));
  CHECK(admission::must_wait(slot, 0, 1)); // never overtakes its backlog
  slot.max_batch = 0;                      // no cap
  CHECK_FALSE(admission::must_wait(slot, 100'000, 0));
}

TEST_CASE("over partition.max_pending, senders are held oldest first and released as room comes") {
  auto owned = std::make_shared<ingress_gate>();
  auto& gate = *owned;
  admission adm{{owned}, 7, 2};
  std::vector<address_admission> slots(5);
  std::vector<protocol::address> addrs;
  for (int i = 0; i < 5; ++i)
    addrs.push_back({{"com.example", "f"}, std::to_string(i)});
  for (std::uint64_t off = 0; off < 5; ++off) {
    gate.expect(off);
    adm.added(addrs[off], slots[off], 1, ingress_ticket{0, off});
  }
  // Accepted while the partition held at most 2 (after each add: 1, 2, then 3...).
  CHECK(gate.is_accepted(0));
  CHECK(gate.is_accepted(1));
  CHECK_FALSE(gate.is_accepted(2));
  CHECK_FALSE(gate.is_accepted(3));
  CHECK_FALSE(gate.is_accepted(4));
  CHECK(adm.held() == 3);
  CHECK(gate.is_partition_full(7));
  CHECK_FALSE(adm.has_room());
  adm.completed(2); // 3 pending: still over
  CHECK(adm.held() == 3);
  adm.completed(1); // 2 pending: the oldest held go on
  CHECK(gate.is_accepted(2));
  CHECK(gate.is_accepted(3));
  CHECK(gate.is_accepted(4));
  CHECK(adm.held() == 0);
  CHECK_FALSE(gate.is_partition_full(7));
  CHECK(adm.has_room());
}

TEST_CASE("an address whose actor died lets its deferred senders go and is no longer full") {
  auto owned = std::make_shared<ingress_gate>();
  auto& gate = *owned;
  admission adm{{owned}, 0, 100};
  address_admission slot;
  slot.max_batch = 1;
  address_admission spare;
  gate.expect(1);
  gate.expect(2);
  adm.added(hub, slot, 1, ingress_ticket{0, 1});
  adm.added(hub, slot, 2, ingress_ticket{0, 2});
  adm.added(other, spare, 1, std::nullopt);
  CHECK_FALSE(gate.is_accepted(2));
  CHECK(gate.is_full(hub.to_string()));
  adm.dropped(hub, slot, 2);
  CHECK(gate.is_accepted(2));
  CHECK_FALSE(gate.is_full(hub.to_string()));
  CHECK(adm.pending() == 1); // the other address's message stays counted
}

TEST_CASE("a deferred sender released while the partition is over max_pending waits in the held queue") {
  auto owned = std::make_shared<ingress_gate>();
  auto& gate = *owned;
  admission adm{{owned}, 0, 2};
  address_admission slot;
  slot.max_batch = 1;
  address_admission spare;
  for (std::uint64_t off = 1; off <= 2; ++off)
    gate.expect(off);
  adm.added(hub, slot, 1, ingress_ticket{0, 1});
  adm.added(hub, slot, 2, ingress_ticket{0, 2}); // over the address's bound: deferred
  adm.added(other, spare, 1, std::nullopt);
  adm.added(other, spare, 2, std::nullopt); // the partition holds 4 > 2
  CHECK(slot.deferred.size() == 1);
  adm.completed(1); // hub's first invocation: 3 pending, still over max_pending
  adm.settle(hub, slot, 1);
  CHECK(slot.deferred.empty());
  CHECK_FALSE(gate.is_accepted(2)); // moved from the address to the partition's queue
  CHECK(adm.held() == 1);
  CHECK(gate.is_partition_full(0));
  adm.completed(1);
  CHECK(gate.is_accepted(2));
  CHECK_FALSE(gate.is_partition_full(0));
}

TEST_CASE("records of several nodes' logs are answered at their own gate; every gate learns fullness") {
  auto here = std::make_shared<ingress_gate>();
  auto there = std::make_shared<ingress_gate>();
  admission adm{{here, there}, 3, 1};
  address_admission slot;
  slot.max_batch = 1;
  here->expect(5);
  there->expect(5); // the same offset in another node's log
  adm.added(hub, slot, 1, ingress_ticket{1, 5});
  CHECK(there->is_accepted(5));
  CHECK_FALSE(here->is_accepted(5));
  adm.added(hub, slot, 2, ingress_ticket{0, 5}); // over the address's bound: deferred
  CHECK_FALSE(here->is_accepted(5));
  CHECK(here->is_full(hub.to_string()));
  CHECK(there->is_full(hub.to_string()));
  adm.completed(1);
  adm.settle(hub, slot, 1);
  CHECK(here->is_accepted(5));
  CHECK_FALSE(there->is_full(hub.to_string()));
  CHECK_FALSE(here->is_partition_full(3));
}
