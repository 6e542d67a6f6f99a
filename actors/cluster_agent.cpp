#include "actors/cluster_agent.hpp"

#include "actors/ask.hpp"

#include "protocol/key_group.hpp"
#include "state/atomic_file.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

namespace hearth::actors {

result<std::vector<endpoint>> parse_endpoints(const std::string& text) {
  std::vector<endpoint> out;
  std::stringstream in{text};
  std::string part;
  while (std::getline(in, part, ',')) {
    auto colon = part.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == part.size())
      return error{errc::malformed, "'" + part + "' is not HOST:PORT"};
    auto port = part.substr(colon + 1);
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos
        || std::stoul(port) == 0 || std::stoul(port) > 65535)
      return error{errc::malformed, "'" + part + "': the port must be 1 to 65535"};
    out.push_back({part.substr(0, colon), static_cast<std::uint16_t>(std::stoul(port))});
  }
  if (out.empty())
    return error{errc::malformed, "no HOST:PORT given"};
  return out;
}

// -- metadata ---------------------------------------------------------------------

namespace {

std::string digest_of(const std::string& module) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", protocol::murmur3_32(module));
  return std::string{hex} + "-" + std::to_string(module.size());
}

} // namespace

status write_cluster_metadata(const std::string& path, const cluster_view& v,
                              const cluster_terms& terms) {
  nlohmann::json j;
  j["format"] = 1;
  j["epoch"] = v.epoch;
  j["coordinator"] = v.coordinator;
  j["max_key_groups"] = v.max_key_groups;
  j["module_digest"] = digest_of(terms.module);
  j["members"] = nlohmann::json::array();
  for (auto& m : v.members)
    j["members"].push_back({{"id", m.id}, {"incarnation", m.incarnation}, {"host", m.host},
                            {"port", m.port}, {"partitions", m.partitions}, {"draining", m.draining}});
  return state::write_atomically(path, j.dump(2) + "\n");
}

std::string module_digest(const std::string& module) { return digest_of(module); }

result<std::optional<cluster_view>> read_cluster_metadata(const std::string& path,
                                                          const cluster_terms* terms) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec)
    return std::optional<cluster_view>{};
  std::ifstream in{path};
  if (!in)
    return error{errc::io, "cannot read " + path};
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  auto bad = [&](const std::string& why) { return error{errc::malformed, path + ": " + why}; };
  if (j.is_discarded() || !j.is_object())
    return bad("not JSON");
  try {
    if (j.at("format").get<int>() != 1)
      return bad("unknown format " + j.at("format").dump());
    cluster_view v;
    v.epoch = j.at("epoch").get<std::uint64_t>();
    v.coordinator = j.at("coordinator").get<std::string>();
    v.max_key_groups = j.at("max_key_groups").get<std::uint32_t>();
    for (auto& m : j.at("members"))
      v.members.push_back({m.at("id").get<std::string>(), m.at("incarnation").get<std::uint64_t>(),
                           m.at("host").get<std::string>(), m.at("port").get<std::uint16_t>(),
                           m.at("partitions").get<std::uint32_t>(), m.at("draining").get<bool>()});
    // The cluster's terms are fixed for its life.
    if (terms && v.max_key_groups != terms->max_key_groups)
      return error{errc::conflict, "the cluster in " + path + " has max_key_groups="
                                     + std::to_string(v.max_key_groups) + ", this node "
                                     + std::to_string(terms->max_key_groups)};
    if (terms && j.at("module_digest").get<std::string>() != digest_of(terms->module))
      return error{errc::conflict, "the cluster in " + path
                                     + " runs another module.yaml than this node's"};
    return std::optional<cluster_view>{std::move(v)};
  } catch (const std::exception& e) {
    return bad(std::string{"a field is missing or has the wrong type ("} + e.what() + ")");
  }
}

// -- the agent ----------------------------------------------------------------------

