#pragma once

// The partition supervisor: one actor per partition, owning a contiguous range
// of key groups and the LMDB store that holds them.
//
// It is the partition's sequential context (design notes, invariant 3): it
// routes every message for its key groups, spawns address actors lazily and
// passivates idle ones, applies each finished batch's effects in one LMDB
// transaction (outgoing messages, delayed messages, egress records, state
// mutations: StateFun's order), keeps delayed messages and their cancellation
// tokens, writes dead letters, and back-pressures the ingress per address.
// Messages to other partitions go through their supervisors, one ordered
// channel per pair (invariant 2).
//
// Protocol with the node: `peers` (the handles of all partitions), then
// `start` (re-deliver the shutdown inbox, arm timers); `ingress` answers once
// the message is accepted; `freeze` stops processing and persists everything
// not yet done into the inbox, answering when it is durable.

#include "actors/messages.hpp"
#include "io/module.hpp"
#include "io/playground.hpp"
#include "state/store.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <memory>

namespace hearth::actors {

using start_atom = caf::atom_constant<caf::atom("start")>;

struct partition_config {
  std::uint32_t id = 0;
  std::uint32_t partitions = 1;
  std::uint32_t max_key_groups = 128;
  std::shared_ptr<const io::module_config> module;
  std::shared_ptr<io::function_client> client;
  std::shared_ptr<io::topic_queues> egress; // null when the module has no egress
  std::shared_ptr<state::store> store;
  std::chrono::milliseconds idle{60'000};    // passivate after this long idle
  size_t max_live = 100'000;                 // live address actors before LRU passivation
};

caf::behavior partition_actor(caf::event_based_actor* self, partition_config cfg);

} // namespace hearth::actors
