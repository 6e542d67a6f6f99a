#pragma once

// actors::node: the runtime of one Hearth node: its partitions and their
// stores, the durable ingress log, the checkpoint coordinator, the egress
// store, and the blocking entry points the HTTP servers call.
//
// Start restores the newest completed checkpoint (or starts empty), then
// re-delivers the messages that were in flight in it and replays the ingress
// log from its position. Shutdown takes a final checkpoint.
//
// Failures (docs/faults.md): when a partition stops (a failed write, or any
// other end) or the ingress log stops (a failed write or fsync), the node
// stops every partition, the source, the coordinator and the log, and builds
// them again from the newest checkpoint, as a restart of the process would,
// but without one. Meanwhile the ingress answers errc::unavailable with the
// reason; a rebuild that fails (a full disk) is tried again with backoff.
//
// Threading: every public member function blocks its caller until the actors
// answer, so it must be called from a non-CAF thread (an HTTP server thread or
// main), never from inside an actor.

#include "actors/health_board.hpp"
#include "actors/ingress_gate.hpp"
#include "actors/metrics.hpp"
#include "actors/messages.hpp"
#include "io/function_client.hpp"
#include "io/module.hpp"
#include "state/checkpoint_files.hpp"
#include "state/egress_store.hpp"
#include "state/ingress_log.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace hearth::actors {