namespace {

using retry_atom = caf::atom_constant<caf::atom("cretry")>;
using atimeout_atom = caf::atom_constant<caf::atom("atimeout")>;
using vcheck_atom = caf::atom_constant<caf::atom("vcheck")>;

/// Connect attempts before a member of a resumed view is declared gone (one
/// per retry interval): a slow connect is not a dead node.
constexpr int attempts_before_gone = 3;

/// How long a join or a drain waits for the checkpoint its handover is taken at.
constexpr auto handover_timeout = std::chrono::seconds{10};

std::string describe(const cluster_view& v) {
  std::string s = "epoch " + std::to_string(v.epoch) + ":";
  for (auto& m : v.members)
    s += " " + m.id + "#" + std::to_string(m.incarnation)
         + (m.id == v.coordinator ? " (coordinator)" : m.draining ? " (draining)" : "");
  return s;
}

struct agent_state {
  cluster_agent_config cfg;
  caf::event_based_actor* self = nullptr;
  epoch_fence fence;
  std::optional<cluster_view> last_view;       // the newest view seen (kept while rejoining)
  std::optional<membership> keeper;            // on the coordinator
  std::map<std::string, caf::actor> peers;     // member id -> its agent (connected)
  std::map<caf::actor_addr, std::pair<std::string, std::uint64_t>> watched;
  std::set<std::string> connecting;            // member ids being connected to
  std::map<std::string, int> unreachable;      // keeper: failed connects per member
  std::set<std::pair<std::string, std::uint64_t>> losses; // keeper: not yet in the metadata
  std::vector<caf::response_promise> waiters;  // start_atom
  std::string problem;
  bool refused = false;                        // refused before ever being a member: final
  bool joining = false;                        // a join attempt runs
  bool retry_armed = false;
  bool started = false;
  epoch_assembly assembly;                     // keeper: the epoch being put together
  std::uint64_t running_epoch = 0;             // keeper: assembled and running
  caf::actor keeper_agent;                     // member: who sent the last restore
  bool leaving = false;                        // a drained member asked to leave
  std::map<std::uint64_t, std::chrono::steady_clock::time_point> view_times; // keeper: when each epoch began
  questions asked;                             // of other agents and the checkpoint coordinator

  agent_state(cluster_agent_config c)
    : cfg(std::move(c)), fence(cfg.self.id, cfg.self.incarnation) {}

  void log(const std::string& what) const {
    std::cerr << ("hearth-node: cluster: " + what + "\n") << std::flush; // one write: lines stay whole
  }

  bool member() const { return fence.view() && !fence.fenced(); }

  /// This incarnation was in a view it adopted (the fence adopts nothing
  /// else, and starts afresh with each incarnation).
  bool was_member() const { return fence.view().has_value(); }

  /// A member is connected to the coordinator of its view.
  bool reaches_coordinator() const {
    return last_view && peers.count(last_view->coordinator) != 0;
  }

  cluster_status status() const {
    cluster_status s;
    s.self = cfg.self;
    if (last_view)
      s.view = *last_view;
    s.member = member();
    s.coordinator = keeper.has_value();
    s.problem = problem;
    s.running_epoch = running_epoch;
    return s;
  }

  void answer_waiters() {
    if (waiters.empty())
      return;
    if (member()) {
      for (auto& rp : waiters)
        rp.deliver(status());
    } else if (refused) {
      for (auto& rp : waiters)
        rp.deliver(caf::make_error(caf::sec::runtime_error, problem));
    } else {
      return;
    }
    waiters.clear();
  }
};

using state_ptr = std::shared_ptr<agent_state>;

void arm_retry(const state_ptr& st) {
  if (st->retry_armed || st->refused)
    return;
  st->retry_armed = true;
  st->self->delayed_send(st->self, st->cfg.retry, retry_atom::value);
}

/// Monitors `agent` as member `id` (replacing what was watched for it).
void watch(const state_ptr& st, const std::string& id, std::uint64_t incarnation, caf::actor agent) {
  if (auto old = st->peers.find(id); old != st->peers.end() && old->second != agent) {
    st->watched.erase(old->second.address());
    st->self->demonitor(old->second);
  }
  st->watched[agent.address()] = {id, incarnation};
  st->self->monitor(agent);
  st->peers[id] = std::move(agent);
}

/// Connects to the agent published at `where`, then calls `then` with it.
void connect(const state_ptr& st, const endpoint& where, std::function<void(caf::actor)> then,
             std::function<void(const std::string&)> failed) {
  auto mm = st->self->system().middleman().actor_handle();
  st->self->request(mm, st->cfg.request_timeout, caf::connect_atom::value, where.host, where.port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        if (!ptr)
          return failed("no agent is published at " + where.to_string());
        then(caf::actor_cast<caf::actor>(ptr));
      },
      [=](caf::error& err) {
        failed("cannot reach " + where.to_string() + ": " + st->self->system().render(err));
      });
}

