#pragma once

// actors::wire: the types that cross nodes over CAF's middleman, with their
// inspect() overloads and one function that registers all of them under
// stable names. Every node must register the same set (cluster notes: an
// unregistered type arrives as an empty message, silently), so a node runs
// check_wire_types() at start and refuses to join when any type fails to
// round-trip. A type that crosses nodes, or is a field of one, must never be
// declared with CAF_ALLOW_UNSAFE_MESSAGE_TYPE: such a type is not serialized
// at all, and as a field it is skipped without a word.
//
// Names are part of the wire format between nodes of one cluster: DO NOT
// CHANGE them without changing the cluster protocol version.

#include "actors/epoch_assembly.hpp"
#include "actors/membership.hpp"
#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <string>


namespace hearth::actors {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_terms& x) {
  return f(caf::meta::type_name("hearth::cluster_terms"), x.module, x.max_key_groups);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("hearth::member_info"), x.id, x.incarnation, x.host, x.port,
           x.partitions, x.draining);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_view& x) {
  return f(caf::meta::type_name("hearth::cluster_view"), x.epoch, x.coordinator, x.max_key_groups,
           x.members);
}

/// Registers every wire type in `cfg` (before the actor system is made).
void add_wire_types(caf::actor_system_config& cfg);

/// Round-trips one value of every wire type through CAF's binary format, as
/// a message between nodes would travel; the error names the first type
/// that does not come back equal.
status check_wire_types(caf::actor_system& sys);

} // namespace hearth::actors
