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

/// gate_port::applied, as sent.
struct applied_report {
  std::uint64_t offset = 0;
  invocation_record batch;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, applied_report& x) {
  return f(caf::meta::type_name("hearth::applied_report"), x.offset, x.batch);
}

/// gate_port::set_full, as sent.
struct full_report {
  std::string key;
  bool full = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, full_report& x) {
  return f(caf::meta::type_name("hearth::full_report"), x.key, x.full);
}

/// gate_port::set_partition_full, as sent.
struct partition_full_report {
  std::uint32_t partition = 0;
  bool full = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_full_report& x) {
  return f(caf::meta::type_name("hearth::partition_full_report"), x.partition, x.full);
}

/// What one partition reported to one remote gate since its last flush,
/// applied by the gate in this order: accepted, applied, lost, then the
/// full flags in the order they were set.
struct gate_reports {
  std::vector<std::uint64_t> accepted;
  std::vector<applied_report> applied;
  std::vector<std::uint64_t> lost;
  std::vector<full_report> full;
  std::vector<partition_full_report> partitions_full;

  bool empty() const {
    return accepted.empty() && applied.empty() && lost.empty() && full.empty() && partitions_full.empty();
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, gate_reports& x) {
  return f(caf::meta::type_name("hearth::gate_reports"), x.accepted, x.applied, x.lost, x.full,
           x.partitions_full);
}

class remote_gate final : public gate_port {
public:
  /// `remind` is called on the first report after a flush; it must make the
  /// partition call flush() soon (a message to itself).
  remote_gate(caf::actor gate, std::function<void()> remind)
    : gate_(std::move(gate)), remind_(std::move(remind)) {}

  void accept(std::uint64_t offset) override { pending().accepted.push_back(offset); }
  void applied(std::uint64_t offset, const invocation_record& batch) override {
    pending().applied.push_back({offset, batch});
  }
  void lost(std::uint64_t offset) override { pending().lost.push_back(offset); }
  void set_full(const std::string& key, bool full) override { pending().full.push_back({key, full}); }
  void set_partition_full(std::uint32_t part, bool full) override {
    pending().partitions_full.push_back({part, full});
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

/// Hands `r` to `gate`, in gate_reports' order.
inline void apply_reports(gate_port& gate, const gate_reports& r) {
  for (auto offset : r.accepted)
    gate.accept(offset);
  for (auto& a : r.applied)
    gate.applied(a.offset, a.batch);
  for (auto offset : r.lost)
    gate.lost(offset);
  for (auto& f : r.full)
    gate.set_full(f.key, f.full);
  for (auto& p : r.partitions_full)
    gate.set_partition_full(p.partition, p.full);
}

/// The gate actor of a node: hands the reports of other nodes' partitions
/// to `gate` (thread-safe, never blocks).
inline caf::behavior gate_actor(caf::event_based_actor*, std::shared_ptr<gate_port> gate) {
  return {
    [=](greports_atom, const gate_reports& r) { apply_reports(*gate, r); },
  };
}

} // namespace hearth::actors