void adopt(const state_ptr& st, const cluster_view& v);

/// The coordinator makes `next` the view: written to the metadata first; a
/// change whose metadata cannot be written does not happen (false).
bool commit_view(const state_ptr& st, const membership& before, const cluster_view& next) {
  if (auto s = write_cluster_metadata(st->cfg.metadata_path, next, st->cfg.terms); !s) {
    st->log("cannot write the cluster metadata: " + s.err().message);
    *st->keeper = before;
    return false;
  }
  adopt(st, next);
  return true;
}

/// The coordinator declares incarnation `incarnation` of `id` gone; when the
/// metadata cannot be written, it tries again at the next retry.
void declare_gone(const state_ptr& st, const std::string& id, std::uint64_t incarnation) {
  auto before = *st->keeper;
  auto next = st->keeper->remove(id, incarnation);
  if (!next) {
    st->losses.erase({id, incarnation});
    return;
  }
  if (commit_view(st, before, *next)) {
    st->losses.erase({id, incarnation});
    st->unreachable.erase(id);
  } else {
    st->losses.insert({id, incarnation});
    arm_retry(st);
  }
}

/// The coordinator brings a member it just reached up to date: the view,
/// then the epoch's restore and wiring if they went out before.
void catch_up(const state_ptr& st, const caf::actor& agent) {
  auto& v = *st->last_view;
  st->self->send(agent, view_atom::value, v);
  if (st->assembly.epoch() != v.epoch)
    return;
  st->self->send(agent, restore_atom::value, v.epoch, st->assembly.restored(), st->assembly.coordinator());
  if (auto w = st->assembly.wiring())
    st->self->send(agent, go_atom::value, *w);
}

/// Connects to every member this node has no direct connection to yet.
void mesh(const state_ptr& st, const cluster_view& v) {
  for (auto& m : v.members) {
    if (m.id == st->cfg.self.id || st->peers.count(m.id) || st->connecting.count(m.id))
      continue;
    st->connecting.insert(m.id);
    auto id = m.id;
    auto incarnation = m.incarnation;
    connect(
      st, {m.host, m.port},
      [=](caf::actor agent) {
        st->connecting.erase(id);
        // The view may have moved on meanwhile: watch only the current incarnation.
        auto* now = st->last_view ? st->last_view->find(id) : nullptr;
        if (!now || now->incarnation != incarnation)
          return;
        st->unreachable.erase(id);
        watch(st, id, incarnation, agent);
        if (st->keeper && st->last_view)
          // A member of a resumed view learns the coordinator's new address,
          // and the epoch's assembly so far.
          catch_up(st, agent);
      },
      [=](const std::string& why) {
        st->connecting.erase(id);
        st->log(why);
        if (st->keeper && ++st->unreachable[id] >= attempts_before_gone)
          return declare_gone(st, id, incarnation);
        arm_retry(st);
      });
  }
}

/// Sends `v` to every connected member (the coordinator), the replaced
/// incarnations too: they learn they are fenced.
void broadcast(const state_ptr& st, const cluster_view& v) {
  for (auto& [id, agent] : st->peers)
    if (v.find(id))
      st->self->send(agent, view_atom::value, v);
}

void try_join(const state_ptr& st);

/// Where a member's reports go: the agent that sent this epoch's restore,
/// else the coordinator's, if connected.
caf::actor keeper_of(const state_ptr& st) {
  if (st->keeper_agent)
    return st->keeper_agent;
  if (st->last_view)
    if (auto it = st->peers.find(st->last_view->coordinator); it != st->peers.end())
      return it->second;
  return {};
}

/// The coordinator renews the epoch (same members, a new view) when `epoch`
/// is still the current one.
void renew(const state_ptr& st, std::uint64_t epoch, const std::string& why) {
  if (!st->keeper || !st->last_view || epoch != st->last_view->epoch)
    return;
  st->log("epoch " + std::to_string(epoch) + " is renewed: " + why);
  auto before = *st->keeper;
  auto next = st->keeper->renew();
  if (!commit_view(st, before, next))
    arm_retry(st);
}

/// Answers question `r` with a membership change (or why there is none).
void answer_view(const reply_to& r, result<cluster_view> v) {
  if (!v)
    answer(r, caf::make_error(caf::sec::runtime_error, v.err().message));
  else
    answer(r, std::move(*v));
}

