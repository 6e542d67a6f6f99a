#pragma once

// actors::kafka_ingress: reads a Kafka ingress's topic partitions and hands
// the records to the node's source (docs/connectors.md). Hearth, not a
// consumer-group rebalance, chooses the partitions: every partition of the
// ingress's topics, in order, and in a cluster those whose index modulo the
// number of members is this member's index. A partition starts where the
// restored checkpoint recorded it; one the checkpoint does not know starts at
// the ingress's startupPosition, resolved to a concrete offset first (which
// the next checkpoint records, so a restart never moves it). Each record goes
// to every target of its topic: the key (UTF-8) is the id, the value passes
// through untouched as a TypedValue of the topic's valueType.
//
// The source answers a batch once the partitions it fed have room, and only
// then is the next batch read: back-pressure pauses consumption, nothing is
// dropped. A record without a key, or with a key too long to be an id,
// cannot be routed: it is skipped and logged.
//
// When a checkpoint completes, the positions it recorded are committed to the
// consumer group (when the ingress names one), for monitoring tools only.
//
// Detached: librdkafka's calls block. Belongs to one pipeline: torn down with
// it, and the next pipeline's reads from the next checkpoint's positions.

#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "io/module.hpp"

#include <caf/all.hpp>

#include <map>
#include <memory>
#include <string>

namespace hearth::actors {

struct kafka_ingress_config {
  io::kafka_ingress_spec spec;
  caf::actor source;
  std::map<std::string, std::string> restored; // stream -> position, of the checkpoint
  std::uint32_t member = 0;  // this node's index in the view (0 on a single node)
  std::uint32_t members = 1;
  std::shared_ptr<metrics> stats;
};

/// The key of a partition's position in checkpoints:
/// "kafka/<ingress namespace>/<ingress name>/<topic>/<partition>".
std::string kafka_stream(const protocol::function_type& ingress, const std::string& topic,
                         std::int32_t partition);

/// Messages: `completed, id, positions` (from the source). Exits with an
/// error when records were lost to Kafka's retention (an offset out of range)
/// or the source failed.
caf::behavior kafka_ingress_actor(caf::event_based_actor* self, kafka_ingress_config cfg);

} // namespace hearth::actors
