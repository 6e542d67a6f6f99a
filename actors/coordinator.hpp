#pragma once

// The checkpoint coordinator and the snapshot writers (docs/checkpoints.md).
//
// The coordinator starts checkpoint n every `interval` (one at a time) by
// asking every ingress source (one per node) for barrier n; each partition
// records its state on its first barrier and, once every input delivered it,
// hands the recording to its snapshot writer, which writes and fsyncs the
// part file and reports to the coordinator (on whichever node it runs). With
// every part and every source's position in, the coordinator writes the
// manifest atomically; only then does n count: it releases n's egress records
// into its node's egress store, tells the partitions, tells every source (which
// trims its log) and keeps the newest `keep` checkpoints. In a cluster it runs
// on the coordinator's node, one per epoch; the manifest names the epoch and
// every node's log position (those of nodes out of the view are kept from
// the restored checkpoint). Both are detached actors: they do blocking file
// I/O on their own threads.

#include "actors/epoch_assembly.hpp"
#include "actors/health_board.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "state/checkpoint_files.hpp"
#include "state/egress_store.hpp"
#include "state/ingress_log.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <map>
#include <memory>

namespace hearth::actors {

/// What a partition hands its writer: a stable view and what was in flight.
struct snapshot_job {
  std::uint64_t checkpoint = 0;
  std::uint64_t epoch = 0;       // of the cluster (0: a single node)
  std::uint32_t partition = 0;
  std::shared_ptr<state::snapshot> view;
  std::shared_ptr<std::unordered_set<std::string>> changed; // null: full
  std::vector<std::string> chain;                           // including this part's file
  state::part_extras extras;
};

struct coordinator_config {
  std::shared_ptr<state::checkpoint_files> files;
  std::shared_ptr<state::egress_store> egress;
  std::uint64_t epoch = 0;                    // the cluster's (0: a single node)
  /// Log positions of nodes that are not in the epoch's view, from the
  /// restored checkpoint: kept in every manifest, so a node that comes back
  /// replays from there.
  std::map<std::string, std::uint64_t> kept_positions;
  /// Connector stream positions of the restored checkpoint: kept for the
  /// streams no source reports (read by no node in this epoch, or not yet).
  std::map<std::string, std::string> kept_connectors;
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{60'000}; // a checkpoint still open then is abandoned
  size_t keep = 3;
  std::uint64_t last_completed = 0;
  std::uint32_t max_key_groups = 128;
  std::shared_ptr<metrics> stats;
  std::shared_ptr<health_board> health;
};

/// Messages: `setup, wiring` (every partition and source; then checkpoints
/// start), `part, ack`
/// and `part_failed, id, partition, reason` (from writers), `trigger` (starts
/// one unless one is running; answers with the first checkpoint started after
/// the request once it completed, or an error once one failed), `history`
/// (the newest completed checkpoints). A failed part or manifest write aborts
/// its checkpoint at once; the next interval starts a new one.
caf::behavior coordinator_actor(caf::event_based_actor* self, coordinator_config cfg);

/// Messages: `write, job` (writes the part; reports `part, ack`, or
/// `part_failed, ...` when the part could not be written, to `coordinator`).
caf::behavior snapshot_writer_actor(caf::event_based_actor* self,
                                    std::shared_ptr<state::checkpoint_files> files,
                                    caf::actor coordinator);

} // namespace hearth::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::snapshot_job)
