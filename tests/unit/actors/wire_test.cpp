#include "actors/wire.hpp"
#include <caf/io/all.hpp>
#include "protocol/primitives.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::actors;

TEST_CASE("every wire type round-trips through CAF's binary format once registered") {
  caf::actor_system_config cfg;
  add_wire_types(cfg);
  caf::actor_system sys{cfg};
  auto s = check_wire_types(sys);
  CHECK_MESSAGE(s, (s ? std::string{} : s.err().message));
}

TEST_CASE("a node that did not register the wire types finds out at start, not on the wire") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto s = check_wire_types(sys);
  REQUIRE_FALSE(s);
  CHECK(s.err().message.find("wire type function_type") == 0);
}


TEST_CASE("the wire types round-trip with the middleman loaded, as on a cluster node") {
  // Actor handles go through the middleman's proxy registry then.
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  add_wire_types(cfg);
  caf::actor_system sys{cfg};
  auto s = check_wire_types(sys);
  CHECK_MESSAGE(s, (s ? std::string{} : s.err().message));
}
