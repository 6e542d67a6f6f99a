#pragma once

// state::egress_store: the node's durable egress topics (playground egress).
// Records become visible here when released: exactly-once records when the
// checkpoint that produced them completes, at-least-once records at once. A
// reader pops the oldest record of a topic. Format: docs/storage.md, "Egress".
//
// Releasing is idempotent per partition: records carry a sequence number that
// increases per partition, and the store remembers the highest one released,
// so releasing a checkpoint's records again after a restore adds nothing.
//
// Thread-safe; every call is one short LMDB transaction. Called from HTTP
// threads, the coordinator and partitions.

#include "state/checkpoint_files.hpp"
#include "state/storage_env.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hearth::state {

class egress_store {
public:
  ~egress_store();
  /// Opens or creates the store in `dir`; every commit goes through `env`.
  static result<std::unique_ptr<egress_store>> open(const std::string& dir,
                                                    storage_env& env = storage_env::standard());

  /// Makes the records of partition `p` visible, skipping those with a
  /// sequence number already released for `p`. One transaction. In a
  /// cluster, `p` is a global partition of `epoch` (a partition's sequence
  /// numbers grow only within one placement); 0 on a single node.
  status release(std::uint32_t p, const std::vector<egress_entry>& records,
                 std::uint64_t epoch = 0);

  /// Makes records visible at once (at-least-once delivery).
  status append(const std::vector<egress_entry>& records);

  /// Removes and returns the oldest record of `topic`; nullopt when empty.
  result<std::optional<std::string>> pop(const std::string& topic);

  /// The oldest records of `topic`, at most `max`, with their numbers
  /// (increasing), without removing them: for a reader that removes them
  /// only once they are delivered elsewhere (a Kafka egress).
  result<std::vector<std::pair<std::uint64_t, std::string>>> peek(const std::string& topic,
                                                                  size_t max);

  /// Removes the records of `topic` numbered up to `through`. One transaction.
  status remove(const std::string& topic, std::uint64_t through);

  /// Records waiting in `topic`.
  result<size_t> size(const std::string& topic);

private:
  struct impl;
  explicit egress_store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace hearth::state
