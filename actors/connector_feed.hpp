#pragma once

// actors::hand_over: how a connector ingress (Kafka, Kinesis) gives its
// records to its node's source: one batch at a time, the next read only once
// the source answered (its partitions have room: back-pressure). A source
// that failed ends the connector with the error (the node rebuilds the
// pipeline, the connector with it). A partition that ended is asked for room
// by the source until the rebuild stops the connector (the source's
// questions across nodes have no down detection: actors/ask.hpp).

#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <iostream>
#include <string>

namespace hearth::actors {

template <class Next>
void hand_over(caf::event_based_actor* self, const caf::actor& source, connector_batch batch,
               const std::string& who, Next next) {
  self->request(source, caf::infinite, connector_atom::value, std::move(batch))
    .then([=](caf::ok_atom) mutable { next(); },
          [=](caf::error& err) {
            std::cerr << "hearth-node: " << who << ": the source failed: "
                      << self->system().render(err) << std::endl;
            self->quit(err);
          });
}

} // namespace hearth::actors
