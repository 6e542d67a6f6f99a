#include "actors/coordinator.hpp"

#include "actors/ask.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <deque>
#include <iostream>
#include <map>

namespace hearth::actors {

namespace {

using checkpoint_tick_atom = caf::atom_constant<caf::atom("cp_tick")>;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

struct coordinator_state {
  coordinator_config cfg;
  std::vector<caf::actor> partitions;
  std::vector<caf::actor> sources;    // one per node
  std::vector<std::string> nodes;     // their node ids (empty: a single node)
  std::uint64_t next_id = 0;
  std::optional<std::uint64_t> running;
  std::chrono::steady_clock::time_point started;
  std::map<std::uint32_t, source_position> positions; // per source
  std::map<std::uint32_t, part_ack> acks;
  // Triggers (admin, shutdown): answered when a checkpoint that started after
  // the request completes.
  std::vector<reply_to> waiting;
  std::optional<std::uint64_t> wanted_from; // first checkpoint id that counts for them
  std::deque<checkpoint_info> history;       // the newest completed checkpoints
  questions asked;                           // barriers, of sources on any node
};

void check(caf::event_based_actor* self, const std::shared_ptr<coordinator_state>& st);

void begin(caf::event_based_actor* self, const std::shared_ptr<coordinator_state>& st) {
  auto id = ++st->next_id;
  st->running = id;
  st->started = std::chrono::steady_clock::now();
  st->positions.clear();
  st->acks.clear();
  for (std::uint32_t i = 0; i < st->sources.size(); ++i)
    st->asked.ask<source_position>(
      self, st->sources[i], st->cfg.timeout,
      [=](source_position& pos) {
        if (st->running != id)
          return;
        st->positions[i] = std::move(pos);
        check(self, st); // every part may already be in
      },
      [=](caf::error&) {}, // a source that went away: the timeout abandons the checkpoint
      barrier_atom::value, id);
}

void complete(caf::event_based_actor* self, const std::shared_ptr<coordinator_state>& st);

/// Gives up the running checkpoint: it is never completed, the triggers
/// waiting for it are answered with `reason`, and the next tick starts anew.
void abort(const std::shared_ptr<coordinator_state>& st, const std::string& reason) {
  auto id = *st->running;
  std::cerr << "hearth-node: checkpoint " << id << " failed: " << reason << std::endl;
  st->running.reset();
  st->cfg.stats->checkpoint_failed();
  if (st->cfg.health)
    st->cfg.health->checkpoint_failed(id, reason);
  if (st->wanted_from && id >= *st->wanted_from) {
    for (auto& r : st->waiting)
      answer(r, caf::make_error(caf::sec::runtime_error,
                                "checkpoint " + std::to_string(id) + " failed: " + reason));
    st->waiting.clear();
    st->wanted_from.reset();
  }
}

void check(caf::event_based_actor* self, const std::shared_ptr<coordinator_state>& st) {
  if (st->running && st->positions.size() == st->sources.size()
      && st->acks.size() == st->partitions.size())
    complete(self, st);
}

void complete(caf::event_based_actor* self, const std::shared_ptr<coordinator_state>& st) {
  auto id = *st->running;
  state::manifest m;
  m.id = id;
  m.time_ms = wall_ms();
  if (st->nodes.empty()) {
    m.ingress_position = st->positions[0].log;
  } else {
    m.epoch = st->cfg.epoch;
    m.ingress_positions = st->cfg.kept_positions;
    for (auto& [i, pos] : st->positions)
      m.ingress_positions[st->nodes[i]] = pos.log;
  }
  // Connector streams no source reads in this epoch keep their position.
  m.connector_positions = st->cfg.kept_connectors;
  for (auto& [i, pos] : st->positions)
    for (auto& [stream, at] : pos.connectors)
      m.connector_positions[stream] = at;
  m.partitions = static_cast<std::uint32_t>(st->partitions.size());
  m.max_key_groups = st->cfg.max_key_groups;
  checkpoint_info info;
  info.id = id;
  info.ingress_position = st->positions[0].log;
  info.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - st->started)
                       .count();
  for (auto& [p, ack] : st->acks) {
    m.chains.push_back(ack.chain);
    info.messages += ack.messages;
    info.bytes += ack.bytes;
    info.full_parts += ack.chain.size() == 1 ? 1 : 0;
  }
  if (auto s = st->cfg.files->write_manifest(m); !s) {
    abort(st, s.err().message);
    return;
  }
  st->running.reset();
  if (st->cfg.health)
    st->cfg.health->checkpoint_completed(id);
  // From here on, checkpoint `id` is what a restart restores.
  bool released = true;
  for (auto& [p, ack] : st->acks)
    if (!st->cfg.egress || ack.egress.empty())
      continue;
    else if (auto s = st->cfg.egress->release(p, ack.egress, st->cfg.epoch); !s) {
      std::cerr << "hearth-node: egress release failed: " << s.err().message << std::endl;
      released = false;
    }
  // Partitions drop the records they hold only once they are released; after
  // a failed release they keep them, and the next checkpoint releases them.
  if (released)
    for (auto& p : st->partitions)
      self->send(p, completed_atom::value, id);
  for (auto& [i, pos] : st->positions)
    self->send(st->sources[i], completed_atom::value, id, pos); // each trims its log
  if (auto s = st->cfg.files->retain(st->cfg.keep); !s)
    std::cerr << "hearth-node: checkpoint retention failed: " << s.err().message << std::endl;
  info.time_ms = wall_ms();
  st->cfg.stats->checkpoint(static_cast<double>(info.duration_ms), static_cast<double>(info.bytes));
  st->history.push_back(info);
  if (st->history.size() > 100)
    st->history.pop_front();
  if (st->wanted_from && id >= *st->wanted_from) {
    for (auto& r : st->waiting)
      answer(r, info);
    st->waiting.clear();
    st->wanted_from.reset();
  } else if (st->wanted_from) {
    begin(self, st); // the wanted checkpoint starts right away
  }
}

} // namespace

