#include "actors/placement.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::actors;

TEST_CASE("a node alone places key groups as a single node always has") {
  placement one{{{"n1", 4}}, 128};
  for (std::uint32_t kg = 0; kg < 128; ++kg) {
    auto o = one.owner_of(protocol::key_group{static_cast<std::uint16_t>(kg)});
    CHECK(o.member == 0);
    CHECK(o.partition == protocol::partition_of(protocol::key_group{static_cast<std::uint16_t>(kg)}, 128, 4));
  }
}

TEST_CASE("members are ordered by node id and own contiguous ranges that cover every key group once") {
  placement p{{{"c", 1}, {"a", 2}, {"b", 3}}, 128};
  REQUIRE(p.members().size() == 3);
  CHECK(p.members()[0].node == "a");
  CHECK(p.members()[2].node == "c");
  CHECK(p.total_partitions() == 6);
  CHECK(p.index_of("b") == 1u);
  CHECK_FALSE(p.index_of("z"));
  std::uint32_t next = 0;
  for (std::uint32_t m = 0; m < 3; ++m)
    for (auto [begin, end] : p.ranges_of(m)) {
      CHECK(begin == next);
      CHECK(end > begin);
      next = end;
    }
  CHECK(next == 128);
  for (std::uint32_t kg = 0; kg < 128; ++kg) {
    auto o = p.owner_of(protocol::key_group{static_cast<std::uint16_t>(kg)});
    auto [begin, end] = p.range_of(o.member, o.partition);
    CHECK(kg >= begin);
    CHECK(kg < end);
  }
}

TEST_CASE("a member without partitions (draining) owns nothing") {
  placement p{{{"a", 2}, {"b", 0}, {"c", 2}}, 16};
  CHECK(p.ranges_of(1).empty());
  for (std::uint16_t kg = 0; kg < 16; ++kg)
    CHECK(p.owner_of(protocol::key_group{kg}).member != 1);
}

TEST_CASE("every node computes the same placement from the same members") {
  placement x{{{"n2", 2}, {"n1", 2}, {"n3", 2}}, 128};
  placement y{{{"n3", 2}, {"n1", 2}, {"n2", 2}}, 128};
  for (std::uint16_t kg = 0; kg < 128; ++kg)
    CHECK(x.owner_of(protocol::key_group{kg}) == y.owner_of(protocol::key_group{kg}));
}
