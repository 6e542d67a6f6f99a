#pragma once

// actors::ingress_gate: where an ingress request waits for its message, either
// until the message is accepted by its address (back-pressure per address) or
// until its invocation is applied (effects committed, or the batch failed for
// good). The ingress log's writer announces each durable record (expect); the
// owning partition reports accept, applied or lost; the request is answered by
// a callback (watch), so a waiting request holds no thread. Records replayed
// after a restart have no watcher: reports about them are no-ops.
// Thread-safe; callbacks run outside the gate's lock, on the thread that made
// the report (a partition's, the log writer's, or the gate's timer thread for
// a timeout), and must not block.
//
// It also knows which addresses are full (at maxNumBatchRequests, as their
// partitions report), which partitions are full (over partition.max_pending)
// and how many senders wait for room, so that the ingress can refuse a
// message for a full address or partition before logging it when too many
// senders already wait: held requests stay bounded, other addresses keep
// flowing, and a full partition's memory stays bounded.

#include "actors/gate_port.hpp"
#include "actors/messages.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace hearth::actors {

class ingress_gate final : public gate_port {
public:
  enum class until { accepted, applied };

  /// What a watcher learned.
  struct outcome {
    enum class kind { accepted, applied, lost, timeout, stopping } what = kind::accepted;
    invocation_record batch; // for applied: the batch that carried the message
  };

  using notify = std::function<void(outcome)>;

  ingress_gate() = default;
  ~ingress_gate() override;
  ingress_gate(const ingress_gate&) = delete;
  ingress_gate& operator=(const ingress_gate&) = delete;

  /// A watcher for `offset` will come.
  void expect(std::uint64_t offset);

  /// Calls `done` once `offset` reaches `mode` (at once when it has already,
  /// when it was never expected, or when the gate is open for shutdown).
  /// Watching for `applied` gives up after `timeout` (the message stays
  /// accepted); watching for `accepted` does not time out, but when
  /// `max_waiting` senders are held already it is answered at once (the
  /// message is durable either way; the sender just is not held back).
  void watch(std::uint64_t offset, until mode, std::chrono::milliseconds timeout,
             size_t max_waiting, notify done);

  /// The address of `offset` has room.
  void accept(std::uint64_t offset) override;
  /// The invocation of `offset` is done: `batch` carried it.
  void applied(std::uint64_t offset, const invocation_record& batch) override;
  /// The message of `offset` was dead-lettered without an invocation.
  void lost(std::uint64_t offset) override;

  /// True when the sender of `offset`, expected and not yet answered, may go
  /// on (its message was accepted, applied or lost).
  bool is_accepted(std::uint64_t offset);

  /// Address `key` (protocol::address::to_string) is full, or has room again.
  void set_full(const std::string& key, bool full) override;
  bool is_full(const std::string& key);

  /// Partition `p` holds more than partition.max_pending invocations, or has
  /// room again.
  void set_partition_full(std::uint32_t p, bool full) override;
  bool is_partition_full(std::uint32_t p);

  /// Senders held for room right now.
  size_t waiting();

  /// Lets every sender waiting for room (or about to) go on: a cluster
  /// node's pipeline stopped, and its records are durable. Senders waiting
  /// for their invocation to be applied wait on (the next pipeline replays
  /// the records and reports again).
  void release_senders();

  /// Releases every watcher, now and later (the node is stopping; the records
  /// are durable, so their senders may be answered).
  void open_all();

private:
  struct entry {
    notify done; // empty until watched
    until mode = until::accepted;
    bool accepted = false;
    bool finished = false; // applied or lost
    bool lost = false;
    bool held = false;     // counted in held_
    bool timed = false;    // has a deadline in deadlines_ (at `deadline`)
    std::multimap<std::chrono::steady_clock::time_point, std::uint64_t>::iterator deadline;
    invocation_record batch;
  };
  struct fired {
    notify done;
    outcome out;
  };

  /// True when `e`, watched, may be answered now.
  bool ready(const entry& e) const;
  /// Takes a ready entry out: its answer, to deliver outside the lock.
  fired take(std::unordered_map<std::uint64_t, entry>::iterator it, bool timed_out = false);
  /// Answers `it` if it is watched and ready (under the lock).
  void settle(std::unordered_map<std::uint64_t, entry>::iterator it, std::vector<fired>& out);
  void run_timer();

  std::mutex mtx_;
  std::unordered_map<std::uint64_t, entry> waiting_;
  std::unordered_set<std::string> full_;
  std::unordered_set<std::uint32_t> full_partitions_;
  size_t held_ = 0;
  bool open_ = false;
  // Deadlines of watchers for `applied`, served by one timer thread started
  // with the first of them.
  std::multimap<std::chrono::steady_clock::time_point, std::uint64_t> deadlines_;
  std::chrono::steady_clock::time_point timer_wakes_ = std::chrono::steady_clock::time_point::max();
  std::condition_variable timer_cv_;
  std::thread timer_;
  bool timer_stop_ = false;
};

} // namespace hearth::actors
