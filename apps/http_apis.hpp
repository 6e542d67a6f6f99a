#pragma once

// The HTTP faces of a node: the playground ingress and egress, and the admin
// API. Each returns a handler for io::start_http_server. The ingress's is
// event-driven (it runs on the server's I/O thread and answers when the node
// calls back); the others run on the HTTP server's threads and call the
// node's blocking entry points.

#include "actors/cluster_agent.hpp"
#include "actors/node.hpp"
#include "io/http_server.hpp"
#include "io/playground.hpp"
#include "state/egress_store.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <string>

namespace hearth::apps {

/// PUT/POST /<namespace>/<type>/<id>; 200 once durable and accepted by its
/// address, JSON errors otherwise. An Idempotency-Key header makes retries safe.
/// A request held back by its address, or waiting with wait=true, holds no thread.
io::http_async_handler ingress_api(actors::node& n);

/// GET /<topic> pops one record: 200 payload, 404 empty, 405 unknown topic.
/// In a cluster, from this node's store or, when it has none, another member's.
io::http_handler egress_api(const io::playground_egress_spec& spec, actors::node& n);

/// What the admin API says about the process itself.
struct node_info {
  std::string version;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::string console_dir; // the web console's files; empty: none
  /// When set, every admin API request but the console's files and the
  /// /livez and /readyz probes must carry "Authorization: Bearer <token>".
  std::string admin_token;

  /// The servers' addresses, "ingress" -> "127.0.0.1:8090", ...: set as each
  /// server starts, read by the admin API meanwhile (so under a lock).
  void set_port(const std::string& server, const std::string& address) {
    std::lock_guard<std::mutex> g{mtx_};
    ports_[server] = address;
  }
  std::map<std::string, std::string> ports() const {
    std::lock_guard<std::mutex> g{mtx_};
    return ports_;
  }

  /// How to ask the cluster agent for its status (set once, before the
  /// servers start; unset on a single node).
  void set_cluster(std::function<std::optional<actors::cluster_status>()> f) { cluster_ = std::move(f); }
  /// The cluster as this node sees it; nullopt on a single node (or when the
  /// agent does not answer).
  std::optional<actors::cluster_status> cluster() const {
    return cluster_ ? cluster_() : std::nullopt;
  }
  bool clustered() const { return static_cast<bool>(cluster_); }

  /// How to ask the coordinator to drain a member (set with set_cluster).
  /// The new view, or errc::unknown (not a member), errc::conflict (cannot
  /// be drained) or errc::unavailable (the coordinator is unreachable).
  void set_drain(std::function<result<actors::cluster_view>(const std::string&)> f) {
    drain_ = std::move(f);
  }
  result<actors::cluster_view> drain(const std::string& id) const {
    if (!drain_)
      return error{errc::unavailable, "this node is not a cluster member"};
    return drain_(id);
  }

private:
  mutable std::mutex mtx_;
  std::map<std::string, std::string> ports_;
  std::function<std::optional<actors::cluster_status>()> cluster_;
  std::function<result<actors::cluster_view>(const std::string&)> drain_;
};

/// The admin API (docs/admin-api.md): status, functions, actors, one address,
/// send (and wait), dead letters, checkpoints, health. With a token in `info`,
/// a request without it is answered 401 (docs/admin-api.md, "Credentials").
io::http_handler admin_api(actors::node& n, std::shared_ptr<const node_info> info);

} // namespace hearth::apps
