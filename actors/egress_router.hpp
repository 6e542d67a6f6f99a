#pragma once

// actors::egress_router: where a function's egress messages go. It checks
// each one (a declared egress id: the playground egress with a decodable
// EgressRecord of a declared topic, or a Kafka egress with a decodable
// KafkaProducerRecord naming a topic) and numbers the good ones; the others
// become dead letters. Records of an exactly-once egress are held until the
// checkpoint that will contain them completes: the checkpoint records what
// is held, and the coordinator releases what it recorded. Records of an
// at-least-once (or Kafka `none`) egress are appended to the egress store
// by the partition at once, after its own commit. A Kafka egress's records
// wait in the store's queue kafka_queue(id) until its pump has produced them.
//
// Not thread-safe; owned by one partition actor.

#include "actors/dead_letters.hpp"
#include "io/module.hpp"
#include "protocol/messages.hpp"
#include "state/egress_store.hpp"
#include "state/store.hpp"

#include <cstdint>
#include <vector>

namespace hearth::actors {

struct routed_egress {
  std::vector<state::egress_entry> records; // exactly-once: numbered, in list order
  std::vector<state::egress_entry> now;     // visible at once (at-least-once, none)
  std::vector<undeliverable> rejected;           // to dead-letter in the source's key group
};

class egress_router {
public:
  /// `enabled`: the node has an egress store (the module declares an egress).
  egress_router(const io::module_config& module, bool enabled)
    : module_(module), enabled_(enabled) {}

  /// Checks the egress messages of a batch of `source`; numbers come from `store`.
  routed_egress route(state::store& store, const protocol::address& source,
                      const std::vector<protocol::egress_message>& messages) const;

  /// Holds committed records until checkpoint `first_checkpoint` (the first
  /// that will contain them) completes.
  void hold(std::vector<state::egress_entry> records, std::uint64_t first_checkpoint);

  /// The records held now (a checkpoint recording takes them).
  std::vector<state::egress_entry> held() const;

  /// Checkpoint `id` completed: the records it contains are released by the
  /// coordinator, so they are no longer held here.
  void completed(std::uint64_t id);

  size_t held_count() const { return held_.size(); }

private:
  struct held_record {
    std::uint64_t first_checkpoint = 0;
    state::egress_entry entry;
  };
  bool known_topic(const std::string& topic) const;

  const io::module_config& module_;
  bool enabled_;
  std::vector<held_record> held_;
};

} // namespace hearth::actors
