#pragma once

// actors::kinesis_egress: one pump (actors/egress_pump.hpp) per Kinesis
// egress and node, which puts the egress's records (queue kinesis_queue(id)
// of the egress store, appended by partitions right after their commit) to
// Kinesis with PutRecords, at most maxOutstandingRecords (and 500) per
// request. Records Kinesis refuses (throttling) are put again after a
// backoff until every one is stored; only then are they removed from the
// store. At-least-once, as StateFun's Kinesis egress: a crash in between
// puts some again.

#include "actors/egress_pump.hpp"
#include "actors/metrics.hpp"
#include "io/module.hpp"
#include "protocol/codec.hpp"
#include "state/egress_store.hpp"

#include <memory>
#include <string>

namespace hearth::io::kinesis {
class client;
} // namespace hearth::io::kinesis

namespace hearth::actors {

/// The egress store queue of Kinesis egress `id`.
std::string kinesis_queue(const protocol::function_type& id);

struct kinesis_egress_config {
  io::kinesis_egress_spec spec;
  std::shared_ptr<state::egress_store> store;
  std::shared_ptr<metrics> stats;
};

class kinesis_egress {
public:
  explicit kinesis_egress(kinesis_egress_config cfg);
  ~kinesis_egress();
  kinesis_egress(const kinesis_egress&) = delete;
  kinesis_egress& operator=(const kinesis_egress&) = delete;

private:
  status deliver(const egress_batch& batch, egress_pump& pump);

  kinesis_egress_config cfg_;
  std::unique_ptr<io::kinesis::client> client_; // the pump's thread only
  std::unique_ptr<egress_pump> pump_;           // last: stopped first
};

} // namespace hearth::actors
