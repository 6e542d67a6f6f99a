#include "actors/partition.hpp"

#include "actors/address_actor.hpp"
#include "actors/barrier_tracker.hpp"
#include "actors/coordinator.hpp"

#include <algorithm>
#include <deque>
#include <iostream>
#include <set>
#include <unordered_map>

namespace hearth::actors {

using protocol::address;
using protocol::key_group;

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

constexpr size_t delayed_scan_limit = 10'000;
constexpr std::int64_t max_delay_ms = 100LL * 365 * 24 * 3600 * 1000; // 100 years

/// Longest state name or cancellation token that fits in a key next to the
/// longest address (LMDB keys are at most 511 bytes).
constexpr size_t max_name_bytes = 511 - 3 - state::max_address_bytes;

struct live_entry {
  caf::actor actor;
  std::deque<protocol::invocation> pending; // received, not yet completed, in order
  std::deque<std::uint64_t> offsets;        // ingress offset of each pending one (or none_offset)
  std::int64_t last_active = 0;
  std::uint32_t max_batch = 0;
  std::vector<std::uint64_t> deferred;      // ingress offsets waiting for room
  std::uint64_t backlog = 0;                // messages waiting on disk (store backlog)
  bool full = false;                        // reported full to the ingress gate
  // For inspection.
  std::int64_t last_invocation_ms = 0;
  std::uint64_t invocations = 0;
  std::uint64_t failures = 0;
  std::deque<invocation_record> recent;     // the last few finished batches
};

constexpr size_t recent_kept = 16;
constexpr std::uint64_t none_offset = ~std::uint64_t{0};
constexpr size_t latencies_kept = 1024;

void remember(live_entry& e, invocation_record r) {
  e.last_invocation_ms = r.time_ms;
  (r.failed ? e.failures : e.invocations) += r.invocations;
  e.recent.push_back(std::move(r));
  if (e.recent.size() > recent_kept)
    e.recent.pop_front();
}

actor_summary summarize(const address& a, const live_entry& e) {
  return actor_summary{a, e.pending.size(), !e.pending.empty(), e.last_invocation_ms,
                       e.invocations, e.failures};
}

/// An exactly-once egress record, held until the checkpoint covering it completes.
struct held_egress {
  std::uint64_t epoch = 0; // the first checkpoint that will contain it
  state::egress_entry entry;
};

/// The recording of a running checkpoint.
struct recording {
  std::uint64_t id = 0;
  std::shared_ptr<state::snapshot> view; // null: the store could not be read
  std::shared_ptr<std::unordered_set<std::string>> changed;
  std::vector<std::string> chain;
  state::part_extras extras;
  std::vector<std::vector<envelope>> logs; // per input channel
};

struct partition_state {
  partition_config cfg;
  caf::event_based_actor* self = nullptr;
  bool failed = false; // a write failed: the partition is stopping
  std::uint32_t kg_begin = 0;
  std::uint32_t kg_end = 0;
  std::vector<caf::actor> peers;
  std::map<protocol::function_type, spec_list> specs;
  std::unordered_map<address, live_entry> live;
  std::optional<std::int64_t> wake_at; // wall ms the current tick is armed for
  std::uint64_t timer_gen = 0;         // only the tick of this generation counts
  // Ingress offsets whose senders wait because the partition holds
  // max_pending invocations (bounded memory with many distinct addresses).
  std::deque<std::uint64_t> held;
  // The source's replay waits here for the partition to be at or below
  // max_pending again (room_atom).
  std::vector<caf::typed_response_promise<caf::ok_atom>> room_waiters;
  partition_stats stats;
  bool at_least_once = false;          // egress visible at once
  std::deque<std::uint32_t> latencies; // of the most recent function calls

  // Start-up: routes from peers that arrive before this partition re-delivered
  // its restored messages wait here, so messages keep their order per target.
  bool started = false;
  std::vector<envelope> early;

  // Checkpoints.
  barrier_tracker tracker{1};
  std::optional<recording> rec;
  std::uint64_t last_recorded = 0;
  std::uint64_t last_completed = 0;
  std::vector<std::string> chain; // files of the last completed checkpoint
  std::map<std::uint64_t, std::vector<std::string>> recorded_chains;
  std::vector<held_egress> egress_held;

