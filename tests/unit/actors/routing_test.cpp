#include "actors/routing.hpp"

#include "unit/actors/partition_parts.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::actors;
using hearth::testing::addr;

TEST_CASE("every key group belongs to exactly one partition, whose range holds it") {
  for (std::uint32_t n : {1u, 2u, 3u, 7u}) {
    std::uint32_t next = 0;
    for (std::uint32_t p = 0; p < n; ++p) {
      routing r{p, n, 128};
      CHECK(r.kg_begin() == next); // contiguous, in partition order
      next = r.kg_end();
    }
    CHECK(next == 128);
  }
  routing r{1, 3, 128};
  for (int i = 0; i < 200; ++i) {
    auto a = addr("f", "id-" + std::to_string(i));
    auto kg = r.kg_of(a).value;
    auto owner = r.owner_of(a);
    routing mine{owner, 3, 128};
    CHECK(kg >= mine.kg_begin());
    CHECK(kg < mine.kg_end());
    CHECK(r.is_local(a) == (owner == 1));
  }
}

TEST_CASE("channel 0 is the source; each peer has its own channel, this partition none") {
  routing r{2, 4, 128};
  CHECK(r.inputs() == 4);
  CHECK(r.channel_of(0) == 1);
  CHECK(r.channel_of(1) == 2);
  CHECK(r.channel_of(3) == 3);
}

TEST_CASE("a function's target must have a namespace, a type, a known endpoint and a short address") {
  hearth::testing::partition_parts parts;
  CHECK(check_target(parts.module, addr("cart", "a")).empty());
  CHECK(check_target(parts.module, {{"", "cart"}, "a"}) == "target address has an empty namespace or type");
  CHECK(check_target(parts.module, {{"com.example", ""}, "a"}) == "target address has an empty namespace or type");
  CHECK(check_target(parts.module, {{"org.other", "cart"}, "a"}) == "unknown function type 'org.other/cart'");
  auto long_one = check_target(parts.module, addr("cart", std::string(600, 'x')));
  CHECK(long_one.find("target address is longer than") == 0);
}

TEST_CASE("in a cluster every node's source has a channel, then every peer") {
  routing r{2, 6, 128, 3}; // global partition 2 of 6, three nodes
  CHECK(r.inputs() == 3 + 5);
  CHECK(r.source_channel(0) == 0);
  CHECK(r.source_channel(2) == 2);
  CHECK(r.channel_of(0) == 3);
  CHECK(r.channel_of(1) == 4);
  CHECK(r.channel_of(3) == 5);
  CHECK(r.channel_of(5) == 7);
  // Partitions are numbered globally: the same formula as a single node's.
  CHECK(r.kg_begin() == hearth::protocol::first_key_group(2, 128, 6));
}
