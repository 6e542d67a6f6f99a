#pragma once

// Messages between the node, partition supervisors and address actors. The
// types that cross nodes have inspect() overloads (here; the protocol's and
// the state's in inspect.hpp) and are registered in wire.hpp; the others
// (declared unsafe at the end) are local to a node.

#include "actors/inspect.hpp"
#include "actors/instance_state.hpp"
#include "io/function_client.hpp"
#include "protocol/messages.hpp"
#include "state/checkpoint_files.hpp"
#include "state/ingress_log.hpp"
#include "state/format.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hearth::actors {

/// A message on its way to an address.
struct envelope {
  protocol::address target;
  protocol::invocation inv;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, envelope& x) {
  return f(caf::meta::type_name("hearth::envelope"), x.target, x.inv);
}

/// Where a node's source stands at a checkpoint barrier: the first ingress
/// log offset not sent before it, and, per connector stream it reads
/// ("kafka/<ingress>/<topic>/<partition>"), the position of the first
/// record not sent before it.
struct source_position {
  std::uint64_t log = 0;
  std::map<std::string, std::string> connectors;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, source_position& x) {
  return f(caf::meta::type_name("hearth::source_position"), x.log, x.connectors);
}

/// The offset of an ingress message that has no ticket (a connector's:
/// nobody waits for it).
inline constexpr std::uint64_t no_ticket = ~std::uint64_t{0};

/// Ingress records a source sends to one partition in one message, in
/// offset order: each envelope with its log offset (no_ticket: nobody waits).
struct ingress_batch {
  std::vector<std::uint64_t> offsets;
  std::vector<envelope> envelopes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ingress_batch& x) {
  return f(caf::meta::type_name("hearth::ingress_batch"), x.offsets, x.envelopes);
}

/// Records a connector ingress (Kafka) hands to its node's source: each
/// envelope is sent as it is, then `positions` (stream -> position of the
/// next record) are where the stream stands.
struct connector_batch {
  std::vector<envelope> envelopes;
  std::map<std::string, std::string> positions;
};

/// What an address actor hands to its partition after a successful batch:
/// everything the partition must apply in one step, in StateFun's order.
struct effects {
  protocol::address source;
  std::uint32_t completed = 0;        // invocations of the batch
  std::uint32_t latency_ms = 0;       // of the function call that answered
  std::vector<protocol::outgoing_message> outgoing;
  std::vector<protocol::delayed_message> delayed;
  std::vector<protocol::egress_message> egresses;
  std::vector<state_change> changes;  // state puts and deletes
};

/// A batch that failed for good (budget spent, type conflict, ...).
struct failure {
  protocol::address source;
  std::uint32_t latency_ms = 0;       // time spent on the failed call, retries included
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

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, part_ack& x) {
  return f(caf::meta::type_name("hearth::part_ack"), x.checkpoint, x.partition, x.chain, x.egress,
           x.messages, x.bytes);
}

/// A completed checkpoint, as the admin API lists it.
struct checkpoint_info {
  std::uint64_t id = 0;
  std::int64_t time_ms = 0;       // when it completed
  std::int64_t duration_ms = 0;   // from the barrier to the manifest
  std::uint64_t bytes = 0;        // written for it (its own part files)
  std::uint32_t full_parts = 0;   // partitions that wrote a full part
  std::uint64_t messages = 0;     // in-flight messages it holds
  std::uint64_t ingress_position = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint_info& x) {
  return f(caf::meta::type_name("hearth::checkpoint_info"), x.id, x.time_ms, x.duration_ms,
           x.bytes, x.full_parts, x.messages, x.ingress_position);
}

/// Counters a partition reports to /health.
struct partition_stats {
  std::uint32_t partition = 0;
  std::uint64_t live_addresses = 0;
  std::uint64_t pending_invocations = 0;
  std::uint64_t backlog_messages = 0;         // waiting on disk behind full addresses
  std::uint64_t invocations_completed = 0;
  std::uint64_t effect_commits = 0;           // group commits of finished batches' effects
  std::uint64_t dead_letters_written = 0;
  std::uint64_t invocation_failures = 0;      // invocations whose call failed for good
  std::vector<std::string> registered_types; // function types with registered state
  std::vector<std::uint32_t> latencies_ms;    // of the most recent function calls
};

/// One finished batch of an address, for inspection.
struct invocation_record {
  std::int64_t time_ms = 0;
  std::uint32_t invocations = 0;
  bool failed = false;
  std::vector<std::string> states_changed;
  std::uint32_t messages_sent = 0;
  std::uint32_t delayed = 0;
  std::uint32_t egress_records = 0;
  std::string failure; // the reason, when failed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, invocation_record& x) {
  return f(caf::meta::type_name("hearth::invocation_record"), x.time_ms, x.invocations, x.failed,
           x.states_changed, x.messages_sent, x.delayed, x.egress_records, x.failure);
}

/// A live address actor, as the admin API lists it.
struct actor_summary {
  protocol::address address;
  std::uint64_t pending = 0;     // messages received, not yet completed (mailbox depth)
  bool busy = false;             // a batch is in flight
  std::int64_t last_invocation_ms = 0;
  std::uint64_t invocations = 0;
  std::uint64_t failures = 0;
  std::string node;              // the node that runs it (a cluster member's id; empty alone)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_summary& x) {
  return f(caf::meta::type_name("hearth::actor_summary"), x.address, x.pending, x.busy,
           x.last_invocation_ms, x.invocations, x.failures, x.node);
}

