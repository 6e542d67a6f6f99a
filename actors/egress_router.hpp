#pragma once

// actors::egress_router: where a function's egress messages go. It checks
// each one (the playground egress by its id, a decodable EgressRecord, a
// topic the module declares) and numbers the good ones; the others become
// dead letters. With exactly-once delivery (the default), the records of a
// batch are held until the checkpoint that will contain them completes: the
// checkpoint records what is held, and the coordinator releases what it
// recorded. With at-least-once delivery the partition appends them to the
// egress store at once, after its own commit.
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
  std::vector<state::egress_entry> records; // numbered, in list order
  std::vector<undeliverable> rejected;           // to dead-letter in the source's key group
};

class egress_router {
public:
  /// `enabled`: the node has an egress store (the module declares the egress).
  egress_router(const io::module_config& module, bool enabled)
    : module_(module), enabled_(enabled),
      at_least_once_(enabled && module.egress && module.egress->at_least_once) {}

  /// Checks the egress messages of a batch of `source`; numbers come from `store`.
  routed_egress route(state::store& store, const protocol::address& source,
                      const std::vector<protocol::egress_message>& messages) const;

  /// Records are visible at once (at-least-once), not held.
  bool at_least_once() const { return at_least_once_; }

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
  bool at_least_once_;
  std::vector<held_record> held_;
};

} // namespace hearth::actors
