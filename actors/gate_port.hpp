#pragma once

// actors::gate_port: where a partition reports on the ingress records of one
// node (the node whose ingress log holds them): a record's sender may go on,
// its invocation was applied, or its message was lost (dead-lettered on
// arrival); and which addresses and partitions are full, so that the node's
// ingress can refuse early. The node's own ingress_gate is one; a gate of
// another node in the cluster is reached through messages. Every call may
// come from any thread and never blocks on a waiter.

#include <cstdint>
#include <string>

namespace hearth::actors {

struct invocation_record;

/// An ingress record: the node whose log holds it (an index into the
/// partition's gates) and its offset in that log.
struct ingress_ticket {
  std::uint32_t origin = 0;
  std::uint64_t offset = 0;
  friend bool operator==(const ingress_ticket&, const ingress_ticket&) = default;
};

class gate_port {
public:
  virtual ~gate_port() = default;

  /// The sender of record `offset` may go on (its address has room).
  virtual void accept(std::uint64_t offset) = 0;
  /// The invocation of record `offset` is done: `batch` carried it.
  virtual void applied(std::uint64_t offset, const invocation_record& batch) = 0;
  /// The message of record `offset` was dead-lettered without an invocation.
  virtual void lost(std::uint64_t offset) = 0;
  /// Address `key` (protocol::address::to_string) is full, or has room again.
  virtual void set_full(const std::string& key, bool full) = 0;
  /// Partition `p` holds more than partition.max_pending invocations, or has room again.
  virtual void set_partition_full(std::uint32_t p, bool full) = 0;
  /// Hands on what the port batched (a port that batches reports asks its
  /// partition for this call; the others have nothing to do).
  virtual void flush() {}
};

} // namespace hearth::actors
