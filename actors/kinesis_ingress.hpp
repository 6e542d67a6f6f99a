#pragma once

// actors::kinesis_ingress: reads a Kinesis ingress's streams and hands the
// records to the node's source (docs/connectors.md), like the Kafka ingress:
// each record goes to every target of its stream, the partition key is the
// id, the data passes through as a TypedValue of the stream's valueType, and
// the source paces the reads. Each shard's position is kept in checkpoints
// (key "kinesis/<ingress>/<stream>/<shard>") as
//   "trim"           from the shard's oldest record,
//   "time:<ms>"      from the first record at or after that time,
//   "after:<seq>"    after the record with that sequence number,
//   "done"           a closed shard read to its end.
// A shard the checkpoint does not know starts at the startupPosition
// resolved once ("latest" becomes the time the ingress first opened, so a
// restart does not skip what came meanwhile); one whose parent is known (a
// split or a merge) starts from its oldest record, and only once its parents
// are done, so the records of a key stay in order across resharding. Shards
// are listed again every 10 s and whenever one is done.
//
// In a cluster a stream is read by one member: the stream's index in the
// ingress modulo the number of members. Throttling is answered with backoff
// (200 ms doubling to 5 s), never with a failure; an expired iterator is
// replaced from the shard's position.
//
// Detached: the Kinesis client blocks. Belongs to one pipeline.

#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "io/module.hpp"

#include <caf/all.hpp>

#include <map>
#include <memory>
#include <string>

namespace hearth::actors {

struct kinesis_ingress_config {
  io::kinesis_ingress_spec spec;
  caf::actor source;
  std::map<std::string, std::string> restored; // stream -> position, of the checkpoint
  std::uint32_t member = 0;
  std::uint32_t members = 1;
  std::shared_ptr<metrics> stats;
};

/// The key of a shard's position in checkpoints.
std::string kinesis_stream(const protocol::function_type& ingress, const std::string& stream,
                           const std::string& shard);

/// Messages: `completed, id, positions` (ignored: Kinesis has no committed
/// offsets). Exits with an error only when the source failed.
caf::behavior kinesis_ingress_actor(caf::event_based_actor* self, kinesis_ingress_config cfg);

} // namespace hearth::actors
