#pragma once

// actors::delayed_rules: StateFun's rules for the delayed messages and
// cancellations of one finished batch, applied in list order (compat doc
// §2): a delay must be 0..100 years; a token must be unique per sender among
// its pending delayed messages (a second one is a dead letter); a
// cancellation removes the pending message of that token, including one added
// earlier in the same list; cancelling an unknown token is a no-op; a
// cancellation without a token, and a message to an address that
// check_target refuses, are dead letters. Accepted messages are staged in the
// batch; nothing is committed here.
//
// Reads the store (pending tokens) and takes sequence numbers from it; called
// by the partition actor that owns the store.

#include "actors/dead_letters.hpp"
#include "io/module.hpp"
#include "protocol/messages.hpp"
#include "state/store.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace hearth::actors {

/// Longest state name or cancellation token that fits in a key next to the
/// longest address (LMDB keys are at most 511 bytes).
constexpr size_t max_name_bytes = 511 - 3 - state::max_address_bytes;

/// Longest delay accepted.
constexpr std::int64_t max_delay_ms = 100LL * 365 * 24 * 3600 * 1000; // 100 years

struct delayed_outcome {
  std::vector<undeliverable> rejected;      // to dead-letter in the sender's key group
  std::optional<std::int64_t> earliest; // due time of the earliest message staged
  size_t staged = 0;                    // messages staged (after in-batch cancellations)
};

/// Applies `delayed`, sent by `sender` (in key group `kg`) at `now_ms`, to
/// `wb`. Fails only as the store does: an unreadable token is taken as absent.
delayed_outcome apply_delayed(state::store& store, const io::module_config& module,
                              protocol::key_group kg, const protocol::address& sender,
                              const std::vector<protocol::delayed_message>& delayed,
                              std::int64_t now_ms, state::write_batch& wb);

} // namespace hearth::actors
