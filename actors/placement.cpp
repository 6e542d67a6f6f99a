#include "actors/placement.hpp"

#include <algorithm>

namespace hearth::actors {

placement::placement(std::vector<slot> slots, std::uint32_t max_key_groups)
  : slots_(std::move(slots)), max_key_groups_(max_key_groups) {
  std::sort(slots_.begin(), slots_.end(), [](const slot& a, const slot& b) { return a.node < b.node; });
  for (auto& s : slots_) {
    first_global_.push_back(total_);
    total_ += s.partitions;
  }
}

std::optional<std::uint32_t> placement::index_of(const std::string& node) const {
  for (std::uint32_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].node == node)
      return i;
  return std::nullopt;
}

owner placement::owner_of(protocol::key_group kg) const {
  auto g = protocol::partition_of(kg, max_key_groups_, total_);
  // The member whose global range holds g: the last one starting at or before it.
  auto it = std::upper_bound(first_global_.begin(), first_global_.end(), g);
  // (A member with no partitions shares its start with the next one, so it
  // is never the last one starting at or before g.)
  auto m = static_cast<std::uint32_t>(std::distance(first_global_.begin(), it) - 1);
  return owner{m, g - first_global_[m]};
}

std::pair<std::uint32_t, std::uint32_t> placement::range_of(std::uint32_t m, std::uint32_t p) const {
  auto g = first_global_[m] + p;
  return {protocol::first_key_group(g, max_key_groups_, total_),
          protocol::first_key_group(g + 1, max_key_groups_, total_)};
}

std::vector<std::pair<std::uint32_t, std::uint32_t>> placement::ranges_of(std::uint32_t m) const {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  for (std::uint32_t p = 0; p < slots_[m].partitions; ++p)
    out.push_back(range_of(m, p));
  return out;
}

} // namespace hearth::actors
