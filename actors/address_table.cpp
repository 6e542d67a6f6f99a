#include "actors/address_table.hpp"

#include <algorithm>

namespace hearth::actors {

void address_table::remember(live_entry& e, invocation_record r) {
  e.last_invocation_ms = r.time_ms;
  (r.failed ? e.failures : e.invocations) += r.invocations;
  e.recent.push_back(std::move(r));
  if (e.recent.size() > recent_kept)
    e.recent.pop_front();
}

actor_summary address_table::summarize(const protocol::address& a, const live_entry& e) {
  return actor_summary{a, e.pending.size(), !e.pending.empty(), e.last_invocation_ms,
                       e.invocations, e.failures};
}

actor_page address_table::list(const actor_query& q) const {
  std::vector<actor_summary> all;
  for (auto& [a, e] : live_) {
    if (!q.type.empty() && a.type.to_string() != q.type)
      continue;
    if (a.id.compare(0, q.prefix.size(), q.prefix) != 0)
      continue;
    all.push_back(summarize(a, e));
  }
  actor_page page;
  page.total = all.size();
  auto n = std::min<size_t>(all.size(), q.limit);
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                    [](const actor_summary& x, const actor_summary& y) { return x.address < y.address; });
  all.resize(n);
  page.actors = std::move(all);
  return page;
}

void address_table::describe(const protocol::address& a, address_detail& d) const {
  auto it = live_.find(a);
  if (it == live_.end()) {
    d.summary.address = a;
    return;
  }
  d.live = true;
  d.pending.assign(it->second.pending.begin(), it->second.pending.end());
  d.recent.assign(it->second.recent.begin(), it->second.recent.end());
  d.summary = summarize(a, it->second);
}

std::vector<protocol::address> address_table::to_passivate(std::int64_t now_ms, std::int64_t idle_ms,
                                                           size_t max_live) const {
  std::vector<std::pair<std::int64_t, const protocol::address*>> idle;
  for (auto& [a, e] : live_)
    if (e.pending.empty() && e.backlog == 0)
      idle.emplace_back(e.last_active, &a);
  size_t excess = live_.size() > max_live ? live_.size() - max_live : 0;
  std::sort(idle.begin(), idle.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first < y.first : *x.second < *y.second;
  });
  std::vector<protocol::address> out;
  for (auto& [last, a] : idle) {
    if (excess == 0 && now_ms - last < idle_ms)
      break;
    out.push_back(*a);
    if (excess > 0)
      --excess;
  }
  return out;
}

std::map<protocol::function_type, backlog_gauge>
address_table::gauges(const std::vector<protocol::function_type>& types) const {
  std::map<protocol::function_type, backlog_gauge> out;
  for (auto& t : types)
    out[t];
  for (auto& [a, e] : live_) {
    auto& g = out[a.type];
    if (e.pending.size() > 1)
      g.waiting += static_cast<double>(e.pending.size() - 1);
    g.waiting += static_cast<double>(e.backlog);
    if (admission::over(e.admission, e.pending.size()))
      g.blocked += 1;
  }
  return out;
}

std::vector<state::inbox_entry> address_table::pending_inboxes(const routing& route) const {
  std::vector<state::inbox_entry> out;
  for (auto& [a, e] : live_)
    if (!e.pending.empty())
      out.push_back({route.kg_of(a), 0, a,
                     std::vector<protocol::invocation>(e.pending.begin(), e.pending.end())});
  return out;
}

std::uint64_t address_table::backlog_total() const {
  std::uint64_t n = 0;
  for (auto& [a, e] : live_)
    n += e.backlog;
  return n;
}

} // namespace hearth::actors
