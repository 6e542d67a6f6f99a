#pragma once

// The address actor: one per live function instance (namespace/type + id),
// spawned by its partition on the first message and stopped by it when idle.
//
// It owns the instance's state values while alive and enforces serial
// invocation with a batcher: one request in flight, the rest batched. It
// builds the ToFunction, hands it to the function client (whose callback comes
// back as a message), runs the missing-state handshake, and returns the
// effects of each batch to its partition, which applies and persists them.
// It never touches LMDB.

#include "actors/messages.hpp"
#include "io/module.hpp"

#include <caf/all.hpp>

#include <memory>

namespace hearth::actors {

struct address_actor_config {
  protocol::address self;
  io::endpoint_spec endpoint;
  std::shared_ptr<io::function_client> client;
  caf::actor partition;
  spec_list specs;                                  // registered for this type
  std::map<std::string, state::stored_value> values; // loaded from the store
};

caf::behavior address_actor(caf::event_based_actor* self, address_actor_config cfg);

} // namespace hearth::actors
