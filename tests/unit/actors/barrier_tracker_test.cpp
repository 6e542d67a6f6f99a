// Barrier bookkeeping, alone and in a deterministic simulation of partitions
// exchanging messages on a cyclic graph, crashed and restored from a checkpoint.

#include "actors/barrier_tracker.hpp"

#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <map>
#include <random>

using hearth::actors::barrier_tracker;
using hearth::actors::channel_id;

TEST_CASE("the first barrier records, the last completes, late channels are logged") {
  barrier_tracker t{3};
  CHECK(!t.must_log(0));
  auto s = t.on_barrier(1, 2);
  CHECK(s.record);
  CHECK(!s.complete);
  CHECK(t.must_log(0));
  CHECK(t.must_log(1));
  CHECK(!t.must_log(2)); // its barrier came: later messages are after the checkpoint
  CHECK(!t.on_barrier(1, 2).record); // repeated barrier changes nothing
  s = t.on_barrier(1, 0);
  CHECK(!s.record);
  CHECK(!s.complete);
  s = t.on_barrier(1, 1);
  CHECK(s.complete);
  CHECK(!t.running());
  CHECK(!t.must_log(1));
  CHECK(!t.on_barrier(1, 1).record); // stale
  CHECK(t.on_barrier(2, 1).record);
  CHECK(t.running() == 2u);
}

TEST_CASE("a newer barrier abandons the running checkpoint") {
  barrier_tracker t{2};
  t.on_barrier(5, 0);
  auto s = t.on_barrier(6, 1);
  CHECK(s.record);
  CHECK(t.running() == 6u);
  CHECK(!t.on_barrier(5, 1).complete);
  CHECK(t.on_barrier(6, 0).complete);
}

namespace {

// A message carries a token with some hops left. Receiving one counts one unit
// of work; with hops left it is sent on to a random partition (possibly the
// same one: a local step, not a channel). Every token of the source is worth
// hops + 1 units, so the total is known once everything is drained.
struct msg {
  bool barrier = false;
  std::uint64_t id = 0; // barrier: checkpoint id
  int hops = 0;
};

// Inputs of partition i: 0 is the source, then the peers j != i in order.
channel_id input_of(int from, int to) {
  if (from < 0)
    return 0;
  return static_cast<channel_id>(from < to ? from + 1 : from);
}

struct sim_partition {
  long long work = 0;               // units processed
  std::deque<int> pending;          // received, not yet processed (hops)
  barrier_tracker tracker;
  // Recorded part of the checkpoint.
  long long rec_work = 0;
  std::deque<int> rec_pending;
  std::vector<std::deque<int>> logs; // per input channel
  bool complete = false;
  explicit sim_partition(size_t inputs) : tracker(inputs), logs(inputs) {}
};

struct sim {
  int parts;
  int initial_hops;
  bool log_channels; // false: a deliberately broken protocol (no channel state)
  std::mt19937 rng;
  std::vector<sim_partition> p;
  std::map<std::pair<int, int>, std::deque<msg>> channels; // (from, to); from = -1 is the source
  long long emitted = 0;                                    // tokens sent by the source
  long long rec_pos = -1;                                   // source position of the checkpoint

  sim(int n, int hops, unsigned seed, bool log)
    : parts(n), initial_hops(hops), log_channels(log), rng(seed) {
    for (int i = 0; i < n; ++i)
      p.emplace_back(static_cast<size_t>(n));
  }

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }

  void send(int from, int to, msg m) { channels[{from, to}].push_back(m); }

  void receive(int i, channel_id c, const msg& m) {
    auto& q = p[i];
    if (m.barrier) {
      auto s = q.tracker.on_barrier(m.id, c);
      if (s.record) {
        q.rec_work = q.work;
        q.rec_pending = q.pending;
        for (int j = 0; j < parts; ++j)
          if (j != i)
            send(i, j, msg{true, m.id, 0});
      }
      if (s.complete)
        q.complete = true;
      return;
    }
    if (log_channels && q.tracker.must_log(c))
      q.logs[c].push_back(m.hops);
    q.pending.push_back(m.hops);
  }

