#pragma once

// actors::metrics: the node's Prometheus metrics (GET /metrics). Per function
// type, StateFun's names: in, outLocal, outRemote, outEgress, numBacklog,
// numBlockedAddress, remoteInvocationFailures, remoteInvocationLatency (ms
// histogram); inRate is rate(hearth_in[1m]). Per node: live actors,
// passivations, dead letters, ingress requests by outcome, checkpoints.
// Kafka: records in and out per topic, consumer lag per partition,
// transactions by outcome. Kinesis: records in and out per stream, how far
// each shard's reader is behind, records put again after a refusal.
// numBacklog and numBlockedAddress carry a `partition` label too: each
// partition reports its own addresses. A cluster member labels every series
// with its node id. Thread-safe: the series of a function
// type are resolved once and kept (prometheus-cpp's Family::Add builds a
// series and takes the family's lock on every call), the counters are atomic.

#include "protocol/address.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace hearth::actors {

class metrics {
public:
  /// `node`: a cluster member's id, set as a `node` label on every series
  /// (empty on a single node: no label).
  explicit metrics(const std::string& node = {});
  ~metrics();

  void in(const protocol::function_type& type, std::uint64_t n = 1);
  /// A batch of `type` applied: the messages it sent to this node's
  /// partitions and to other nodes', its egress records, and its call's
  /// latency (one lookup of the type's series for all four).
  void applied(const protocol::function_type& type, std::uint64_t local, std::uint64_t remote,
               std::uint64_t egress, double latency_ms);
  void failures(const protocol::function_type& type, std::uint64_t n);
  void latency(const protocol::function_type& type, double ms);
  /// Messages waiting behind a call in flight, and addresses at
  /// maxNumBatchRequests, in partition `partition`.
  void backlog(std::uint32_t partition, const protocol::function_type& type, double messages,
               double blocked_addresses);
  void live_actors(std::uint32_t partition, double n);
  void passivated(std::uint64_t n);
  void dead_letter();
  /// A message went to its address's backlog on disk.
  void spilled();
  enum class ingress_outcome { accepted, duplicate, rejected };
  void ingress(ingress_outcome outcome);
  void checkpoint(double duration_ms, double bytes);
  void checkpoint_failed();
  /// The node rebuilt its partitions from the last checkpoint after a failure.
  void pipeline_restarted();

  // Kafka connectors (called once per batch, not per record).
  void kafka_in(const std::string& ingress, const std::string& topic, std::uint64_t n);
  void kafka_lag(const std::string& ingress, const std::string& topic, std::int32_t partition,
                 double records);
  void kafka_out(const std::string& egress, const std::string& topic, std::uint64_t n);
  enum class txn_outcome { committed, aborted };
  void kafka_transaction(const std::string& egress, txn_outcome outcome);

  // Kinesis connectors.
  void kinesis_in(const std::string& ingress, const std::string& stream, std::uint64_t n);
  void kinesis_behind(const std::string& ingress, const std::string& stream,
                      const std::string& shard, double ms);
  void kinesis_out(const std::string& egress, const std::string& stream, std::uint64_t n);
  void kinesis_retried(const std::string& egress, std::uint64_t n);

  /// The Prometheus text exposition of everything above.
  std::string expose() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace hearth::actors
