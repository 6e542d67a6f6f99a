#pragma once

// actors::address_table: a partition's live addresses. For each one: its
// address actor, its pending invocations (received, not yet completed, in
// order) with the ingress record of each, its admission slot, the length of
// its backlog on disk, and what inspection shows (counters and the last few
// batches). It answers the admin API's questions about live actors and
// chooses whom to passivate. Entries stay at one place in memory while they
// live (a node-based map), so a reference to one stays valid across inserts.
//
// Not thread-safe; owned by one partition actor.

#include "actors/admission.hpp"
#include "actors/messages.hpp"
#include "actors/routing.hpp"
#include "state/checkpoint_files.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

namespace hearth::actors {

struct live_entry {
  caf::actor actor;
  std::deque<protocol::invocation> pending; // received, not yet completed, in order
  std::deque<std::optional<ingress_ticket>> tickets; // the ingress record of each pending one, if any
  std::int64_t last_active = 0;             // monotonic ms
  address_admission admission;
  std::uint64_t backlog = 0;                // messages waiting on disk (store backlog)
  // For inspection.
  std::int64_t last_invocation_ms = 0;
  std::uint64_t invocations = 0;
  std::uint64_t failures = 0;
  std::deque<invocation_record> recent;     // the last few finished batches
};

/// Messages waiting and addresses over their bound, for one function type.
struct backlog_gauge {
  double waiting = 0; // pending beyond the one in flight, plus backlog on disk
  double blocked = 0; // addresses over maxNumBatchRequests
};

class address_table {
public:
  using map_type = std::unordered_map<protocol::address, live_entry>;

  /// Finished batches kept per address for inspection.
  static constexpr size_t recent_kept = 16;

  live_entry* find(const protocol::address& a) {
    auto it = live_.find(a);
    return it == live_.end() ? nullptr : &it->second;
  }
  live_entry& insert(const protocol::address& a, live_entry e) {
    return live_.insert_or_assign(a, std::move(e)).first->second;
  }
  void erase(const protocol::address& a) { live_.erase(a); }
  size_t size() const { return live_.size(); }
  map_type::iterator begin() { return live_.begin(); }
  map_type::iterator end() { return live_.end(); }
  map_type::const_iterator begin() const { return live_.begin(); }
  map_type::const_iterator end() const { return live_.end(); }

  /// Records a finished batch of `e` for inspection.
  static void remember(live_entry& e, invocation_record r);

  static actor_summary summarize(const protocol::address& a, const live_entry& e);

  /// The live actors matching `q`, sorted by address, at most q.limit.
  actor_page list(const actor_query& q) const;

  /// The live part of an inspection of `a` (nothing when it is not live).
  void describe(const protocol::address& a, address_detail& d) const;

  /// Addresses to passivate at `now_ms` (monotonic): of those with nothing
  /// pending and no backlog, every one idle for `idle_ms`, and beyond
  /// `max_live` live ones the least recently active first.
  std::vector<protocol::address> to_passivate(std::int64_t now_ms, std::int64_t idle_ms,
                                              size_t max_live) const;

  /// Gauges per function type (every type of `types` appears, with zeros).
  std::map<protocol::function_type, backlog_gauge>
  gauges(const std::vector<protocol::function_type>& types) const;

  /// Every pending invocation, per address (a checkpoint records them).
  std::vector<state::inbox_entry> pending_inboxes(const routing& route) const;

  /// Messages waiting on disk behind full addresses.
  std::uint64_t backlog_total() const;

private:
  map_type live_;
};

} // namespace hearth::actors
