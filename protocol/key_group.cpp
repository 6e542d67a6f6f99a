#include "protocol/key_group.hpp"

#include <cstring>

namespace hearth::protocol {

namespace {
std::uint32_t rotl(std::uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
} // namespace

std::uint32_t murmur3_32(std::string_view data, std::uint32_t seed) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const size_t len = data.size();
  const size_t nblocks = len / 4;
  std::uint32_t h = seed;
  const std::uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
  for (size_t i = 0; i < nblocks; ++i) {
    std::uint32_t k = static_cast<std::uint32_t>(bytes[4 * i])
                      | static_cast<std::uint32_t>(bytes[4 * i + 1]) << 8
                      | static_cast<std::uint32_t>(bytes[4 * i + 2]) << 16
                      | static_cast<std::uint32_t>(bytes[4 * i + 3]) << 24;
    k *= c1;
    k = rotl(k, 15);
    k *= c2;
    h ^= k;
    h = rotl(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  const unsigned char* tail = bytes + nblocks * 4;
  std::uint32_t k = 0;
  switch (len & 3) {
    case 3: k ^= static_cast<std::uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: k ^= static_cast<std::uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1:
      k ^= tail[0];
      k *= c1;
      k = rotl(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= static_cast<std::uint32_t>(len);
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

key_group key_group_of(std::string_view id, std::uint32_t max_key_groups) {
  return key_group{static_cast<std::uint16_t>(murmur3_32(id) % max_key_groups)};
}

std::uint32_t first_key_group(std::uint32_t p, std::uint32_t max_key_groups,
                              std::uint32_t partitions) {
  return static_cast<std::uint32_t>(
    (static_cast<std::uint64_t>(p) * max_key_groups) / partitions);
}

std::uint32_t partition_of(key_group kg, std::uint32_t max_key_groups,
                           std::uint32_t partitions) {
  // Inverse of first_key_group: the largest p with first_key_group(p) <= kg.
  auto p = static_cast<std::uint32_t>(
    ((static_cast<std::uint64_t>(kg.value) + 1) * partitions - 1) / max_key_groups);
  while (p + 1 < partitions && first_key_group(p + 1, max_key_groups, partitions) <= kg.value)
    ++p;
  while (p > 0 && first_key_group(p, max_key_groups, partitions) > kg.value)
    --p;
  return p;
}

} // namespace hearth::protocol
