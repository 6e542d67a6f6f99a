#pragma once

// The partition supervisor: one actor per partition, owning a contiguous range
// of key groups and the LMDB store that holds them.
//
// It is the partition's sequential context (design notes, invariant 3): it
// routes every message for its key groups, spawns address actors lazily and
// passivates idle ones, keeps every address's pending invocations (received,
// not yet completed), applies each finished batch's effects atomically
// (outgoing messages, delayed messages, egress records, state mutations:
// StateFun's order; the batches that finish together share one LMDB
// transaction, and each is handled as if its effects arrived at the commit), keeps delayed messages and their cancellation
// tokens, writes dead letters, and back-pressures the ingress per address.
// Messages to other partitions go through their supervisors, one ordered
// channel per pair (invariant 2).
//
// Checkpoints (docs/checkpoints.md): on the first barrier of checkpoint n it
// records its state (a store snapshot, the pending invocations, the unreleased
// egress records) and forwards the barrier to every peer; it logs the
// messages of each input channel until that channel's barrier arrives; then it
// hands everything to its snapshot writer. Exactly-once egress records wait
// until the checkpoint that covers them completes.
//
// The actor only wires plain parts (actors/README.md): routing, admission,
// effect_plan with delayed_rules and egress_router, dead_letters,
// checkpoint_recorder and address_table; each has its own unit tests.
//
// Protocol with the node: `peers` (all partitions; in a cluster, by global
// index, with every node's gate actor and this node's index among them), then
// `start, extras` (the pending and logged messages of the restored
// checkpoint, re-delivered first). Messages that arrive before `start` wait.
// Messages between partitions and from sources carry the epoch of the
// pipeline that sent them: one of another epoch is dropped (docs/cluster.md).

#include "actors/gate_port.hpp"
#include "actors/metrics.hpp"
#include "actors/messages.hpp"
#include "io/module.hpp"
#include "io/playground.hpp"
#include "state/egress_store.hpp"
#include "state/store.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <memory>

namespace hearth::actors {

using start_atom = caf::atom_constant<caf::atom("start")>;

struct partition_config {
  std::uint32_t id = 0;           // in a cluster: the global index
  std::uint32_t partitions = 1;   // in a cluster: of the whole cluster
  std::uint32_t max_key_groups = 128;
  std::uint32_t sources = 1;      // ingress sources feeding it (one per node)
  std::uint64_t epoch = 0;        // the cluster's epoch (0: a single node)
  std::string node_id;            // the node it runs on (a cluster member's id)
  std::shared_ptr<const io::module_config> module;
  std::shared_ptr<io::function_client> client;
  std::shared_ptr<state::store> store;
  std::shared_ptr<state::egress_store> egress; // null when the module has no egress
  /// The gates of the nodes whose ingress records this partition takes
  /// (an ingress_ticket's origin indexes them; on a single node, its own).
  /// In a cluster: this node's gate only; `peers` adds the others.
  std::vector<std::shared_ptr<gate_port>> gates;
  std::shared_ptr<metrics> stats;           // Prometheus metrics
  caf::actor writer;                         // this partition's snapshot writer
  std::chrono::milliseconds idle{60'000};    // passivate after this long idle
  size_t max_live = 100'000;                 // live address actors before LRU passivation
  size_t max_pending = 10'000;               // pending invocations before ingress senders wait
  std::uint64_t full_every = 10;             // a full checkpoint at least this often
  std::uint64_t last_completed = 0;          // the checkpoint restored at start
};

caf::behavior partition_actor(caf::event_based_actor* self, partition_config cfg);

} // namespace hearth::actors
