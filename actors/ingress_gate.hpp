#pragma once

// actors::ingress_gate: where an ingress request waits until its message is
// accepted by its address (back-pressure per address). The ingress log's
// writer announces each durable record (expect); the owning partition accepts
// it once the address has room (accept); the HTTP thread that submitted it
// waits (wait). Records replayed after a restart have no waiter: accepting
// them is a no-op. Thread-safe; accept() never blocks.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace hearth::actors {

class ingress_gate {
public:
  /// A waiter for `offset` will come.
  void expect(std::uint64_t offset) {
    std::lock_guard<std::mutex> g{mtx_};
    if (!open_)
      waiting_.emplace(offset, false);
  }

  /// The address of `offset` has room.
  void accept(std::uint64_t offset) {
    std::lock_guard<std::mutex> g{mtx_};
    auto it = waiting_.find(offset);
    if (it == waiting_.end())
      return;
    it->second = true;
    cv_.notify_all();
  }

  /// Blocks until `offset` is accepted (or the gate is opened for shutdown).
  void wait(std::uint64_t offset) {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait(lock, [&] {
      auto it = waiting_.find(offset);
      return open_ || it == waiting_.end() || it->second;
    });
    waiting_.erase(offset);
  }

  /// Releases every waiter, now and later (the node is stopping; the records
  /// are durable, so their senders may be answered).
  void open_all() {
    std::lock_guard<std::mutex> g{mtx_};
    open_ = true;
    waiting_.clear();
    cv_.notify_all();
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::unordered_map<std::uint64_t, bool> waiting_;
  bool open_ = false;
};

} // namespace hearth::actors
