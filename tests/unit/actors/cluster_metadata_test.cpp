#include "actors/cluster_agent.hpp"

#include "unit/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace hearth;
using namespace hearth::actors;
using hearth::testing::temp_dir;

TEST_CASE("the cluster metadata keeps the view and the terms it was founded on") {
  temp_dir dir{true};
  auto path = dir.path + "/CLUSTER";
  cluster_terms terms{"kind: x\n", 128};
  CHECK(!*read_cluster_metadata(path)); // none yet
  cluster_view v{4, "n1", 128, {{"n1", 2, "127.0.0.1", 7000, 2, false}, {"n2", 1, "127.0.0.1", 7001, 3, true}}};
  REQUIRE(write_cluster_metadata(path, v, terms));
  auto back = read_cluster_metadata(path, &terms);
  REQUIRE(back);
  REQUIRE(*back);
  CHECK((*back)->epoch == 4);
  CHECK((*back)->coordinator == "n1");
  REQUIRE((*back)->members.size() == 2);
  CHECK((*back)->members[1].port == 7001);
  CHECK((*back)->members[1].draining);
  // Other terms: refused, saying which.
  cluster_terms other_groups{"kind: x\n", 256};
  auto g = read_cluster_metadata(path, &other_groups);
  REQUIRE_FALSE(g);
  CHECK(g.err().code == errc::conflict);
  CHECK(g.err().message.find("max_key_groups=128") != std::string::npos);
  cluster_terms other_module{"kind: y\n", 128};
  auto m = read_cluster_metadata(path, &other_module);
  REQUIRE_FALSE(m);
  CHECK(m.err().message.find("another module.yaml") != std::string::npos);
  CHECK(read_cluster_metadata(path)); // without terms: just the view
  // A damaged file is an error, never "no cluster".
  std::ofstream{path} << "{\"format\": 1, \"epoch\": ";
  auto damaged = read_cluster_metadata(path);
  REQUIRE_FALSE(damaged);
  CHECK(damaged.err().message.find(path) == 0);
}
