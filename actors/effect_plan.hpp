#pragma once

// actors::effect_plan: turns what an address actor reports after a batch
// into one write batch and what may escape once that batch is committed.
// A successful batch's effects are staged in StateFun's order: outgoing
// messages (each target checked; a bad one is a dead letter), delayed
// messages and cancellations (delayed_rules), egress records (egress_router),
// then state mutations. A failed batch stages its expirations and one dead
// letter for its messages. Nothing is sent or committed here: the partition
// commits `writes`, and only then routes `out`, appends or holds `records`
// and arms its timer for `earliest` (design notes, invariant 8).
//
// Called by the partition actor that owns the store.

#include "actors/dead_letters.hpp"
#include "actors/egress_router.hpp"
#include "actors/messages.hpp"
#include "actors/routing.hpp"
#include "io/module.hpp"
#include "state/store.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace hearth::actors {

/// What planning reads and numbers with.
struct effect_context {
  state::store& store;
  const io::module_config& module;
  const routing& route;
  dead_letters& letters;
  const egress_router& egress;
  std::int64_t now_ms;
};

/// A batch's effects, staged.
struct planned_batch {
  state::write_batch writes;
  std::vector<envelope> out;                // to route after the commit
  std::vector<state::egress_entry> records; // to hold after the commit (exactly-once)
  std::vector<state::egress_entry> now;     // to append after the commit
  std::optional<std::int64_t> earliest;     // earliest due time of a new delayed message
  invocation_record record;                 // the batch, for inspection
};

/// Stages the effects of a successful batch of `fx.source` (its messages and
/// lists are moved out of `fx`).
planned_batch plan_effects(const effect_context& ctx, effects& fx);

/// Stages a batch given up by its address actor: its expirations, and its
/// invocations as one dead letter (moved out of `f`).
planned_batch plan_failure(const effect_context& ctx, failure& f);

/// Stages state puts and deletes of address `a`.
void stage_changes(state::write_batch& wb, protocol::key_group kg, const protocol::address& a,
                   const std::vector<state_change>& changes);

} // namespace hearth::actors
