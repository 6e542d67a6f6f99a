// actors::node in a cluster: the pipeline of each epoch (docs/cluster.md,
// "Epochs"). Everything here runs on the node's supervisor thread, which
// takes the cluster agent's events and the pipeline's faults in order.

#include "actors/ask.hpp"
#include "actors/cluster_agent.hpp"
#include "actors/coordinator.hpp"
#include "actors/node.hpp"
#include "actors/node_parts.hpp"
#include "actors/partition.hpp"
#include "actors/source.hpp"

#include <iostream>

namespace hearth::actors {

namespace {

/// How often a member whose pipeline is down asks for a new epoch again.
constexpr auto renew_every = std::chrono::seconds{5};

void say(const std::string& what) { std::cerr << ("hearth-node: cluster: " + what + "\n") << std::flush; }

} // namespace

caf::actor node::agent_handle() const {
  std::lock_guard<std::mutex> g{faults_->mtx};
  return agent_;
}

void node::set_cluster_agent(caf::actor agent) {
  std::lock_guard<std::mutex> g{faults_->mtx};
  agent_ = std::move(agent);
}

void node::cluster_view_changed(const cluster_view& v, bool fenced) {
  cluster_event e;
  e.what = cluster_event::kind::view;
  e.view = std::make_shared<const actors::cluster_view>(v);
  e.fenced = fenced;
  faults_->post(std::move(e));
}

void node::cluster_restore(std::uint64_t epoch, std::uint64_t checkpoint, caf::actor coordinator) {
  cluster_event e;
  e.what = cluster_event::kind::restore;
  e.epoch = epoch;
  e.checkpoint = checkpoint;
  e.coordinator = std::move(coordinator);
  faults_->post(std::move(e));
}

void node::cluster_go(cluster_wiring w) {
  cluster_event e;
  e.what = cluster_event::kind::go;
  e.epoch = w.epoch;
  e.wiring = std::move(w);
  faults_->post(std::move(e));
}

void node::supervise_cluster() {
  auto& f = *faults_;
  for (;;) {
    std::optional<std::string> fault;
    std::optional<cluster_event> ev;
    bool log_failed = false;
    {
      std::unique_lock<std::mutex> lock{f.mtx};
      f.cv.wait_for(lock, std::chrono::seconds{1},
                    [&] { return f.stop || f.fault || !f.events.empty(); });
      if (f.stop)
        return;
      if (f.fault) {
        fault = std::move(*f.fault);
        f.fault.reset();
      } else if (!f.events.empty()) {
        ev = std::move(f.events.front());
        f.events.pop_front();
      }
      log_failed = f.log_failed;
    }
    if (fault) {
      apply_fault(*fault);
    } else if (ev) {
      switch (ev->what) {
        case cluster_event::kind::view: apply_view(ev->view, ev->fenced); break;
        case cluster_event::kind::restore:
          apply_restore(ev->epoch, ev->checkpoint, std::move(ev->coordinator));
          break;
        case cluster_event::kind::go: apply_go(std::move(ev->wiring)); break;
      }
    }
    // A failed log is opened again (the gate stays: its senders wait on).
    if (log_failed) {
      std::shared_ptr<ingress_side> old;
      {
        std::lock_guard<std::mutex> g{f.mtx};
        old = cluster_in_;
      }
      if (!current()) {
        if (old && old->log) {
          old->log->stop();
          old->log->close();
        }
        auto in = open_ingress(0);
        if (in) {
          (*in)->gate = old->gate;
          std::lock_guard<std::mutex> g{f.mtx};
          cluster_in_ = std::move(*in);
          f.log_failed = false;
          say("the ingress log is open again");
        } else {
          say("the ingress log cannot be opened again: " + in.err().message);
        }
      }
    }
    // A member without a running pipeline asks for a new epoch now and then
    // (its request, or the coordinator's answer, may have been lost).
    auto pipe = current();
    // A drained node leaves once a completed checkpoint covers its whole log
    // (every message it took is in the others' state then).
    if (draining_ && pipe && pipe->running && board_->covered() >= pipe->in->log->next_offset()
        && std::chrono::steady_clock::now() >= leave_at_) {
      leave_at_ = std::chrono::steady_clock::now() + renew_every;
      auto agent = agent_handle();
      say("a checkpoint covers this drained node's log: it leaves");
      caf::anon_send(agent, leave_atom::value);
    }
    if (view_ && !fenced_ && (!pipe || !pipe->running) && renew_at_ != decltype(renew_at_){}
        && std::chrono::steady_clock::now() >= renew_at_)
      ask_renew("the pipeline of epoch " + std::to_string(view_->epoch) + " is not running yet");
  }
}

void node::ask_renew(const std::string& why) {
  auto agent = agent_handle();
  renew_at_ = std::chrono::steady_clock::now() + renew_every;
  if (agent && view_)
    caf::anon_send(agent, renew_atom::value, view_->epoch, why);
}

void node::apply_fault(const std::string& why) {
  metrics_->pipeline_restarted();
  std::shared_ptr<pipeline> old;
  {
    std::lock_guard<std::mutex> g{faults_->mtx};
    old = std::move(pipe_);
    ++faults_->restarts;
    faults_->down = why + "; waiting for a new epoch";
  }
  say(why + "; the pipeline stops, and the cluster rolls back to its last checkpoint");
  if (old) {
    // Its epoch is over for this node: the others ran on meanwhile, so a
    // pipeline built again for it would not be consistent with theirs.
    failed_epoch_ = old->epoch;
    teardown(*old);
  }
  ask_renew(why);
}

void node::apply_view(const cluster_view_ptr& v, bool fenced) {
  view_ = v;
  fenced_ = fenced;
  auto* me = v->find(opts_.node_id);
  if (me && me->draining && !draining_)
    say("this node is drained: it takes no new messages, and leaves once a checkpoint covers its log");
  draining_ = !fenced && me && me->draining;
  std::shared_ptr<pipeline> old;
  {
    std::lock_guard<std::mutex> g{faults_->mtx};
    if (pipe_ && pipe_->epoch < v->epoch)
      old = std::move(pipe_);
    faults_->down = fenced ? "this node was declared gone (fenced); it rejoins"
                           : "epoch " + std::to_string(v->epoch) + " is being assembled";
  }
  if (old)
    teardown(*old);
  if (staged_coordinator_) {
    caf::scoped_actor self{*sys_};
    caf::anon_send_exit(staged_coordinator_, caf::exit_reason::user_shutdown);
    self->wait_for(staged_coordinator_);
    staged_coordinator_ = {};
  }
  renew_at_ = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  if (fenced || v->coordinator != opts_.node_id)
    return;
  // The coordinator: the epoch restores the newest completed checkpoint, and
  // its records held for egress are released (again: harmless) here, where
  // every completed checkpoint's records go.
  std::vector<std::string> skipped;
  auto latest = files_->latest(&skipped);
  if (!latest) {
    ask_renew("cannot read the checkpoints: " + latest.err().message);
    return;
  }
  for (auto& s : skipped)
    say("skipped checkpoint " + s);
  auto& m = *latest;
  coordinator_config ccfg;
  ccfg.files = files_;
  ccfg.egress = egress_;
  ccfg.epoch = v->epoch;
  ccfg.interval = opts_.checkpoint_interval;
  ccfg.keep = opts_.checkpoints_kept;
  ccfg.last_completed = m ? m->id : 0;
  ccfg.max_key_groups = opts_.max_key_groups;
  ccfg.stats = metrics_;
  ccfg.health = board_;
  if (m) {
    if (m->max_key_groups != opts_.max_key_groups) {
      ask_renew("checkpoint " + std::to_string(m->id) + " was taken with max_key_groups="
                + std::to_string(m->max_key_groups));
      return;
    }
    for (auto& [node, position] : m->ingress_positions)
      if (!v->find(node))
        ccfg.kept_positions[node] = position;
    ccfg.kept_connectors = m->connector_positions;
    if (egress_) {
      auto held = files_->held_egress(*m);
      if (!held) {
        ask_renew("cannot read checkpoint " + std::to_string(m->id) + ": " + held.err().message);
        return;
      }
      for (std::uint32_t g = 0; g < held->size(); ++g)
        if (auto s = egress_->release(g, (*held)[g], m->epoch); !s) {
          ask_renew("cannot release the egress records of checkpoint " + std::to_string(m->id)
                    + ": " + s.err().message);
          return;
        }
    }
  }
  staged_coordinator_ = sys_->spawn<caf::detached>(coordinator_actor, std::move(ccfg));
  auto agent = agent_handle();
  say("epoch " + std::to_string(v->epoch) + " restores "
      + (m ? "checkpoint " + std::to_string(m->id) : std::string{"no checkpoint (none yet)"}));
  caf::anon_send(agent, restore_atom::value, v->epoch, m ? m->id : std::uint64_t{0},
                 staged_coordinator_);
}

void node::apply_restore(std::uint64_t epoch, std::uint64_t checkpoint, caf::actor coordinator) {
  if (!view_ || fenced_ || epoch != view_->epoch || epoch == failed_epoch_)
    return; // of another epoch, or of one whose pipeline failed here (a new one comes)
  if (auto p = current(); p && p->epoch == epoch)
    return; // built already
  std::uint64_t gen;
  {
    std::lock_guard<std::mutex> g{faults_->mtx};
    gen = ++faults_->generation;
  }
  auto started = std::chrono::steady_clock::now();
  auto built = build_part(gen, checkpoint, std::move(coordinator));
  if (!built) {
    say("cannot build this node's part of epoch " + std::to_string(epoch) + ": "
        + built.err().message);
    {
      std::lock_guard<std::mutex> g{faults_->mtx};
      faults_->down = "the pipeline could not be built: " + built.err().message;
    }
    ask_renew(built.err().message);
    return;
  }
  auto p = *built;
  node_wiring w;
  w.epoch = epoch;
  w.node = opts_.node_id;
  w.partitions = p->partitions;
  w.source = p->source;
  w.gate = gate_actor_;
  w.egress = egress_actor_;
  caf::actor agent;
  {
    std::lock_guard<std::mutex> g{faults_->mtx};
    pipe_ = p;
    agent = agent_;
  }
  say("epoch " + std::to_string(epoch) + ": restored " + std::to_string(p->partitions.size())
      + " partitions from " + (checkpoint ? "checkpoint " + std::to_string(checkpoint) : "nothing")
      + " in "
      + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count())
      + " ms");
  caf::anon_send(agent, ready_atom::value, std::move(w));
}

