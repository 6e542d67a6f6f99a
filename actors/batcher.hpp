#pragma once

// actors::batcher: StateFun's per-address invocation discipline, without the
// actor. At most one batch is in flight; invocations that arrive meanwhile are
// buffered and leave together as the next batch once the in-flight one
// completes, at most maxNumBatchRequests of them per batch (the rest wait for
// the next one). Not thread-safe; owned by one address actor.

#include "protocol/messages.hpp"

#include <optional>
#include <vector>

namespace hearth::actors {

class batcher {
public:
  /// `max_batch`: most invocations per batch; 0 for no limit.
  explicit batcher(size_t max_batch = 0) : max_batch_(max_batch) {}

  /// Buffers one invocation.
  void enqueue(protocol::invocation inv) { buffered_.push_back(std::move(inv)); }

  /// True while a batch is in flight.
  bool busy() const { return busy_; }

  /// When idle and something is buffered, moves the oldest buffered
  /// invocations (at most max_batch) into flight and returns them; otherwise
  /// nullopt.
  std::optional<std::vector<protocol::invocation>> next_batch() {
    if (busy_ || buffered_.empty())
      return std::nullopt;
    if (max_batch_ == 0 || buffered_.size() <= max_batch_) {
      in_flight_.swap(buffered_);
      buffered_.clear();
    } else {
      auto cut = buffered_.begin() + static_cast<std::ptrdiff_t>(max_batch_);
      in_flight_.assign(std::make_move_iterator(buffered_.begin()), std::make_move_iterator(cut));
      buffered_.erase(buffered_.begin(), cut);
    }
    busy_ = true;
    return in_flight_;
  }

  /// The batch in flight (empty when idle). A retry re-sends exactly this.
  const std::vector<protocol::invocation>& in_flight() const { return in_flight_; }

  /// Ends the in-flight batch; returns how many invocations it held.
  size_t complete() {
    auto n = in_flight_.size();
    in_flight_.clear();
    busy_ = false;
    return n;
  }

  /// Invocations in flight plus buffered.
  size_t pending() const { return in_flight_.size() + buffered_.size(); }

  /// Removes and returns everything (in flight first, then buffered), leaving
  /// the batcher idle. Used when the node shuts down.
  std::vector<protocol::invocation> drain() {
    auto out = std::move(in_flight_);
    out.insert(out.end(), std::make_move_iterator(buffered_.begin()),
               std::make_move_iterator(buffered_.end()));
    in_flight_.clear();
    buffered_.clear();
    busy_ = false;
    return out;
  }

private:
  size_t max_batch_ = 0;
  bool busy_ = false;
  std::vector<protocol::invocation> in_flight_;
  std::vector<protocol::invocation> buffered_;
};

} // namespace hearth::actors
