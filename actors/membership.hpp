#pragma once

// actors::membership: the cluster's members and its epoch, as the
// coordinator keeps them (docs/cluster.md). Every change of membership (a
// join, a rejoin as a new incarnation, a node declared gone, a drain, a
// renewal after a failure) makes
// a new view with a higher epoch; the placement of key groups follows from
// the view's members. A node may join only on the cluster's terms (the same
// module.yaml and max_key_groups), and never as an incarnation older than
// one already seen.
//
// epoch_fence is the member's side: the epoch it works in, whether a message
// from a peer belongs to it, and whether a newer view still counts this
// incarnation as a member (if not, the node is fenced: it must stop owning
// anything and rejoin as a new incarnation).
//
// Plain classes, not thread-safe; each owned by one actor.

#include "actors/placement.hpp"
#include "protocol/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hearth::actors {

/// What every member must share with the cluster.
struct cluster_terms {
  std::string module;                 // the module.yaml content
  std::uint32_t max_key_groups = 128;
};

/// A node as the cluster knows it.
struct member_info {
  std::string id;                     // stable: kept in the node's data dir
  std::uint64_t incarnation = 0;      // grows with every start of the node
  std::string host;                   // where its middleman listens
  std::uint16_t port = 0;
  std::uint32_t partitions = 0;       // partitions it runs
  bool draining = false;              // owns nothing; leaves once handed over
};

/// One configuration of the cluster.
struct cluster_view {
  std::uint64_t epoch = 0;
  std::string coordinator;            // node id
  std::uint32_t max_key_groups = 128;
  std::vector<member_info> members;   // sorted by id

  const member_info* find(const std::string& id) const;
  /// The placement of key groups over the members that are not draining.
  placement layout() const;
};

class membership {
public:
  /// A new cluster whose coordinator is `first`, at epoch 1.
  membership(member_info first, cluster_terms terms);
  /// A cluster resumed from its metadata (the coordinator restarted).
  membership(cluster_view view, cluster_terms terms);

  const cluster_view& view() const { return view_; }
  const cluster_terms& terms() const { return terms_; }

  /// Node `m` asks to join on `terms`. A known id with a newer incarnation
  /// replaces the old one (it restarted); the incarnation already known, at
  /// the same address, gets the current view again (a repeated request).
  /// Refused (errc::conflict, saying what differs) for other terms, the
  /// coordinator's id, an older incarnation, no partitions, or more members
  /// than key groups.
  result<cluster_view> join(const member_info& m, const cluster_terms& terms);

  /// The coordinator `self` takes the cluster over again after a restart (as
  /// its new incarnation, at its new address): a new view naming it.
  cluster_view resume(const member_info& self);

  /// Incarnation `incarnation` of `id` is gone (failure detected, or it
  /// left): a new view without it. Nothing changes (nullopt) when that
  /// incarnation is not a member (already replaced or removed), or when it is
  /// the coordinator itself.
  std::optional<cluster_view> remove(const std::string& id, std::uint64_t incarnation);

  /// The same members in a new epoch: every node rebuilds its pipeline
  /// from the last checkpoint (a member's pipeline failed, or lost a part
  /// on another node).
  cluster_view renew();

  /// `id` is drained: a new view where it owns nothing. errc::unknown for a
  /// node that is not a member; errc::conflict for the coordinator or the
  /// last member owning key groups.
  result<cluster_view> drain(const std::string& id);

private:
  cluster_view next(std::vector<member_info> members);

  cluster_view view_;
  cluster_terms terms_;
};

class epoch_fence {
public:
  epoch_fence(std::string self, std::uint64_t incarnation)
    : self_(std::move(self)), incarnation_(incarnation) {}

  enum class verdict {
    current, // of this epoch: process it
    stale,   // of an older epoch: drop it and tell the sender to resynchronize
    ahead,   // of a newer epoch this node has not adopted: drop it and resynchronize
    fenced,  // this node is not a member (yet, or any more): drop everything
  };

  /// Whether a message stamped `epoch` may be processed now.
  verdict check(std::uint64_t epoch) const;

  /// Adopts `v` when it is newer than the current view; returns false when
  /// it is not (nothing changes). After adopting, fenced() tells whether this
  /// incarnation is still a member.
  bool adopt(const cluster_view& v);

  std::uint64_t epoch() const { return view_ ? view_->epoch : 0; }
  bool fenced() const { return fenced_; }
  const std::optional<cluster_view>& view() const { return view_; }

private:
  std::string self_;
  std::uint64_t incarnation_;
  std::optional<cluster_view> view_;
  bool fenced_ = false;
};

} // namespace hearth::actors