caf::behavior coordinator_actor(caf::event_based_actor* self, coordinator_config cfg) {
  auto st = std::make_shared<coordinator_state>();
  questions::forget_at_exit(self, st, &coordinator_state::asked);
  st->next_id = cfg.last_completed;
  st->cfg = std::move(cfg);
  return {
    [=](setup_atom, cluster_wiring& w) {
      st->partitions = w.partitions();
      st->sources.clear();
      st->nodes.clear();
      for (auto& n : w.nodes) {
        st->sources.push_back(n.source);
        if (w.epoch != 0)
          st->nodes.push_back(n.node);
      }
      self->delayed_send(self, st->cfg.interval, checkpoint_tick_atom::value);
      return caf::ok_atom::value;
    },
    [=](checkpoint_tick_atom) {
      if (st->running && std::chrono::steady_clock::now() - st->started > st->cfg.timeout)
        abort(st, "not complete after " + std::to_string(st->cfg.timeout.count()) + " ms");
      if (!st->running)
        begin(self, st);
      self->delayed_send(self, st->cfg.interval, checkpoint_tick_atom::value);
    },
    [=](part_atom, part_ack& ack) {
      if (!st->running || ack.checkpoint != *st->running)
        return; // an abandoned checkpoint
      st->acks[ack.partition] = std::move(ack);
      check(self, st);
    },
    [=](part_failed_atom, std::uint64_t id, std::uint32_t partition, std::string& reason) {
      if (st->running && *st->running == id)
        abort(st, "partition " + std::to_string(partition) + ": " + reason);
    },
    // Asked by nodes and agents, on any node (actors/ask.hpp).
    [=](trigger_atom, reply_to& r) {
      st->waiting.push_back(std::move(r));
      if (!st->wanted_from) {
        st->wanted_from = st->next_id + 1;
        if (!st->running)
          begin(self, st);
      }
    },
    [=](history_atom, reply_to& r) {
      answer(r, std::vector<checkpoint_info>(st->history.begin(), st->history.end()));
    },
    [=](answer_atom, std::uint64_t tag, caf::message& m) { st->asked.on_answer(tag, m); },
    [=](silent_atom, std::uint64_t tag) { st->asked.on_silence(tag); },
  };
}

namespace {

/// Lowers the CPU and I/O priority of the calling thread: checkpoints run in
/// the background and must yield to invocations (the ingress log's fsync above all).
void background_priority() {
  auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  ::setpriority(PRIO_PROCESS, tid, 10);
  constexpr int ioprio_class_be = 2, ioprio_who_process = 1, class_shift = 13;
  ::syscall(SYS_ioprio_set, ioprio_who_process, static_cast<int>(tid),
            (ioprio_class_be << class_shift) | 7);
}

} // namespace

caf::behavior snapshot_writer_actor(caf::event_based_actor* self,
                                    std::shared_ptr<state::checkpoint_files> files,
                                    caf::actor coordinator) {
  // Detached: this actor has its own thread for its whole life.
  background_priority();
  return {
    [=](write_atom, snapshot_job& job) {
      auto written = files->write_part(job.checkpoint, job.partition, *job.view,
                                       job.changed.get(), job.extras, job.epoch);
      job.view.reset(); // ends the read transaction
      if (!written) {
        self->send(coordinator, part_failed_atom::value, job.checkpoint, job.partition,
                   written.err().message);
        return;
      }
      part_ack ack;
      ack.checkpoint = job.checkpoint;
      ack.partition = job.partition;
      ack.chain = std::move(job.chain);
      ack.egress = std::move(job.extras.egress);
      ack.bytes = written->bytes;
      for (auto& e : job.extras.pending)
        ack.messages += e.invocations.size();
      for (auto& e : job.extras.logged)
        ack.messages += e.invocations.size();
      self->send(coordinator, part_atom::value, std::move(ack));
    },
  };
}

} // namespace hearth::actors
