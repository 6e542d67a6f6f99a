#include "actors/partition.hpp"

#include "actors/address_actor.hpp"
#include "actors/ask.hpp"
#include "actors/address_table.hpp"
#include "actors/admission.hpp"
#include "actors/checkpoint_recorder.hpp"
#include "actors/dead_letters.hpp"
#include "actors/delayed_rules.hpp"
#include "actors/effect_plan.hpp"
#include "actors/egress_router.hpp"
#include "actors/remote_gate.hpp"
#include "actors/routing.hpp"

#include <algorithm>
#include <deque>
#include <iostream>
#include <optional>

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
constexpr size_t latencies_kept = 1024;

/// The partition actor's state: its plain parts, wired.
struct partition_state {
  explicit partition_state(partition_config c)
    : cfg(std::move(c)),
      route{cfg.id, cfg.partitions, cfg.max_key_groups, cfg.sources},
      admit(cfg.gates, cfg.id, cfg.max_pending),
      letters(*cfg.store, [this](const state::dead_letter& d) { on_dead_letter(d); }),
      egress(*cfg.module, cfg.egress != nullptr),
      recorder(route, cfg.full_every, cfg.last_completed, cfg.epoch) {
    stats.partition = cfg.id;
  }
  // Its parts hold references into it (the dead-letter observer): never moved.
  partition_state(const partition_state&) = delete;
  partition_state& operator=(const partition_state&) = delete;

  partition_config cfg;
  caf::event_based_actor* self = nullptr;
  routing route;
  bool failed = false; // a write failed: the partition is stopping
  std::vector<caf::actor> peers;
  std::map<protocol::function_type, spec_list> specs;
  address_table live;
  admission admit;
  dead_letters letters;
  egress_router egress;
  checkpoint_recorder recorder;
  std::optional<std::int64_t> wake_at; // wall ms the current tick is armed for
  std::uint64_t timer_gen = 0;         // only the tick of this generation counts
  // The source's replay waits here for the partition to be at or below
  // max_pending again (room_atom).
  std::vector<reply_to> room_waiters;
  partition_stats stats;
  std::deque<std::uint32_t> latencies; // of the most recent function calls

  // Finished batches whose effects wait for the next group commit: one
  // store transaction for every batch that reached the mailbox before the
  // `flush` the courier sent back for the first of them.
  struct staged_effects {
    effects fx;
    caf::typed_response_promise<caf::ok_atom> done; // the address actor's
  };
  std::vector<staged_effects> staged;
  bool flush_sent = false;
  caf::actor courier; // see flush_courier

  // Start-up: messages that arrive before this partition re-delivered its
  // restored messages wait here, so messages keep their order per target.
  struct early_message {
    envelope env;
    std::optional<ingress_ticket> ticket; // an ingress record's
  };
  bool started = false;
  std::vector<early_message> early;
  std::uint64_t foreign = 0; // messages of another epoch, dropped

  /// True when a message stamped `epoch` belongs to this pipeline; one of
  /// another epoch (a fenced or stale sender) is dropped.
  bool current(std::uint64_t epoch) {
    if (epoch == cfg.epoch)
      return true;
    if (foreign++ % 1000 == 0)
      log("dropped a message of epoch " + std::to_string(epoch) + " (this pipeline's is "
          + std::to_string(cfg.epoch) + ")");
    return false;
  }

  void log(const std::string& what) const {
    std::cerr << "hearth-node: partition " << cfg.id << ": " << what << std::endl;
  }

  void on_dead_letter(const state::dead_letter& d) {
    cfg.stats->dead_letter();
    log("dead letter for " + d.target.to_string() + ": " + d.reason);
  }

  effect_context context() {
    return effect_context{*cfg.store, *cfg.module, route, letters, egress, wall_ms()};
  }
};

using state_ptr = std::shared_ptr<partition_state>;

void note_latency(partition_state& st, std::uint32_t ms) {
  st.latencies.push_back(ms);
  if (st.latencies.size() > latencies_kept)
    st.latencies.pop_front();
}

