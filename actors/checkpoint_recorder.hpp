#pragma once

// actors::checkpoint_recorder: one partition's side of a checkpoint
// (docs/checkpoints.md). On the first barrier of checkpoint n it records, in
// that very step, a view of the store, the keys changed since the last
// recording (or "full"), the pending invocations and the held egress
// records; it then logs the messages of each input channel until that
// channel's barrier arrives (barrier_tracker); when every barrier is in, the
// recording becomes the job for the partition's snapshot writer. It keeps the
// chain of part files that restores this partition: an incremental part
// builds on the last completed checkpoint's chain, and a full part is written
// when nothing safe to build on exists or the chain is `full_every` long.
//
// Not thread-safe; owned by one partition actor.

#include "actors/barrier_tracker.hpp"
#include "actors/coordinator.hpp"
#include "actors/messages.hpp"
#include "actors/routing.hpp"
#include "state/store.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace hearth::actors {

class checkpoint_recorder {
public:
  /// `last_completed`: the checkpoint the partition was restored from (0:
  /// none); `epoch`: the cluster's (0: a single node), named in part files.
  checkpoint_recorder(const routing& route, std::uint64_t full_every, std::uint64_t last_completed,
                      std::uint64_t epoch = 0)
    : route_(route), tracker_(route.inputs()), full_every_(full_every),
      last_recorded_(last_completed), last_completed_(last_completed), epoch_(epoch) {}

  /// What a barrier asks of the partition (see barrier_tracker::step).
  barrier_tracker::step on_barrier(std::uint64_t id, channel_id c) { return tracker_.on_barrier(id, c); }

  /// Records checkpoint `id` now: a view of `store`, its changes, and
  /// `extras` (the pending invocations and held egress records; `logged` is
  /// filled from the channel logs). When the view cannot be taken the
  /// recording goes on without one and finish() gives nothing: the
  /// coordinator abandons the checkpoint. Returns the error, if any.
  status record(std::uint64_t id, state::store& store, state::part_extras extras);

  /// A message arrived on input `c`: logged when it belongs to the running
  /// checkpoint's channel state.
  void note_arrival(channel_id c, const envelope& env) {
    if (rec_ && tracker_.must_log(c))
      rec_->logs[c].push_back(env);
  }

  /// Every barrier arrived: the job for the snapshot writer, or nullopt when
  /// the recording has no view.
  std::optional<snapshot_job> finish();

  /// Checkpoint `id` completed: its chain is the base of the next
  /// incremental part.
  void completed(std::uint64_t id);

  /// The newest checkpoint recorded (records held after it go to the next).
  std::uint64_t last_recorded() const { return last_recorded_; }
  std::uint64_t last_completed() const { return last_completed_; }
  /// Part files that restore this partition as of the last completed checkpoint.
  const std::vector<std::string>& chain() const { return chain_; }
  bool recording() const { return rec_.has_value(); }

private:
  struct open_recording {
    std::uint64_t id = 0;
    std::shared_ptr<state::snapshot> view; // null: the store could not be read
    std::shared_ptr<std::unordered_set<std::string>> changed;
    std::vector<std::string> chain;
    state::part_extras extras;
    std::vector<std::vector<envelope>> logs; // per input channel
  };

  routing route_;
  barrier_tracker tracker_;
  std::uint64_t full_every_;
  std::optional<open_recording> rec_;
  std::uint64_t last_recorded_ = 0;
  std::uint64_t last_completed_ = 0;
  std::uint64_t epoch_ = 0;
  std::vector<std::string> chain_;
  std::map<std::uint64_t, std::vector<std::string>> recorded_chains_;
};

} // namespace hearth::actors
