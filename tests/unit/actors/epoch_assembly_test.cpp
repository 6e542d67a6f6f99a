#include "actors/epoch_assembly.hpp"

#include <doctest/doctest.h>

using namespace hearth::actors;

namespace {

cluster_view view_of(std::uint64_t epoch, std::vector<std::string> ids) {
  cluster_view v;
  v.epoch = epoch;
  v.coordinator = ids.front();
  for (auto& id : ids)
    v.members.push_back(member_info{id, 1, "127.0.0.1", 7000, 2, false});
  return v;
}

node_wiring ready_of(std::uint64_t epoch, const std::string& id, size_t partitions) {
  node_wiring w;
  w.epoch = epoch;
  w.node = id;
  w.partitions.resize(partitions);
  return w;
}

} // namespace

TEST_CASE("the wiring goes out once every member of the view reported, in the view's order") {
  epoch_assembly a;
  a.begin(view_of(4, {"n1", "n2", "n3"}), 17, caf::actor{});
  CHECK(a.epoch() == 4);
  CHECK(a.restored() == 17);
  CHECK(!a.ready(ready_of(4, "n3", 2)));
  CHECK(!a.ready(ready_of(4, "n1", 2)));
  CHECK(a.missing() == std::vector<std::string>{"n2"});
  CHECK(!a.wiring());
  auto w = a.ready(ready_of(4, "n2", 3));
  REQUIRE(w);
  CHECK(w->epoch == 4);
  CHECK(w->restored == 17);
  REQUIRE(w->nodes.size() == 3);
  CHECK(w->nodes[1].node == "n2");
  CHECK(w->partitions().size() == 7);
  CHECK(w->index_of("n3") == 2u);
  CHECK(!w->index_of("n9"));
  // Once only.
  CHECK(!a.ready(ready_of(4, "n2", 3)));
  CHECK(a.wiring());
}

TEST_CASE("reports of another epoch or from strangers change nothing") {
  epoch_assembly a;
  a.begin(view_of(5, {"n1", "n2"}), 0, caf::actor{});
  CHECK(!a.ready(ready_of(4, "n1", 2))); // of the epoch before
  CHECK(!a.ready(ready_of(5, "n9", 2))); // not a member
  CHECK(!a.ready(ready_of(5, "n1", 2)));
  CHECK(a.missing() == std::vector<std::string>{"n2"});
  // A new view starts over.
  a.begin(view_of(6, {"n1", "n2"}), 3, caf::actor{});
  CHECK(a.missing() == std::vector<std::string>{"n1", "n2"});
  CHECK(!a.ready(ready_of(5, "n2", 2)));
}

TEST_CASE("checkpoints start once every member runs the wired epoch, once") {
  epoch_assembly a;
  a.begin(view_of(2, {"n1", "n2"}), 0, caf::actor{});
  CHECK(!a.running("n1", 2)); // not wired yet
  a.ready(ready_of(2, "n1", 2));
  REQUIRE(a.ready(ready_of(2, "n2", 2)));
  CHECK(!a.running("n1", 1));
  CHECK(!a.running("n1", 2));
  CHECK(!a.running("n9", 2));
  CHECK(a.running("n2", 2));
  CHECK(!a.running("n2", 2));
}