/// Takes a checkpoint of the running epoch, then calls `then` (also when the
/// checkpoint fails or takes longer than `handover_timeout`: the change then
/// replays from the last checkpoint instead).
void checkpoint_then(const state_ptr& st, std::function<void()> then) {
  auto started = std::chrono::steady_clock::now();
  st->asked.ask<checkpoint_info>(
      st->self, st->assembly.coordinator(), handover_timeout,
      [=](checkpoint_info& info) {
        st->log("checkpoint " + std::to_string(info.id) + " taken for the handover in "
                + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - started)
                                   .count())
                + " ms");
        then();
      },
      [=](caf::error& err) {
        st->log("no checkpoint for the handover (" + st->self->system().render(err)
                + "): the change replays from the last one");
        then();
      },
      trigger_atom::value);
}

void adopt(const state_ptr& st, const cluster_view& v) {
  auto* me = v.find(st->cfg.self.id);
  bool in_it = me && me->incarnation == st->cfg.self.incarnation;
  // A node that is not a member yet ignores views without it (stale ones, or
  // a resumed coordinator's that still names an older incarnation).
  if (!st->was_member() && !in_it && !st->keeper)
    return;
  if (!st->fence.adopt(v))
    return;
  st->last_view = v;
  st->keeper_agent = {}; // the next restore names it
  st->log(describe(v) + (st->fence.fenced() ? " (this node is not in it: fenced)" : ""));
  if (st->keeper)
    broadcast(st, v);
  // Members that left the view, or that it names as another incarnation,
  // are no longer peers.
  for (auto it = st->peers.begin(); it != st->peers.end();) {
    auto* m = v.find(it->first);
    auto w = st->watched.find(it->second.address());
    if (!m || (w != st->watched.end() && w->second.second != m->incarnation)) {
      st->watched.erase(it->second.address());
      st->self->demonitor(it->second);
      it = st->peers.erase(it);
    } else {
      ++it;
    }
  }
  if (st->keeper)
    st->view_times[v.epoch] = std::chrono::steady_clock::now();
  if (st->fence.fenced() && st->leaving && !v.find(st->cfg.self.id)) {
    // Drained and removed at its own request: done.
    st->problem = "left the cluster (drained)";
    if (st->cfg.on_left)
      st->cfg.on_left();
    return;
  }
  if (st->cfg.on_view)
    st->cfg.on_view(v, st->fence.fenced());
  if (st->fence.fenced() && !st->keeper) {
    // Declared gone while cut off: rejoin as a new incarnation.
    if (!st->cfg.next_incarnation) {
      st->problem = "fenced: this node was declared gone";
      return;
    }
    auto inc = st->cfg.next_incarnation();
    if (!inc) {
      st->problem = "fenced, and no new incarnation: " + inc.err().message;
      arm_retry(st);
      return;
    }
    st->cfg.self.incarnation = *inc;
    st->fence = epoch_fence{st->cfg.self.id, *inc};
    st->problem = "rejoining as incarnation " + std::to_string(*inc);
    return try_join(st);
  }
  st->problem.clear();
  mesh(st, v);
  st->answer_waiters();
}

/// Where to join (or find the coordinator): where it was last known to
/// listen, the coordinator the metadata names, then the seeds.
std::vector<endpoint> join_targets(const state_ptr& st) {
  std::vector<endpoint> out;
  auto add = [&](const endpoint& e) {
    if (e.host == st->cfg.self.host && e.port == st->cfg.self.port)
      return;
    for (auto& x : out)
      if (x.host == e.host && x.port == e.port)
        return;
    out.push_back(e);
  };
  if (st->last_view)
    if (auto* c = st->last_view->find(st->last_view->coordinator))
      add({c->host, c->port});
  if (auto meta = read_cluster_metadata(st->cfg.metadata_path); meta && *meta)
    if (auto* c = (*meta)->find((*meta)->coordinator))
      add({c->host, c->port});
  for (auto& s : st->cfg.seeds)
    add(s);
  return out;
}

void join_at(const state_ptr& st, std::vector<endpoint> targets, size_t i);

/// The join attempt ends without an answer: try again later.
void join_later(const state_ptr& st) {
  st->joining = false;
  st->log("cannot join yet (" + st->problem + "); trying again");
  arm_retry(st);
}

