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
// In a cluster (docs/cluster.md) the node's pipeline lives for one epoch:
// every new view tears it down; the node then restores the key groups the
// view places on it from the checkpoint the coordinator names, spawns its
// partitions and source, reports them to the coordinator through the cluster
// agent, and starts them once every member has (actors/epoch_assembly.hpp). A
// failure of its own pipeline, or the loss of a remote part of it, asks the
// coordinator for a new epoch. Its ingress log and gate outlive the epochs:
// messages are taken (durably) while the pipeline is rebuilt, and applied
// once it runs. The admin calls reach every partition of the cluster.
//
// Threading: every public member function blocks its caller until the actors
// answer, so it must be called from a non-CAF thread (an HTTP server thread or
// main), never from inside an actor; the cluster_* calls are the exception:
// they never block (the cluster agent calls them).

#include "actors/epoch_assembly.hpp"
#include "actors/health_board.hpp"
#include "actors/kafka_egress.hpp"
#include "actors/kinesis_egress.hpp"
#include "actors/ingress_gate.hpp"
#include "actors/metrics.hpp"
#include "actors/messages.hpp"
#include "actors/partition.hpp"
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

using cluster_view_ptr = std::shared_ptr<const cluster_view>;

struct node_options {
  std::string data_dir = "hearth-data";
  std::string checkpoint_dir;                // empty: <data_dir>/checkpoints
  /// Where checkpoints live when not in a directory (S3); checkpoint_dir is
  /// then its local cache (state/object_store.hpp).
  std::shared_ptr<state::object_store> checkpoint_store;
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
  /// How long an admin call waits for a partition's (or the checkpoint
  /// coordinator's) answer before it fails with errc::unavailable.
  std::chrono::milliseconds admin_timeout{30'000};
  /// A cluster member: the pipeline waits for the cluster's epochs
  /// (cluster_view, cluster_restore, cluster_go).
  bool clustered = false;
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

  /// deliver() without a thread waiting: `done` is called once, when
  /// deliver() would return, on whichever thread learns it (this one for an
  /// early refusal, the log writer, a partition, the gate's timer); it must
  /// not block.
  using delivered = std::function<void(result<delivery>)>;
  void deliver_async(const protocol::address& target, protocol::typed_value value,
                     const std::string& idempotency_key,
                     std::optional<std::chrono::milliseconds> wait_applied, delivered done);

  /// The durable egress topics of this node (null when the module declares no egress).
  std::shared_ptr<state::egress_store> egress() const { return egress_; }

  /// Pops the oldest record of `topic` from this node's egress store, or,
  /// when it has none, from another member's (each record is in one store
  /// only). nullopt when every store that answered is empty.
  result<std::optional<std::string>> pop_egress(const std::string& topic);

  // -- cluster (called by the cluster agent; never block) ---------------------

  /// The agent's handle: where ready, running and renew reports go.
  void set_cluster_agent(caf::actor agent);
  /// A new view: the pipeline of an older epoch is torn down; a fenced node
  /// (or one left out) runs none until it is a member again. On the
  /// coordinator, the epoch's checkpoint coordinator is started and the
  /// checkpoint to restore chosen.
  void cluster_view_changed(const cluster_view& v, bool fenced);
  /// Epoch `epoch` restores checkpoint `checkpoint` (0: none) and reports
  /// to checkpoint coordinator `coordinator`: build this node's part.
  void cluster_restore(std::uint64_t epoch, std::uint64_t checkpoint, caf::actor coordinator);
  /// Every member built its part of `w.epoch`: connect and start this node's.
  void cluster_go(cluster_wiring w);

  /// Dead letters of all partitions, oldest first: at most `limit`, taken
  /// from at most `limit` per partition in storage order. As every call on
  /// dead letters: errc::unavailable when a partition asked does not answer
  /// within admin_timeout.
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
  /// page [offset, offset + limit). errc::unavailable, naming it, when a
  /// partition (on this node or another) does not answer within
  /// admin_timeout: a listing is never silently short.
  result<std::pair<std::uint64_t, std::vector<actor_summary>>>
  actors(actor_query q, std::uint64_t offset, std::uint64_t limit);

  /// Everything known about address `a` (`known` is false when nothing is);
  /// errc::unavailable when its owner does not answer within admin_timeout
  /// (never "nothing known" for a partition that was not heard).
  result<address_detail> inspect(const protocol::address& a);

  /// The newest completed checkpoints, oldest first; errc::unavailable when
  /// the checkpoint coordinator (on this node or another) does not answer
  /// within admin_timeout.
  result<std::vector<checkpoint_info>> checkpoints();

  /// Takes a checkpoint now (or joins the one running) and waits for it.
  result<checkpoint_info> trigger_checkpoint(std::chrono::milliseconds timeout);

  const io::module_config& module() const { return *module_; }
  metrics& stats_registry() { return *metrics_; }
  /// The newest checkpoint this node saw complete (a cluster's: the coordinator's).
  const health_board& board() const { return *board_; }
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
  /// Everything rebuilt from the newest checkpoint: the actors (and on a
  /// single node the log and the gate).
  struct pipeline;
  /// The ingress log, its gate, and where durable records go.
  struct ingress_side;
  /// Where failures and cluster events are reported, from any thread, and
  /// the supervisor waits.
  struct fault_line;
  struct cluster_event;

  node() = default;
  /// Opens the ingress log (a new one starts at `first_offset`) and its writer.
  result<std::shared_ptr<ingress_side>> open_ingress(std::uint64_t generation,
                                                     std::uint64_t first_offset = 0);
  result<std::shared_ptr<pipeline>> build(std::uint64_t generation);
  void teardown(pipeline& p);
  std::shared_ptr<pipeline> current() const;
  std::shared_ptr<ingress_side> ingress() const;
  error down() const;
  void supervise();
  void watch(const caf::actor& a, std::uint64_t generation, std::string what);
  /// Spawns local partition `local` of `p` (with its snapshot writer, which
  /// reports to p.coordinator) from `cfg`'s placement fields, and watches both.
  void spawn_partition(pipeline& p, std::uint32_t local, partition_config cfg);
  /// The partition that owns `kg` in the running pipeline (null: none).
  caf::actor owner_of(const pipeline& p, protocol::key_group kg) const;
  /// The error of an admin call that global partition `global_partition`
  /// did not answer (`why`: sec::request_timeout after admin_timeout, or its refusal).
  error not_answered(size_t global_partition, const caf::error& why) const;
  /// The same for `who` ("the checkpoint coordinator").
  error not_answered(const std::string& who, const caf::error& why) const;
  /// Asks the partition that owns `kg` `question` (actors/ask.hpp) and waits
  /// at most admin_timeout for its T.
  template <class T, class... Ts>
  result<T> ask_owner(protocol::key_group kg, const Ts&... question);

  // Cluster mode (node_cluster.cpp), all on the supervisor's thread.
  void supervise_cluster();
  void apply_fault(const std::string& why);
  void apply_view(const cluster_view_ptr& v, bool fenced);
  void apply_restore(std::uint64_t epoch, std::uint64_t checkpoint, caf::actor coordinator);
  void apply_go(cluster_wiring w);
  result<std::shared_ptr<pipeline>> build_part(std::uint64_t generation, std::uint64_t checkpoint,
                                               caf::actor coordinator);
  void ask_renew(const std::string& why);
  caf::actor agent_handle() const;

  /// Spawns the module's Kafka and Kinesis ingresses of `p` (after its source started):
  /// this node's share (`member` of `members`) of their partitions, from the
  /// positions `restored`.
  void spawn_connectors(pipeline& p, const std::map<std::string, std::string>& restored,
                        std::uint32_t member, std::uint32_t members);

  caf::actor_system* sys_ = nullptr;
  node_options opts_;
  std::shared_ptr<const io::module_config> module_;
  std::shared_ptr<io::function_client> client_;
  std::shared_ptr<state::checkpoint_files> files_;
  std::vector<std::shared_ptr<state::store>> stores_;
  std::shared_ptr<state::egress_store> egress_;
  std::vector<std::unique_ptr<kafka_egress>> kafka_out_; // one pump per Kafka egress
  std::vector<std::unique_ptr<kinesis_egress>> kinesis_out_; // one pump per Kinesis egress
  std::shared_ptr<metrics> metrics_ = std::make_shared<metrics>();
  std::shared_ptr<health_board> board_ = std::make_shared<health_board>();
  std::shared_ptr<fault_line> faults_;
  std::shared_ptr<pipeline> pipe_; // null while the partitions are down; guarded by faults_
  std::thread supervisor_;
  std::atomic<bool> stopping_{false};
  int lock_fd_ = -1;

  // Cluster mode: the ingress outlives the epochs; the gate and egress actors
  // answer other nodes. The rest belongs to the supervisor's thread.
  std::shared_ptr<ingress_side> cluster_in_; // guarded by faults_
  caf::actor agent_;                          // guarded by faults_
  caf::actor gate_actor_;
  caf::actor egress_actor_;
  cluster_view_ptr view_;                     // the newest view adopted
  bool fenced_ = true;
  std::uint64_t failed_epoch_ = 0;            // this node's pipeline of that epoch failed
  std::atomic<bool> draining_{false};         // this node is drained: it takes no new messages
  std::chrono::steady_clock::time_point leave_at_{}; // asks to leave again then
  caf::actor staged_coordinator_;             // the coordinator's, until its part is built
  std::chrono::steady_clock::time_point renew_at_{}; // asks for a new epoch again then
};

} // namespace hearth::actors
