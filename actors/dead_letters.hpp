#pragma once

// actors::dead_letters: a partition's dead-letter office. It stages dead
// letters into a batch (numbered by the store, stamped with the time), lists
// and finds them for the admin API, and stages their deletion when one is
// replayed or dropped. Nothing here commits: the caller commits the batch,
// and a letter exists only once that commit succeeded.
//
// Not thread-safe; owned by one partition actor.

#include "protocol/primitives.hpp"
#include "state/store.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hearth::actors {

/// A message that cannot be delivered, on its way to the dead letters.
struct undeliverable {
  protocol::address target; // the address (or egress) it was meant for
  std::vector<protocol::invocation> invocations;
  std::string reason;
};

class dead_letters {
public:
  /// `observer` sees every letter staged (for the log and metrics).
  explicit dead_letters(state::store& store,
                        std::function<void(const state::dead_letter&)> observer = {})
    : store_(store), observer_(std::move(observer)) {}

  /// Stages `r` as a dead letter in key group `kg` (that of the address it
  /// belongs to: the target, or the sender of a message that never left).
  void stage(state::write_batch& wb, protocol::key_group kg, undeliverable r, std::int64_t now_ms);

  /// Letters staged so far (committed or not).
  std::uint64_t staged() const { return staged_; }

  /// The oldest dead letters, oldest first within each key group, at most `limit`.
  result<std::vector<state::dead_letter>> list(size_t limit) { return store_.dead_letters(limit); }

  /// The letter numbered `seq` in key group `kg`; nullopt when absent or unreadable.
  std::optional<state::dead_letter> find(protocol::key_group kg, std::uint64_t seq);

  /// What replaying a letter found.
  enum class replay_check { ready, absent, nothing_to_deliver };

  /// Looks up the letter to replay; when it is `ready`, its deletion is
  /// staged in `wb` and `out` holds it (its messages go to its target once
  /// the deletion is committed). An egress record or a bad cancellation has
  /// nothing to deliver.
  replay_check take_for_replay(protocol::key_group kg, std::uint64_t seq, state::write_batch& wb,
                               state::dead_letter& out);

  /// Stages the deletion of a letter; false when it does not exist.
  bool stage_drop(protocol::key_group kg, std::uint64_t seq, state::write_batch& wb);

private:
  state::store& store_;
  std::function<void(const state::dead_letter&)> observer_;
  std::uint64_t staged_ = 0;
};

} // namespace hearth::actors
