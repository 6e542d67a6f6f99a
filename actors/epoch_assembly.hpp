#pragma once

// actors::epoch_assembly: how the coordinator puts a cluster's pipeline
// together for one epoch (docs/cluster.md, "Epochs"). Every new view tears
// every node's pipeline down; the coordinator's node picks the newest
// completed checkpoint and starts a checkpoint coordinator, then
//   1. restore: every member restores the key groups the view places on it
//      from that checkpoint, spawns its partitions and its ingress source,
//      and reports their handles (node_wiring);
//   2. go: once every member has, every member learns the whole wiring (the
//      partitions of the cluster in placement order, every node's source,
//      gate and egress actor), connects its partitions to their peers and
//      starts them, and says it runs;
//   3. once every member runs, checkpoints start.
// Reports of another epoch are ignored; a member that leaves or fails makes a
// new view, and the assembly starts over with it.
//
// Plain class, not thread-safe; owned by the coordinator's cluster agent.

#include "actors/membership.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hearth::actors {

/// One node's part of an epoch's pipeline.
struct node_wiring {
  std::uint64_t epoch = 0;
  std::string node;
  std::vector<caf::actor> partitions; // its partitions, in placement order
  caf::actor source;                  // its ingress source
  caf::actor gate;                    // takes reports on its ingress records
  caf::actor egress;                  // pops its egress records (null: none)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_wiring& x) {
  return f(caf::meta::type_name("hearth::node_wiring"), x.epoch, x.node, x.partitions, x.source,
           x.gate, x.egress);
}

/// The whole pipeline of an epoch.
struct cluster_wiring {
  std::uint64_t epoch = 0;
  std::uint64_t restored = 0;      // the checkpoint every node restored (0: none)
  caf::actor coordinator;          // the checkpoint coordinator
  std::vector<node_wiring> nodes;  // in the view's order (by node id)

  /// Every partition of the cluster, by global index.
  std::vector<caf::actor> partitions() const {
    std::vector<caf::actor> out;
    for (auto& n : nodes)
      out.insert(out.end(), n.partitions.begin(), n.partitions.end());
    return out;
  }
  /// Index of `node` in nodes (an ingress ticket's origin); nullopt: none.
  std::optional<std::uint32_t> index_of(const std::string& node) const {
    for (std::uint32_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].node == node)
        return i;
    return std::nullopt;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_wiring& x) {
  return f(caf::meta::type_name("hearth::cluster_wiring"), x.epoch, x.restored, x.coordinator,
           x.nodes);
}

class epoch_assembly {
public:
  /// Starts assembling view `v`'s epoch, every member restoring checkpoint
  /// `restored` (0: none), with checkpoint coordinator `coordinator`.
  void begin(const cluster_view& v, std::uint64_t restored, caf::actor coordinator);

  /// The epoch being assembled or running (0: none yet).
  std::uint64_t epoch() const { return wiring_.epoch; }
  std::uint64_t restored() const { return wiring_.restored; }
  const caf::actor& coordinator() const { return wiring_.coordinator; }

  /// Member `w.node` restored and spawned its part of epoch `w.epoch`. Returns
  /// the whole wiring once every member has (once); nullopt before, and for
  /// a report of another epoch or from a node that is not a member.
  std::optional<cluster_wiring> ready(node_wiring w);

  /// Member `node` runs `epoch`. True once every member does (once).
  bool running(const std::string& node, std::uint64_t epoch);

  /// Every member reported ready (the wiring went out).
  bool wired() const { return wired_; }
  /// The whole wiring, once every member reported ready.
  std::optional<cluster_wiring> wiring() const {
    return wired_ ? std::optional<cluster_wiring>{wiring_} : std::nullopt;
  }
  /// Members that have not reported ready yet.
  std::vector<std::string> missing() const;

private:
  cluster_wiring wiring_;
  std::vector<bool> have_;
  std::set<std::string> running_;
  bool wired_ = false;
  bool all_running_ = false;
};

} // namespace hearth::actors

namespace hearth::actors {

// The assembly's messages (docs/cluster.md, "Epochs").
using restore_atom = caf::atom_constant<caf::atom("restore")>; // coordinator -> members: epoch, checkpoint, coordinator
using ready_atom = caf::atom_constant<caf::atom("ready")>;     // member -> coordinator: node_wiring
using go_atom = caf::atom_constant<caf::atom("go")>;           // coordinator -> members: cluster_wiring
using running_atom = caf::atom_constant<caf::atom("running")>; // member -> coordinator: epoch, node
using renew_atom = caf::atom_constant<caf::atom("renew")>;     // member -> coordinator: epoch, why
using pop_atom = caf::atom_constant<caf::atom("pop")>;         // node -> egress actor: topic ? vector<string> (0 or 1)

} // namespace hearth::actors