/// Asks targets[i] to let this node join; a member that is not the
/// coordinator answers with its view, and the coordinator it names is asked.
void join_at(const state_ptr& st, std::vector<endpoint> targets, size_t i) {
  if (i >= targets.size())
    return join_later(st);
  auto where = targets[i];
  connect(
    st, where,
    [=](caf::actor agent) {
      // The coordinator may take a checkpoint before it answers (the handover).
      st->asked.ask<cluster_view>(
          st->self, agent, st->cfg.request_timeout + handover_timeout,
          [=](cluster_view& v) {
            auto* me = v.find(st->cfg.self.id);
            if (!me || me->incarnation != st->cfg.self.incarnation) {
              auto* c = v.find(v.coordinator);
              if (!c || (c->host == where.host && c->port == where.port)) {
                st->problem = "the cluster at " + where.to_string() + " names no reachable coordinator";
                return join_at(st, targets, i + 1);
              }
              auto next = targets;
              next.insert(next.begin() + static_cast<std::ptrdiff_t>(i) + 1, endpoint{c->host, c->port});
              return join_at(st, next, i + 1);
            }
            st->joining = false;
            auto* c = v.find(v.coordinator);
            if (c && c->host == where.host && c->port == where.port)
              watch(st, c->id, c->incarnation, agent);
            adopt(st, v);
          },
          [=](caf::error& err) {
            auto why = st->self->system().render(err);
            auto& ctx = err.context();
            if (ctx.match_elements<std::string>())
              why = ctx.get_as<std::string>(0);
            st->problem = "joining through " + where.to_string() + ": " + why;
            if (why.find("cannot join") != std::string::npos && !st->was_member()
                && !st->last_view) {
              // Refused on the first join (other terms, a taken id): final.
              st->joining = false;
              st->refused = true;
              st->problem = why;
              st->log(why);
              return st->answer_waiters();
            }
            join_at(st, targets, i + 1);
          },
          join_atom::value, st->cfg.self, st->cfg.terms);
    },
    [=](const std::string& why) {
      st->problem = why;
      join_at(st, targets, i + 1);
    });
}

void try_join(const state_ptr& st) {
  if (st->joining || st->refused)
    return;
  auto targets = join_targets(st);
  if (targets.empty()) {
    st->problem = "no member to join through";
    return arm_retry(st);
  }
  st->joining = true;
  join_at(st, std::move(targets), 0);
}

/// A member that lost the coordinator asks it for the view: still a member,
/// it adopts it (and learns the coordinator's new address); left out, it
/// rejoins as a new incarnation.
void resync(const state_ptr& st, std::vector<endpoint> targets, size_t i) {
  if (i >= targets.size()) {
    if (st->problem.empty())
      st->problem = "the coordinator is unreachable";
    return arm_retry(st);
  }
  auto where = targets[i];
  connect(
    st, where,
    [=](caf::actor agent) {
      st->asked.ask<cluster_view>(
          st->self, agent, st->cfg.request_timeout,
          [=](cluster_view& v) {
            auto* c = v.find(v.coordinator);
            if (c && c->host == where.host && c->port == where.port)
              watch(st, c->id, c->incarnation, agent);
            auto* me = v.find(st->cfg.self.id);
            if (!me || me->incarnation != st->cfg.self.incarnation || v.epoch < st->fence.epoch()) {
              adopt(st, v); // fenced: rejoins
              if (st->member())
                try_join(st);
              return;
            }
            adopt(st, v);
            st->problem.clear();
            mesh(st, v);
          },
          [=](caf::error& err) {
            st->problem = "the coordinator does not answer: " + st->self->system().render(err);
            resync(st, targets, i + 1);
          },
          sync_atom::value, st->cfg.self);
    },
    [=](const std::string& why) {
      st->problem = "the coordinator is unreachable: " + why;
      resync(st, targets, i + 1);
    });
}

/// Starts as the coordinator: a new cluster, or the one the metadata holds.
void found(const state_ptr& st, std::optional<cluster_view> resumed) {
  cluster_view v;
  if (resumed) {
    st->keeper.emplace(std::move(*resumed), st->cfg.terms);
    v = st->keeper->resume(st->cfg.self);
  } else {
    st->keeper.emplace(st->cfg.self, st->cfg.terms);
    v = st->keeper->view();
  }
  if (auto s = write_cluster_metadata(st->cfg.metadata_path, v, st->cfg.terms); !s) {
    st->problem = "cannot write the cluster metadata: " + s.err().message;
    st->refused = true;
    return st->answer_waiters();
  }
  adopt(st, v);
}

} // namespace

