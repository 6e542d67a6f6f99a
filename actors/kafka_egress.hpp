#pragma once

// actors::kafka_egress: one thread per Kafka egress on a node, which moves
// the egress's records from the node's egress store (queue kafka_queue(id),
// where partitions append them, or the coordinator releases them once their
// checkpoint completed) into Kafka, and removes them from the store only once
// Kafka has them:
//   exactly-once   each batch of released records in one transaction (about
//                  one per checkpoint); the transactional.id is stable per
//                  node and egress, so a restarted node fences its previous
//                  producer and aborts its open transaction; a failed
//                  transaction is aborted and redone;
//   at-least-once  produced and flushed (every record acknowledged);
//   none           produced, then removed without waiting.
// A record stays in the store until then, so a crash loses nothing: what was
// not yet produced (or whose transaction did not commit) is produced after
// the restart. The one window left: a crash after Kafka committed a
// transaction and before the store removed its records produces that batch
// once more (docs/connectors.md).

#include "actors/egress_pump.hpp"
#include "actors/metrics.hpp"
#include "io/module.hpp"
#include "protocol/codec.hpp"
#include "state/egress_store.hpp"

#include <memory>
#include <string>

namespace hearth::io {
class kafka_producer;
} // namespace hearth::io

namespace hearth::actors {

/// The egress store queue of Kafka egress `id` (never a playground topic:
/// those have no '/').
std::string kafka_queue(const protocol::function_type& id);

/// A queued record is the KafkaProducerRecord the function sent (its
/// protobuf bytes, as they came).
result<protocol::kafka_record> decode_kafka_entry(const std::string& bytes);

struct kafka_egress_config {
  io::kafka_egress_spec spec;
  std::shared_ptr<state::egress_store> store;
  std::string node_id; // part of the transactional.id
  std::shared_ptr<metrics> stats;
};

class kafka_egress {
public:
  /// Starts the egress's pump (actors/egress_pump.hpp).
  explicit kafka_egress(kafka_egress_config cfg);
  /// Stops it: a batch being produced is finished (or abandoned after a
  /// timeout: it stays in the store).
  ~kafka_egress();
  kafka_egress(const kafka_egress&) = delete;
  kafka_egress& operator=(const kafka_egress&) = delete;

  /// The transactional.id of a node's exactly-once producer.
  static std::string transactional_id(const std::string& node_id, const protocol::function_type& egress);

private:
  status deliver(const egress_batch& batch, egress_pump& pump);

  kafka_egress_config cfg_;
  std::unique_ptr<io::kafka_producer> producer_; // the pump's thread only
  std::unique_ptr<egress_pump> pump_;            // last: stopped first
};

} // namespace hearth::actors
