#pragma once

// actors::remote_gate: a gate_port of another node of the cluster. A
// partition reports on an ingress record to the gate of the node whose log
// holds it (actors/gate_port.hpp); when that node is another one, the
// reports travel as messages to that node's gate actor, which hands them to
// the node's own ingress_gate.
//
// Reports are batched: a remote_gate collects what its partition reports
// while it works through its mailbox and sends it as one gate_reports
// message when the partition handles the flush it asked for on the first
// report (`remind`), so a burst costs one cross-node message per gate, not
// one per record. A remote_gate belongs to one partition actor and is used
// only from its handlers. Reports are fire-and-forget: a batch lost with a
// dropped connection (or with a partition that fails before its flush)
// leaves senders waiting until the new epoch's pipeline reports on their
// records again (every record not covered by the restored checkpoint is
// replayed).

#include "actors/gate_port.hpp"
#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <functional>
#include <memory>

namespace hearth::actors {

using greports_atom = caf::atom_constant<caf::atom("greports")>;

/// What one partition reported to one remote gate since its last flush,
/// applied by the gate in this order: accepted, applied, lost, then the
/// full flags in the order they were set.
struct gate_reports {
  std::vector<std::uint64_t> accepted;
  std::vector<std::uint64_t> applied;          // offsets ...
  std::vector<invocation_record> applied_by;   // ... and the batch that carried each
  std::vector<std::uint64_t> lost;
  std::vector<std::string> full_keys;
  std::vector<std::uint8_t> full_flags;        // per full_keys entry: 1 full, 0 room again
  std::vector<std::uint32_t> full_partitions;
  std::vector<std::uint8_t> partition_flags;   // per full_partitions entry

  bool empty() const {
    return accepted.empty() && applied.empty() && lost.empty() && full_keys.empty()
           && full_partitions.empty();
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, gate_reports& x) {
  return f(caf::meta::type_name("hearth::gate_reports"), x.accepted, x.applied, x.applied_by, x.lost,
           x.full_keys, x.full_flags, x.full_partitions, x.partition_flags);
}

class remote_gate final : public gate_port {
public:
  /// `remind` is called on the first report after a flush; it must make the
  /// partition call flush() soon (a message to itself).
  remote_gate(caf::actor gate, std::function<void()> remind)
    : gate_(std::move(gate)), remind_(std::move(remind)) {}

  void accept(std::uint64_t offset) override {
    pending().accepted.push_back(offset);
  }
  void applied(std::uint64_t offset, const invocation_record& batch) override {
    auto& p = pending();
    p.applied.push_back(offset);
    p.applied_by.push_back(batch);
  }
  void lost(std::uint64_t offset) override { pending().lost.push_back(offset); }
  void set_full(const std::string& key, bool full) override {
    auto& p = pending();
    p.full_keys.push_back(key);
    p.full_flags.push_back(full ? 1 : 0);
  }
  void set_partition_full(std::uint32_t part, bool full) override {
    auto& p = pending();
    p.full_partitions.push_back(part);
    p.partition_flags.push_back(full ? 1 : 0);
  }
  void flush() override {
    reminded_ = false;
    if (pending_.empty())
      return;
    caf::anon_send(gate_, greports_atom::value, std::move(pending_));
    pending_ = gate_reports{};
  }

private:
  gate_reports& pending() {
    if (!reminded_) {
      reminded_ = true;
      remind_();
    }
    return pending_;
  }

  caf::actor gate_;
  std::function<void()> remind_;
  gate_reports pending_;
  bool reminded_ = false;
};

/// The gate actor of a node: hands the reports of other nodes' partitions
/// to `gate` (thread-safe, never blocks).
inline caf::behavior gate_actor(caf::event_based_actor*, std::shared_ptr<gate_port> gate) {
  return {
    [=](greports_atom, const gate_reports& r) {
      for (auto offset : r.accepted)
        gate->accept(offset);
      for (size_t i = 0; i < r.applied.size() && i < r.applied_by.size(); ++i)
        gate->applied(r.applied[i], r.applied_by[i]);
      for (auto offset : r.lost)
        gate->lost(offset);
      for (size_t i = 0; i < r.full_keys.size() && i < r.full_flags.size(); ++i)
        gate->set_full(r.full_keys[i], r.full_flags[i] != 0);
      for (size_t i = 0; i < r.full_partitions.size() && i < r.partition_flags.size(); ++i)
        gate->set_partition_full(r.full_partitions[i], r.partition_flags[i] != 0);
    },
  };
}

} // namespace hearth::actors