/// Which live actors to list.
struct actor_query {
  std::string type;   // "ns/name", empty: all
  std::string prefix; // id prefix
  std::uint64_t limit = 100; // entries wanted from offset 0 (the node pages)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_query& x) {
  return f(caf::meta::type_name("hearth::actor_query"), x.type, x.prefix, x.limit);
}

/// A page of live actors from one partition, sorted by address.
struct actor_page {
  std::uint64_t total = 0; // matching actors in the partition
  std::vector<actor_summary> actors;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_page& x) {
  return f(caf::meta::type_name("hearth::actor_page"), x.total, x.actors);
}

/// Everything the admin API shows about one address.
struct address_detail {
  bool known = false; // live, or with state, delayed messages or pending messages
  bool live = false;
  std::map<std::string, state::stored_value> states;
  std::vector<protocol::state_spec> specs;
  std::vector<protocol::invocation> pending;
  std::vector<state::delayed_record> delayed; // sent by this address, not yet due
  std::vector<invocation_record> recent;
  actor_summary summary;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, address_detail& x) {
  return f(caf::meta::type_name("hearth::address_detail"), x.known, x.live, x.states, x.specs,
           x.pending, x.delayed, x.recent, x.summary);
}

/// A dead letter as listed by the admin API.
using dead_letter_list = std::vector<state::dead_letter>;

// Atoms (at most 10 characters each).
using ingress_atom = caf::atom_constant<caf::atom("ingress")>;   // source -> P: ingress_batch
using route_atom = caf::atom_constant<caf::atom("route")>;       // P -> P
using invoke_atom = caf::atom_constant<caf::atom("invoke")>;     // P -> A
using reply_atom = caf::atom_constant<caf::atom("reply")>;       // I/O thread -> A
using effects_atom = caf::atom_constant<caf::atom("effects")>;   // A -> P
using failed_atom = caf::atom_constant<caf::atom("failed")>;     // A -> P
using flush_atom = caf::atom_constant<caf::atom("flush")>;       // P -> courier -> P: commit the staged effects
using gflush_atom = caf::atom_constant<caf::atom("gflush")>;     // P -> P: send the remote gates' reports
using register_atom = caf::atom_constant<caf::atom("register")>; // A -> P (reply: specs)
using tick_atom = caf::atom_constant<caf::atom("tick")>;         // P -> P, delayed messages
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;       // P -> P, passivation
using peers_atom = caf::atom_constant<caf::atom("peers")>;       // node -> P (reply: ok)
using stop_atom = caf::atom_constant<caf::atom("stop")>;         // P -> A, passivate
// "? T": a question that may come from another node; it carries a reply_to
// as its last element and is answered with a T (actors/ask.hpp).
using deadlist_atom = caf::atom_constant<caf::atom("deadlist")>; // node -> P: limit ? dead_letter_list
using deadone_atom = caf::atom_constant<caf::atom("deadone")>;   // node -> P: kg, seq ? dead_letter_list (0 or 1)
using replay_atom = caf::atom_constant<caf::atom("replay")>;     // node -> P: kg, seq ? int64
using drop_atom = caf::atom_constant<caf::atom("drop")>;         // node -> P: kg, seq ? bool
using stats_atom = caf::atom_constant<caf::atom("stats")>;       // node -> local P, source (reply)
using barrier_atom = caf::atom_constant<caf::atom("barrier")>;   // C -> source: id ? source_position; P -> P
using sbarrier_atom = caf::atom_constant<caf::atom("sbarrier")>; // source -> P
using completed_atom = caf::atom_constant<caf::atom("completed")>; // C -> P
using part_atom = caf::atom_constant<caf::atom("part")>;         // writer -> C
using part_failed_atom = caf::atom_constant<caf::atom("partfail")>; // writer -> C
using write_atom = caf::atom_constant<caf::atom("write")>;       // P -> writer
using log_atom = caf::atom_constant<caf::atom("log")>;           // log writer -> source
using setup_atom = caf::atom_constant<caf::atom("setup")>;       // node -> C, source
using actors_atom = caf::atom_constant<caf::atom("actors")>;     // node -> P: actor_query ? actor_page
using inspect_atom = caf::atom_constant<caf::atom("inspect")>;   // node -> P: address ? address_detail
using history_atom = caf::atom_constant<caf::atom("history")>;   // node -> C: ? vector<checkpoint_info>
using trigger_atom = caf::atom_constant<caf::atom("trigger")>;   // node, agent -> C: ? checkpoint_info (one now)
using connector_atom = caf::atom_constant<caf::atom("connector")>; // connector -> source (reply: ok once fed)
using room_atom = caf::atom_constant<caf::atom("room")>;         // source -> P: ? ok_atom once not over max_pending

} // namespace hearth::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::effects)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::connector_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::failure)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::registration)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::actors::partition_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::state::part_extras)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<hearth::state::ingress_record>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hearth::io::function_reply)
