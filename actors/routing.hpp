#pragma once

// actors::routing: where a message goes. The key group of an address, the
// partition that owns a key group, the key-group range of this partition,
// and the input channel a message arrives on (first one per ingress source,
// then one per peer; docs/checkpoints.md). In a cluster, partitions are
// numbered globally (actors/placement.hpp) and every node's ingress is a
// source. Also the check every address a
// function produces must pass before it becomes a message. Plain values;
// copied freely.

#include "actors/barrier_tracker.hpp"
#include "io/module.hpp"
#include "protocol/key_group.hpp"
#include "protocol/primitives.hpp"

#include <cstdint>
#include <string>

namespace hearth::actors {

struct routing {
  std::uint32_t self = 0;       // this partition
  std::uint32_t partitions = 1; // of the node (of the cluster: global)
  std::uint32_t max_key_groups = 128;
  std::uint32_t sources = 1;    // ingress sources: one per node

  protocol::key_group kg_of(const protocol::address& a) const {
    return protocol::key_group_of(a.id, max_key_groups);
  }
  std::uint32_t owner_of(const protocol::address& a) const {
    return protocol::partition_of(kg_of(a), max_key_groups, partitions);
  }
  bool is_local(const protocol::address& a) const { return owner_of(a) == self; }
  /// Key groups [kg_begin, kg_end) belong to this partition.
  std::uint32_t kg_begin() const { return protocol::first_key_group(self, max_key_groups, partitions); }
  std::uint32_t kg_end() const { return protocol::first_key_group(self + 1, max_key_groups, partitions); }
  /// Input channel of messages from peer `from` (never this partition).
  channel_id channel_of(std::uint32_t from) const {
    return static_cast<channel_id>(sources + (from < self ? from : from - 1));
  }
  /// Input channel of ingress source `origin` (< sources).
  channel_id source_channel(std::uint32_t origin) const { return origin; }
  /// Input channels: every source and every peer.
  size_t inputs() const { return sources + partitions - 1; }
};

/// Why `a`, produced by a function, cannot be a message's target in `module`
/// (an empty namespace or type, too long an address, an unknown type); empty
/// when it can.
std::string check_target(const io::module_config& module, const protocol::address& a);

} // namespace hearth::actors
