#pragma once

// actors::remote_gate: a gate_port of another node of the cluster. A
// partition reports on an ingress record to the gate of the node whose log
// holds it (actors/gate_port.hpp); when that node is another one, the report
// travels as a message to that node's gate actor, which hands it to the
// node's own ingress_gate. Reports are fire-and-forget: one lost with a
// dropped connection leaves a sender waiting until the new epoch's pipeline
// reports on its record again (every record not covered by the restored
// checkpoint is replayed).

#include "actors/gate_port.hpp"
#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <memory>

namespace hearth::actors {

using gaccept_atom = caf::atom_constant<caf::atom("gaccept")>;
using gapplied_atom = caf::atom_constant<caf::atom("gapplied")>;
using glost_atom = caf::atom_constant<caf::atom("glost")>;
using gfull_atom = caf::atom_constant<caf::atom("gfull")>;
using gpfull_atom = caf::atom_constant<caf::atom("gpfull")>;

class remote_gate final : public gate_port {
public:
  explicit remote_gate(caf::actor gate) : gate_(std::move(gate)) {}
  void accept(std::uint64_t offset) override { caf::anon_send(gate_, gaccept_atom::value, offset); }
  void applied(std::uint64_t offset, const invocation_record& batch) override {
    caf::anon_send(gate_, gapplied_atom::value, offset, batch);
  }
  void lost(std::uint64_t offset) override { caf::anon_send(gate_, glost_atom::value, offset); }
  void set_full(const std::string& key, bool full) override {
    caf::anon_send(gate_, gfull_atom::value, key, full);
  }
  void set_partition_full(std::uint32_t p, bool full) override {
    caf::anon_send(gate_, gpfull_atom::value, p, full);
  }

private:
  caf::actor gate_;
};

/// The gate actor of a node: hands the reports of other nodes' partitions
/// to `gate` (thread-safe, never blocks).
inline caf::behavior gate_actor(caf::event_based_actor*, std::shared_ptr<gate_port> gate) {
  return {
    [=](gaccept_atom, std::uint64_t offset) { gate->accept(offset); },
    [=](gapplied_atom, std::uint64_t offset, const invocation_record& batch) {
      gate->applied(offset, batch);
    },
    [=](glost_atom, std::uint64_t offset) { gate->lost(offset); },
    [=](gfull_atom, const std::string& key, bool full) { gate->set_full(key, full); },
    [=](gpfull_atom, std::uint32_t p, bool full) { gate->set_partition_full(p, full); },
  };
}

} // namespace hearth::actors