result<std::shared_ptr<node::pipeline>> node::build_part(std::uint64_t generation,
                                                         std::uint64_t checkpoint,
                                                         caf::actor coordinator) {
  auto& opts = opts_;
  auto& v = *view_;
  auto layout = v.layout();
  auto me = layout.index_of(opts.node_id);
  if (!me)
    return error{errc::conflict, "this node is not in the view of epoch " + std::to_string(v.epoch)};
  auto p = std::make_shared<pipeline>();
  p->generation = generation;
  p->epoch = v.epoch;
  p->restored = checkpoint;
  p->own_ingress = false;
  {
    std::lock_guard<std::mutex> g{faults_->mtx};
    if (faults_->log_failed)
      return error{errc::io, "the ingress log has failed and is not open again yet"};
    p->in = cluster_in_;
  }
  p->total = layout.total_partitions();
  auto count = layout.members()[*me].partitions;
  if (count > opts.partitions)
    return error{errc::conflict, "the view gives this node " + std::to_string(count)
                                   + " partitions; it runs " + std::to_string(opts.partitions)};
  for (std::uint32_t i = 0; i < *me; ++i)
    p->first += layout.members()[i].partitions;

  std::optional<state::manifest> m;
  if (checkpoint) {
    auto found = files_->latest(nullptr, checkpoint);
    if (!found)
      return found.err();
    if (!*found)
      return error{errc::io, "checkpoint " + std::to_string(checkpoint)
                               + " is not in " + opts.checkpoint_dir
                               + " (is the checkpoint dir shared by every node?)"};
    m = std::move(**found);
    if (m->max_key_groups != opts.max_key_groups)
      return error{errc::conflict, "checkpoint " + std::to_string(checkpoint)
                                     + " was taken with max_key_groups="
                                     + std::to_string(m->max_key_groups)};
  }

  if (m)
    p->connector_positions = m->connector_positions;

  // Where this node's log resumes: its position in the checkpoint; a node
  // the checkpoint does not know replays all its log holds.
  auto& log = *p->in->log;
  auto position = log.first_offset();
  if (m) {
    if (auto it = m->ingress_positions.find(opts.node_id); it != m->ingress_positions.end())
      position = it->second;
    else if (m->ingress_positions.empty() && v.coordinator == opts.node_id)
      position = m->ingress_position; // a single node's checkpoint, this node's
    if (log.first_offset() > position)
      return error{errc::conflict,
                   "the ingress log in " + opts.data_dir + " starts at offset "
                     + std::to_string(log.first_offset()) + ", but checkpoint "
                     + std::to_string(m->id) + " resumes it at offset " + std::to_string(position)
                     + ": the records in between are gone"};
  }

  // The key groups the view places here, from the checkpoint's parts.
  p->extras.resize(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    auto [begin, end] = layout.range_of(*me, i);
    auto& store = *stores_[i];
    if (m) {
      auto restored = files_->restore_range(store, m->chains_for(begin, end), begin, end);
      if (!restored)
        return restored.err();
      p->extras[i] = std::move(*restored);
    } else if (auto s = store.replace([](state::write_batch&) { return ok(); }); !s) {
      return s.err();
    }
  }

  p->coordinator = coordinator;
  p->own_coordinator = coordinator == staged_coordinator_;
  if (p->own_coordinator) {
    staged_coordinator_ = {};
    watch(p->coordinator, generation, "the checkpoint coordinator");
  }
  auto origin = *me;
  for (std::uint32_t i = 0; i < count; ++i) {
    partition_config cfg;
    cfg.id = p->first + i;
    cfg.partitions = p->total;
    cfg.sources = static_cast<std::uint32_t>(v.members.size());
    cfg.epoch = v.epoch;
    cfg.node_id = opts.node_id;
    cfg.last_completed = checkpoint;
    spawn_partition(*p, i, std::move(cfg));
  }
  source_config scfg;
  scfg.log = p->in->log;
  scfg.max_key_groups = opts.max_key_groups;
  scfg.position = position;
  scfg.epoch = v.epoch;
  scfg.origin = origin;
  scfg.health = board_;
  p->source = sys_->spawn<caf::detached>(source_actor, std::move(scfg));
  watch(p->source, generation, "the ingress source");
  // Records durable from now on wait in the source until it starts.
  p->in->feed(p->source);
  return p;
}

