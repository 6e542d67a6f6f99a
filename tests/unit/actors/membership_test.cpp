#include "actors/membership.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::actors;

namespace {
member_info node(const std::string& id, std::uint64_t incarnation = 1, std::uint32_t partitions = 2) {
  return member_info{id, incarnation, "127.0.0.1", 7000, partitions, false};
}
const cluster_terms terms{"kind: a\nport: 1\n", 128};
} // namespace

TEST_CASE("every change of membership makes a view with a higher epoch") {
  membership m{node("n1"), terms};
  CHECK(m.view().epoch == 1);
  CHECK(m.view().coordinator == "n1");
  auto v2 = m.join(node("n3"), terms);
  REQUIRE(v2);
  CHECK(v2->epoch == 2);
  auto v3 = m.join(node("n2"), terms);
  REQUIRE(v3);
  CHECK(v3->epoch == 3);
  REQUIRE(v3->members.size() == 3);
  CHECK(v3->members[1].id == "n2"); // sorted by id
  auto v4 = m.remove("n3", 1);
  REQUIRE(v4);
  CHECK(v4->epoch == 4);
  CHECK_FALSE(v4->find("n3"));
}

TEST_CASE("a node on other terms is refused with what differs") {
  membership m{node("n1"), terms};
  auto other_module = m.join(node("n2"), {"kind: a\nport: 2\n", 128});
  REQUIRE_FALSE(other_module);
  CHECK(other_module.err().code == errc::conflict);
  CHECK(other_module.err().message
        == "node 'n2' cannot join: its module.yaml differs from the cluster's at line 2: 'port: 2' "
           "(the cluster has 'port: 1')");
  auto shorter = m.join(node("n2"), {"kind: a\n", 128});
  CHECK(shorter.err().message.find("at line 2: the end (the cluster has 'port: 1')") != std::string::npos);
  auto other_groups = m.join(node("n2"), {terms.module, 256});
  REQUIRE_FALSE(other_groups);
  CHECK(other_groups.err().message.find("max_key_groups is 256, the cluster's is 128")
        != std::string::npos);
  CHECK_FALSE(m.join(node("n2", 1, 0), terms)); // no partitions
  CHECK(m.view().epoch == 1);                     // nothing changed
}

TEST_CASE("a restarted node rejoins as a newer incarnation; an older one is refused") {
  membership m{node("n1"), terms};
  auto first = m.join(node("n2", 5), terms);
  REQUIRE(first);
  // Asked again (a lost answer): the same view, no new epoch.
  auto repeated = m.join(node("n2", 5), terms);
  REQUIRE(repeated);
  CHECK(repeated->epoch == first->epoch);
  CHECK_FALSE(m.join(node("n2", 4), terms));
  // The coordinator's id is never taken by another process.
  CHECK(m.join(node("n1", 9), terms).err().message.find("coordinator's node id") != std::string::npos);
  auto v = m.join(node("n2", 6), terms);
  REQUIRE(v);
  CHECK(v->find("n2")->incarnation == 6);
  CHECK(v->members.size() == 2);
  // The old incarnation declared gone late: nothing changes.
  CHECK_FALSE(m.remove("n2", 5));
  CHECK(m.view().epoch == v->epoch);
}

TEST_CASE("more nodes than key groups are refused") {
  membership m{node("n1"), {"d", 2}};
  REQUIRE(m.join(node("n2"), {"d", 2}));
  auto third = m.join(node("n3"), {"d", 2});
  REQUIRE_FALSE(third);
  CHECK(third.err().message.find("more nodes than its 2 key groups") != std::string::npos);
}

TEST_CASE("a drained node keeps its membership but owns no key group") {
  membership m{node("n1"), terms};
  REQUIRE(m.join(node("n2"), terms));
  CHECK_FALSE(m.drain("n1")); // the coordinator
  CHECK(m.drain("nx").err().code == errc::unknown);
  auto v = m.drain("n2");
  REQUIRE(v);
  CHECK(v->find("n2")->draining);
  auto layout = v->layout();
  CHECK(layout.ranges_of(*layout.index_of("n2")).empty());
  CHECK(layout.ranges_of(*layout.index_of("n1")).size() == 2);
  auto gone = m.remove("n2", 1);
  REQUIRE(gone);
  CHECK(gone->members.size() == 1);
}

TEST_CASE("epoch fencing: only messages of the adopted epoch pass; a node left out is fenced") {
  membership m{node("n1"), terms};
  epoch_fence n2{"n2", 1};
  CHECK(n2.check(0) == epoch_fence::verdict::fenced); // not a member yet
  auto v2 = *m.join(node("n2"), terms);
  CHECK(n2.adopt(v2));
  CHECK_FALSE(n2.adopt(v2)); // not newer
  CHECK(n2.epoch() == 2);
  CHECK(n2.check(2) == epoch_fence::verdict::current);
  CHECK(n2.check(1) == epoch_fence::verdict::stale);
  CHECK(n2.check(3) == epoch_fence::verdict::ahead);
  CHECK_FALSE(n2.fenced());

  // n2 froze; the cluster declared it gone and moved on without it.
  auto v3 = *m.remove("n2", 1);
  CHECK(n2.adopt(v3));
  CHECK(n2.fenced());
  CHECK(n2.check(3) == epoch_fence::verdict::fenced); // it may own nothing any more

  // It rejoins as a new incarnation: that one is a member again.
  epoch_fence n2b{"n2", 2};
  auto v4 = *m.join(node("n2", 2), terms);
  CHECK(n2b.adopt(v4));
  CHECK_FALSE(n2b.fenced());
  // The old incarnation seeing the new view stays fenced.
  CHECK(n2.adopt(v4));
  CHECK(n2.fenced());
}

TEST_CASE("a restarted coordinator takes its cluster over with a new view naming it") {
  membership before{node("n1"), terms};
  REQUIRE(before.join(node("n2"), terms));
  auto saved = before.view();
  membership resumed{saved, terms};
  auto v = resumed.resume(member_info{"n1", 2, "127.0.0.1", 7100, 2, false});
  CHECK(v.epoch == saved.epoch + 1);
  CHECK(v.coordinator == "n1");
  CHECK(v.find("n1")->incarnation == 2);
  CHECK(v.find("n1")->port == 7100);
  CHECK(v.find("n2")); // the others stay until they are found gone
  // A cluster whose named coordinator is not among its members: taken over.
  auto ghost = saved;
  ghost.coordinator = "gone";
  membership orphan{ghost, terms};
  CHECK(orphan.resume(member_info{"n2", 3, "127.0.0.1", 7200, 2, false}).coordinator == "n2");
}

TEST_CASE("a renewal keeps the members in a new epoch") {
  membership ms{member_info{"n1", 1, "h", 1, 2, false}, cluster_terms{"m", 128}};
  auto joined = ms.join(member_info{"n2", 1, "h", 2, 2, false}, cluster_terms{"m", 128});
  REQUIRE(joined);
  auto renewed = ms.renew();
  CHECK(renewed.epoch == joined->epoch + 1);
  REQUIRE(renewed.members.size() == 2);
  CHECK(renewed.members[1].id == "n2");
  CHECK(ms.view().epoch == renewed.epoch);
}
