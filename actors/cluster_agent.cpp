#include "actors/cluster_agent.hpp"

#include "state/atomic_file.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <map>
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

status write_cluster_metadata(const std::string& path, const cluster_view& v) {
  nlohmann::json j;
  j["format"] = 1;
  j["epoch"] = v.epoch;
  j["coordinator"] = v.coordinator;
  j["max_key_groups"] = v.max_key_groups;
  j["members"] = nlohmann::json::array();
  for (auto& m : v.members)
    j["members"].push_back({{"id", m.id}, {"incarnation", m.incarnation}, {"host", m.host},
                            {"port", m.port}, {"partitions", m.partitions}, {"draining", m.draining}});
  return state::write_atomically(path, j.dump(2) + "\n");
}

result<std::optional<cluster_view>> read_cluster_metadata(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return std::optional<cluster_view>{};
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
    return std::optional<cluster_view>{std::move(v)};
  } catch (const std::exception& e) {
    return bad(std::string{"a field is missing or has the wrong type ("} + e.what() + ")");
  }
}

// -- the agent ----------------------------------------------------------------------

namespace {

using retry_atom = caf::atom_constant<caf::atom("cretry")>;

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
  std::optional<membership> keeper; // on the coordinator
  std::map<std::string, caf::actor> peers;     // member id -> its agent (connected)
  std::map<caf::actor_addr, std::pair<std::string, std::uint64_t>> watched;
  std::set<std::string> connecting;            // member ids being connected to
  caf::actor coordinator;                      // the coordinator's agent (members)
  std::vector<caf::response_promise> waiters;  // joined_atom
  std::string problem;
  bool refused = false;                        // a join was refused: nothing more to try
  bool retry_armed = false;
  bool started = false;

  agent_state(cluster_agent_config c)
    : cfg(std::move(c)), fence(cfg.self.id, cfg.self.incarnation) {}

  void log(const std::string& what) const {
    std::cerr << "hearth-node: cluster: " << what << std::endl;
  }

  bool member() const { return fence.view() && !fence.fenced(); }

  cluster_status status() const {
    cluster_status s;
    s.self = cfg.self;
    if (fence.view())
      s.view = *fence.view();
    s.member = member();
    s.coordinator = keeper.has_value();
    s.problem = problem;
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

void watch(const state_ptr& st, const std::string& id, std::uint64_t incarnation, caf::actor agent) {
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
        watch(st, id, incarnation, agent);
        if (st->keeper && st->fence.view())
          // A member of a resumed view learns the coordinator's new address.
          st->self->send(agent, view_atom::value, *st->fence.view());
        else if (st->fence.view() && id == st->fence.view()->coordinator)
          st->coordinator = agent;
      },
      [=](const std::string& why) {
        st->connecting.erase(id);
        st->log(why);
        if (st->keeper) {
          // A member of a resumed view that cannot be reached is gone.
          auto before = *st->keeper;
          if (auto next = st->keeper->remove(id, incarnation)) {
            if (auto s = write_cluster_metadata(st->cfg.metadata_path, *next); !s) {
              st->log("cannot write the cluster metadata: " + s.err().message);
              *st->keeper = before;
              return;
            }
            adopt(st, *next);
          }
        } else {
          arm_retry(st);
        }
      });
  }
}

/// Sends `v` to every connected member (the coordinator).
void broadcast(const state_ptr& st, const cluster_view& v) {
  for (auto& [id, agent] : st->peers)
    if (v.find(id))
      st->self->send(agent, view_atom::value, v);
}

void adopt(const state_ptr& st, const cluster_view& v) {
  if (!st->fence.adopt(v))
    return;
  st->log(describe(v) + (st->fence.fenced() ? " (this node is not in it: fenced)" : ""));
  if (st->keeper)
    broadcast(st, v);
  // Members that left the view are no longer peers.
  for (auto it = st->peers.begin(); it != st->peers.end();) {
    if (!v.find(it->first)) {
      st->watched.erase(it->second.address());
      st->self->demonitor(it->second);
      it = st->peers.erase(it);
    } else {
      ++it;
    }
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
      return;
    }
    st->cfg.self.incarnation = *inc;
    st->fence = epoch_fence{st->cfg.self.id, *inc};
    st->problem = "rejoining as incarnation " + std::to_string(*inc);
    st->coordinator = caf::actor{};
    arm_retry(st);
    return;
  }
  st->problem.clear();
  mesh(st, v);
  st->answer_waiters();
}