void node::apply_go(cluster_wiring w) {
  auto p = current();
  if (!p || p->epoch != w.epoch || p->running)
    return;
  auto fail = [&](const std::string& why) {
    faults_->report(p->generation, "epoch " + std::to_string(w.epoch) + ": " + why);
  };
  auto origin = w.index_of(opts_.node_id);
  auto all = w.partitions();
  if (!origin || all.size() != p->total)
    return fail("the wiring does not match the view");
  std::vector<caf::actor> gates;
  for (auto& n : w.nodes)
    gates.push_back(n.gate);
  // Another node's part of the pipeline that ends (its node failed, or the
  // connection to it dropped) breaks this epoch: ask for a new one.
  auto watch_remote = [&](const caf::actor& a, const std::string& what) {
    if (!a)
      return;
    a->attach_functor([faults = faults_, gen = p->generation, what, sys = sys_](const caf::error& reason) {
      if (reason != caf::exit_reason::user_shutdown)
        faults->report(gen, what + " is gone: " + sys->render(reason));
    });
  };
  for (std::uint32_t i = 0; i < w.nodes.size(); ++i) {
    if (i == *origin)
      continue;
    auto& n = w.nodes[i];
    for (auto& part : n.partitions)
      watch_remote(part, "a partition of node " + n.node);
    watch_remote(n.source, "the ingress source of node " + n.node);
  }
  if (!p->own_coordinator)
    watch_remote(p->coordinator, "the checkpoint coordinator");

  ordered_asks ask{*sys_};
  for (std::uint32_t i = 0; i < p->partitions.size(); ++i)
    ask(p->partitions[i], "partition " + std::to_string(p->first + i) + " did not take its peers",
        peers_atom::value, all, gates, *origin);
  for (std::uint32_t i = 0; i < p->partitions.size(); ++i)
    ask(p->partitions[i], "partition " + std::to_string(p->first + i) + " did not start",
        start_atom::value, std::move(p->extras[i]));
  ask(p->source, "the ingress source did not start", start_atom::value, all);
  if (ask.problem())
    return fail(*ask.problem());
  // This node's share of the Kafka partitions (they go wherever the view puts them).
  spawn_connectors(*p, p->connector_positions, *origin,
                   static_cast<std::uint32_t>(w.nodes.size()));
  caf::actor agent;
  {
    std::lock_guard<std::mutex> g{faults_->mtx};
    p->all = std::move(all);
    for (std::uint32_t i = 0; i < w.nodes.size(); ++i)
      if (i != *origin && w.nodes[i].egress)
        p->egress_peers.push_back(w.nodes[i].egress);
    p->extras.clear();
    p->running = true;
    faults_->down.clear();
    agent = agent_;
  }
  renew_at_ = {};
  say("epoch " + std::to_string(w.epoch) + " runs: " + std::to_string(p->partitions.size())
      + " of " + std::to_string(p->total) + " partitions here");
  caf::anon_send(agent, running_atom::value, w.epoch, opts_.node_id);
}

result<std::optional<std::string>> node::pop_egress(const std::string& topic) {
  if (egress_) {
    auto rec = egress_->pop(topic);
    if (!rec)
      return rec.err();
    if (*rec)
      return rec;
  }
  auto p = current();
  if (!p || !opts_.clustered)
    return std::optional<std::string>{};
  std::vector<caf::actor> peers;
  {
    std::lock_guard<std::mutex> g{faults_->mtx};
    peers = p->egress_peers;
  }
  for (auto& peer : peers) {
    caf::scoped_actor self{*sys_}; // one per question: a late answer of another peer is not this one's
    auto got = ask_one<std::vector<std::string>>(self, peer, std::chrono::seconds{5}, pop_atom::value,
                                                 topic);
    if (got && !got->empty())
      return std::optional<std::string>{std::move(got->front())};
  }
  return std::optional<std::string>{};
}

} // namespace hearth::actors
