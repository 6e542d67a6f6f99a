#pragma once

// actors::placement: which node and which of its partitions own each key
// group (docs/cluster.md). The members, sorted by node id, each contribute
// their partitions to one global list; the key groups are split into
// contiguous ranges over that list in order, with the formula a single node
// uses for its own partitions (protocol::first_key_group). So the placement
// depends only on the members' ids and partition counts, and every node
// computes the same one. A node alone is the single node of before.
//
// Plain values; copied freely.

#include "protocol/key_group.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hearth::actors {

/// Where a key group lives.
struct owner {
  std::uint32_t member = 0;    // index into placement::members()
  std::uint32_t partition = 0; // local partition index on that member
  friend bool operator==(const owner&, const owner&) = default;
};

class placement {
public:
  struct slot {
    std::string node;            // node id
    std::uint32_t partitions = 0;
  };

  placement() = default;
  /// `slots` in any order (sorted here by node id); `max_key_groups` fixed
  /// for the life of the cluster. Nodes with no partitions own nothing.
  placement(std::vector<slot> slots, std::uint32_t max_key_groups);

  const std::vector<slot>& members() const { return slots_; }
  std::uint32_t max_key_groups() const { return max_key_groups_; }
  std::uint32_t total_partitions() const { return total_; }

  /// Index of `node` among members(); nullopt when it is not one.
  std::optional<std::uint32_t> index_of(const std::string& node) const;

  /// The owner of key group `kg`. Precondition: total_partitions() > 0.
  owner owner_of(protocol::key_group kg) const;

  /// Key groups [begin, end) of partition `p` of member `m`.
  std::pair<std::uint32_t, std::uint32_t> range_of(std::uint32_t m, std::uint32_t p) const;

  /// Key groups member `m` owns, as [begin, end) ranges (one per partition).
  std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges_of(std::uint32_t m) const;

private:
  std::vector<slot> slots_;
  std::vector<std::uint32_t> first_global_; // global index of each member's partition 0
  std::uint32_t max_key_groups_ = 128;
  std::uint32_t total_ = 0;
};

} // namespace hearth::actors