void try_join(const state_ptr& st, std::vector<endpoint> targets, size_t i);

/// Asks the agent at `where` to let this node join.
void join_at(const state_ptr& st, const endpoint& where, std::vector<endpoint> targets, size_t i) {
  connect(
    st, where,
    [=](caf::actor agent) {
      st->self->request(agent, st->cfg.request_timeout, join_atom::value, st->cfg.self, st->cfg.terms)
        .then(
          [=](cluster_view& v) {
            auto* me = v.find(st->cfg.self.id);
            if (!me || me->incarnation != st->cfg.self.incarnation) {
              // Not the coordinator: it answered with its view; go to the one it names.
              auto* c = v.find(v.coordinator);
              if (!c || (c->host == where.host && c->port == where.port)) {
                st->problem = "the cluster at " + where.to_string() + " names no reachable coordinator";
                return arm_retry(st);
              }
              return join_at(st, {c->host, c->port}, targets, i);
            }
            auto* c = v.find(v.coordinator);
            if (c && c->host == where.host && c->port == where.port)
              st->coordinator = agent;
            adopt(st, v);
          },
          [=](caf::error& err) {
            auto why = st->self->system().render(err);
            auto& ctx = err.context();
            if (ctx.match_elements<std::string>())
              why = ctx.get_as<std::string>(0);
            if (why.find("cannot join") != std::string::npos) {
              st->problem = why;
              st->refused = true;
              st->log(why);
              st->answer_waiters();
              return;
            }
            st->problem = "joining through " + where.to_string() + ": " + why;
            try_join(st, targets, i + 1);
          });
    },
    [=](const std::string& why) {
      st->problem = why;
      try_join(st, targets, i + 1);
    });
}

/// Joins through targets[i], or the next ones; after the last, waits and
/// starts again.
void try_join(const state_ptr& st, std::vector<endpoint> targets, size_t i) {
  if (i >= targets.size()) {
    st->log("cannot join yet (" + st->problem + "); trying again");
    return arm_retry(st);
  }
  join_at(st, targets[i], targets, i);
}

/// Where a member that lost the coordinator (or was fenced) goes: the
/// coordinator of its last view, then its seeds.
std::vector<endpoint> join_targets(const state_ptr& st) {
  std::vector<endpoint> out;
  if (auto& v = st->fence.view())
    if (auto* c = v->find(v->coordinator); c && c->id != st->cfg.self.id)
      out.push_back({c->host, c->port});
  for (auto& s : st->cfg.seeds)
    out.push_back(s);
  return out;
}

/// A member asks the coordinator for the view after losing it: if this
/// incarnation is still a member, it just adopts the view; otherwise it
/// rejoins.
void resync(const state_ptr& st) {
  auto targets = join_targets(st);
  if (targets.empty())
    return;
  if (!st->member())
    return try_join(st, targets, 0);
  connect(
    st, targets.front(),
    [=](caf::actor agent) {
      st->self->request(agent, st->cfg.request_timeout, sync_atom::value, st->cfg.self)
        .then(
          [=](cluster_view& v) {
            st->coordinator = agent;
            adopt(st, v);
            if (st->fence.epoch() >= v.epoch && st->member())
              st->problem.clear();
          },
          [=](caf::error& err) {
            st->problem = "the coordinator does not answer: " + st->self->system().render(err);
            arm_retry(st);
          });
    },
    [=](const std::string& why) {
      st->problem = "the coordinator is unreachable: " + why;
      arm_retry(st);
    });
}

/// Starts as the coordinator: a new cluster, or the one the metadata holds.
void found(const state_ptr& st, std::optional<cluster_view> resumed) {
  if (resumed) {
    st->keeper.emplace(std::move(*resumed), st->cfg.terms);
    // This node again, as its new incarnation: a new epoch.
    auto v = st->keeper->join(st->cfg.self, st->cfg.terms);
    if (!v) {
      st->problem = v.err().message;
      st->refused = true;
      return st->answer_waiters();
    }
  } else {
    st->keeper.emplace(st->cfg.self, st->cfg.terms);
  }
  auto v = st->keeper->view();
  if (auto s = write_cluster_metadata(st->cfg.metadata_path, v); !s) {
    st->problem = "cannot write the cluster metadata: " + s.err().message;
    st->refused = true;
    return st->answer_waiters();
  }
  adopt(st, v);
}

} // namespace