/// Stops the partition because a write failed (design invariant 8): the
/// node sees it end, stops every partition and rebuilds them from the last
/// checkpoint, and the ingress log replays what followed. Nothing of the
/// failed batch may escape meanwhile: callers return at once.
void fail(const state_ptr& st, const std::string& reason) {
  if (st->failed)
    return;
  st->failed = true;
  st->log(reason + "; the partition stops and is rebuilt from the last checkpoint");
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

/// Stages a dead letter in the key group of `owner` (an address of this partition).
void dead_letter(const state_ptr& st, state::write_batch& wb, const address& owner, undeliverable r) {
  st->letters.stage(wb, st->route.kg_of(owner), std::move(r), wall_ms());
}

/// Answers the replay's question for room once the partition has some.
void release_room(const state_ptr& st) {
  if (!st->room_waiters.empty() && st->admit.has_room()) {
    for (auto& r : st->room_waiters)
      answer(r, caf::ok_atom::value);
    st->room_waiters.clear();
  }
}

/// The live entry of `target`, spawning its address actor with its stored
/// state; nullptr with `problem` set when it cannot be (an unknown function
/// type, an unreadable state).
live_entry* ensure_live(const state_ptr& st, const address& target, std::string& problem) {
  if (auto* e = st->live.find(target))
    return e;
  auto* ep = st->cfg.module->find_endpoint(target.type);
  if (!ep) {
    problem = "unknown function type '" + target.type.to_string() + "'";
    return nullptr;
  }
  auto loaded = st->cfg.store->load_states(st->route.kg_of(target), target);
  if (!loaded) {
    problem = "cannot load state: " + loaded.err().message;
    return nullptr;
  }
  auto* self = st->self;
  address_actor_config acfg;
  acfg.self = target;
  acfg.endpoint = *ep;
  acfg.client = st->cfg.client;
  acfg.partition = caf::actor_cast<caf::actor>(self);
  acfg.specs = st->specs[target.type];
  acfg.values = std::move(*loaded);
  live_entry le;
  le.admission.max_batch = ep->max_batch;
  le.actor = self->spawn<caf::lazy_init>(address_actor, std::move(acfg));
  self->monitor(le.actor);
  return &st->live.insert(target, std::move(le));
}

/// Hands `inv` to the address actor of `a` and records it as pending.
/// `ticket` is set for ingress records, whose sender waits for room.
void push(const state_ptr& st, const address& a, live_entry& e, protocol::invocation inv,
          std::optional<ingress_ticket> ticket) {
  e.pending.push_back(inv);
  e.tickets.push_back(ticket);
  e.last_active = mono_ms();
  st->self->send(e.actor, invoke_atom::value, std::move(inv));
  st->admit.added(a, e.admission, e.pending.size(), ticket);
}

/// Appends `inv` to the backlog of `a` on disk (its own commit).
void spill(const state_ptr& st, const address& a, live_entry& e, protocol::invocation inv) {
  state::inbox_entry entry;
  entry.kg = st->route.kg_of(a);
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
  auto kg = st->route.kg_of(a);
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
  auto max_batch = e.admission.max_batch;
  size_t room = max_batch == 0                ? 1000
                : e.pending.size() > max_batch ? 0
                                               : max_batch + 1 - e.pending.size();
  if (room == 0)
    return;
  state::write_batch wb;
  auto items = take_backlog(st, a, room, wb);
  if (!items)
    return;
  if (items->empty()) {
    st->log("the backlog of " + a.to_string() + " is shorter than counted");
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
/// is full (`may_wait`; see admission::must_wait); an ingress record
/// (`offset`) is always taken, its sender held back instead.
void deliver_local(const state_ptr& st, envelope env, std::optional<ingress_ticket> ticket,
                   bool may_wait = true) {
  std::string problem;
  auto* e = ensure_live(st, env.target, problem);
  if (!e) {
    state::write_batch wb;
    dead_letter(st, wb, env.target, {env.target, {std::move(env.inv)}, problem});
    if (commit(st, wb) && ticket)
      st->admit.gate(ticket->origin).lost(ticket->offset);
    return;
  }
  st->cfg.stats->in(env.target.type);
  if (!ticket && may_wait && admission::must_wait(e->admission, e->pending.size(), e->backlog))
    spill(st, env.target, *e, std::move(env.inv));
  else
    push(st, env.target, *e, std::move(env.inv), ticket);
}

/// Sends `env` towards its partition: local delivery or the ordered channel to a peer.
void route(const state_ptr& st, envelope env) {
  auto owner = st->route.owner_of(env.target);
  if (owner == st->cfg.id)
    deliver_local(st, std::move(env), std::nullopt);
  else
    st->self->send(st->peers[owner], route_atom::value, st->cfg.epoch, st->cfg.id, std::move(env));
}

/// Arms the delayed-message timer for `due` unless it is armed for an earlier
/// time. A re-armed timer makes the tick already scheduled stale: it still
/// arrives but is ignored (its generation is old), so ticks never pile up.
void arm_timer(const state_ptr& st, std::int64_t due) {
  if (st->wake_at && *st->wake_at <= due)
    return;
  st->wake_at = due;
  auto delay = std::max<std::int64_t>(0, due - wall_ms());
  st->self->delayed_send(st->self, std::chrono::milliseconds{delay}, tick_atom::value,
                         ++st->timer_gen);
}

void rearm(const state_ptr& st) {
  auto next = st->cfg.store->next_due(st->route.kg_begin(), st->route.kg_end());
  if (!next) {
    st->log("cannot read delayed messages: " + next.err().message);
    arm_timer(st, wall_ms() + 1000);
    return;
  }
  if (*next)
    arm_timer(st, **next);
}

void fire_delayed(const state_ptr& st) {
  // The current tick is consumed; rearm() below arms the next one, even when
  // this tick came a little early and nothing was due yet.
  st->wake_at.reset();
  auto now = wall_ms();
  auto due = st->cfg.store->due_delayed(st->route.kg_begin(), st->route.kg_end(), now,
                                        delayed_scan_limit);
  if (!due) {
    st->log("cannot read delayed messages: " + due.err().message);
    arm_timer(st, now + 1000);
    return;
  }
  if (!due->empty()) {
    state::write_batch wb;
    for (auto& d : *due)
      wb.delete_delayed(d);
    if (!commit(st, wb)) {
      // Not deleted, so not sent: try again in a second rather than spin.
      arm_timer(st, now + 1000);
      return;
    }
    for (auto& d : *due)
      route(st, envelope{d.target, protocol::invocation{d.sender, d.argument}});
  }
  rearm(st);
}

/// `n` invocations of `a` completed: their senders learn it, held senders
/// and the backlog move up.
void completed(const state_ptr& st, const address& a, std::uint32_t n) {
  st->stats.invocations_completed += n;
  st->admit.completed(n);
  release_room(st);
  auto* e = st->live.find(a);
  if (!e)
    return;
  for (std::uint32_t i = 0; i < n && !e->pending.empty(); ++i) {
    e->pending.pop_front();
    auto ticket = e->tickets.front();
    e->tickets.pop_front();
    if (!ticket || e->recent.empty())
      continue;
    // The batch was remembered just before this call.
    st->admit.gate(ticket->origin).applied(ticket->offset, e->recent.back());
  }
  e->last_active = mono_ms();
  refill(st, a, *e);
  st->admit.settle(a, e->admission, e->pending.size());
}

/// What follows the commit of a finished batch's writes: its egress records,
/// its messages, its timer, its senders. False when the egress write failed
/// (the partition is stopping).
bool after_commit(const state_ptr& st, effects& fx, planned_batch& plan) {
  if (!plan.now.empty())
    if (auto s = st->cfg.egress->append(plan.now); !s) {
      // The batch is in the store but its records are not: the rebuild
      // from the last checkpoint recomputes both.
      fail(st, "egress write failed: " + s.err().message);
      return false;
    }
  if (!plan.records.empty())
    st->egress.hold(std::move(plan.records), st->recorder.last_recorded() + 1);
  auto& type = fx.source.type;
  std::uint64_t local = 0;
  for (auto& env : plan.out)
    local += st->route.is_local(env.target) ? 1 : 0;
  st->cfg.stats->applied(type, local, plan.out.size() - local, plan.record.egress_records,
                         fx.latency_ms);
  note_latency(*st, fx.latency_ms);
  for (auto& env : plan.out)
    route(st, std::move(env));
  if (plan.earliest)
    arm_timer(st, *plan.earliest);
  if (auto* e = st->live.find(fx.source))
    address_table::remember(*e, std::move(plan.record));
  completed(st, fx.source, fx.completed);
  return true;
}

/// Sends `flush` back to the partition that asked for it. A partition that
/// sent `flush` to itself would take it in the same run of its mailbox, right
/// after the one batch that staged it: every batch its own commit. Asked with
/// anon_send, the courier is queued behind the actors already ready to run
/// (CAF queues a job that comes from outside an actor at the back of a
/// worker's queue, one sent from inside at the front), so the address actors
/// whose function answers came in meanwhile finish their batches first and
/// their effects share the commit. On an idle node this is two more actor
/// runs, no wait. With several workers CAF hands such a job to the next
/// worker in turn, which may run it at once: less grouping, same effects
/// (docs/benchmarks.md measures both).
caf::behavior flush_courier(caf::event_based_actor* self, caf::actor partition) {
  return {
    [=](flush_atom) { self->send(partition, flush_atom::value); },
  };
}

/// Applies the staged batches' effects: their writes in one commit, then
/// what follows each, in the order they arrived; each address actor learns
/// whether its batch was committed. Nothing of a batch escapes before the
/// commit; when it fails, nothing of any of them does (the partition stops).
void commit_staged(const state_ptr& st) {
  st->flush_sent = false;
  auto batches = std::move(st->staged);
  st->staged.clear();
  if (batches.empty())
    return;
  std::vector<planned_batch> plans;
  plans.reserve(batches.size());
  state::write_batch all;
  for (auto& b : batches) {
    plans.push_back(plan_effects(st->context(), b.fx));
    all.append(std::move(plans.back().writes));
  }
  st->stats.effect_commits++;
  bool ok = commit(st, all);
  for (size_t i = 0; i < batches.size(); ++i) {
    ok = ok && after_commit(st, batches[i].fx, plans[i]);
    if (ok)
      batches[i].done.deliver(caf::ok_atom::value);
    else
      batches[i].done.deliver(
        caf::make_error(caf::sec::runtime_error, "the batch's effects were not committed"));
  }
}

/// Dead-letters a batch given up by its address actor; false when the
/// commit failed (as for on_effects).
bool on_failure(const state_ptr& st, failure& f) {
  auto n = static_cast<std::uint32_t>(f.invocations.size());
  auto type = f.source.type;
  auto plan = plan_failure(st->context(), f);
  note_latency(*st, f.latency_ms);
  st->stats.invocation_failures += n;
  st->cfg.stats->failures(type, n);
  st->cfg.stats->latency(type, f.latency_ms);
  if (auto* e = st->live.find(f.source))
    address_table::remember(*e, std::move(plan.record));
  if (!commit(st, plan.writes))
    return false;
  completed(st, f.source, n);
  return true;
}

void sweep(const state_ptr& st) {
  std::uint64_t stopped = 0;
  for (auto& a : st->live.to_passivate(mono_ms(), st->cfg.idle.count(), st->cfg.max_live)) {
    if (auto* e = st->live.find(a))
      st->self->send(e->actor, stop_atom::value);
    st->live.erase(a);
    ++stopped;
  }
  // Gauges, once a second: backlog and blocked addresses per function type.
  std::vector<protocol::function_type> types;
  for (auto& [type, specs] : st->specs)
    types.push_back(type);
  for (auto& [type, g] : st->live.gauges(types))
    st->cfg.stats->backlog(st->cfg.id, type, g.waiting, g.blocked);
  st->cfg.stats->passivated(stopped);
  st->cfg.stats->live_actors(st->cfg.id, static_cast<double>(st->live.size()));
  st->self->delayed_send(st->self, std::chrono::seconds{1}, sweep_atom::value);
}

// -- checkpoints ----------------------------------------------------------------

void on_barrier(const state_ptr& st, std::uint64_t id, channel_id c) {
  auto step = st->recorder.on_barrier(id, c);
  if (step.record) {
    // The first barrier of checkpoint `id`: record the state in this very step.
    state::part_extras extras;
    extras.pending = st->live.pending_inboxes(st->route);
    extras.egress = st->egress.held();
    if (auto s = st->recorder.record(id, *st->cfg.store, std::move(extras)); !s)
      st->log("checkpoint " + std::to_string(id) + ": " + s.err().message);
    for (std::uint32_t p = 0; p < st->peers.size(); ++p)
      if (p != st->cfg.id)
        st->self->send(st->peers[p], barrier_atom::value, st->cfg.epoch, id, st->cfg.id);
  }
  if (step.complete)
    // Without a view the coordinator abandons this checkpoint after its timeout.
    if (auto job = st->recorder.finish())
      st->self->send(st->cfg.writer, write_atom::value, std::move(*job));
}

void on_completed(const state_ptr& st, std::uint64_t id) {
  st->recorder.completed(id);
  // Released by the coordinator: every record held when `id` was recorded.
  st->egress.completed(id);
}

/// Takes up the backlogs found on disk at start: each address gets its actor
/// and as many messages as it has room for; an address that cannot be served
/// any more (its type left the module) has its backlog dead-lettered.
void restore_backlogs(const state_ptr& st) {
  auto found = st->cfg.store->backlogs(st->route.kg_begin(), st->route.kg_end());
  if (!found) {
    fail(st, "cannot read the backlogs: " + found.err().message);
    return;
  }
  for (auto& [a, n] : *found) {
    std::string problem;
    if (auto* e = ensure_live(st, a, problem)) {
      e->backlog = n;
      refill(st, a, *e);
      continue;
    }
    state::write_batch wb;
    auto invs = take_backlog(st, a, n, wb);
    if (!invs)
      return;
    dead_letter(st, wb, a, {a, std::move(*invs), problem});
    if (!commit(st, wb))
      return;
  }
}

void start(const state_ptr& st, state::part_extras& restored) {
  auto specs = st->cfg.store->load_specs();
  if (specs)
    st->specs = std::move(*specs);
  else
    st->log("cannot load state specs: " + specs.err().message);
  // Per address, in arrival order: the restored pending messages, the
  // backlog on disk (younger than those), the restored logged messages
  // (younger still), then what peers sent meanwhile.
  for (auto& e : restored.pending)
    for (auto& inv : e.invocations)
      deliver_local(st, envelope{e.target, std::move(inv)}, std::nullopt, false);
  restore_backlogs(st);
  // A logged message from the ingress (no caller) is taken like every ingress
  // record, never backlogged: the replayed records after it are not either.
  for (auto& e : restored.logged)
    for (auto& inv : e.invocations) {
      bool may_wait = inv.caller.has_value();
      deliver_local(st, envelope{e.target, std::move(inv)}, std::nullopt, may_wait);
    }
  st->started = true;
  for (auto& m : st->early)
    deliver_local(st, std::move(m.env), m.ticket);
  st->early.clear();
  rearm(st);
  st->self->delayed_send(st->self, std::chrono::seconds{1}, sweep_atom::value);
}

/// An address actor ended otherwise than by passivation (a defect): its
/// unfinished messages become a dead letter, and the address gets a fresh
/// actor (which takes up its backlog on disk) next time.
void on_address_down(const state_ptr& st, const caf::actor_addr& source, const std::string& why) {
  auto it = std::find_if(st->live.begin(), st->live.end(),
                         [&](const auto& kv) { return kv.second.actor.address() == source; });
  if (it == st->live.end())
    return;
  auto a = it->first;
  auto& e = it->second;
  // A batch of it waiting for the group commit is not applied: its
  // invocations are among the pending ones dead-lettered here.
  auto& staged = st->staged;
  staged.erase(std::remove_if(staged.begin(), staged.end(),
                              [&](const partition_state::staged_effects& b) { return b.fx.source == a; }),
               staged.end());
  state::write_batch wb;
  dead_letter(st, wb, a, {a, {e.pending.begin(), e.pending.end()}, "address actor failed: " + why});
  if (!commit(st, wb))
    return;
  st->admit.dropped(a, e.admission, e.pending.size());
  release_room(st);
  for (auto& t : e.tickets)
    if (t)
      st->admit.gate(t->origin).lost(t->offset);
  auto backlog = e.backlog;
  st->live.erase(a);
  if (backlog == 0)
    return;
  std::string problem;
  auto* fresh = ensure_live(st, a, problem);
  if (!fresh) {
    // Its backlog must not be overtaken by newer messages: rebuild.
    fail(st, "the backlog of " + a.to_string() + " has no actor: " + problem);
    return;
  }
  fresh->backlog = backlog;
  refill(st, a, *fresh);
}

/// Registers the state specs a function reported for `type`.
registration on_register(const state_ptr& st, const protocol::function_type& type,
                         const spec_list& reported) {
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
}

/// Re-delivers the messages of a dead letter: -1 none such, -2 nothing to
/// deliver, -3 the deletion was not committed, else how many.
std::int64_t replay_dead_letter(const state_ptr& st, key_group kg, std::uint64_t seq) {
  state::write_batch wb;
  state::dead_letter letter;
  switch (st->letters.take_for_replay(kg, seq, wb, letter)) {
    case dead_letters::replay_check::absent:
      return -1;
    case dead_letters::replay_check::nothing_to_deliver:
      return -2; // an egress record or a bad cancellation
    case dead_letters::replay_check::ready:
      break;
  }
  if (!commit(st, wb))
    return -3;
  auto n = static_cast<std::int64_t>(letter.invocations.size());
  for (auto& inv : letter.invocations)
    route(st, envelope{letter.target, std::move(inv)});
  return n;
}

address_detail inspect(const state_ptr& st, const address& a) {
  address_detail d;
  auto kg = st->route.kg_of(a);
  if (auto states = st->cfg.store->load_states(kg, a))
    d.states = std::move(*states);
  if (auto delayed = st->cfg.store->delayed_of(kg, a))
    d.delayed = std::move(*delayed);
  if (auto it = st->specs.find(a.type); it != st->specs.end())
    d.specs = it->second;
  st->live.describe(a, d);
  d.known = d.live || !d.states.empty() || !d.delayed.empty();
  return d;
}

partition_stats stats_of(const state_ptr& st) {
  auto s = st->stats;
  s.live_addresses = st->live.size();
  s.pending_invocations = st->admit.pending();
  s.dead_letters_written = st->letters.staged();
  s.backlog_messages = st->live.backlog_total();
  for (auto& [type, specs] : st->specs)
    if (!specs.empty())
      s.registered_types.push_back(type.to_string());
  s.latencies_ms.assign(st->latencies.begin(), st->latencies.end());
  return s;
}

} // namespace

caf::behavior partition_actor(caf::event_based_actor* self, partition_config cfg) {
  auto st = std::make_shared<partition_state>(std::move(cfg));
  st->self = self;
  st->courier = self->spawn<caf::linked>(flush_courier, caf::actor_cast<caf::actor>(self));
  // The address actors end with their partition (they are not linked to it:
  // one failing must not take the partition down).
  self->attach_functor([st](const caf::error&) {
    for (auto& [a, e] : st->live)
      caf::anon_send_exit(e.actor, caf::exit_reason::user_shutdown);
  });
  // Address actors stop normally when passivated. Any other end is a defect.
  self->set_down_handler([=](caf::down_msg& msg) {
    if (msg.reason == caf::exit_reason::normal || msg.reason == caf::exit_reason::user_shutdown
        || !msg.reason)
      return;
    on_address_down(st, msg.source, self->system().render(msg.reason));
  });
  return {
    [=](peers_atom, std::vector<caf::actor>& peers) {
      st->peers = std::move(peers);
      return caf::ok_atom::value;
    },
    // A cluster's: the gate actor of every node (by origin), this node's at `origin`.
    [=](peers_atom, std::vector<caf::actor>& peers, std::vector<caf::actor>& gates,
        std::uint32_t origin) {
      st->peers = std::move(peers);
      std::vector<std::shared_ptr<gate_port>> ports;
      for (std::uint32_t i = 0; i < gates.size(); ++i)
        if (i == origin)
          ports.push_back(st->cfg.gates.at(0));
        else
          ports.push_back(std::make_shared<remote_gate>(
            gates[i], [self] { self->send(self, gflush_atom::value); }));
      st->admit.set_gates(std::move(ports));
      return caf::ok_atom::value;
    },
    [=](start_atom, state::part_extras& restored) {
      start(st, restored);
      return caf::ok_atom::value;
    },
    [=](ingress_atom, std::uint64_t epoch, std::uint32_t origin, ingress_batch& batch) {
      if (!st->current(epoch) || origin >= st->route.sources
          || batch.offsets.size() != batch.envelopes.size())
        return;
      auto channel = st->route.source_channel(origin);
      for (size_t i = 0; i < batch.envelopes.size(); ++i) {
        auto& env = batch.envelopes[i];
        st->recorder.note_arrival(channel, env);
        std::optional<ingress_ticket> ticket;
        if (batch.offsets[i] != no_ticket)
          ticket = ingress_ticket{origin, batch.offsets[i]};
        if (!st->started)
          st->early.push_back({std::move(env), ticket});
        else
          deliver_local(st, std::move(env), ticket);
      }
    },
    [=](route_atom, std::uint64_t epoch, std::uint32_t from, envelope& env) {
      if (!st->current(epoch) || from >= st->route.partitions || from == st->cfg.id)
        return;
      st->recorder.note_arrival(st->route.channel_of(from), env);
      if (!st->started)
        st->early.push_back({std::move(env), std::nullopt});
      else
        deliver_local(st, std::move(env), std::nullopt);
    },
    [=](sbarrier_atom, std::uint64_t epoch, std::uint64_t id, std::uint32_t origin) {
      if (st->current(epoch) && origin < st->route.sources)
        on_barrier(st, id, st->route.source_channel(origin));
    },
    [=](barrier_atom, std::uint64_t epoch, std::uint64_t id, std::uint32_t from) {
      if (st->current(epoch) && from < st->route.partitions && from != st->cfg.id)
        on_barrier(st, id, st->route.channel_of(from));
    },
    [=](completed_atom, std::uint64_t id) { on_completed(st, id); },
    // The replay paces itself by this: answered once this partition holds at
    // most max_pending invocations (at once, or when it has worked off some).
    [=](room_atom, reply_to& r) {
      if (st->admit.has_room())
        return answer(r, caf::ok_atom::value);
      // Each asker (a source: one per node) asks again when unanswered:
      // keep its newest question only.
      auto& w = st->room_waiters;
      w.erase(std::remove_if(w.begin(), w.end(), [&](const reply_to& x) { return x.to == r.to; }),
              w.end());
      w.push_back(std::move(r));
    },
    // Both answer once the batch's writes are committed: only then may the
    // address actor build its next request from its memory (invariant 8).
    // Effects are staged and committed together when the courier's flush
    // comes back (see flush_courier).
    [=](effects_atom, effects& fx) -> caf::result<caf::ok_atom> {
      if (st->failed)
        return caf::make_error(caf::sec::runtime_error, "the batch's effects were not committed");
      st->staged.push_back({std::move(fx), self->make_response_promise<caf::ok_atom>()});
      if (!st->flush_sent) {
        st->flush_sent = true;
        caf::anon_send(st->courier, flush_atom::value);
      }
      return st->staged.back().done;
    },
    [=](flush_atom) { commit_staged(st); },
    // A remote gate asked for this when it took its first report since the
    // last flush: the reports of the messages handled meanwhile go as one.
    [=](gflush_atom) { st->admit.flush_gates(); },
    [=](failed_atom, failure& f) -> caf::result<caf::ok_atom> {
      if (!on_failure(st, f))
        return caf::make_error(caf::sec::runtime_error, "the dead letter was not committed");
      return caf::ok_atom::value;
    },
    [=](register_atom, protocol::function_type& type, spec_list& reported) {
      return on_register(st, type, reported);
    },
    [=](tick_atom, std::uint64_t gen) {
      if (gen == st->timer_gen)
        fire_delayed(st);
    },
    [=](sweep_atom) { sweep(st); },
    // The admin's questions may come from another node: each is answered to
    // the reply_to it carries (actors/ask.hpp).
    [=](deadlist_atom, std::uint64_t limit, reply_to& r) {
      auto list = st->letters.list(limit);
      if (!list)
        st->log("cannot read dead letters: " + list.err().message);
      answer(r, list ? std::move(*list) : dead_letter_list{});
    },
    [=](deadone_atom, std::uint16_t kg, std::uint64_t seq, reply_to& r) {
      dead_letter_list found;
      if (auto d = st->letters.find(key_group{kg}, seq))
        found.push_back(std::move(*d));
      answer(r, std::move(found));
    },
    [=](replay_atom, std::uint16_t kg, std::uint64_t seq, reply_to& r) {
      answer(r, replay_dead_letter(st, key_group{kg}, seq));
    },
    [=](drop_atom, std::uint16_t kg, std::uint64_t seq, reply_to& r) {
      state::write_batch wb;
      answer(r, st->letters.stage_drop(key_group{kg}, seq, wb) && commit(st, wb));
    },
    [=](actors_atom, actor_query& q, reply_to& r) {
      auto page = st->live.list(q);
      for (auto& a : page.actors)
        a.node = st->cfg.node_id;
      answer(r, std::move(page));
    },
    [=](inspect_atom, protocol::address& a, reply_to& r) {
      auto d = inspect(st, a);
      d.summary.node = st->cfg.node_id;
      answer(r, std::move(d));
    },
    [=](stats_atom) { return stats_of(st); },
  };
}

} // namespace hearth::actors
