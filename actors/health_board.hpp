#pragma once

// actors::health_board: what the node's health checks read that no single
// actor can answer: when the last checkpoint completed, and the last
// checkpoint failure. The coordinator writes it (and, on every node of a
// cluster, the ingress source when a checkpoint completes); /health reads it.
// Thread-safe.

#include <chrono>
#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>

namespace hearth::actors {

class health_board {
public:
  using clock = std::chrono::steady_clock;

  health_board() : last_completed_(clock::now()) {}

  void checkpoint_completed(std::uint64_t id) {
    std::lock_guard<std::mutex> g{mtx_};
    last_completed_ = clock::now();
    last_id_ = id;
    failure_.clear();
  }

  void checkpoint_failed(std::uint64_t id, std::string reason) {
    std::lock_guard<std::mutex> g{mtx_};
    failure_ = "checkpoint " + std::to_string(id) + " failed: " + std::move(reason);
  }

  /// A completed checkpoint covers this node's ingress log up to `position`
  /// (the first offset it does not reflect).
  void log_covered(std::uint64_t position) {
    std::lock_guard<std::mutex> g{mtx_};
    covered_ = std::max(covered_, position);
  }
  std::uint64_t covered() const {
    std::lock_guard<std::mutex> g{mtx_};
    return covered_;
  }

  struct view {
    std::chrono::milliseconds since_completed{0}; // since the last checkpoint (or start)
    std::uint64_t last_id = 0;                    // 0: none since start
    std::string failure;                          // of the newest attempt; empty when it succeeded
  };

  view read() const {
    std::lock_guard<std::mutex> g{mtx_};
    return {std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - last_completed_),
            last_id_, failure_};
  }

private:
  mutable std::mutex mtx_;
  clock::time_point last_completed_;
  std::uint64_t last_id_ = 0;
  std::uint64_t covered_ = 0;
  std::string failure_;
};

} // namespace hearth::actors