struct node_options {
  std::string data_dir = "hearth-data";
  std::string checkpoint_dir;                // empty: <data_dir>/checkpoints
  std::uint32_t partitions = 2;
  std::uint32_t max_key_groups = 128;
  std::chrono::milliseconds idle{60'000};
  size_t max_live = 100'000;                 // per partition
  size_t max_pending = 10'000;               // per partition: ingress waits beyond it
  /// Senders that may wait for room at once: beyond it a message for an
  /// address known to be full is refused (503) before it is logged, and one
  /// logged meanwhile is answered without waiting. Keep it below the ingress
  /// server's threads, so that other addresses keep flowing.
  size_t max_waiting = 48;
  std::chrono::milliseconds checkpoint_interval{1000};
  size_t checkpoints_kept = 3;
  std::uint64_t full_every = 10;
  std::chrono::milliseconds idempotency_retention{std::chrono::hours{1}};
  size_t map_size = size_t{1} << 34;         // LMDB map of each partition's store, bytes
  std::uint64_t min_free_bytes = 64ull << 20; // /health fails below this much free disk
  std::chrono::milliseconds max_checkpoint_age{60'000}; // /health fails beyond it
  /// Non-empty: the node runs no partitions and answers every message with
  /// errc::unavailable and this reason (a cluster member, until messages
  /// are routed across nodes).
  std::string not_serving;
  /// A cluster member's id: a `node` label on its metrics (empty: none).
  std::string node_id;
  /// The storage seam of every store, log and checkpoint file (tests make writes fail).
  state::storage_env* env = &state::storage_env::standard();
};

/// What /health, /livez and /readyz report.
struct node_health {
  bool ready = false;               // partitions running, ingress log writable
  std::vector<std::string> problems; // empty: healthy
  std::string pipeline;             // "running", or why the partitions are down
  std::uint64_t restarts = 0;       // rebuilds after failures since start
  std::int64_t checkpoint_age_ms = 0;
  std::uint64_t last_checkpoint = 0;
  std::string checkpoint_failure;   // of the newest attempt, if it failed
  std::uint64_t data_free_bytes = 0;
  std::uint64_t checkpoint_free_bytes = 0;
  std::vector<partition_stats> partitions; // of those that answered
  std::uint64_t replay_remaining = 0; // ingress-log records the replay has yet to send
};

/// What the ingress tells its sender.
struct delivery {
  std::uint64_t offset = 0;
  bool duplicate = false; // the idempotency key was already accepted
  /// Only when the sender asked to wait for the invocation: the batch that
  /// carried it, or why it is not known to be applied (timeout, dead-lettered
  /// on arrival, shutdown).
  std::optional<invocation_record> applied;
  std::string not_applied;
};

class node {
public:
  ~node();

  /// Opens the stores, restores the newest checkpoint, spawns the actors and
  /// replays the ingress log. Fails with errc::io (storage) or errc::conflict
  /// (another layout, or the data dir is in use).
  static result<std::unique_ptr<node>> start(caf::actor_system& sys, node_options opts,
                                             std::shared_ptr<const io::module_config> module,
                                             std::shared_ptr<io::function_client> client);

  /// Logs a message from outside durably (fsync) and returns once its address
  /// has accepted it (back-pressure: waits while the address holds
  /// maxNumBatchRequests messages). With an idempotency key already accepted
  /// within the retention window, nothing is logged again. errc::unknown for
  /// an unknown function type, errc::malformed for an address too long to
  /// store, errc::unavailable when the node is shutting down or the log fails.
  /// With `wait_applied`, returns once the invocation is applied (its batch's
  /// effects committed, or the batch failed for good) or that time has passed;
  /// a duplicate returns at once.
  result<delivery> deliver(const protocol::address& target, protocol::typed_value value,
                           const std::string& idempotency_key = {},
                           std::optional<std::chrono::milliseconds> wait_applied = {});

  /// The durable egress topics (null when the module declares no egress).
  std::shared_ptr<state::egress_store> egress() const { return egress_; }

  /// Dead letters of all partitions, oldest first: at most `limit`, taken
  /// from at most `limit` per partition in storage order.
  result<dead_letter_list> dead_letters(size_t limit = 1000);

  /// Dead letter `id` ("<keygroup>-<seq>"), asked of its partition only.
  /// errc::unknown when there is none (or the id is not one).
  result<state::dead_letter> dead_letter(const std::string& id);

  /// Re-delivers dead letter `id` ("<keygroup>-<seq>") and removes it;
  /// returns the number of messages. errc::unknown for an unknown id,
  /// errc::conflict when it holds nothing that can be re-delivered.
  result<size_t> replay(const std::string& id);

  /// Removes dead letter `id`. errc::unknown for an unknown id.
  status drop(const std::string& id);

  /// Counters of every partition.
  std::vector<partition_stats> stats();

  /// Live address actors matching `q`, sorted by address: the total and the
  /// page [offset, offset + limit).
  std::pair<std::uint64_t, std::vector<actor_summary>> actors(actor_query q, std::uint64_t offset,
                                                              std::uint64_t limit);

  /// Everything known about address `a` (`known` is false when nothing is).
  address_detail inspect(const protocol::address& a);

  /// The newest completed checkpoints, oldest first.
  std::vector<checkpoint_info> checkpoints();

  /// Takes a checkpoint now (or joins the one running) and waits for it.
  result<checkpoint_info> trigger_checkpoint(std::chrono::milliseconds timeout);

  const io::module_config& module() const { return *module_; }
  metrics& stats_registry() { return *metrics_; }
  const node_options& options() const { return opts_; }

  /// The checkpoint restored at start, or at the last rebuild (0: none).
  std::uint64_t restored_checkpoint() const;

  /// The truth about this node: see node_health.
  node_health health();

  /// Refuses new messages, answers the waiting ones, and takes a final
  /// checkpoint (waits for it, at most `timeout`). Returns the number of
  /// unfinished messages the checkpoint holds. Call once.
  std::uint64_t shutdown(std::chrono::milliseconds timeout = std::chrono::minutes{1});

  /// The id of a dead letter, as the admin API shows it.
  static std::string dead_letter_id(const state::dead_letter& d);

private:
  /// Everything rebuilt from the newest checkpoint: the log, the gate and the actors.
  struct pipeline;
  /// Where failures are reported, from any thread, and the supervisor waits.
  struct fault_line;

  node() = default;
  result<std::shared_ptr<pipeline>> build(std::uint64_t generation);
  void teardown(pipeline& p);
  std::shared_ptr<pipeline> current() const;
  error down() const;
  void supervise();

  caf::actor_system* sys_ = nullptr;
  node_options opts_;
  std::shared_ptr<const io::module_config> module_;
  std::shared_ptr<io::function_client> client_;
  std::shared_ptr<state::checkpoint_files> files_;
  std::vector<std::shared_ptr<state::store>> stores_;
  std::shared_ptr<state::egress_store> egress_;
  std::shared_ptr<metrics> metrics_ = std::make_shared<metrics>();
  std::shared_ptr<health_board> board_ = std::make_shared<health_board>();
  std::shared_ptr<fault_line> faults_;
  std::shared_ptr<pipeline> pipe_; // null while the partitions are down; guarded by faults_
  std::thread supervisor_;
  std::atomic<bool> stopping_{false};
  int lock_fd_ = -1;
};

} // namespace hearth::actors
