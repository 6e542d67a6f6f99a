#pragma once

// actors::barrier_tracker: the Chandy-Lamport bookkeeping of one partition for
// consistent checkpoints (docs/checkpoints.md). Given the partition's input
// channels, it says when the partition must record its state and forward the
// barrier (on the first barrier of a checkpoint), which messages belong to the
// checkpoint's channel state (those arriving on a channel after the recording
// and before that channel's barrier), and when the partition's part of the
// checkpoint is complete (the barrier arrived on every input).
//
// One checkpoint runs at a time. A barrier of a newer checkpoint abandons the
// running one (the coordinator only does that after giving the older one up).
// Not thread-safe; owned by one partition actor.

#include <cstdint>
#include <optional>
#include <vector>

namespace hearth::actors {

/// Index of an input channel of a partition (the ingress source, the peers).
using channel_id = std::uint32_t;

class barrier_tracker {
public:
  explicit barrier_tracker(size_t inputs) : arrived_(inputs, false) {}

  /// What a barrier arrival asks of the partition.
  struct step {
    /// First barrier of this checkpoint: record the state now, in this step,
    /// and send the barrier on every outgoing channel.
    bool record = false;
    /// Every input delivered this checkpoint's barrier: the channel logs are
    /// final and the partition's part can be written.
    bool complete = false;
  };

  /// Barrier of checkpoint `id` on input `c`. Barriers of a checkpoint older
  /// than the running one, or repeated on a channel, change nothing.
  step on_barrier(std::uint64_t id, channel_id c) {
    step s;
    if (running_ && id < *running_)
      return s;
    if (!running_ || id > *running_) {
      if (last_complete_ && id <= *last_complete_)
        return s;
      running_ = id;
      arrived_.assign(arrived_.size(), false);
      arrived_count_ = 0;
      s.record = true;
    }
    if (c >= arrived_.size() || arrived_[c])
      return s;
    arrived_[c] = true;
    if (++arrived_count_ == arrived_.size()) {
      s.complete = true;
      last_complete_ = running_;
      running_.reset();
    }
    return s;
  }

  /// True when a message arriving now on input `c` is part of the running
  /// checkpoint's channel state and must be logged (it is still processed).
  bool must_log(channel_id c) const { return running_ && c < arrived_.size() && !arrived_[c]; }

  /// The checkpoint being recorded, if any.
  std::optional<std::uint64_t> running() const { return running_; }

  size_t inputs() const { return arrived_.size(); }

private:
  std::vector<bool> arrived_;
  size_t arrived_count_ = 0;
  std::optional<std::uint64_t> running_;
  std::optional<std::uint64_t> last_complete_;
};

} // namespace hearth::actors