  void process(int i) {
    auto& q = p[i];
    int hops = q.pending.front();
    q.pending.pop_front();
    q.work++;
    if (hops == 0)
      return;
    int to = pick(parts);
    if (to == i)
      q.pending.push_back(hops - 1); // local step
    else
      send(i, to, msg{false, 0, hops - 1});
  }

  // One random step; returns false when nothing can happen.
  bool step(long long max_tokens, bool checkpoint_wanted, std::uint64_t checkpoint_id) {
    std::vector<std::function<void()>> moves;
    if (emitted < max_tokens)
      moves.push_back([&] {
        send(-1, pick(parts), msg{false, 0, initial_hops});
        emitted++;
      });
    if (checkpoint_wanted && rec_pos < 0)
      moves.push_back([&, checkpoint_id] {
        rec_pos = emitted;
        for (int j = 0; j < parts; ++j)
          send(-1, j, msg{true, checkpoint_id, 0});
      });
    for (auto& [key, q] : channels)
      if (!q.empty()) {
        auto k = key;
        moves.push_back([&, k] {
          auto m = channels[k].front();
          channels[k].pop_front();
          receive(k.second, input_of(k.first, k.second), m);
        });
      }
    for (int i = 0; i < parts; ++i)
      if (!p[i].pending.empty())
        moves.push_back([&, i] { process(i); });
    if (moves.empty())
      return false;
    moves[static_cast<size_t>(pick(static_cast<int>(moves.size())))]();
    return true;
  }

  bool checkpoint_complete() const {
    for (auto& q : p)
      if (!q.complete)
        return false;
    return rec_pos >= 0;
  }

  // Conservation at the recorded cut: every emitted unit is done, pending, or
  // in a channel log.
  bool cut_consistent() const {
    long long units = 0;
    for (auto& q : p) {
      units += q.rec_work;
      for (int h : q.rec_pending)
        units += h + 1;
      for (auto& log : q.logs)
        for (int h : log)
          units += h + 1;
    }
    return units == rec_pos * (initial_hops + 1);
  }

  // Crash: drop everything live, restore the checkpoint (pending first, then
  // channel logs), resume the source at its recorded position.
  void crash_and_restore() {
    channels.clear();
    for (auto& q : p) {
      q.work = q.rec_work;
      q.pending = q.rec_pending;
      for (auto& log : q.logs)
        for (int h : log)
          q.pending.push_back(h);
      q.tracker = barrier_tracker{static_cast<size_t>(parts)};
    }
    emitted = rec_pos;
  }

  long long total_work() const {
    long long w = 0;
    for (auto& q : p)
      w += q.work;
    return w;
  }
};

struct outcome {
  bool consistent;
  bool exactly_once;
};

outcome run(unsigned seed, bool log_channels) {
  const int parts = 4, hops = 6;
  const long long tokens = 200;
  sim s{parts, hops, seed, log_channels};
  std::mt19937 r{seed ^ 0x9e3779b9u};
  int checkpoint_after = std::uniform_int_distribution<int>(10, 400)(r);
  int crash_after = std::uniform_int_distribution<int>(0, 600)(r);
  int steps = 0;
  while (!s.checkpoint_complete() && s.step(tokens, ++steps > checkpoint_after, 1)) {
  }
  REQUIRE(s.checkpoint_complete());
  bool consistent = s.cut_consistent();
  for (int i = 0; i < crash_after && s.step(tokens, false, 0); ++i) {
  }
  s.crash_and_restore();
  while (s.step(tokens, false, 0)) {
  }
  return {consistent, s.total_work() == tokens * (hops + 1)};
}

} // namespace

TEST_CASE("checkpoints on a cyclic graph are consistent cuts, and restoring one applies "
          "every message exactly once") {
  for (unsigned seed = 1; seed <= 300; ++seed) {
    CAPTURE(seed);
    auto o = run(seed, true);
    REQUIRE(o.consistent);
    REQUIRE(o.exactly_once);
  }
}

TEST_CASE("without channel state the same simulation loses messages (the check has teeth)") {
  int broken = 0;
  for (unsigned seed = 1; seed <= 300; ++seed) {
    auto o = run(seed, false);
    broken += (!o.consistent || !o.exactly_once) ? 1 : 0;
  }
  CHECK(broken > 0);
}