caf::behavior cluster_agent(caf::event_based_actor* self, cluster_agent_config cfg) {
  auto st = std::make_shared<agent_state>(std::move(cfg));
  questions::forget_at_exit(self, st, &agent_state::asked);
  st->self = self;
  self->set_down_handler([=](caf::down_msg& msg) {
    auto it = st->watched.find(msg.source);
    if (it == st->watched.end())
      return;
    auto [id, incarnation] = it->second;
    st->watched.erase(it);
    if (auto p = st->peers.find(id); p != st->peers.end() && p->second.address() == msg.source)
      st->peers.erase(p);
    st->log("lost the connection to " + id + "#" + std::to_string(incarnation));
    if (st->keeper)
      return declare_gone(st, id, incarnation);
    if (st->last_view && id == st->last_view->coordinator)
      st->problem = "the coordinator is unreachable";
    arm_retry(st); // reconnect to it (or find the coordinator again)
  });
  // Nothing happens until the node has published the agent (start_atom).
  auto begin = [=] {
    auto refuse = [&](const std::string& why) {
      st->problem = why;
      st->refused = true;
      st->answer_waiters();
    };
    auto known = read_cluster_metadata(st->cfg.metadata_path);
    if (!known)
      return refuse(known.err().message);
    auto& v = *known;
    // The metadata decides who keeps the cluster: this node again, after a
    // restart on its data dir (a newer incarnation), whatever --join says;
    // or the node it names (joined through, with the seeds).
    auto* keeper = v ? v->find(v->coordinator) : nullptr;
    bool mine = keeper && keeper->id == st->cfg.self.id && keeper->incarnation < st->cfg.self.incarnation;
    if (v && (mine || !keeper)) {
      // Resuming: on the terms the cluster was founded on.
      if (auto checked = read_cluster_metadata(st->cfg.metadata_path, &st->cfg.terms); !checked)
        return refuse("cannot resume the cluster: " + checked.err().message);
      return found(st, std::move(v));
    }
    if (v || !st->cfg.seeds.empty())
      return try_join(st);
    found(st, std::nullopt);
  };
  return {
    // From other nodes' agents, answered to the reply_to they carry
    // (actors/ask.hpp), which is the asking agent itself.
    [=](join_atom, member_info& m, cluster_terms& terms, reply_to& r) {
      if (!st->keeper) {
        // Not the coordinator: the view names it.
        if (st->last_view)
          return answer(r, *st->last_view);
        return answer(r, caf::make_error(caf::sec::runtime_error,
                                         "node '" + st->cfg.self.id + "' is not a member yet"));
      }
      auto sender = r.to;
      auto admit = [=]() -> result<cluster_view> {
        auto before = *st->keeper;
        auto v = st->keeper->join(m, terms);
        if (!v)
          return v.err();
        if (v->epoch != before.view().epoch && !commit_view(st, before, *v))
          return error{errc::io, "the coordinator cannot write the cluster metadata"};
        if (sender)
          watch(st, m.id, m.incarnation, sender);
        return v;
      };
      // A new member joining a running cluster: the key groups move at a
      // checkpoint taken now, so the new epoch replays almost nothing.
      if (st->last_view->find(m.id) || !st->assembly.coordinator()
          || st->running_epoch != st->last_view->epoch || m.id == st->cfg.self.id)
        return answer_view(r, admit());
      checkpoint_then(st, [=] { answer_view(r, admit()); });
    },
    [=](sync_atom, member_info& m, reply_to& r) {
      if (!st->keeper || !st->last_view)
        return answer(r, caf::make_error(caf::sec::runtime_error,
                                         "node '" + st->cfg.self.id + "' is not the coordinator"));
      auto& v = *st->last_view;
      auto* known = v.find(m.id);
      auto sender = r.to;
      auto it = st->peers.find(m.id);
      bool connected = it != st->peers.end() && it->second == sender;
      if (known && known->incarnation == m.incarnation && sender && !connected) {
        watch(st, m.id, m.incarnation, sender);
        catch_up(st, sender);
      }
      answer(r, v); // a newer view than the member's is adopted by it
    },
    [=](answer_atom, std::uint64_t tag, caf::message& m) { st->asked.on_answer(tag, m); },
    [=](silent_atom, std::uint64_t tag) { st->asked.on_silence(tag); },
    [=](view_atom, cluster_view& v) {
      if (!st->keeper)
        adopt(st, v);
    },
    [=](retry_atom) {
      st->retry_armed = false;
      if (st->refused)
        return;
      if (st->keeper) {
        for (auto loss : std::set<std::pair<std::string, std::uint64_t>>{st->losses})
          declare_gone(st, loss.first, loss.second);
        if (st->last_view)
          mesh(st, *st->last_view);
        return;
      }
      if (!st->member())
        return try_join(st);
      if (!st->reaches_coordinator())
        return resync(st, join_targets(st), 0);
      mesh(st, *st->last_view);
    },
    [=](start_atom, std::uint16_t port) -> caf::result<cluster_status> {
      if (st->started)
        return caf::make_error(caf::sec::runtime_error, "the cluster agent runs already");
      st->started = true;
      st->cfg.self.port = port;
      auto rp = self->make_response_promise();
      st->waiters.push_back(rp);
      begin();
      self->delayed_send(self, 2 * st->cfg.retry, vcheck_atom::value);
      return caf::delegated<cluster_status>{};
    },
    // A member asks the coordinator for its view now and then: one that
    // missed a view (a message lost with a connection) catches up within a
    // few seconds rather than running on with an epoch the others left.
    [=](vcheck_atom) {
      self->delayed_send(self, 2 * st->cfg.retry, vcheck_atom::value);
      if (st->keeper || !st->member() || !st->reaches_coordinator())
        return;
      auto coordinator = st->peers.at(st->last_view->coordinator);
      st->asked.ask<cluster_view>(
        self, coordinator, st->cfg.request_timeout,
        [=](cluster_view& v) {
          if (v.epoch > st->fence.epoch()) {
            st->log("view of epoch " + std::to_string(v.epoch) + " caught up");
            adopt(st, v);
          }
        },
        [](caf::error&) {}, // a lost coordinator is seen by its monitor
        sync_atom::value, st->cfg.self);
    },
    [=](cstatus_atom) { return st->status(); },
    // -- the epoch's assembly ---------------------------------------------------
    [=](restore_atom, std::uint64_t epoch, std::uint64_t checkpoint, caf::actor& coordinator) {
      if (!st->last_view || epoch != st->last_view->epoch || st->fence.fenced())
        return;
      if (st->keeper) {
        if (self->current_sender() && self->current_sender()->node() != self->node())
          return; // only this node's own names the checkpoint
        st->assembly.begin(*st->last_view, checkpoint, coordinator);
        for (auto& [id, agent] : st->peers)
          if (st->last_view->find(id))
            self->send(agent, restore_atom::value, epoch, checkpoint, coordinator);
        self->delayed_send(self, st->cfg.assembly_timeout, atimeout_atom::value, epoch);
      } else {
        st->keeper_agent = caf::actor_cast<caf::actor>(self->current_sender());
      }
      if (st->cfg.on_restore)
        st->cfg.on_restore(epoch, checkpoint, coordinator);
    },
    [=](ready_atom, node_wiring& w) {
      if (!st->keeper) {
        if (auto k = keeper_of(st))
          self->send(k, ready_atom::value, std::move(w));
        return;
      }
      if (auto all = st->assembly.ready(std::move(w))) {
        for (auto& [id, agent] : st->peers)
          if (st->last_view && st->last_view->find(id))
            self->send(agent, go_atom::value, *all);
        if (st->cfg.on_go)
          st->cfg.on_go(*all);
      }
    },
    [=](go_atom, cluster_wiring& w) {
      if (st->keeper || !st->last_view || w.epoch != st->last_view->epoch || st->fence.fenced())
        return;
      if (st->cfg.on_go)
        st->cfg.on_go(std::move(w));
    },
    [=](running_atom, std::uint64_t epoch, std::string& node) {
      if (!st->keeper) {
        if (auto k = keeper_of(st))
          self->send(k, running_atom::value, epoch, std::move(node));
        return;
      }
      if (st->assembly.running(node, epoch)) {
        st->running_epoch = epoch;
        auto began = st->view_times.find(epoch);
        auto pause = began == st->view_times.end()
                       ? std::string{}
                       : " (" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::steady_clock::now() - began->second)
                                                 .count())
                           + " ms after its view)";
        st->view_times.erase(st->view_times.begin(), st->view_times.upper_bound(epoch));
        st->log("epoch " + std::to_string(epoch) + " runs on every member" + pause);
        // The checkpoint coordinator learns every partition and source.
        if (auto all = st->assembly.wiring())
          caf::anon_send(st->assembly.coordinator(), setup_atom::value, *all); // its answer is not needed
      }
    },
    [=](renew_atom, std::uint64_t epoch, std::string& why) {
      if (!st->keeper) {
        if (auto k = keeper_of(st))
          self->send(k, renew_atom::value, epoch, std::move(why));
        return;
      }
      // A member asking about an older epoch missed what came since (a view,
      // a restore, a wiring): it resynchronizes instead of renewing anything.
      if (st->last_view && epoch < st->last_view->epoch) {
        if (auto sender = caf::actor_cast<caf::actor>(self->current_sender()))
          catch_up(st, sender);
        return;
      }
      renew(st, epoch, why);
    },
    // Local (the admin API): asks the coordinator, which may be this agent.
    [=](drain_atom, std::string& id) -> caf::result<cluster_view> {
      caf::actor k;
      if (st->keeper)
        k = caf::actor_cast<caf::actor>(self);
      else if (auto it = st->last_view ? st->peers.find(st->last_view->coordinator) : st->peers.end();
               it != st->peers.end())
        k = it->second;
      if (!k)
        return caf::make_error(caf::sec::runtime_error, "the coordinator is unreachable");
      auto rp = self->make_response_promise<cluster_view>();
      st->asked.ask<cluster_view>(
        self, k, st->cfg.request_timeout + handover_timeout,
        [=](cluster_view& v) mutable { rp.deliver(std::move(v)); },
        [=](caf::error& err) mutable { rp.deliver(std::move(err)); }, drain_atom::value, std::move(id));
      return rp;
    },
    // On the coordinator, from any member's agent (this one's included).
    [=](drain_atom, std::string& id, reply_to& r) {
      if (!st->keeper)
        return answer(r, caf::make_error(caf::sec::runtime_error,
                                         "node '" + st->cfg.self.id + "' is not the coordinator"));
      auto drain = [=]() -> result<cluster_view> {
        auto before = *st->keeper;
        auto v = st->keeper->drain(id);
        if (!v)
          return v.err();
        if (v->epoch != before.view().epoch && !commit_view(st, before, *v))
          return error{errc::io, "the coordinator cannot write the cluster metadata"};
        if (v->epoch != before.view().epoch)
          st->log("node " + id + " is drained: its key groups move to the others");
        return v;
      };
      auto* m = st->last_view ? st->last_view->find(id) : nullptr;
      if (!m || m->draining || !st->assembly.coordinator() || st->running_epoch != st->last_view->epoch)
        return answer_view(r, drain());
      // Its key groups move at a checkpoint taken now.
      checkpoint_then(st, [=] { answer_view(r, drain()); });
    },
    [=](leave_atom) {
      // On the drained node: ask the coordinator to remove this incarnation.
      if (st->keeper || !st->last_view)
        return;
      auto* me = st->last_view->find(st->cfg.self.id);
      if (!me || !me->draining)
        return;
      st->leaving = true;
      if (auto k = keeper_of(st))
        self->send(k, leave_atom::value, st->cfg.self.id, st->cfg.self.incarnation);
    },
    [=](leave_atom, std::string& id, std::uint64_t incarnation) {
      if (!st->keeper || !st->last_view)
        return;
      auto* m = st->last_view->find(id);
      if (!m || !m->draining || m->incarnation != incarnation)
        return; // only a drained member leaves
      st->log("drained node " + id + " leaves");
      declare_gone(st, id, incarnation);
      // The view without it is not broadcast to it: it learns here.
      if (auto sender = caf::actor_cast<caf::actor>(self->current_sender()); sender && st->last_view)
        self->send(sender, view_atom::value, *st->last_view);
    },
    [=](atimeout_atom, std::uint64_t epoch) {
      if (st->keeper && st->assembly.epoch() == epoch && st->running_epoch != epoch) {
        std::string missing;
        for (auto& id : st->assembly.missing())
          missing += " " + id;
        renew(st, epoch, "not assembled within " + std::to_string(st->cfg.assembly_timeout.count())
                           + " ms" + (missing.empty() ? "" : " (not ready:" + missing + ")"));
      }
    },
  };
}

} // namespace hearth::actors
