#pragma once

// actors::node: the runtime of one Hearth node: its partitions, their stores,
// and the blocking entry points the HTTP servers call.
//
// Threading: every public member function blocks its caller until the actors
// answer, so it must be called from a non-CAF thread (an HTTP server thread or
// main), never from inside an actor.

#include "actors/messages.hpp"
#include "io/function_client.hpp"
#include "io/module.hpp"
#include "io/playground.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace hearth::actors {

struct node_options {
  std::string data_dir = "hearth-data";
  std::uint32_t partitions = 2;
  std::uint32_t max_key_groups = 128;
  std::chrono::milliseconds idle{60'000};
  size_t max_live = 100'000; // per partition
};

class node {
public:
  ~node();

  /// Opens one store per partition under data_dir/partitions/<p>, spawns the
  /// partition actors and re-delivers what the last shutdown persisted.
  /// Fails with errc::io (storage) or errc::conflict (the data dir was made
  /// with another partitions / max_key_groups setting).
  static result<std::unique_ptr<node>> start(caf::actor_system& sys, node_options opts,
                                             std::shared_ptr<const io::module_config> module,
                                             std::shared_ptr<io::function_client> client,
                                             std::shared_ptr<io::topic_queues> egress);

  /// Hands a message from outside to its address and returns once the
  /// address has accepted it (back-pressure: waits while the address is at its
  /// maxNumBatchRequests). errc::unknown for an unknown function type,
  /// errc::malformed for an address too long to store, errc::unavailable when
  /// the node is shutting down.
  status deliver(const protocol::address& target, protocol::typed_value value);

  /// Dead letters of all partitions (at most `limit`).
  result<dead_letter_list> dead_letters(size_t limit = 1000);

  /// Re-delivers dead letter `id` ("<keygroup>-<seq>") and removes it;
  /// returns the number of messages. errc::unknown for an unknown id,
  /// errc::conflict when it holds nothing that can be re-delivered.
  result<size_t> replay(const std::string& id);

  /// Removes dead letter `id`. errc::unknown for an unknown id.
  status drop(const std::string& id);

  /// Counters of every partition.
  std::vector<partition_stats> stats();

  /// Stops processing and persists everything unfinished (returns when it is
  /// durable). Call once, after the ingress stopped.
  void shutdown();

  /// The id of a dead letter, as the admin API shows it.
  static std::string dead_letter_id(const state::dead_letter& d);

private:
  node() = default;
  caf::actor_system* sys_ = nullptr;
  node_options opts_;
  std::shared_ptr<const io::module_config> module_;
  std::vector<caf::actor> partitions_;
  std::atomic<bool> stopping_{false};
};

} // namespace hearth::actors
