#pragma once

// The ingress source: the one actor that feeds durable ingress records to the
// partitions, in offset order, and injects checkpoint barriers between two
// records (docs/checkpoints.md). It starts by replaying the ingress log from
// the restored checkpoint's position, in steps paced by the partitions (each
// step waits until the partitions it fed hold at most partition.max_pending
// invocations), then forwards the records the log writer hands it as they
// become durable. Detached (it reads log files).

#include "actors/messages.hpp"
#include "state/ingress_log.hpp"

#include <caf/all.hpp>

#include <memory>

namespace hearth::actors {

using start_atom = caf::atom_constant<caf::atom("start")>;

struct source_config {
  std::shared_ptr<state::ingress_writer> log;
  std::vector<caf::actor> partitions;
  std::uint32_t max_key_groups = 128;
  std::uint64_t position = 0; // first offset to send
};

/// Messages: `start` (begins the replay and answers ok), `log, records` (from the log
/// writer), `barrier, id` (answers the position: the first offset not sent
/// before the barrier), `stats` (answers the records the replay has yet to
/// send).
caf::behavior source_actor(caf::event_based_actor* self, source_config cfg);

} // namespace hearth::actors
