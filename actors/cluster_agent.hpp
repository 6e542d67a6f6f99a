#pragma once

// actors::cluster_agent: a node's member of the cluster (docs/cluster.md).
// One per node, published on the node's cluster port through CAF's
// middleman. The coordinator's agent keeps the membership (membership.hpp):
// it admits joins on the cluster's terms, declares a member gone when the
// connection to it drops (CAF's heartbeat and connection timeout bound how
// long a frozen node takes), and sends every new view to every member; it
// writes each view to the cluster's metadata file in the shared checkpoint
// storage before sending it, so that a restarted coordinator resumes the
// cluster it ran (with a higher epoch). Every other agent joins through a
// seed (any member: a non-coordinator forwards the join), connects to every
// member directly (a full mesh, never routed through a third node), adopts
// the views it is sent (epoch_fence) and, when a view leaves it out (it
// was declared gone while frozen or cut off), is fenced: it reports that and
// rejoins as a new incarnation. When the coordinator is unreachable, members
// keep what they have and try it again every `retry`.
//
// It also carries the assembly of every epoch's pipeline (epoch_assembly.hpp):
// the coordinator's node names the checkpoint to restore (restore, local),
// the coordinator's agent sends it to every member, collects their wiring
// (ready), sends the whole wiring to every member (go), and, once every
// member runs (running), tells the epoch's checkpoint coordinator to start.
// A member whose pipeline failed asks for a new epoch (renew); so does the
// coordinator when an epoch is not assembled within `assembly_timeout`.
//
// Messages (atoms; wire types in wire.hpp; "? T": a question carrying a
// reply_to, answered with a T or an error, actors/ask.hpp):
//   join_atom, member_info, cluster_terms ? cluster_view    (to any agent)
//   view_atom, cluster_view                                  (coordinator -> members)
//   sync_atom, member_info ? cluster_view                    (member -> coordinator)
//   start_atom, port -> cluster_status  (local, once published on `port`: answered
//                                        when this node is a member, or an error)
//   cstatus_atom -> cluster_status  (local)
//   restore_atom, epoch, checkpoint, coordinator  (local on the coordinator's node; then to members)
//   ready_atom, node_wiring        (local, then to the coordinator)
//   go_atom, cluster_wiring        (coordinator -> members)
//   running_atom, epoch, node      (local, then to the coordinator)
//   renew_atom, epoch, reason      (local, then to the coordinator)
//   drain_atom, node -> cluster_view    (local: asks the coordinator, this agent or another,
//                                        drain_atom, node ? cluster_view)
//   leave_atom                     (local, on a drained node whose log a checkpoint
//                                   covers; the coordinator removes it, and the
//                                   node is told through on_left)

#include "actors/epoch_assembly.hpp"
#include "actors/membership.hpp"
#include "actors/wire.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace hearth::actors {

using join_atom = caf::atom_constant<caf::atom("join")>;
using view_atom = caf::atom_constant<caf::atom("view")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using cstatus_atom = caf::atom_constant<caf::atom("cstatus")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;

/// A host and port.
struct endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

/// Parses "HOST:PORT[,HOST:PORT...]"; errc::malformed naming the bad part.
result<std::vector<endpoint>> parse_endpoints(const std::string& text);

struct cluster_agent_config {
  member_info self;                    // host and port: where this agent is published
  cluster_terms terms;
  std::vector<endpoint> seeds;         // empty: found a cluster (or resume the metadata's)
  std::string metadata_path;           // the view, kept by the coordinator (shared storage)
  std::chrono::milliseconds retry{1000};
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds assembly_timeout{60'000};
  /// A new view was adopted (`fenced`: it leaves this incarnation out).
  /// Called in the agent's context: it must not block.
  std::function<void(const cluster_view&, bool fenced)> on_view;
  /// A new incarnation for rejoining after being fenced (the data dir's).
  std::function<result<std::uint64_t>()> next_incarnation;
  /// The epoch's assembly (see above); called in the agent's context: they
  /// must not block.
  std::function<void(std::uint64_t epoch, std::uint64_t checkpoint, caf::actor coordinator)> on_restore;
  std::function<void(cluster_wiring)> on_go;
  /// This drained node left the cluster (a view without it, after it asked):
  /// it must stop (exit 0). Called in the agent's context.
  std::function<void()> on_left;
};

/// What the agent reports locally.
struct cluster_status {
  member_info self;
  cluster_view view;
  bool member = false;      // this incarnation is in the view
  bool coordinator = false; // this node keeps the membership
  std::string problem;      // why it is not a member, or the coordinator is unreachable
  std::uint64_t running_epoch = 0; // the epoch whose pipeline runs on every member (coordinator)
};

caf::behavior cluster_agent(caf::event_based_actor* self, cluster_agent_config cfg);

/// The view kept in a metadata file; nullopt when there is none.
/// errc::conflict when `terms` are given and the cluster's (max_key_groups,
/// the module.yaml, kept as a digest) differ; errc::io or errc::malformed
/// when the file cannot be read or parsed.
result<std::optional<cluster_view>> read_cluster_metadata(const std::string& path,
                                                          const cluster_terms* terms = nullptr);
/// The digest of a module.yaml's content kept in the metadata.
std::string module_digest(const std::string& module);
/// Replaces the metadata file atomically with `v` and the terms' digest.
status write_cluster_metadata(const std::string& path, const cluster_view& v,
                              const cluster_terms& terms);

} // namespace hearth::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::cluster_status)
