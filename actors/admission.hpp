#pragma once

// actors::admission: the back-pressure of one partition on its ingress
// senders (docs/faults.md, bounded memory). An ingress record is always
// taken by its address; its sender is let go on (gate_port::accept) only
// when
//   - its address holds at most maxNumBatchRequests pending invocations
//     (else the sender waits in the address's `deferred` list until the
//     address works some off), and
//   - the partition holds at most partition.max_pending pending invocations
//     (else it waits in the partition's `held` queue, oldest first).
// Records come from the ingress logs of one or more nodes (a ticket names the
// node's gate and the offset). It also tells every gate which addresses and
// whether the partition are full,
// so that the ingress refuses early when too many senders wait, and says
// when a message nobody waits for must go to its address's backlog on disk.
//
// Not thread-safe; owned by one partition actor. The gates are thread-safe.

#include "actors/gate_port.hpp"
#include "protocol/primitives.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>
#include <memory>

namespace hearth::actors {

/// What admission keeps per live address.
struct address_admission {
  std::uint32_t max_batch = 0;         // maxNumBatchRequests; 0: unbounded
  std::vector<ingress_ticket> deferred; // ingress records whose senders wait for the address
  bool full = false;                   // as last reported to the gate
};

class admission {
public:
  /// `gates`: one per node whose ingress feeds this partition (a ticket's
  /// origin indexes them); never empty.
  admission(std::vector<std::shared_ptr<gate_port>> gates, std::uint32_t partition, size_t max_pending)
    : gates_(std::move(gates)), partition_(partition), max_pending_(max_pending) {}

  /// Replaces the gates (a cluster's partition learns them with its peers).
  void set_gates(std::vector<std::shared_ptr<gate_port>> gates) {
    flush_gates();
    gates_ = std::move(gates);
  }

  /// Hands on what the gates batched (gate_port::flush).
  void flush_gates() {
    for (auto& g : gates_)
      g->flush();
  }

  /// The gate of `origin` (a ticket's).
  gate_port& gate(std::uint32_t origin) { return *gates_.at(origin); }

  /// True when address slot `a` with `pending` invocations is over its bound.
  static bool over(const address_admission& a, size_t pending) {
    return a.max_batch != 0 && pending > a.max_batch;
  }

  /// True when a message nobody waits for must wait on disk: its address is
  /// over its bound, or older messages already wait there (`backlog`).
  static bool must_wait(const address_admission& a, size_t pending, std::uint64_t backlog) {
    return backlog > 0 || over(a, pending);
  }

  /// One invocation was handed to address `key` (slot `a`), which now holds
  /// `pending`. `ticket`: it is an ingress record whose sender waits for room.
  void added(const protocol::address& key, address_admission& a, size_t pending,
             std::optional<ingress_ticket> ticket);

  /// `n` invocations of the partition completed (or were dead-lettered):
  /// held senders go on as far as there is room.
  void completed(size_t n);

  /// Address `key` (slot `a`) now holds `pending` invocations: its deferred
  /// senders go on if it has room, and the gate learns whether it is full.
  void settle(const protocol::address& key, address_admission& a, size_t pending);

  /// Address `key` is gone (its actor died) with `n` pending invocations:
  /// its deferred senders go on and it is no longer full.
  void dropped(const protocol::address& key, address_admission& a, size_t n);

  /// Pending invocations of the partition.
  std::uint64_t pending() const { return pending_; }

  /// The partition holds at most max_pending invocations (the replay may
  /// feed it more).
  bool has_room() const { return pending_ <= max_pending_; }

  /// Senders held because the partition is over max_pending.
  size_t held() const { return held_.size(); }

private:
  void admit(const ingress_ticket& t);
  void tell_full(const std::string& key, bool full);
  void release_held();
  void note_fullness(const protocol::address& key, address_admission& a, size_t pending);

  std::vector<std::shared_ptr<gate_port>> gates_;
  std::uint32_t partition_;
  size_t max_pending_;
  std::uint64_t pending_ = 0;
  std::deque<ingress_ticket> held_;
};

} // namespace hearth::actors
