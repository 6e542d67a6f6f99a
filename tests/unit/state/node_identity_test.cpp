#include "state/node_identity.hpp"

#include "fakes/faulty_env.hpp"
#include "unit/temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

using namespace hearth;
using namespace hearth::state;
using hearth::testing::temp_dir;

TEST_CASE("a data dir keeps its node id; every start is a newer incarnation") {
  temp_dir dir; // made by the first start
  auto first = next_incarnation(dir.path, "n1");
  REQUIRE(first);
  CHECK(first->id == "n1");
  CHECK(first->incarnation == 1);
  auto second = next_incarnation(dir.path, ""); // the id is remembered
  REQUIRE(second);
  CHECK(second->id == "n1");
  CHECK(second->incarnation == 2);
  auto third = next_incarnation(dir.path, "n1");
  REQUIRE(third);
  CHECK(third->incarnation == 3);
}

TEST_CASE("a generated id is kept like a given one") {
  temp_dir dir{true};
  auto first = next_incarnation(dir.path, "");
  REQUIRE(first);
  CHECK(check_node_id(first->id).empty());
  auto again = next_incarnation(dir.path, "");
  REQUIRE(again);
  CHECK(again->id == first->id);
}

TEST_CASE("another node id for the same data dir is refused, naming both") {
  temp_dir dir{true};
  REQUIRE(next_incarnation(dir.path, "n1"));
  auto other = next_incarnation(dir.path, "n2");
  REQUIRE_FALSE(other);
  CHECK(other.err().code == errc::conflict);
  CHECK(other.err().message.find("belongs to node 'n1', not 'n2'") != std::string::npos);
}

TEST_CASE("bad ids and damaged files are reported with the file and line") {
  temp_dir dir{true};
  CHECK(next_incarnation(dir.path, "has space").err().code == errc::malformed);
  CHECK_FALSE(next_incarnation(dir.path, std::string(65, 'x')));
  {
    std::ofstream out{dir.path + "/NODE"};
    out << "id=n1\nincarnation=x7\n";
  }
  auto damaged = next_incarnation(dir.path, "");
  REQUIRE_FALSE(damaged);
  CHECK(damaged.err().message == dir.path + "/NODE:2: incarnation 'x7' is not a number");
}

TEST_CASE("a failed write leaves the last incarnation, and the next start goes past it") {
  temp_dir dir{true};
  fakes::faulty_env env;
  REQUIRE(next_incarnation(dir.path, "n1", env));
  env.fail(fakes::faulty_env::op::fsync, ENOSPC);
  auto failed = next_incarnation(dir.path, "", env);
  REQUIRE_FALSE(failed);
  CHECK(failed.err().code == errc::io);
  auto next = next_incarnation(dir.path, "", env);
  REQUIRE(next);
  CHECK(next->incarnation == 2);
}
