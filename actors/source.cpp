#include "actors/source.hpp"

#include "actors/ask.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <iostream>

namespace hearth::actors {

namespace {

/// Records sent per replay step before the source waits for the partitions
/// it fed to be within partition.max_pending again.
constexpr std::uint64_t replay_chunk = 1024;

struct source_state {
  source_config cfg;
  std::uint64_t next = 0; // first offset not yet sent
  std::uint64_t replay_until = 0; // the replay runs while next < replay_until
  bool replaying = false;
  bool started = false; // records handed over before `start` wait (no partitions yet)
  std::vector<bool> fed; // partitions sent records in the current replay step
  // Records handed over while an earlier gap could not be read yet: sent, in
  // order, once the gap is filled (never skipped: they are acknowledged).
  std::deque<std::vector<state::ingress_record>> waiting;
  // Connector streams: where each stands (the next record not yet sent),
  // and who reads them (told when a checkpoint completes).
  std::map<std::string, std::string> positions;
  std::vector<caf::actor> connectors;
  // Records gathered for each partition, sent as one message per partition
  // by flush() (before any barrier, and at the end of every handler).
  std::vector<ingress_batch> out;
  questions asked; // room_atom, of partitions that may be on other nodes
};

/// Sends the gathered records: one message per partition.
void flush(caf::event_based_actor* self, source_state& st) {
  for (size_t p = 0; p < st.out.size(); ++p) {
    if (st.out[p].envelopes.empty())
      continue;
    self->send(st.cfg.partitions[p], ingress_atom::value, st.cfg.epoch, st.cfg.origin,
               std::move(st.out[p]));
    st.out[p] = {};
  }
}

/// Gathers `env` for its partition (sent by the next flush); returns the partition.
size_t gather(source_state& st, std::uint64_t offset, envelope env) {
  auto kg = protocol::key_group_of(env.target.id, st.cfg.max_key_groups);
  auto p = protocol::partition_of(kg, st.cfg.max_key_groups,
                                  static_cast<std::uint32_t>(st.cfg.partitions.size()));
  if (st.out.size() != st.cfg.partitions.size())
    st.out.resize(st.cfg.partitions.size());
  st.out[p].offsets.push_back(offset);
  st.out[p].envelopes.push_back(std::move(env));
  return p;
}

void send_record(source_state& st, state::ingress_record& r) {
  auto p = gather(st, r.offset,
                  envelope{std::move(r.target), protocol::invocation{std::nullopt, std::move(r.value)}});
  if (p < st.fed.size())
    st.fed[p] = true;
  st.next = r.offset + 1;
}

/// Sends everything in the log from st.next up to `until` (exclusive); false
/// when the log could not be read that far.
bool catch_up(caf::event_based_actor* self, source_state& st, std::uint64_t until) {
  struct flusher {
    caf::event_based_actor* self;
    source_state& st;
    ~flusher() { flush(self, st); }
  } at_end{self, st};
  while (st.next < until) {
    auto batch = st.cfg.log->read(st.next, static_cast<size_t>(std::min<std::uint64_t>(4096, until - st.next)));
    if (!batch || batch->empty()) {
      if (!batch)
        std::cerr << "hearth-node: cannot read the ingress log: " << batch.err().message
                  << std::endl;
      return false;
    }
    for (auto& r : *batch) {
      if (r.offset >= until)
        return true;
      if (r.offset >= st.next)
        send_record(st, r);
    }
  }
  return true;
}

using retry_atom = caf::atom_constant<caf::atom("retry")>;
using step_atom = caf::atom_constant<caf::atom("step")>;

void replay_step(caf::event_based_actor* self, const std::shared_ptr<source_state>& st);

/// Asks partition `p` for room; the next replay step follows the last
/// answer. The question is asked again every second while unanswered, so
/// that no lost answer can stall the replay (a partition that ended is asked
/// until the node rebuilds the pipeline, this source included).
void ask_room(caf::event_based_actor* self, const std::shared_ptr<source_state>& st, size_t p,
              std::shared_ptr<size_t> left) {
  st->asked.ask<caf::ok_atom>(
    self, st->cfg.partitions[p], std::chrono::seconds{1},
    [=](caf::ok_atom) {
      if (--*left == 0)
        replay_step(self, st);
    },
    [=](caf::error& err) {
      if (err == caf::sec::request_timeout)
        return ask_room(self, st, p, left);
      std::cerr << "hearth-node: the replay stops: partition " << p
                << " did not answer: " << self->system().render(err) << std::endl;
    },
    room_atom::value);
}

/// One step of the replay: sends the next chunk of the log, then asks every
/// partition it fed for room, and takes the next step once all have answered.
/// So a replay holds at most about max_pending + replay_chunk invocations per
/// partition in memory, however long the log, and checkpoint barriers pass
/// between two steps. Live records wait until the replay has caught up.
void replay_step(caf::event_based_actor* self, const std::shared_ptr<source_state>& st) {
  st->fed.assign(st->cfg.partitions.size(), false);
  auto end = std::min(st->replay_until, st->next + replay_chunk);
  if (!catch_up(self, *st, end)) {
    self->delayed_send(self, std::chrono::milliseconds{100}, step_atom::value);
    return;
  }
  if (st->next >= st->replay_until) {
    st->replaying = false;
    st->fed.clear();
    if (!st->waiting.empty())
      self->send(self, retry_atom::value);
    return;
  }
  auto left = std::make_shared<size_t>(0);
  for (size_t p = 0; p < st->fed.size(); ++p)
    if (st->fed[p])
      ++*left;
  if (*left == 0) {
    self->send(self, step_atom::value);
    return;
  }
  for (size_t p = 0; p < st->fed.size(); ++p)
    if (st->fed[p])
      ask_room(self, st, p, left);
}

/// Asks each partition in `fed` for room; delivers `rp` once all answered.
/// Asked again every second while unanswered (a partition that ended is
/// asked until the node rebuilds the pipeline, this source included).
void room_then(caf::event_based_actor* self, const std::shared_ptr<source_state>& st, size_t p,
               std::shared_ptr<size_t> left, caf::response_promise rp) {
  st->asked.ask<caf::ok_atom>(
    self, st->cfg.partitions[p], std::chrono::seconds{1},
    [=](caf::ok_atom) mutable {
      if (--*left == 0)
        rp.deliver(caf::ok_atom::value);
    },
    [=](caf::error& err) mutable {
      if (err == caf::sec::request_timeout)
        return room_then(self, st, p, left, rp);
      rp.deliver(std::move(err));
    },
    room_atom::value);
}

} // namespace

caf::behavior source_actor(caf::event_based_actor* self, source_config cfg) {
  auto st = std::make_shared<source_state>();
  questions::forget_at_exit(self, st, &source_state::asked);
  st->next = cfg.position;
  st->cfg = std::move(cfg);
  auto begin = [=] {
    st->started = true;
    st->replay_until = st->cfg.log->next_offset();
    st->replaying = true;
    replay_step(self, st);
    return caf::ok_atom::value;
  };
  return {
    [=](start_atom) { return begin(); },
    [=](start_atom, std::vector<caf::actor>& partitions) {
      st->cfg.partitions = std::move(partitions);
      return begin();
    },
    [=](completed_atom, std::uint64_t id, source_position& pos) {
      auto position = pos.log;
      for (auto& c : st->connectors)
        self->send(c, completed_atom::value, id, pos.connectors);
      if (auto s = st->cfg.log->trim(position); !s)
        std::cerr << "hearth-node: ingress log trim failed: " << s.err().message << std::endl;
      if (st->cfg.health) {
        st->cfg.health->checkpoint_completed(id);
        st->cfg.health->log_covered(position);
      }
    },
    [=](step_atom) { replay_step(self, st); },
    [=](stats_atom) -> std::uint64_t {
      return st->replaying && st->replay_until > st->next ? st->replay_until - st->next : 0;
    },
    [=](log_atom, std::vector<state::ingress_record>& records) {
      if (records.empty())
        return;
      bool idle = st->waiting.empty();
      st->waiting.push_back(std::move(records));
      if (idle && !st->replaying && st->started)
        self->send(self, retry_atom::value);
    },
    [=](retry_atom) {
      if (st->replaying || !st->started)
        return; // the end of the replay sends it again
      while (!st->waiting.empty()) {
        auto& group = st->waiting.front();
        // A gap (records appended while the replay ran) is read from the log.
        if (group.front().offset > st->next && !catch_up(self, *st, group.front().offset)) {
          self->delayed_send(self, std::chrono::milliseconds{100}, retry_atom::value);
          return;
        }
        for (auto& r : group)
          if (r.offset >= st->next)
            send_record(*st, r);
        st->waiting.pop_front();
      }
      flush(self, *st);
    },
    // From the coordinator, which may be on another node (actors/ask.hpp).
    [=](barrier_atom, std::uint64_t id, reply_to& r) {
      for (auto& p : st->cfg.partitions)
        self->send(p, sbarrier_atom::value, st->cfg.epoch, id, st->cfg.origin);
      answer(r, source_position{st->next, st->positions});
    },
    [=](answer_atom, std::uint64_t tag, caf::message& m) { st->asked.on_answer(tag, m); },
    [=](silent_atom, std::uint64_t tag) { st->asked.on_silence(tag); },
    // A connector's records: sent at once (before any later barrier), then
    // answered once every partition fed has room, which paces the connector.
    [=](connector_atom, connector_batch& batch) -> caf::result<caf::ok_atom> {
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      if (sender && std::find(st->connectors.begin(), st->connectors.end(), sender) == st->connectors.end())
        st->connectors.push_back(sender);
      if (st->cfg.partitions.empty())
        return caf::make_error(caf::sec::runtime_error, "the source has not started");
      std::vector<bool> fed(st->cfg.partitions.size(), false);
      for (auto& env : batch.envelopes)
        fed[gather(*st, no_ticket, std::move(env))] = true;
      flush(self, *st);
      for (auto& [stream, pos] : batch.positions)
        st->positions[stream] = std::move(pos);
      auto left = std::make_shared<size_t>(std::count(fed.begin(), fed.end(), true));
      if (*left == 0)
        return caf::ok_atom::value;
      auto rp = self->make_response_promise();
      for (size_t p = 0; p < fed.size(); ++p)
        if (fed[p])
          room_then(self, st, p, left, rp);
      return rp;
    },
  };
}

} // namespace hearth::actors
