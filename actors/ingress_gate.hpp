#pragma once

// actors::ingress_gate: where an ingress request waits for its message, either
// until the message is accepted by its address (back-pressure per address) or
// until its invocation is applied (effects committed, or the batch failed for
// good). The ingress log's writer announces each durable record (expect); the
// owning partition reports accept, applied or lost; the HTTP thread that
// submitted the record waits. Each waiter is woken only by its own offset.
// Records replayed after a restart have no waiter: reports about them are
// no-ops. Thread-safe; the report calls never block on a waiter.
//
// It also knows which addresses are full (at maxNumBatchRequests, as their
// partitions report), which partitions are full (over partition.max_pending)
// and how many senders wait for room, so that the ingress can refuse a
// message for a full address or partition before logging it when too many
// senders already wait: the server's threads are not all pinned by full
// addresses, other addresses keep flowing, and a full partition's memory
// stays bounded.

#include "actors/gate_port.hpp"
#include "actors/messages.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace hearth::actors {

class ingress_gate final : public gate_port {
public:
  enum class until { accepted, applied };

  /// What a waiter learned.
  struct outcome {
    enum class kind { accepted, applied, lost, timeout, stopping } what = kind::accepted;
    invocation_record batch; // for applied: the batch that carried the message
  };

  /// A waiter for `offset` will come.
  void expect(std::uint64_t offset) {
    std::lock_guard<std::mutex> g{mtx_};
    if (!open_)
      waiting_.try_emplace(offset);
  }

  /// The address of `offset` has room.
  void accept(std::uint64_t offset) override {
    std::lock_guard<std::mutex> g{mtx_};
    auto it = waiting_.find(offset);
    if (it == waiting_.end())
      return;
    it->second.accepted = true;
    if (it->second.mode == until::accepted)
      it->second.cv.notify_one();
  }

  /// The invocation of `offset` is done: `batch` carried it.
  void applied(std::uint64_t offset, const invocation_record& batch) override {
    std::lock_guard<std::mutex> g{mtx_};
    auto it = waiting_.find(offset);
    if (it == waiting_.end())
      return;
    it->second.accepted = it->second.done = true;
    it->second.batch = batch;
    it->second.cv.notify_one();
  }

  /// The message of `offset` was dead-lettered without an invocation.
  void lost(std::uint64_t offset) override {
    std::lock_guard<std::mutex> g{mtx_};
    auto it = waiting_.find(offset);
    if (it == waiting_.end())
      return;
    it->second.accepted = it->second.done = it->second.lost = true;
    it->second.cv.notify_one();
  }

  /// Blocks until `offset` reaches `mode` (or the gate is opened for
  /// shutdown). Waiting for `applied` gives up after `timeout` (the message
  /// stays accepted); waiting for `accepted` does not time out, but when
  /// `max_waiting` senders wait already it returns at once (the message is
  /// durable either way; the sender just is not held back).
  outcome wait(std::uint64_t offset, until mode, std::chrono::milliseconds timeout,
               size_t max_waiting = ~size_t{0}) {
    std::unique_lock<std::mutex> lock{mtx_};
    auto it = waiting_.find(offset);
    if (it == waiting_.end())
      return {open_ ? outcome::kind::stopping : outcome::kind::accepted, {}};
    auto& w = it->second;
    w.mode = mode;
    if (mode == until::accepted && !w.accepted && waiting_for_room_ >= max_waiting) {
      waiting_.erase(it);
      return {outcome::kind::accepted, {}};
    }
    auto ready = [&] { return open_ || (mode == until::accepted ? w.accepted : w.done); };
    bool reached = true;
    bool counted = !ready();
    if (counted)
      ++waiting_for_room_;
    if (mode == until::accepted)
      w.cv.wait(lock, ready);
    else
      reached = w.cv.wait_for(lock, timeout, ready);
    if (counted)
      --waiting_for_room_;
    outcome out;
    if (!reached)
      out.what = outcome::kind::timeout;
    else if (mode == until::accepted)
      out.what = w.accepted ? outcome::kind::accepted : outcome::kind::stopping;
    else if (!w.done)
      out.what = outcome::kind::stopping;
    else if (w.lost)
      out.what = outcome::kind::lost;
    else
      out = {outcome::kind::applied, std::move(w.batch)};
    waiting_.erase(it);
    return out;
  }

  /// True when the sender of `offset`, expected and not yet gone, may go on
  /// (its message was accepted, applied or lost).
  bool is_accepted(std::uint64_t offset) {
    std::lock_guard<std::mutex> g{mtx_};
    auto it = waiting_.find(offset);
    return it != waiting_.end() && it->second.accepted;
  }

  /// Address `key` (protocol::address::to_string) is full, or has room again.
  void set_full(const std::string& key, bool full) override {
    std::lock_guard<std::mutex> g{mtx_};
    if (full)
      full_.insert(key);
    else
      full_.erase(key);
  }

  bool is_full(const std::string& key) {
    std::lock_guard<std::mutex> g{mtx_};
    return full_.count(key) != 0;
  }

  /// Partition `p` holds more than partition.max_pending invocations, or has
  /// room again.
  void set_partition_full(std::uint32_t p, bool full) override {
    std::lock_guard<std::mutex> g{mtx_};
    if (full)
      full_partitions_.insert(p);
    else
      full_partitions_.erase(p);
  }

  bool is_partition_full(std::uint32_t p) {
    std::lock_guard<std::mutex> g{mtx_};
    return full_partitions_.count(p) != 0;
  }

  /// Senders blocked in wait() right now.
  size_t waiting() {
    std::lock_guard<std::mutex> g{mtx_};
    return waiting_for_room_;
  }

  /// Lets every sender waiting for room (or about to) go on: a cluster
  /// node's pipeline stopped, and its records are durable. Senders waiting
  /// for their invocation to be applied wait on (the next pipeline replays
  /// the records and reports again).
  void release_senders() {
    std::lock_guard<std::mutex> g{mtx_};
    for (auto& [offset, w] : waiting_) {
      w.accepted = true;
      if (w.mode == until::accepted)
        w.cv.notify_one();
    }
  }

  /// Releases every waiter, now and later (the node is stopping; the records
  /// are durable, so their senders may be answered).
  void open_all() {
    std::lock_guard<std::mutex> g{mtx_};
    open_ = true;
    for (auto& [offset, w] : waiting_)
      w.cv.notify_one();
  }

private:
  struct waiter {
    std::condition_variable cv;
    until mode = until::accepted;
    bool accepted = false;
    bool done = false;
    bool lost = false;
    invocation_record batch;
  };

  std::mutex mtx_;
  std::unordered_map<std::uint64_t, waiter> waiting_; // nodes are stable: cv stays put
  std::unordered_set<std::string> full_;
  std::unordered_set<std::uint32_t> full_partitions_;
  size_t waiting_for_room_ = 0;
  bool open_ = false;
};

} // namespace hearth::actors
