#include "actors/ingress_gate.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>

using namespace hearth;
using namespace hearth::actors;
using namespace std::chrono_literals;
using kind = ingress_gate::outcome::kind;
using until = ingress_gate::until;

namespace {

/// A watcher that remembers what it was told, and how often.
struct probe {
  std::shared_ptr<std::optional<ingress_gate::outcome>> seen = std::make_shared<std::optional<ingress_gate::outcome>>();
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  ingress_gate::notify fn() {
    return [seen = seen, calls = calls](ingress_gate::outcome o) {
      ++*calls;
      *seen = std::move(o);
    };
  }
};

} // namespace

TEST_CASE("a watcher for room is answered when its address accepts, once") {
  ingress_gate gate;
  gate.expect(1);
  probe p;
  gate.watch(1, until::accepted, 0ms, 10, p.fn());
  CHECK(*p.calls == 0);
  CHECK(gate.waiting() == 1);
  gate.accept(1);
  REQUIRE(*p.calls == 1);
  CHECK(p.seen->value().what == kind::accepted);
  CHECK(gate.waiting() == 0);
  gate.accept(1); // a late report about an answered record is a no-op
  gate.applied(1, {});
  CHECK(*p.calls == 1);
}

TEST_CASE("a report before the watcher comes is kept for it") {
  ingress_gate gate;
  gate.expect(1);
  gate.accept(1);
  probe p;
  gate.watch(1, until::accepted, 0ms, 10, p.fn());
  REQUIRE(*p.calls == 1);
  CHECK(p.seen->value().what == kind::accepted);

  gate.expect(2);
  invocation_record batch;
  batch.invocations = 3;
  gate.applied(2, batch);
  probe q;
  gate.watch(2, until::applied, 1000ms, 10, q.fn());
  REQUIRE(*q.calls == 1);
  CHECK(q.seen->value().what == kind::applied);
  CHECK(q.seen->value().batch.invocations == 3);
}

TEST_CASE("a watcher for the invocation waits past acceptance, and learns a loss") {
  ingress_gate gate;
  gate.expect(1);
  gate.expect(2);
  probe a, b;
  gate.watch(1, until::applied, 10s, 10, a.fn());
  gate.watch(2, until::applied, 10s, 10, b.fn());
  gate.accept(1);
  CHECK(*a.calls == 0);
  gate.applied(1, {});
  REQUIRE(*a.calls == 1);
  CHECK(a.seen->value().what == kind::applied);
  gate.lost(2);
  REQUIRE(*b.calls == 1);
  CHECK(b.seen->value().what == kind::lost);
}

TEST_CASE("a watcher for the invocation is told when its time is up, on the gate's timer") {
  ingress_gate gate;
  gate.expect(1);
  gate.expect(2);
  std::promise<ingress_gate::outcome> first;
  auto started = std::chrono::steady_clock::now();
  gate.watch(1, until::applied, 50ms, 10, [&](ingress_gate::outcome o) { first.set_value(std::move(o)); });
  probe later;
  gate.watch(2, until::applied, 60s, 10, later.fn());
  auto f = first.get_future();
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  CHECK(f.get().what == kind::timeout);
  CHECK(std::chrono::steady_clock::now() - started >= 50ms);
  CHECK(*later.calls == 0);
  gate.applied(1, {}); // after the timeout: nobody left to tell
  gate.applied(2, {});
  CHECK(*later.calls == 1);
}

TEST_CASE("beyond max_waiting held senders, a sender for room goes on at once") {
  ingress_gate gate;
  for (std::uint64_t o = 1; o <= 3; ++o)
    gate.expect(o);
  probe a, b, c;
  gate.watch(1, until::accepted, 0ms, 2, a.fn());
  gate.watch(2, until::accepted, 0ms, 2, b.fn());
  CHECK(gate.waiting() == 2);
  gate.watch(3, until::accepted, 0ms, 2, c.fn());
  REQUIRE(*c.calls == 1);
  CHECK(c.seen->value().what == kind::accepted);
  CHECK(*a.calls == 0);
  CHECK(*b.calls == 0);
}

TEST_CASE("release_senders frees the held senders; open_all everyone, now and later") {
  ingress_gate gate;
  for (std::uint64_t o = 1; o <= 3; ++o)
    gate.expect(o);
  probe room, applied;
  gate.watch(1, until::accepted, 0ms, 10, room.fn());
  gate.watch(2, until::applied, 60s, 10, applied.fn());
  gate.release_senders();
  REQUIRE(*room.calls == 1);
  CHECK(room.seen->value().what == kind::accepted);
  CHECK(*applied.calls == 0); // replayed by the next pipeline, reported then
  gate.open_all();
  REQUIRE(*applied.calls == 1);
  CHECK(applied.seen->value().what == kind::stopping);
  probe late, unknown;
  gate.watch(3, until::applied, 60s, 10, late.fn());
  REQUIRE(*late.calls == 1);
  CHECK(late.seen->value().what == kind::stopping);
  gate.expect(4); // after open_all: nothing is expected any more
  gate.watch(4, until::accepted, 0ms, 10, unknown.fn());
  REQUIRE(*unknown.calls == 1);
  CHECK(unknown.seen->value().what == kind::stopping);
}

TEST_CASE("a callback may watch again from within (no lock is held)") {
  ingress_gate gate;
  gate.expect(1);
  gate.expect(2);
  probe inner;
  gate.watch(1, until::accepted, 0ms, 10, [&](ingress_gate::outcome) {
    gate.watch(2, until::accepted, 0ms, 10, inner.fn());
  });
  gate.accept(2);
  gate.accept(1);
  REQUIRE(*inner.calls == 1);
  CHECK(inner.seen->value().what == kind::accepted);
}
