#pragma once

// The checkpoint coordinator and the snapshot writers (docs/checkpoints.md).
//
// The coordinator starts checkpoint n every `interval` (one at a time) by
// asking the source for barrier n; each partition records its state on its
// first barrier and, once every input delivered it, hands the recording to its
// snapshot writer, which writes and fsyncs the part file and reports to the
// coordinator. With every part and the source position in, the coordinator
// writes the manifest atomically; only then does n count: it releases n's
// egress records, tells the partitions, trims the ingress log and keeps the
// newest `keep` checkpoints. Both are detached actors: they do blocking file
// I/O on their own threads.

#include "actors/health_board.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "state/checkpoint_files.hpp"
#include "state/egress_store.hpp"
#include "state/ingress_log.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <memory>

namespace hearth::actors {

/// What a partition hands its writer: a stable view and what was in flight.
struct snapshot_job {
  std::uint64_t checkpoint = 0;
  std::uint32_t partition = 0;
  std::shared_ptr<state::snapshot> view;
  std::shared_ptr<std::unordered_set<std::string>> changed; // null: full
  std::vector<std::string> chain;                           // including this part's file
  state::part_extras extras;
};

struct coordinator_config {
  std::shared_ptr<state::checkpoint_files> files;
  std::shared_ptr<state::egress_store> egress;
  std::shared_ptr<state::ingress_writer> log;
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{60'000}; // a checkpoint still open then is abandoned
  size_t keep = 3;
  std::uint64_t last_completed = 0;
  std::uint32_t max_key_groups = 128;
  std::shared_ptr<metrics> stats;
  std::shared_ptr<health_board> health;
};

/// Messages: `setup, partitions, source` (then checkpoints start), `part, ack`
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
