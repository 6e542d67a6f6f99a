#pragma once

// Messages between the node, partition supervisors and address actors. Local
// to one node for now; the types that will cross nodes get inspect() overloads
// when clustering arrives.

#include "actors/instance_state.hpp"
#include "io/function_client.hpp"
#include "protocol/messages.hpp"
#include "state/checkpoint_files.hpp"
#include "state/ingress_log.hpp"
#include "state/format.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hearth::actors {

/// A message on its way to an address.
struct envelope {
  protocol::address target;
  protocol::invocation inv;
};

/// What an address actor hands to its partition after a successful batch:
/// everything the partition must apply in one step, in StateFun's order.
struct effects {
  protocol::address source;
  std::uint32_t completed = 0;        // invocations of the batch
  std::vector<protocol::outgoing_message> outgoing;
  std::vector<protocol::delayed_message> delayed;
  std::vector<protocol::egress_message> egresses;
  std::vector<state_change> changes;  // state puts and deletes
};

/// A batch that failed for good (budget spent, type conflict, ...).
struct failure {
  protocol::address source;
  std::vector<protocol::invocation> invocations;
  std::string reason;
  std::vector<state_change> changes;  // expirations noticed while attaching
};

/// Specs known for a function type.
using spec_list = std::vector<protocol::state_spec>;

/// Answer to a registration: all specs of the type, or why they were refused.
struct registration {
  bool accepted = false;
  spec_list specs;
  std::string reason;
};

/// A partition's part of a checkpoint, written: what the coordinator needs.
struct part_ack {
  std::uint64_t checkpoint = 0;
  std::uint32_t partition = 0;
  std::vector<std::string> chain;               // files to restore this partition
  std::vector<state::egress_entry> egress;      // to release when the checkpoint completes
  std::uint64_t messages = 0;                   // pending + logged invocations in it
  std::uint64_t bytes = 0;
};

/// Counters a partition reports to /health.
struct partition_stats {
  std::uint32_t partition = 0;
  std::uint64_t live_addresses = 0;
  std::uint64_t pending_invocations = 0;
  std::uint64_t invocations_completed = 0;
  std::uint64_t dead_letters_written = 0;
};

/// A dead letter as listed by the admin API.
using dead_letter_list = std::vector<state::dead_letter>;

// Atoms (at most 10 characters each).
using ingress_atom = caf::atom_constant<caf::atom("ingress")>;   // node -> P (reply: ok)
using route_atom = caf::atom_constant<caf::atom("route")>;       // P -> P
using invoke_atom = caf::atom_constant<caf::atom("invoke")>;     // P -> A
using reply_atom = caf::atom_constant<caf::atom("reply")>;       // I/O thread -> A
using effects_atom = caf::atom_constant<caf::atom("effects")>;   // A -> P
using failed_atom = caf::atom_constant<caf::atom("failed")>;     // A -> P
using register_atom = caf::atom_constant<caf::atom("register")>; // A -> P (reply: specs)
using tick_atom = caf::atom_constant<caf::atom("tick")>;         // P -> P, delayed messages
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;       // P -> P, passivation
using peers_atom = caf::atom_constant<caf::atom("peers")>;       // node -> P (reply: ok)
using stop_atom = caf::atom_constant<caf::atom("stop")>;         // P -> A, passivate
using deadlist_atom = caf::atom_constant<caf::atom("deadlist")>; // node -> P
using replay_atom = caf::atom_constant<caf::atom("replay")>;     // node -> P
using drop_atom = caf::atom_constant<caf::atom("drop")>;         // node -> P
using stats_atom = caf::atom_constant<caf::atom("stats")>;       // node -> P
using barrier_atom = caf::atom_constant<caf::atom("barrier")>;   // C -> source -> P -> P
using completed_atom = caf::atom_constant<caf::atom("completed")>; // C -> P
using part_atom = caf::atom_constant<caf::atom("part")>;         // writer -> C
using write_atom = caf::atom_constant<caf::atom("write")>;       // P -> writer
using log_atom = caf::atom_constant<caf::atom("log")>;           // log writer -> source
using final_atom = caf::atom_constant<caf::atom("final")>;       // node -> C
using setup_atom = caf::atom_constant<caf::atom("setup")>;       // node -> C, source

} // namespace hearth::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::envelope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::effects)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::failure)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::spec_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::registration)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::partition_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::part_ack)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::state::part_extras)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<hearth::state::ingress_record>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::dead_letter_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::io::function_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::protocol::invocation)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::protocol::function_type)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<hearth::protocol::invocation>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<caf::actor>)
