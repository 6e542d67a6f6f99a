#include "actors/admission.hpp"

#include <algorithm>

namespace hearth::actors {

void admission::added(const protocol::address& key, address_admission& a, size_t pending,
                      std::optional<std::uint64_t> offset) {
  ++pending_;
  if (offset) {
    if (over(a, pending))
      a.deferred.push_back(*offset);
    else
      admit(*offset);
  }
  note_fullness(key, a, pending);
}

void admission::completed(size_t n) {
  pending_ -= std::min<std::uint64_t>(pending_, n);
  release_held();
}

void admission::settle(const protocol::address& key, address_admission& a, size_t pending) {
  if (!a.deferred.empty() && !over(a, pending)) {
    for (auto offset : a.deferred)
      admit(offset);
    a.deferred.clear();
  }
  note_fullness(key, a, pending);
}

void admission::dropped(const protocol::address& key, address_admission& a, size_t n) {
  pending_ -= std::min<std::uint64_t>(pending_, n);
  for (auto offset : a.deferred)
    gate_.accept(offset);
  a.deferred.clear();
  release_held();
  if (a.full) {
    a.full = false;
    gate_.set_full(key.to_string(), false);
  }
}

void admission::admit(std::uint64_t offset) {
  if (pending_ > max_pending_) {
    if (held_.empty())
      gate_.set_partition_full(partition_, true);
    held_.push_back(offset);
  } else {
    gate_.accept(offset);
  }
}

void admission::release_held() {
  if (held_.empty())
    return;
  while (!held_.empty() && pending_ <= max_pending_) {
    gate_.accept(held_.front());
    held_.pop_front();
  }
  if (held_.empty())
    gate_.set_partition_full(partition_, false);
}

void admission::note_fullness(const protocol::address& key, address_admission& a, size_t pending) {
  bool full = over(a, pending);
  if (full != a.full) {
    a.full = full;
    gate_.set_full(key.to_string(), full);
  }
}

} // namespace hearth::actors
