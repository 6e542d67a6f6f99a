#pragma once

// Key groups: the unit of placement, snapshot and movement of state.
//
// key_group(id) = murmur3_x86_32(utf8 bytes of id, seed 0) mod max_key_groups.
// StateFun partitions by address id only, and so does Hearth: every function
// type with the same id lands in the same key group.
//
// DO NOT CHANGE: on-disk format. Every persistent key starts with its key group;
// changing the hash moves keys and needs a format version bump (docs/storage.md).

#include <cstdint>
#include <string_view>

namespace hearth::protocol {

/// A key group index in [0, max_key_groups).
struct key_group {
  std::uint16_t value = 0;
  friend bool operator==(key_group, key_group) = default;
  friend auto operator<=>(key_group, key_group) = default;
};

/// MurmurHash3 x86 32-bit.
std::uint32_t murmur3_32(std::string_view data, std::uint32_t seed = 0);

/// The key group of an address id. Precondition: 0 < max_key_groups <= 65536.
key_group key_group_of(std::string_view id, std::uint32_t max_key_groups);

/// The partition owning `kg` when `max_key_groups` groups are split into
/// `partitions` contiguous ranges (partition p owns [p*K/P, (p+1)*K/P)).
std::uint32_t partition_of(key_group kg, std::uint32_t max_key_groups,
                           std::uint32_t partitions);

/// First key group owned by partition p (the range end is first_key_group(p+1)).
std::uint32_t first_key_group(std::uint32_t p, std::uint32_t max_key_groups,
                              std::uint32_t partitions);

} // namespace hearth::protocol
