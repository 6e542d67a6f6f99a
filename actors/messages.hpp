#pragma once

// Messages between the node, partition supervisors and address actors. Local
// to one node for now; the types that will cross nodes get inspect() overloads
// when clustering arrives.

#include "actors/instance_state.hpp"
#include "io/function_client.hpp"
#include "protocol/messages.hpp"
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
using freeze_atom = caf::atom_constant<caf::atom("freeze")>;     // node -> P (reply: ok)
using marker_atom = caf::atom_constant<caf::atom("marker")>;     // P -> P, end of channel
using collect_atom = caf::atom_constant<caf::atom("collect")>;   // P -> A (reply: invocations)
using stop_atom = caf::atom_constant<caf::atom("stop")>;         // P -> A, passivate
using deadlist_atom = caf::atom_constant<caf::atom("deadlist")>; // node -> P
using replay_atom = caf::atom_constant<caf::atom("replay")>;     // node -> P
using drop_atom = caf::atom_constant<caf::atom("drop")>;         // node -> P
using stats_atom = caf::atom_constant<caf::atom("stats")>;       // node -> P

} // namespace hearth::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::envelope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::effects)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::failure)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::spec_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::registration)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::partition_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::dead_letter_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::io::function_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::protocol::invocation)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::protocol::function_type)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<hearth::protocol::invocation>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<caf::actor>)