caf::behavior cluster_agent(caf::event_based_actor* self, cluster_agent_config cfg) {
  auto st = std::make_shared<agent_state>(std::move(cfg));
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
    if (st->keeper) {
      auto before = *st->keeper;
      auto next = st->keeper->remove(id, incarnation);
      if (!next)
        return;
      if (auto s = write_cluster_metadata(st->cfg.metadata_path, *next); !s) {
        // Not declared gone until the metadata says so: try again.
        st->log("cannot write the cluster metadata: " + s.err().message);
        *st->keeper = before;
        return;
      }
      adopt(st, *next);
    } else if (st->fence.view() && id == st->fence.view()->coordinator) {
      st->coordinator = caf::actor{};
      st->problem = "the coordinator is unreachable";
      arm_retry(st);
    }
  });
  // Nothing happens until the node has published the agent (start_atom).
  auto begin = [=] {
    auto known = read_cluster_metadata(st->cfg.metadata_path);
    if (!known) {
      st->problem = known.err().message;
      st->refused = true;
      return st->answer_waiters();
    }
    if (!st->cfg.seeds.empty())
      return try_join(st, st->cfg.seeds, 0);
    auto& v = *known;
    if (v && v->coordinator != st->cfg.self.id && v->find(v->coordinator)) {
      // Another node keeps this cluster: join through it.
      auto* c = v->find(v->coordinator);
      return try_join(st, {{c->host, c->port}}, 0);
    }
    found(st, std::move(v));
  };
  return {
    [=](join_atom, member_info& m, cluster_terms& terms) -> caf::result<cluster_view> {
      if (!st->keeper) {
        // Not the coordinator: the view names it.
        if (st->fence.view())
          return *st->fence.view();
        return caf::make_error(caf::sec::runtime_error,
                               "node '" + st->cfg.self.id + "' is not a member yet");
      }
      auto before = *st->keeper;
      auto v = st->keeper->join(m, terms);
      if (!v)
        return caf::make_error(caf::sec::runtime_error, v.err().message);
      if (auto s = write_cluster_metadata(st->cfg.metadata_path, *v); !s) {
        *st->keeper = before;
        return caf::make_error(caf::sec::runtime_error,
                               "the coordinator cannot write the cluster metadata: " + s.err().message);
      }
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      if (sender) {
        if (auto old = st->peers.find(m.id); old != st->peers.end()) {
          st->watched.erase(old->second.address());
          self->demonitor(old->second);
          st->peers.erase(old);
        }
        watch(st, m.id, m.incarnation, sender);
      }
      adopt(st, *v);
      return *v;
    },
    [=](sync_atom, member_info& m) -> caf::result<cluster_view> {
      if (!st->keeper || !st->fence.view())
        return caf::make_error(caf::sec::runtime_error, "node '" + st->cfg.self.id + "' is not the coordinator");
      auto& v = *st->fence.view();
      auto* known = v.find(m.id);
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      if (known && known->incarnation == m.incarnation && sender && !st->peers.count(m.id))
        watch(st, m.id, m.incarnation, sender);
      return v;
    },
    [=](view_atom, cluster_view& v) {
      if (!st->keeper)
        adopt(st, v);
    },
    [=](retry_atom) {
      st->retry_armed = false;
      if (st->refused)
        return;
      if (!st->fence.view() || st->fence.fenced())
        return try_join(st, join_targets(st), 0);
      if (!st->coordinator && !st->keeper)
        return resync(st);
      if (st->fence.view())
        mesh(st, *st->fence.view());
    },
    [=](start_atom, std::uint16_t port) -> caf::result<cluster_status> {
      if (st->started)
        return caf::make_error(caf::sec::runtime_error, "the cluster agent runs already");
      st->started = true;
      st->cfg.self.port = port;
      auto rp = self->make_response_promise();
      st->waiters.push_back(rp);
      begin();
      return caf::delegated<cluster_status>{};
    },
    [=](cstatus_atom) { return st->status(); },
  };
}

} // namespace hearth::actors