  key_group kg_of(const address& a) const {
    return protocol::key_group_of(a.id, cfg.max_key_groups);
  }
  std::uint32_t owner_of(const address& a) const {
    return protocol::partition_of(kg_of(a), cfg.max_key_groups, cfg.partitions);
  }
  /// Input channel of messages from `from` (a peer); 0 is the ingress source.
  channel_id channel_of(std::uint32_t from) const {
    return static_cast<channel_id>(from < cfg.id ? from + 1 : from);
  }
};

using state_ptr = std::shared_ptr<partition_state>;

void note_latency(partition_state& st, std::uint32_t ms) {
  st.latencies.push_back(ms);
  if (st.latencies.size() > latencies_kept)
    st.latencies.pop_front();
}

void log(const state_ptr& st, const std::string& what) {
  std::cerr << "hearth-node: partition " << st->cfg.id << ": " << what << std::endl;
}

/// Stops the partition because a write failed (design invariant 8): the
/// node sees it end, stops every partition and rebuilds them from the last
/// checkpoint, and the ingress log replays what followed. Nothing of the
/// failed batch may escape meanwhile: callers return at once.
void fail(const state_ptr& st, const std::string& reason) {
  if (st->failed)
    return;
  st->failed = true;
  log(st, reason + "; the partition stops and is rebuilt from the last checkpoint");
  st->self->quit(caf::make_error(caf::sec::runtime_error, reason));
}

/// Commits `wb`; false when the store refused it (nothing of it was written)
/// or the partition is already stopping. On false the partition stops (see
/// fail) and the caller must let no effect of the batch escape.
bool commit(const state_ptr& st, const state::write_batch& wb) {
  if (st->failed)
    return false;
  if (auto s = st->cfg.store->commit(wb); !s) {
    fail(st, "storage write failed: " + s.err().message);
    return false;
  }
  return true;
}

/// Records a dead letter under the key group of `owner` (an address of this partition).
void dead_letter(const state_ptr& st, state::write_batch& wb, const address& owner,
                 const address& target, std::vector<protocol::invocation> invs,
                 const std::string& reason) {
  state::dead_letter d;
  d.kg = st->kg_of(owner);
  d.seq = st->cfg.store->next_seq();
  d.time_ms = wall_ms();
  d.reason = reason;
  d.target = target;
  d.invocations = std::move(invs);
  wb.put_dead_letter(d);
  st->stats.dead_letters_written++;
  st->cfg.stats->dead_letter();
  log(st, "dead letter for " + target.to_string() + ": " + reason);
}

/// Lets the sender of ingress `offset` go on, unless the partition already
/// holds max_pending invocations: then it waits in `held`.
void admit(const state_ptr& st, std::uint64_t offset) {
  if (st->stats.pending_invocations > st->cfg.max_pending) {
    if (st->held.empty())
      st->cfg.gate->set_partition_full(st->cfg.id, true);
    st->held.push_back(offset);
  } else {
    st->cfg.gate->accept(offset);
  }
}

/// Answers the replay's question for room once the partition has some.
void release_room(const state_ptr& st) {
  if (!st->room_waiters.empty() && st->stats.pending_invocations <= st->cfg.max_pending) {
    for (auto& rp : st->room_waiters)
      rp.deliver(caf::ok_atom::value);
    st->room_waiters.clear();
  }
}

void release_held(const state_ptr& st) {
  if (st->held.empty())
    return release_room(st);
  while (!st->held.empty() && st->stats.pending_invocations <= st->cfg.max_pending) {
    st->cfg.gate->accept(st->held.front());
    st->held.pop_front();
  }
  if (st->held.empty())
    st->cfg.gate->set_partition_full(st->cfg.id, false);
  release_room(st);
}

/// Tells the ingress gate when address `a` becomes full (more pending than
/// maxNumBatchRequests) or has room again.
void note_fullness(const state_ptr& st, const address& a, live_entry& e) {
  bool full = e.max_batch != 0 && e.pending.size() > e.max_batch;
  if (full != e.full) {
    e.full = full;
    st->cfg.gate->set_full(a.to_string(), full);
  }
}

void release_deferred(const state_ptr& st, live_entry& e) {
  if (e.deferred.empty() || (e.max_batch != 0 && e.pending.size() > e.max_batch))
    return;
  for (auto offset : e.deferred)
    admit(st, offset);
  e.deferred.clear();
}

/// The live entry of `target`, spawning its address actor with its stored
/// state; nullptr with `problem` set when it cannot be (an unknown function
/// type, an unreadable state).
live_entry* ensure_live(caf::event_based_actor* self, const state_ptr& st, const address& target,
                        std::string& problem) {
  if (auto it = st->live.find(target); it != st->live.end())
    return &it->second;
  auto* ep = st->cfg.module->find_endpoint(target.type);
  std::map<std::string, state::stored_value> values;
  if (!ep) {
    problem = "unknown function type '" + target.type.to_string() + "'";
    return nullptr;
  }
  auto loaded = st->cfg.store->load_states(st->kg_of(target), target);
  if (!loaded) {
    problem = "cannot load state: " + loaded.err().message;
    return nullptr;
  }
  address_actor_config acfg;
  acfg.self = target;
  acfg.endpoint = *ep;
  acfg.client = st->cfg.client;
  acfg.partition = caf::actor_cast<caf::actor>(self);
  acfg.specs = st->specs[target.type];
  acfg.values = std::move(*loaded);
  live_entry le;
  le.max_batch = ep->max_batch;
  le.actor = self->spawn<caf::lazy_init>(address_actor, std::move(acfg));
  self->monitor(le.actor);
  return &st->live.emplace(target, std::move(le)).first->second; // stays valid: node-based map
}

/// True when a message nobody waits for must wait on disk: its address holds
/// more than maxNumBatchRequests already, or older messages wait there.
bool must_wait(const live_entry& e) {
  return e.backlog > 0 || (e.max_batch != 0 && e.pending.size() > e.max_batch);
}

/// Hands `inv` to the address actor of `a` and records it as pending.
/// `offset` is set for ingress records, whose sender waits for room.
void push(const state_ptr& st, const address& a, live_entry& e, protocol::invocation inv,
          std::optional<std::uint64_t> offset) {
  e.pending.push_back(inv);
  e.offsets.push_back(offset ? *offset : none_offset);
  st->stats.pending_invocations++;
  e.last_active = mono_ms();
  st->self->send(e.actor, invoke_atom::value, std::move(inv));
  if (offset) {
    if (e.max_batch != 0 && e.pending.size() > e.max_batch)
      e.deferred.push_back(*offset);
    else
      admit(st, *offset);
  }
  note_fullness(st, a, e);
}

/// Appends `inv` to the backlog of `a` on disk (its own commit).
void spill(const state_ptr& st, const address& a, live_entry& e, protocol::invocation inv) {
  state::inbox_entry entry;
  entry.kg = st->kg_of(a);
  entry.seq = st->cfg.store->next_seq();
  entry.target = a;
  entry.invocations.push_back(std::move(inv));
  state::write_batch wb;
  wb.put_backlog(entry);
  if (!commit(st, wb))
    return; // the partition stops; the rebuild recomputes this message
  e.backlog++;
  st->cfg.stats->spilled();
}

/// The oldest `limit` messages of the backlog of `a`, their deletion staged
/// in `wb`; nullopt when the store could not be read (the partition stops).
std::optional<std::vector<protocol::invocation>> take_backlog(const state_ptr& st, const address& a,
                                                              size_t limit,
                                                              state::write_batch& wb) {
  auto kg = st->kg_of(a);
  auto items = st->cfg.store->backlog_of(kg, a, limit);
  if (!items) {
    fail(st, "cannot read the backlog of " + a.to_string() + ": " + items.err().message);
    return std::nullopt;
  }
  std::vector<protocol::invocation> out;
  for (auto& item : *items) {
    wb.delete_backlog(kg, a, item.seq);
    out.push_back(std::move(item.invocations.front()));
  }
  return out;
}

/// Moves the oldest messages of the backlog of `a` into its pending ones, as
/// many as it has room for (up to maxNumBatchRequests + 1 pending).
void refill(const state_ptr& st, const address& a, live_entry& e) {
  if (e.backlog == 0 || st->failed)
    return;
  size_t room = e.max_batch == 0 ? 1000
                : e.pending.size() > e.max_batch ? 0
                                                 : e.max_batch + 1 - e.pending.size();
  if (room == 0)
    return;
  state::write_batch wb;
  auto items = take_backlog(st, a, room, wb);
  if (!items)
    return;
  if (items->empty()) {
    log(st, "the backlog of " + a.to_string() + " is shorter than counted");
    e.backlog = 0;
    return;
  }
  if (!commit(st, wb))
    return;
  e.backlog -= std::min<std::uint64_t>(e.backlog, items->size());
  for (auto& inv : *items)
    push(st, a, e, std::move(inv), std::nullopt);
}

/// Delivers `env` to its address (spawning its actor if needed). A message
/// nobody waits for goes to the address's backlog on disk when the address
/// is full (`may_wait`; see must_wait); an ingress record (`offset`) is
/// always taken, its sender held back instead.
void deliver_local(caf::event_based_actor* self, const state_ptr& st, envelope env,
                   std::optional<std::uint64_t> offset, bool may_wait = true) {
  std::string problem;
  auto* e = ensure_live(self, st, env.target, problem);
  if (!e) {
    state::write_batch wb;
    dead_letter(st, wb, env.target, env.target, {std::move(env.inv)}, problem);
    if (commit(st, wb) && offset)
      st->cfg.gate->lost(*offset);
    return;
  }
  st->cfg.stats->in(env.target.type);
  if (!offset && may_wait && must_wait(*e))
    spill(st, env.target, *e, std::move(env.inv));
  else
    push(st, env.target, *e, std::move(env.inv), offset);
}

/// Sends `env` towards its partition: local delivery or the ordered channel to a peer.
void route(caf::event_based_actor* self, const state_ptr& st, envelope env) {
  auto owner = st->owner_of(env.target);
  if (owner == st->cfg.id)
    deliver_local(self, st, std::move(env), std::nullopt);
  else
    self->send(st->peers[owner], route_atom::value, st->cfg.id, std::move(env));
}

/// Validates an address produced by a function; empty string when fine.
std::string check_target(const state_ptr& st, const address& a) {
  if (a.type.ns.empty() || a.type.name.empty())
    return "target address has an empty namespace or type";
  if (state::encoded_address_size(a) > state::max_address_bytes)
    return "target address is longer than " + std::to_string(state::max_address_bytes)
           + " bytes";
  if (!st->cfg.module->find_endpoint(a.type))
    return "unknown function type '" + a.type.to_string() + "'";
  return {};
}

/// Arms the delayed-message timer for `due` unless it is armed for an earlier
/// time. A re-armed timer makes the tick already scheduled stale: it still
/// arrives but is ignored (its generation is old), so ticks never pile up.
void arm_timer(caf::event_based_actor* self, const state_ptr& st, std::int64_t due) {
  if (st->wake_at && *st->wake_at <= due)
    return;
  st->wake_at = due;
  auto delay = std::max<std::int64_t>(0, due - wall_ms());
  self->delayed_send(self, std::chrono::milliseconds{delay}, tick_atom::value, ++st->timer_gen);
}

void rearm(caf::event_based_actor* self, const state_ptr& st) {
  auto next = st->cfg.store->next_due(st->kg_begin, st->kg_end);
  if (!next) {
    log(st, "cannot read delayed messages: " + next.err().message);
    arm_timer(self, st, wall_ms() + 1000);
    return;
  }
  if (*next)
    arm_timer(self, st, **next);
}

void fire_delayed(caf::event_based_actor* self, const state_ptr& st) {
  // The current tick is consumed; rearm() below arms the next one, even when
  // this tick came a little early and nothing was due yet.
  st->wake_at.reset();
  auto now = wall_ms();
  auto due = st->cfg.store->due_delayed(st->kg_begin, st->kg_end, now, delayed_scan_limit);
  if (!due) {
    log(st, "cannot read delayed messages: " + due.err().message);
    arm_timer(self, st, now + 1000);
    return;
  }
  if (!due->empty()) {
    state::write_batch wb;
    for (auto& d : *due)
      wb.delete_delayed(d);
    if (!commit(st, wb)) {
      // Not deleted, so not sent: try again in a second rather than spin.
      arm_timer(self, st, now + 1000);
      return;
    }
    for (auto& d : *due)
      route(self, st, envelope{d.target, protocol::invocation{d.sender, d.argument}});
  }
  rearm(self, st);
}

void apply_delayed(const state_ptr& st, state::write_batch& wb, const address& sender,
                   std::vector<protocol::delayed_message>& delayed,
                   std::optional<std::int64_t>& earliest) {
  auto kg = st->kg_of(sender);
  std::set<std::string> tokens_added; // tokens registered earlier in this same batch
  std::set<std::string> tokens_cancelled;
  std::vector<state::delayed_record> added;
  for (auto& d : delayed) {
    if (d.is_cancellation) {
      if (d.cancellation_token.empty()) {
        dead_letter(st, wb, sender, sender, {}, "cancellation of a delayed message without a token");
        continue;
      }
      // A token added earlier in this batch: drop it from the batch.
      auto pos = std::find_if(added.begin(), added.end(), [&](const state::delayed_record& r) {
        return r.token == d.cancellation_token;
      });
      if (pos != added.end()) {
        wb.delete_delayed(*pos);
        tokens_added.erase(pos->token);
        added.erase(pos);
        continue;
      }
      if (d.cancellation_token.size() > max_name_bytes)
        continue; // never stored, so nothing to cancel
      auto found = st->cfg.store->find_token(kg, sender, d.cancellation_token);
      if (found && *found && !tokens_cancelled.count(d.cancellation_token)) {
        wb.delete_delayed(**found);
        tokens_cancelled.insert(d.cancellation_token);
      }
      // Unknown token (already delivered or cancelled): a no-op, as in StateFun.
      continue;
    }
    auto dead = [&](const std::string& why) {
      dead_letter(st, wb, sender, d.target, {protocol::invocation{sender, d.argument}}, why);
    };
    if (d.delay_ms < 0) {
      dead("delayed message with a negative delay");
      continue;
    }
    if (d.delay_ms > max_delay_ms) {
      dead("delayed message with a delay over " + std::to_string(max_delay_ms) + " ms");
      continue;
    }
    if (d.cancellation_token.size() > max_name_bytes) {
      dead("cancellation token longer than " + std::to_string(max_name_bytes) + " bytes");
      continue;
    }
    if (auto problem = check_target(st, d.target); !problem.empty()) {
      dead(problem);
      continue;
    }
    if (!d.cancellation_token.empty()) {
      bool pending_in_store = false;
      if (!tokens_cancelled.count(d.cancellation_token)) {
        auto found = st->cfg.store->find_token(kg, sender, d.cancellation_token);
        pending_in_store = found && *found;
      }
      if (tokens_added.count(d.cancellation_token) || pending_in_store) {
        dead("cancellation token '" + d.cancellation_token + "' is already pending for "
             + sender.to_string());
        continue;
      }
      tokens_added.insert(d.cancellation_token);
    }
    state::delayed_record r;
    r.kg = kg;
    r.due_ms = wall_ms() + d.delay_ms;
    r.seq = st->cfg.store->next_seq();
    r.sender = sender;
    r.token = d.cancellation_token;
    r.target = d.target;
    r.argument = d.argument;
    wb.put_delayed(r);
    if (!earliest || r.due_ms < *earliest)
      earliest = r.due_ms;
    added.push_back(std::move(r));
  }
}

bool known_topic(const state_ptr& st, const std::string& topic) {
  auto& eg = st->cfg.module->egress;
  return eg && std::find(eg->topics.begin(), eg->topics.end(), topic) != eg->topics.end();
}

/// Validates egress messages; returns the valid records, numbered, to be made
/// visible (or held) once the batch is committed.
std::vector<state::egress_entry> apply_egress(const state_ptr& st, state::write_batch& wb,
                                              const address& source,
                                              std::vector<protocol::egress_message>& egresses) {
  std::vector<state::egress_entry> out;
  for (auto& eg : egresses) {
    address pseudo{{eg.egress_namespace, eg.egress_type}, ""};
    auto id = eg.egress_id();
    auto dead = [&](const std::string& why) {
      dead_letter(st, wb, source, pseudo, {protocol::invocation{source, eg.argument}}, why);
    };
    if (id != io::playground_egress_id || !st->cfg.egress) {
      dead("unknown egress '" + id + "'");
      continue;
    }
    auto rec = io::decode_egress_record(eg.argument);
    if (!rec) {
      dead(rec.err().message);
      continue;
    }
    if (!known_topic(st, rec->topic)) {
      dead("unknown egress topic '" + rec->topic + "'");
      continue;
    }
    out.push_back({st->cfg.store->next_seq(), std::move(rec->topic), std::move(rec->payload)});
  }
  return out;
}

void put_changes(const state_ptr& st, state::write_batch& wb, const address& a,
                 const std::vector<state_change>& changes) {
  auto kg = st->kg_of(a);
  for (auto& [name, value] : changes) {
    if (value)
      wb.put_state(kg, a, name, *value);
    else
      wb.delete_state(kg, a, name);
  }
}

void completed(const state_ptr& st, const address& a, std::uint32_t n) {
  st->stats.invocations_completed += n;
  st->stats.pending_invocations -= std::min<std::uint64_t>(st->stats.pending_invocations, n);
  release_held(st);
  auto it = st->live.find(a);
  if (it == st->live.end())
    return;
  auto& e = it->second;
  for (std::uint32_t i = 0; i < n && !e.pending.empty(); ++i) {
    e.pending.pop_front();
    auto offset = e.offsets.front();
    e.offsets.pop_front();
    if (offset == none_offset || e.recent.empty())
      continue;
    st->cfg.gate->applied(offset, e.recent.back()); // remembered just before this call
  }
  e.last_active = mono_ms();
  refill(st, a, e);
  release_deferred(st, e);
  note_fullness(st, a, e);
}

/// Applies a finished batch's effects; false when their commit failed (the
/// partition is stopping and nothing of the batch escaped).
bool on_effects(caf::event_based_actor* self, const state_ptr& st, effects& fx) {
  state::write_batch wb;
  std::vector<envelope> out;
  // 1. Outgoing messages.
  for (auto& m : fx.outgoing) {
    protocol::invocation inv{fx.source, std::move(m.argument)};
    if (auto problem = check_target(st, m.target); !problem.empty()) {
      dead_letter(st, wb, fx.source, m.target, {std::move(inv)}, problem);
      continue;
    }
    out.push_back(envelope{std::move(m.target), std::move(inv)});
  }
  // 2. Delayed messages, in list order.
  std::optional<std::int64_t> earliest;
  apply_delayed(st, wb, fx.source, fx.delayed, earliest);
  // 3. Egress records.
  auto records = apply_egress(st, wb, fx.source, fx.egresses);
  // 4. State mutations.
  put_changes(st, wb, fx.source, fx.changes);
  if (!commit(st, wb))
    return false; // nothing of the batch is durable: none of its effects escapes
  if (!records.empty()) {
    if (st->at_least_once) {
      if (auto s = st->cfg.egress->append(records); !s) {
        // The batch is in the store but its records are not: the rebuild
        // from the last checkpoint recomputes both.
        fail(st, "egress write failed: " + s.err().message);
        return false;
      }
    } else {
      for (auto& r : records)
        st->egress_held.push_back({st->last_recorded + 1, std::move(r)});
    }
  }
  for (auto& env : out)
    route(self, st, std::move(env));
  if (earliest)
    arm_timer(self, st, *earliest);
  note_latency(*st, fx.latency_ms);
  {
    auto& type = fx.source.type;
    std::uint64_t local = 0;
    for (auto& env : out)
      local += st->owner_of(env.target) == st->cfg.id ? 1 : 0;
    st->cfg.stats->out_local(type, local);
    st->cfg.stats->out_remote(type, out.size() - local);
    st->cfg.stats->out_egress(type, records.size());
    st->cfg.stats->latency(type, fx.latency_ms);
  }
  if (auto it = st->live.find(fx.source); it != st->live.end()) {
    invocation_record r;
    r.time_ms = wall_ms();
    r.invocations = fx.completed;
    for (auto& [name, value] : fx.changes)
      if (std::find(r.states_changed.begin(), r.states_changed.end(), name) == r.states_changed.end())
        r.states_changed.push_back(name);
    r.messages_sent = static_cast<std::uint32_t>(out.size());
    r.delayed = static_cast<std::uint32_t>(fx.delayed.size());
    r.egress_records = static_cast<std::uint32_t>(records.size());
    remember(it->second, std::move(r));
  }
  completed(st, fx.source, fx.completed);
  return true;
}

/// Dead-letters a batch given up by its address actor; false when the
/// commit failed (as for on_effects).
bool on_failure(const state_ptr& st, failure& f) {
  state::write_batch wb;
  auto n = static_cast<std::uint32_t>(f.invocations.size());
  note_latency(*st, f.latency_ms);
  st->stats.invocation_failures += n;
  st->cfg.stats->failures(f.source.type, n);
  st->cfg.stats->latency(f.source.type, f.latency_ms);
  if (auto it = st->live.find(f.source); it != st->live.end()) {
    invocation_record r;
    r.time_ms = wall_ms();
    r.invocations = n;
    r.failed = true;
    r.failure = f.reason;
    remember(it->second, std::move(r));
  }
  put_changes(st, wb, f.source, f.changes);
  dead_letter(st, wb, f.source, f.source, std::move(f.invocations), f.reason);
  if (!commit(st, wb))
    return false;
  completed(st, f.source, n);
  return true;
}

void sweep(caf::event_based_actor* self, const state_ptr& st) {
  auto now = mono_ms();
  std::vector<std::pair<std::int64_t, address>> idle;
  for (auto& [a, e] : st->live)
    if (e.pending.empty() && e.backlog == 0)
      idle.emplace_back(e.last_active, a);
  size_t excess = st->live.size() > st->cfg.max_live ? st->live.size() - st->cfg.max_live : 0;
  std::sort(idle.begin(), idle.end());
  std::uint64_t stopped = 0;
  for (auto& [last, a] : idle) {
    if (excess == 0 && now - last < st->cfg.idle.count())
      break;
    auto it = st->live.find(a);
    self->send(it->second.actor, stop_atom::value);
    st->live.erase(it);
    ++stopped;
    if (excess > 0)
      --excess;
  }
  // Gauges, once a second: backlog and blocked addresses per function type.
  std::map<protocol::function_type, std::pair<double, double>> per_type;
  for (auto& [type, specs] : st->specs)
    per_type[type];
  for (auto& [a, e] : st->live) {
    auto& v = per_type[a.type];
    if (e.pending.size() > 1)
      v.first += static_cast<double>(e.pending.size() - 1);
    v.first += static_cast<double>(e.backlog);
    if (e.max_batch != 0 && e.pending.size() > e.max_batch)
      v.second += 1;
  }
  for (auto& [type, v] : per_type)
    st->cfg.stats->backlog(st->cfg.id, type, v.first, v.second);
  st->cfg.stats->passivated(stopped);
  st->cfg.stats->live_actors(st->cfg.id, static_cast<double>(st->live.size()));
  self->delayed_send(self, std::chrono::seconds{1}, sweep_atom::value);
}

// -- checkpoints ----------------------------------------------------------------

/// The first barrier of checkpoint `id`: record the state in this very step.
void record(caf::event_based_actor* self, const state_ptr& st, std::uint64_t id) {
  recording r;
  r.id = id;
  auto view = st->cfg.store->take_snapshot();
  if (view)
    r.view = std::shared_ptr<state::snapshot>{std::move(*view)};
  else
    log(st, "checkpoint " + std::to_string(id) + ": " + view.err().message);
  auto changes = st->cfg.store->take_changes();
  bool full = changes.overflow || st->chain.empty() || st->last_completed != st->last_recorded
              || st->chain.size() >= st->cfg.full_every;
  auto name = state::checkpoint_files::part_name(id, st->cfg.id, full);
  if (!full) {
    r.changed = std::make_shared<std::unordered_set<std::string>>(std::move(changes.keys));
    r.chain = st->chain;
  }
  r.chain.push_back(name);
  for (auto& [a, e] : st->live)
    if (!e.pending.empty())
      r.extras.pending.push_back(
        {st->kg_of(a), 0, a, std::vector<protocol::invocation>(e.pending.begin(), e.pending.end())});
  for (auto& h : st->egress_held)
    r.extras.egress.push_back(h.entry);
  r.logs.resize(st->tracker.inputs());
  st->recorded_chains[id] = r.chain;
  st->last_recorded = id;
  st->rec = std::move(r);
  for (std::uint32_t p = 0; p < st->peers.size(); ++p)
    if (p != st->cfg.id)
      self->send(st->peers[p], barrier_atom::value, id, st->cfg.id);
}

/// Every input delivered the barrier: the recording is final.
void finish(caf::event_based_actor* self, const state_ptr& st) {
  auto r = std::move(*st->rec);
  st->rec.reset();
  if (!r.view)
    return; // the coordinator abandons this checkpoint after its timeout
  for (auto& channel : r.logs)
    for (auto& env : channel)
      r.extras.logged.push_back({st->kg_of(env.target), 0, env.target, {std::move(env.inv)}});
  snapshot_job job;
  job.checkpoint = r.id;
  job.partition = st->cfg.id;
  job.view = std::move(r.view);
  job.changed = std::move(r.changed);
  job.chain = std::move(r.chain);
  job.extras = std::move(r.extras);
  self->send(st->cfg.writer, write_atom::value, std::move(job));
}

void on_barrier(caf::event_based_actor* self, const state_ptr& st, std::uint64_t id, channel_id c) {
  auto step = st->tracker.on_barrier(id, c);
  if (step.record)
    record(self, st, id);
  if (step.complete)
    finish(self, st);
}

/// Logs a message that belongs to the running checkpoint's channel state.
void note_arrival(const state_ptr& st, channel_id c, const envelope& env) {
  if (st->rec && st->tracker.must_log(c))
    st->rec->logs[c].push_back(env);
}

void on_completed(const state_ptr& st, std::uint64_t id) {
  if (id <= st->last_completed)
    return;
  st->last_completed = id;
  if (auto it = st->recorded_chains.find(id); it != st->recorded_chains.end())
    st->chain = it->second;
  st->recorded_chains.erase(st->recorded_chains.begin(), st->recorded_chains.upper_bound(id));
  // Released by the coordinator: every record held when `id` was recorded.
  st->egress_held.erase(std::remove_if(st->egress_held.begin(), st->egress_held.end(),
                                       [&](const held_egress& h) { return h.epoch <= id; }),
                        st->egress_held.end());
}

/// Takes up the backlogs found on disk at start: each address gets its actor
/// and as many messages as it has room for; an address that cannot be served
/// any more (its type left the module) has its backlog dead-lettered.
void restore_backlogs(caf::event_based_actor* self, const state_ptr& st) {
  auto found = st->cfg.store->backlogs(st->kg_begin, st->kg_end);
  if (!found) {
    fail(st, "cannot read the backlogs: " + found.err().message);
    return;
  }
  for (auto& [a, n] : *found) {
    std::string problem;
    auto* e = ensure_live(self, st, a, problem);
    if (e) {
      e->backlog = n;
      refill(st, a, *e);
      continue;
    }
    state::write_batch wb;
    auto invs = take_backlog(st, a, n, wb);
    if (!invs)
      return;
    dead_letter(st, wb, a, a, std::move(*invs), problem);
    if (!commit(st, wb))
      return;
  }
}

void start(caf::event_based_actor* self, const state_ptr& st, state::part_extras& restored) {
  auto specs = st->cfg.store->load_specs();
  if (specs)
    st->specs = std::move(*specs);
  else
    log(st, "cannot load state specs: " + specs.err().message);
  // Per address, in arrival order: the restored pending messages, the
  // backlog on disk (younger than those), the restored logged messages
  // (younger still), then what peers sent meanwhile.
  for (auto& e : restored.pending)
    for (auto& inv : e.invocations)
      deliver_local(self, st, envelope{e.target, std::move(inv)}, std::nullopt, false);
  restore_backlogs(self, st);
  // A logged message from the ingress (no caller) is taken like every ingress
  // record, never backlogged: the replayed records after it are not either.
  for (auto& e : restored.logged)
    for (auto& inv : e.invocations) {
      bool may_wait = inv.caller.has_value();
      deliver_local(self, st, envelope{e.target, std::move(inv)}, std::nullopt, may_wait);
    }
  st->started = true;
  for (auto& env : st->early)
    deliver_local(self, st, std::move(env), std::nullopt);
  st->early.clear();
  rearm(self, st);
  self->delayed_send(self, std::chrono::seconds{1}, sweep_atom::value);
}

} // namespace

