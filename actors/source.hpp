#pragma once

// The ingress source: the one actor that feeds durable ingress records to the
// partitions, in offset order, and injects checkpoint barriers between two
// records (docs/checkpoints.md). It starts by replaying the ingress log from
// the restored checkpoint's position, in steps paced by the partitions (each
// step waits until the partitions it fed hold at most partition.max_pending
// invocations), then forwards the records the log writer hands it as they
// become durable. Detached (it reads log files). When a checkpoint completes,
// it trims the log up to the checkpoint's position.
//
// In a cluster every node has a source; each feeds its node's ingress records
// to the partitions that own them, wherever they run, stamped with the
// epoch and the node's index (the origin of their tickets).
//
// Connector ingresses (Kafka) hand their records to the source too. They are
// not logged: the connector's own log is replayed, from the positions the
// checkpoint recorded, and such records carry no ticket (nobody waits).

#include "actors/health_board.hpp"
#include "actors/messages.hpp"
#include "state/ingress_log.hpp"

#include <caf/all.hpp>

#include <memory>

namespace hearth::actors {

using start_atom = caf::atom_constant<caf::atom("start")>;

struct source_config {
  std::shared_ptr<state::ingress_writer> log;
  std::vector<caf::actor> partitions; // by (global) index; a cluster's come with `start`
  std::uint32_t max_key_groups = 128;
  std::uint64_t position = 0; // first offset to send
  std::uint64_t epoch = 0;    // the cluster's (0: a single node)
  std::uint32_t origin = 0;   // this node's index in the cluster
  std::shared_ptr<health_board> health; // learns completed checkpoints (may be null)
};

/// Messages: `start` or `start, partitions` (begins the replay and answers
/// ok), `log, records` (from the log writer), `connector, batch` (from a
/// connector ingress: sent at once, answered ok once the partitions fed have
/// room), `barrier, id` (answers the source_position: the first log offset
/// and each connector stream's position not sent before the barrier),
/// `completed, id, source_position` (trims the log, tells the connectors
/// their committed positions: `completed, id, positions`), `stats` (answers
/// the records the replay has yet to send).
caf::behavior source_actor(caf::event_based_actor* self, source_config cfg);

} // namespace hearth::actors
