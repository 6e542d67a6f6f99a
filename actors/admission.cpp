#include "actors/admission.hpp"

#include <algorithm>

namespace hearth::actors {

void admission::added(const protocol::address& key, address_admission& a, size_t pending,
                      std::optional<ingress_ticket> ticket) {
  ++pending_;
  if (ticket) {
    if (over(a, pending))
      a.deferred.push_back(*ticket);
    else
      admit(*ticket);
  }
  note_fullness(key, a, pending);
}

void admission::completed(size_t n) {
  pending_ -= std::min<std::uint64_t>(pending_, n);
  release_held();
}

void admission::settle(const protocol::address& key, address_admission& a, size_t pending) {
  if (!a.deferred.empty() && !over(a, pending)) {
    for (auto& t : a.deferred)
      admit(t);
    a.deferred.clear();
  }
  note_fullness(key, a, pending);
}

void admission::dropped(const protocol::address& key, address_admission& a, size_t n) {
  pending_ -= std::min<std::uint64_t>(pending_, n);
  for (auto& t : a.deferred)
    gate(t.origin).accept(t.offset);
  a.deferred.clear();
  release_held();
  if (a.full) {
    a.full = false;
    tell_full(key.to_string(), false);
  }
}

void admission::admit(const ingress_ticket& t) {
  if (pending_ > max_pending_) {
    if (held_.empty())
      for (auto& g : gates_)
        g->set_partition_full(partition_, true);
    held_.push_back(t);
  } else {
    gate(t.origin).accept(t.offset);
  }
}

void admission::tell_full(const std::string& key, bool full) {
  for (auto& g : gates_)
    g->set_full(key, full);
}

void admission::release_held() {
  if (held_.empty())
    return;
  while (!held_.empty() && pending_ <= max_pending_) {
    gate(held_.front().origin).accept(held_.front().offset);
    held_.pop_front();
  }
  if (held_.empty())
    for (auto& g : gates_)
      g->set_partition_full(partition_, false);
}

void admission::note_fullness(const protocol::address& key, address_admission& a, size_t pending) {
  bool full = over(a, pending);
  if (full != a.full) {
    a.full = full;
    tell_full(key.to_string(), full);
  }
}

} // namespace hearth::actors