caf::behavior partition_actor(caf::event_based_actor* self, partition_config cfg) {
  auto st = std::make_shared<partition_state>();
  st->kg_begin = protocol::first_key_group(cfg.id, cfg.max_key_groups, cfg.partitions);
  st->kg_end = protocol::first_key_group(cfg.id + 1, cfg.max_key_groups, cfg.partitions);
  st->stats.partition = cfg.id;
  st->tracker = barrier_tracker{cfg.partitions}; // the source and every peer
  st->last_completed = st->last_recorded = cfg.last_completed;
  st->at_least_once = cfg.module->egress && cfg.module->egress->at_least_once;
  st->cfg = std::move(cfg);
  st->self = self;
  // The address actors end with their partition (they are not linked to it:
  // one failing must not take the partition down).
  self->attach_functor([st](const caf::error&) {
    for (auto& [a, e] : st->live)
      caf::anon_send_exit(e.actor, caf::exit_reason::user_shutdown);
  });
  // Address actors stop normally when passivated. Any other end is a defect:
  // their unfinished messages become a dead letter, and the address gets a
  // fresh actor next time.
  self->set_down_handler([=](caf::down_msg& msg) {
    if (msg.reason == caf::exit_reason::normal || msg.reason == caf::exit_reason::user_shutdown
        || !msg.reason)
      return;
    for (auto it = st->live.begin(); it != st->live.end(); ++it) {
      if (it->second.actor.address() != msg.source)
        continue;
      auto reason = "address actor failed: " + self->system().render(msg.reason);
      state::write_batch wb;
      dead_letter(st, wb, it->first, it->first,
                  {it->second.pending.begin(), it->second.pending.end()}, reason);
      if (!commit(st, wb))
        return;
      st->stats.pending_invocations -=
        std::min<std::uint64_t>(st->stats.pending_invocations, it->second.pending.size());
      for (auto offset : it->second.deferred)
        st->cfg.gate->accept(offset);
      release_held(st);
      for (auto offset : it->second.offsets)
        if (offset != none_offset)
          st->cfg.gate->lost(offset);
      if (it->second.full)
        st->cfg.gate->set_full(it->first.to_string(), false);
      auto a = it->first;
      auto backlog = it->second.backlog;
      st->live.erase(it);
      // Its backlog on disk goes to a fresh actor.
      std::string problem;
      if (backlog > 0) {
        auto* e = ensure_live(self, st, a, problem);
        if (!e) {
          // Its backlog must not be overtaken by newer messages: rebuild.
          fail(st, "the backlog of " + a.to_string() + " has no actor: " + problem);
          return;
        }
        e->backlog = backlog;
        refill(st, a, *e);
      }
      break;
    }
  });
  return {
    [=](peers_atom, std::vector<caf::actor>& peers) {
      st->peers = std::move(peers);
      return caf::ok_atom::value;
    },
    [=](start_atom, state::part_extras& restored) {
      start(self, st, restored);
      return caf::ok_atom::value;
    },
    [=](ingress_atom, std::uint64_t offset, envelope& env) {
      note_arrival(st, 0, env);
      deliver_local(self, st, std::move(env), offset);
    },
    [=](route_atom, std::uint32_t from, envelope& env) {
      note_arrival(st, st->channel_of(from), env);
      if (!st->started)
        st->early.push_back(std::move(env));
      else
        deliver_local(self, st, std::move(env), std::nullopt);
    },
    [=](barrier_atom, std::uint64_t id) { on_barrier(self, st, id, 0); },
    [=](barrier_atom, std::uint64_t id, std::uint32_t from) {
      on_barrier(self, st, id, st->channel_of(from));
    },
    [=](completed_atom, std::uint64_t id) { on_completed(st, id); },
    // The replay paces itself by this: answered once this partition holds at
    // most max_pending invocations (at once, or when it has worked off some).
    [=](room_atom) -> caf::result<caf::ok_atom> {
      if (st->stats.pending_invocations <= st->cfg.max_pending)
        return caf::ok_atom::value;
      // One asker (the source), who asks again when unanswered: keep the newest.
      st->room_waiters.clear();
      st->room_waiters.push_back(self->make_response_promise<caf::ok_atom>());
      return st->room_waiters.back();
    },
    // Both answer once the batch's writes are committed: only then may the
    // address actor build its next request from its memory (invariant 8).
    [=](effects_atom, effects& fx) -> caf::result<caf::ok_atom> {
      if (!on_effects(self, st, fx))
        return caf::make_error(caf::sec::runtime_error, "the batch's effects were not committed");
      return caf::ok_atom::value;
    },
    [=](failed_atom, failure& f) -> caf::result<caf::ok_atom> {
      if (!on_failure(st, f))
        return caf::make_error(caf::sec::runtime_error, "the dead letter was not committed");
      return caf::ok_atom::value;
    },
    [=](register_atom, protocol::function_type& type, spec_list& reported) {
      for (auto& s : reported)
        if (s.name.size() > max_name_bytes)
          return registration{false, {}, "state name '" + s.name.substr(0, 40) + "...' is longer than "
                                           + std::to_string(max_name_bytes) + " bytes"};
      auto& known = st->specs[type];
      auto merged = known;
      if (auto s = register_specs(merged, reported); !s)
        return registration{false, {}, s.err().message};
      if (merged.size() != known.size()) {
        state::write_batch wb;
        wb.put_specs(type, merged);
        if (!commit(st, wb))
          return registration{false, {}, "the state specs could not be stored"};
        known = merged;
      }
      return registration{true, known, {}};
    },
    [=](tick_atom, std::uint64_t gen) {
      if (gen == st->timer_gen)
        fire_delayed(self, st);
    },
    [=](sweep_atom) { sweep(self, st); },
    [=](deadlist_atom, std::uint64_t limit) -> dead_letter_list {
      auto r = st->cfg.store->dead_letters(limit);
      if (!r) {
        log(st, "cannot read dead letters: " + r.err().message);
        return {};
      }
      return std::move(*r);
    },
    [=](deadone_atom, std::uint16_t kg, std::uint64_t seq) -> dead_letter_list {
      auto d = st->cfg.store->find_dead_letter(key_group{kg}, seq);
      if (!d || !*d)
        return {};
      return {std::move(**d)};
    },
    [=](replay_atom, std::uint16_t kg, std::uint64_t seq) -> std::int64_t {
      auto d = st->cfg.store->find_dead_letter(key_group{kg}, seq);
      if (!d || !*d)
        return -1;
      auto& letter = **d;
      if (letter.target.id.empty() || letter.invocations.empty())
        return -2; // an egress record or a bad cancellation: nothing to re-deliver
      state::write_batch wb;
      wb.delete_dead_letter(letter.kg, letter.seq);
      if (!commit(st, wb))
        return -3;
      auto n = static_cast<std::int64_t>(letter.invocations.size());
      for (auto& inv : letter.invocations)
        route(self, st, envelope{letter.target, std::move(inv)});
      return n;
    },
    [=](drop_atom, std::uint16_t kg, std::uint64_t seq) -> bool {
      auto d = st->cfg.store->find_dead_letter(key_group{kg}, seq);
      if (!d || !*d)
        return false;
      state::write_batch wb;
      wb.delete_dead_letter(key_group{kg}, seq);
      return commit(st, wb);
    },
    [=](actors_atom, actor_query& q) {
      actor_page page;
      std::vector<actor_summary> all;
      for (auto& [a, e] : st->live) {
        if (!q.type.empty() && a.type.to_string() != q.type)
          continue;
        if (a.id.compare(0, q.prefix.size(), q.prefix) != 0)
          continue;
        all.push_back(summarize(a, e));
      }
      page.total = all.size();
      auto n = std::min<size_t>(all.size(), q.limit);
      std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                        [](const actor_summary& x, const actor_summary& y) {
                          return x.address < y.address;
                        });
      all.resize(n);
      page.actors = std::move(all);
      return page;
    },
    [=](inspect_atom, protocol::address& a) {
      address_detail d;
      auto kg = st->kg_of(a);
      if (auto states = st->cfg.store->load_states(kg, a))
        d.states = std::move(*states);
      if (auto delayed = st->cfg.store->delayed_of(kg, a))
        d.delayed = std::move(*delayed);
      if (auto it = st->specs.find(a.type); it != st->specs.end())
        d.specs = it->second;
      if (auto it = st->live.find(a); it != st->live.end()) {
        d.live = true;
        d.pending.assign(it->second.pending.begin(), it->second.pending.end());
        d.recent.assign(it->second.recent.begin(), it->second.recent.end());
        d.summary = summarize(a, it->second);
      } else {
        d.summary.address = a;
      }
      d.known = d.live || !d.states.empty() || !d.delayed.empty();
      return d;
    },
    [=](stats_atom) {
      auto s = st->stats;
      s.live_addresses = st->live.size();
      for (auto& [a, e] : st->live)
        s.backlog_messages += e.backlog;
      for (auto& [type, specs] : st->specs)
        if (!specs.empty())
          s.registered_types.push_back(type.to_string());
      s.latencies_ms.assign(st->latencies.begin(), st->latencies.end());
      return s;
    },
  };
}

} // namespace hearth::actors
