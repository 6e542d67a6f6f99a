#include "actors/node.hpp"

#include "actors/ask.hpp"
#include "actors/coordinator.hpp"
#include "actors/kafka_ingress.hpp"
#include "actors/kinesis_ingress.hpp"
#include "actors/node_parts.hpp"
#include "actors/remote_gate.hpp"
#include "actors/partition.hpp"
#include "actors/source.hpp"
#include "state/store.hpp"

#include "state/atomic_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hearth::actors {

namespace {

/// The layout a data dir was created with: partitions and key groups must not
/// change under it (key groups would land in another partition's store).
result<int> check_layout(const node_options& opts) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(opts.data_dir, ec);
  if (ec)
    return error{errc::io, "cannot create data dir " + opts.data_dir + ": " + ec.message()};
  // One node per data dir: the lock is held until the process exits.
  auto lock_path = (fs::path{opts.data_dir} / "LOCK").string();
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (fd >= 0)
      ::close(fd);
    return error{errc::conflict, "data dir " + opts.data_dir
                                   + " is in use by another hearth-node (" + lock_path + ")"};
  }
  auto path = fs::path{opts.data_dir} / "LAYOUT";
  std::ostringstream want;
  want << "partitions=" << opts.partitions << "\nmax_key_groups=" << opts.max_key_groups << "\n";
  if (fs::exists(path)) {
    std::ifstream in{path};
    std::stringstream have;
    have << in.rdbuf();
    if (have.str() != want.str())
      return error{errc::conflict,
                   "data dir " + opts.data_dir + " was created with a different layout ("
                     + have.str() + "); start with the same --set partitions=... and "
                                    "max_key_groups=..., or use another --data-dir"};
    return fd;
  }
  if (auto s = state::write_atomically(path.string(), want.str()); !s) {
    ::close(fd);
    return s.err();
  }
  return fd;
}

/// Pops records of this node's egress store for other nodes (`pop, topic`
/// answers zero or one record). `store` may be null (no egress).
caf::behavior egress_pop_actor(caf::event_based_actor*, std::shared_ptr<state::egress_store> store) {
  return {[=](pop_atom, const std::string& topic, reply_to& r) {
    std::vector<std::string> out;
    if (store)
      if (auto rec = store->pop(topic); rec && *rec)
        out.push_back(std::move(**rec));
    answer(r, std::move(out));
  }};
}

/// The reason an actor gave for its end: the text it quit with, when there
/// is one (partitions quit with the failed write's message), or CAF's rendering.
std::string describe(caf::actor_system& sys, const caf::error& reason) {
  auto& ctx = reason.context();
  if (ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return sys.render(reason);
}

result<std::pair<std::uint16_t, std::uint64_t>> parse_id(const std::string& id,
                                                         std::uint32_t max_kg) {
  auto dash = id.find('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == id.size())
    return error{errc::unknown, "unknown dead letter '" + id + "'"};
  try {
    size_t used = 0;
    auto kg = std::stoul(id.substr(0, dash), &used);
    if (used != dash || kg >= max_kg)
      return error{errc::unknown, "unknown dead letter '" + id + "'"};
    auto seq = std::stoull(id.substr(dash + 1), &used);
    if (used != id.size() - dash - 1)
      return error{errc::unknown, "unknown dead letter '" + id + "'"};
    return std::pair<std::uint16_t, std::uint64_t>{static_cast<std::uint16_t>(kg), seq};
  } catch (...) {
    return error{errc::unknown, "unknown dead letter '" + id + "'"};
  }
}

} // namespace

node::~node() {
  if (faults_) {
    {
      std::lock_guard<std::mutex> g{faults_->mtx};
      faults_->stop = true;
    }
    faults_->cv.notify_all();
  }
  if (supervisor_.joinable())
    supervisor_.join();
  if (pipe_)
    teardown(*pipe_);
  if (staged_coordinator_) {
    caf::scoped_actor self{*sys_};
    caf::anon_send_exit(staged_coordinator_, caf::exit_reason::user_shutdown);
    self->wait_for(staged_coordinator_);
  }
  if (cluster_in_) {
    cluster_in_->gate->open_all();
    if (cluster_in_->log) {
      cluster_in_->log->stop();
      cluster_in_->log->close();
    }
  }
  for (auto* a : {&gate_actor_, &egress_actor_})
    if (*a)
      caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
  kafka_out_.clear(); // before the egress store they read closes
  kinesis_out_.clear();
  if (lock_fd_ >= 0)
    ::close(lock_fd_);
}

void node::teardown(pipeline& p) {
  // Waiting senders are answered first (their records are durable, and the
  // next pipeline replays them). Then the actors stop in the order of their
  // dependencies, each group ended before the next is told: no checkpoint
  // begins once the coordinator is gone, no partition works on after the
  // source stopped feeding it, and no snapshot writer outlives its job.
  // Stores stay open while a snapshot of them is alive (state::snapshot).
  // A cluster node's log and gate outlive its pipelines; only its own
  // actors are stopped (never another node's).
  if (p.own_ingress) {
    p.in->gate->open_all();
    if (p.in->log)
      p.in->log->stop();
  } else {
    p.in->feed({});
    p.in->gate->release_senders();
  }
  caf::scoped_actor self{*sys_};
  auto stop = [&](std::vector<caf::actor> group) {
    group.erase(std::remove(group.begin(), group.end(), caf::actor{}), group.end());
    for (auto& a : group)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    self->wait_for(group);
  };
  if (p.own_coordinator)
    stop({p.coordinator});
  stop(p.connectors);
  stop({p.source});
  stop(p.partitions);
  stop(p.writers);
  if (p.own_ingress && p.in->log)
    p.in->log->close(); // a rebuild opens the log again
}

std::string node::dead_letter_id(const state::dead_letter& d) {
  return std::to_string(d.kg.value) + "-" + std::to_string(d.seq);
}

result<std::unique_ptr<node>> node::start(caf::actor_system& sys, node_options opts,
                                          std::shared_ptr<const io::module_config> module,
                                          std::shared_ptr<io::function_client> client) {
  namespace fs = std::filesystem;
  auto lock = check_layout(opts);
  if (!lock)
    return lock.err();
  std::unique_ptr<node> n{new node()};
  n->lock_fd_ = *lock;
  n->sys_ = &sys;
  n->module_ = module;
  n->client_ = std::move(client);
  if (opts.checkpoint_dir.empty())
    opts.checkpoint_dir = (fs::path{opts.data_dir} / "checkpoints").string();
  n->opts_ = opts;
  n->faults_ = std::make_shared<fault_line>();
  n->metrics_ = std::make_shared<metrics>(opts.node_id);

  auto files = state::checkpoint_files::open(opts.checkpoint_dir, *opts.env, opts.checkpoint_store);
  if (!files)
    return files.err();
  n->files_ = std::make_shared<state::checkpoint_files>(std::move(*files));
  state::store_options sopts;
  sopts.map_size = opts.map_size;
  sopts.env = opts.env;
  for (std::uint32_t p = 0; p < opts.partitions; ++p) {
    auto dir = (fs::path{opts.data_dir} / "partitions" / std::to_string(p)).string();
    auto store = state::store::open(dir, sopts);
    if (!store)
      return store.err();
    n->stores_.emplace_back(std::move(*store));
  }
  auto check_targets = [&](const std::string& origin, const std::string& what,
                           const std::vector<io::ingress_route>& routes) -> status {
    for (auto& route : routes)
      for (auto& t : route.targets)
        if (!module->find_endpoint(t))
          return error{errc::unknown, origin + ": " + what + ", '" + route.name
                                        + "': no endpoint serves target '" + t.to_string() + "'"};
    return ok();
  };
  for (auto& k : module->kafka_ingresses)
    if (auto s = check_targets(k.origin, "Kafka ingress " + k.id.to_string(), k.topics); !s)
      return s.err();
  for (auto& k : module->kinesis_ingresses)
    if (auto s = check_targets(k.origin, "Kinesis ingress " + k.id.to_string(), k.streams); !s)
      return s.err();
  if (module->egress || !module->kafka_egresses.empty() || !module->kinesis_egresses.empty()) {
    auto eg = state::egress_store::open((fs::path{opts.data_dir} / "egress").string(), *opts.env);
    if (!eg)
      return eg.err();
    n->egress_ = std::shared_ptr<state::egress_store>{std::move(*eg)};
  }
  for (auto& k : module->kafka_egresses)
    n->kafka_out_.push_back(std::make_unique<kafka_egress>(
      kafka_egress_config{k, n->egress_, opts.node_id.empty() ? "node" : opts.node_id, n->metrics_}));
  for (auto& k : module->kinesis_egresses)
    n->kinesis_out_.push_back(
      std::make_unique<kinesis_egress>(kinesis_egress_config{k, n->egress_, n->metrics_}));
  n->faults_->generation = 1;
  if (opts.clustered) {
    // The ingress is open from the start: messages are taken (durably)
    // before the first epoch runs.
    auto in = n->open_ingress(0);
    if (!in)
      return in.err();
    n->cluster_in_ = std::move(*in);
    n->gate_actor_ = sys.spawn(gate_actor, std::shared_ptr<gate_port>{n->cluster_in_->gate});
    // Detached: a pop is an LMDB write transaction (with its sync).
    n->egress_actor_ = sys.spawn<caf::detached>(egress_pop_actor, n->egress_);
    n->faults_->down = "waiting for the cluster's first epoch";
    n->supervisor_ = std::thread([raw = n.get()] { raw->supervise_cluster(); });
    return n;
  }
  auto built = n->build(1);
  if (!built)
    return built.err();
  n->pipe_ = std::move(*built);
  n->supervisor_ = std::thread([raw = n.get()] { raw->supervise(); });
  return n;
}

result<std::shared_ptr<node::ingress_side>> node::open_ingress(std::uint64_t generation,
                                                              std::uint64_t first_offset) {
  namespace fs = std::filesystem;
  state::ingress_log_options lopts;
  lopts.env = opts_.env;
  lopts.first_offset = first_offset;
  auto log = state::ingress_log::open((fs::path{opts_.data_dir} / "ingress" / "log").string(), lopts);
  if (!log)
    return log.err();
  auto in = std::make_shared<ingress_side>();
  state::ingress_writer_options wopts;
  wopts.keys_dir = (fs::path{opts_.data_dir} / "ingress" / "keys").string();
  wopts.retention = opts_.idempotency_retention;
  std::weak_ptr<ingress_side> weak = in;
  wopts.on_durable = [weak](std::vector<state::ingress_record> records) {
    if (auto side = weak.lock())
      side->durable(std::move(records));
  };
  if (opts_.clustered)
    wopts.on_failure = [faults = faults_](const error& err) {
      faults->report_log("the ingress log stopped: " + err.message);
    };
  else
    wopts.on_failure = [faults = faults_, generation](const error& err) {
      faults->report(generation, "the ingress log stopped: " + err.message);
    };
  auto writer = state::ingress_writer::start(std::move(*log), std::move(wopts));
  if (!writer)
    return writer.err();
  in->log = std::shared_ptr<state::ingress_writer>{std::move(*writer)};
  return in;
}

void node::watch(const caf::actor& a, std::uint64_t generation, std::string what) {
  // Any end of an actor but a teardown's is a failure of this pipeline.
  a->attach_functor([faults = faults_, generation, what, sys = sys_](const caf::error& reason) {
    if (reason != caf::exit_reason::user_shutdown)
      faults->report(generation, what + " stopped: " + describe(*sys, reason));
  });
}

void node::spawn_partition(pipeline& p, std::uint32_t local, partition_config cfg) {
  auto what = std::to_string(cfg.id);
  p.writers.push_back(sys_->spawn<caf::detached>(snapshot_writer_actor, files_, p.coordinator));
  watch(p.writers.back(), p.generation, "snapshot writer " + what);
  cfg.max_key_groups = opts_.max_key_groups;
  cfg.module = module_;
  cfg.client = client_;
  cfg.store = stores_[local];
  cfg.egress = egress_;
  cfg.gates = {p.in->gate};
  cfg.stats = metrics_;
  cfg.writer = p.writers.back();
  cfg.idle = opts_.idle;
  cfg.max_live = opts_.max_live;
  cfg.max_pending = opts_.max_pending;
  cfg.full_every = opts_.full_every;
  p.partitions.push_back(sys_->spawn(partition_actor, std::move(cfg)));
  watch(p.partitions.back(), p.generation, "partition " + what);
}

void node::spawn_connectors(pipeline& p, const std::map<std::string, std::string>& restored,
                            std::uint32_t member, std::uint32_t members) {
  for (auto& spec : module_->kafka_ingresses) {
    kafka_ingress_config kcfg{spec, p.source, restored, member, members, metrics_};
    p.connectors.push_back(sys_->spawn<caf::detached>(kafka_ingress_actor, std::move(kcfg)));
    watch(p.connectors.back(), p.generation, "Kafka ingress " + spec.id.to_string());
  }
  for (auto& spec : module_->kinesis_ingresses) {
    kinesis_ingress_config kcfg{spec, p.source, restored, member, members, metrics_};
    p.connectors.push_back(sys_->spawn<caf::detached>(kinesis_ingress_actor, std::move(kcfg)));
    watch(p.connectors.back(), p.generation, "Kinesis ingress " + spec.id.to_string());
  }
}

caf::actor node::owner_of(const pipeline& p, protocol::key_group kg) const {
  if (!p.running || p.all.empty())
    return {};
  return p.all[protocol::partition_of(kg, opts_.max_key_groups,
                                      static_cast<std::uint32_t>(p.all.size()))];
}

result<std::shared_ptr<node::pipeline>> node::build(std::uint64_t generation) {
  namespace fs = std::filesystem;
  auto& opts = opts_;
  auto p = std::make_shared<pipeline>();
  p->generation = generation;
  p->total = opts.partitions;

  // The newest completed checkpoint.
  std::vector<std::string> skipped;
  auto latest = files_->latest(&skipped);
  if (!latest)
    return latest.err();
  for (auto& s : skipped)
    std::cerr << "hearth-node: skipped checkpoint " << s << std::endl;
  auto& m = *latest;
  if (m && (m->partitions != opts.partitions || m->max_key_groups != opts.max_key_groups))
    return error{errc::conflict, "the newest checkpoint was taken with partitions="
                                   + std::to_string(m->partitions) + " max_key_groups="
                                   + std::to_string(m->max_key_groups)};
  p->restored = m ? m->id : 0;

  // The ingress log must still hold every record after the checkpoint's
  // position: a checkpoint older than the log's trim point (the newest one
  // damaged, an older one left) would lose the records in between.
  auto position = m ? m->ingress_position : 0;
  auto in = open_ingress(generation, position);
  if (!in)
    return in.err();
  p->in = std::move(*in);
  if (p->in->log->first_offset() > position) {
    auto first = p->in->log->first_offset();
    p->in->log->stop();
    p->in->log->close();
    std::string which = m ? "checkpoint " + std::to_string(m->id) : std::string{"no checkpoint"};
    std::string why = skipped.empty() ? std::string{}
                                      : " (skipped as unreadable: " + skipped.front() + ")";
    return error{errc::conflict,
                 "the ingress log in " + opts.data_dir + " starts at offset "
                   + std::to_string(first) + ", but the newest usable checkpoint ("
                   + which + ") resumes at offset " + std::to_string(position) + why
                   + ": the records in between are gone; restore the checkpoint files"};
  }

  // From here on, a failure tears down what was spawned.
  auto fail = [&](error err) -> result<std::shared_ptr<pipeline>> {
    teardown(*p);
    return err;
  };

  // Stores, rebuilt from the checkpoint (or emptied: without one, the ingress
  // log replayed from its start is the whole history).
  std::vector<state::part_extras> extras(opts.partitions);
  for (std::uint32_t i = 0; i < opts.partitions; ++i) {
    auto& store = *stores_[i];
    if (m) {
      auto restored = files_->restore(store, m->chains[i]);
      if (!restored)
        return fail(restored.err());
      extras[i] = std::move(*restored);
    } else if (auto s = store.replace([](state::write_batch&) { return ok(); }); !s) {
      return fail(s.err());
    }
  }

  // Egress: a restored checkpoint's records are released (again: harmless).
  if (egress_)
    for (std::uint32_t i = 0; i < opts.partitions; ++i)
      if (auto s = egress_->release(i, extras[i].egress); !s)
        return fail(s.err());

  coordinator_config ccfg;
  ccfg.files = files_;
  ccfg.egress = egress_;
  ccfg.interval = opts.checkpoint_interval;
  ccfg.keep = opts.checkpoints_kept;
  ccfg.last_completed = p->restored;
  ccfg.max_key_groups = opts.max_key_groups;
  ccfg.stats = metrics_;
  ccfg.health = board_;
  if (m)
    ccfg.kept_connectors = m->connector_positions;
  p->coordinator = sys_->spawn<caf::detached>(coordinator_actor, std::move(ccfg));
  watch(p->coordinator, generation, "the checkpoint coordinator");

  for (std::uint32_t i = 0; i < opts.partitions; ++i) {
    partition_config cfg;
    cfg.id = i;
    cfg.partitions = opts.partitions;
    cfg.last_completed = p->restored;
    spawn_partition(*p, i, std::move(cfg));
  }
  // Every answer is checked: an actor that cannot start fails the build.
  ordered_asks ask{*sys_};
  for (std::uint32_t i = 0; i < opts.partitions; ++i)
    ask(p->partitions[i], "partition " + std::to_string(i) + " did not take its peers",
        peers_atom::value, p->partitions);
  for (std::uint32_t i = 0; i < opts.partitions; ++i)
    ask(p->partitions[i], "partition " + std::to_string(i) + " did not start", start_atom::value,
        std::move(extras[i]));
  if (ask.problem())
    return fail(error{errc::io, *ask.problem()});

  source_config scfg;
  scfg.log = p->in->log;
  scfg.partitions = p->partitions;
  scfg.max_key_groups = opts.max_key_groups;
  scfg.position = position;
  p->source = sys_->spawn<caf::detached>(source_actor, std::move(scfg));
  watch(p->source, generation, "the ingress source");
  p->in->feed(p->source);
  ask(p->source, "the ingress source did not start", start_atom::value);
  if (!ask.problem())
    spawn_connectors(*p, m ? m->connector_positions : std::map<std::string, std::string>{}, 0, 1);
  cluster_wiring w;
  w.nodes.push_back(node_wiring{0, {}, p->partitions, p->source, {}, {}});
  ask(p->coordinator, "the checkpoint coordinator did not start", setup_atom::value, w);
  if (ask.problem())
    return fail(error{errc::io, *ask.problem()});
  p->all = p->partitions;
  p->running = true;
  return p;
}

void node::supervise() {
  auto& f = *faults_;
  for (;;) {
    std::string why;
    std::shared_ptr<pipeline> old;
    {
      std::unique_lock<std::mutex> lock{f.mtx};
      f.cv.wait(lock, [&] { return f.stop || f.fault; });
      if (f.stop)
        return;
      why = *f.fault;
      f.down = why;
      ++f.restarts;
      old = std::move(pipe_);
    }
    metrics_->pipeline_restarted();
    std::cerr << "hearth-node: " << why
              << "; stopping every partition to rebuild them from the last checkpoint" << std::endl;
    if (old)
      teardown(*old);
    old.reset();
    auto backoff = std::chrono::milliseconds{100};
    for (;;) {
      std::uint64_t gen;
      {
        std::lock_guard<std::mutex> g{f.mtx};
        gen = ++f.generation;
        f.fault.reset();
      }
      auto built = build(gen);
      std::unique_lock<std::mutex> lock{f.mtx};
      if (built) {
        pipe_ = std::move(*built);
        f.down.clear();
        std::cerr << "hearth-node: partitions rebuilt from checkpoint " << pipe_->restored
                  << std::endl;
        break;
      }
      f.down = why + "; the rebuild failed: " + built.err().message;
      std::cerr << "hearth-node: " << f.down << " (next try in " << backoff.count() << " ms)"
                << std::endl;
      if (f.cv.wait_for(lock, backoff, [&] { return f.stop; }))
        return;
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds{5});
    }
  }
}

std::shared_ptr<node::pipeline> node::current() const {
  std::lock_guard<std::mutex> g{faults_->mtx};
  return pipe_;
}

std::shared_ptr<node::ingress_side> node::ingress() const {
  std::lock_guard<std::mutex> g{faults_->mtx};
  if (opts_.clustered)
    return faults_->log_failed ? nullptr : cluster_in_;
  return pipe_ ? pipe_->in : nullptr;
}

error node::down() const {
  std::lock_guard<std::mutex> g{faults_->mtx};
  if (stopping_)
    return error{errc::unavailable, "the node is shutting down"};
  if (opts_.clustered)
    return error{errc::unavailable, "this cluster member's pipeline is not running ("
                                      + faults_->down + ")"};
  return error{errc::unavailable, "the partitions are being rebuilt from the last checkpoint ("
                                    + faults_->down + ")"};
}

std::uint64_t node::restored_checkpoint() const {
  auto p = current();
  return p ? p->restored : 0;
}

result<delivery> node::deliver(const protocol::address& target, protocol::typed_value value,
                               const std::string& idempotency_key,
                               std::optional<std::chrono::milliseconds> wait_applied) {
  std::promise<result<delivery>> p;
  auto f = p.get_future();
  deliver_async(target, std::move(value), idempotency_key, wait_applied,
                [&p](result<delivery> r) { p.set_value(std::move(r)); });
  return f.get();
}

void node::deliver_async(const protocol::address& target, protocol::typed_value value,
                         const std::string& idempotency_key,
                         std::optional<std::chrono::milliseconds> wait_applied, delivered done) {
  auto refuse = [&](errc code, std::string why) { done(error{code, std::move(why)}); };
  if (stopping_)
    return refuse(errc::unavailable, "the node is shutting down");
  if (!module_->find_endpoint(target.type))
    return refuse(errc::unknown, "unknown function type '" + target.type.to_string() + "'");
  if (state::encoded_address_size(target) > state::max_address_bytes)
    return refuse(errc::malformed,
                  "address is longer than " + std::to_string(state::max_address_bytes) + " bytes");
  if (idempotency_key.size() > 400)
    return refuse(errc::malformed, "Idempotency-Key is longer than 400 bytes");
  if (draining_)
    return refuse(errc::unavailable,
                  "this node is drained and leaves the cluster: send to another member");
  auto in = ingress();
  if (!in)
    return done(down());
  if (in->gate->waiting() >= opts_.max_waiting) {
    auto key = target.to_string();
    auto pipe = current();
    auto total = pipe && pipe->total > 0 ? pipe->total : opts_.partitions;
    auto partition = protocol::partition_of(protocol::key_group_of(target.id, opts_.max_key_groups),
                                            opts_.max_key_groups, total);
    if (in->gate->is_full(key))
      return refuse(errc::unavailable,
                    key + " holds maxNumBatchRequests messages and "
                      + std::to_string(opts_.max_waiting)
                      + " senders already wait for room; the message was not taken: retry later");
    if (in->gate->is_partition_full(partition))
      return refuse(errc::unavailable,
                    "partition " + std::to_string(partition)
                      + " holds partition.max_pending invocations and "
                      + std::to_string(opts_.max_waiting)
                      + " senders already wait for room; the message was not taken: retry later");
  }
  state::ingress_record rec;
  rec.idempotency_key = idempotency_key;
  rec.target = target;
  rec.value = std::move(value);
  // Answered on the log writer's thread once durable; then, unless it is a
  // duplicate, once the gate sees the message accepted (or applied).
  auto gate = in->gate;
  in->log->submit(std::move(rec), [this, gate, wait_applied,
                                   done = std::move(done)](result<state::accepted> logged) mutable {
    if (!logged)
      return done(error{errc::unavailable, "the message could not be logged: " + logged.err().message});
    delivery out{logged->offset, logged->duplicate, {}, {}};
    if (logged->duplicate)
      return done(std::move(out)); // nothing new to wait for
    using kind = ingress_gate::outcome::kind;
    auto mode = wait_applied ? ingress_gate::until::applied : ingress_gate::until::accepted;
    auto max_waiting = opts_.max_waiting;
    if (opts_.clustered && !wait_applied) {
      // While the cluster's pipeline is down (a member lost, an epoch being
      // assembled) a durable message is taken at once: it is applied once the
      // pipeline runs.
      auto pipe = current();
      if (!pipe || !pipe->running)
        max_waiting = 0;
    }
    gate->watch(out.offset, mode, wait_applied.value_or(std::chrono::milliseconds{0}), max_waiting,
                [this, wait_applied, out = std::move(out),
                 done = std::move(done)](ingress_gate::outcome o) mutable {
                  if (!wait_applied)
                    return done(std::move(out));
                  switch (o.what) {
                    case kind::applied: out.applied = std::move(o.batch); break;
                    case kind::timeout:
                      out.not_applied =
                        "not applied within " + std::to_string(wait_applied->count()) + " ms";
                      break;
                    case kind::lost:
                      out.not_applied = "dead-lettered on arrival (see the dead letters)";
                      break;
                    default:
                      out.not_applied =
                        stopping_ ? "the node is shutting down (the message is durable and is "
                                    "applied after the next start)"
                        : opts_.clustered ? "the cluster's pipeline is being rebuilt (the message "
                                            "is durable and will be applied)"
                                          : "the partitions are being rebuilt after a failure (the "
                                            "message is durable and will be applied)";
                      break;
                  }
                  done(std::move(out));
                });
  });
}

result<dead_letter_list> node::dead_letters(size_t limit) {
  dead_letter_list all;
  auto pipe = current();
  if (!pipe || !pipe->running)
    return down();
  caf::scoped_actor self{*sys_};
  auto answers = ask_all<dead_letter_list>(self, pipe->all, opts_.admin_timeout,
                                           deadlist_atom::value, std::uint64_t{limit});
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i])
      return not_answered(i, answers[i].error());
    std::move(answers[i]->begin(), answers[i]->end(), std::back_inserter(all));
  }
  std::sort(all.begin(), all.end(), [](const state::dead_letter& a, const state::dead_letter& b) {
    return a.time_ms < b.time_ms;
  });
  if (all.size() > limit)
    all.resize(limit);
  return all;
}

template <class T, class... Ts>
result<T> node::ask_owner(protocol::key_group kg, const Ts&... question) {
  auto pipe = current();
  auto owner = pipe && pipe->running ? owner_of(*pipe, kg) : caf::actor{};
  if (!owner)
    return down();
  caf::scoped_actor self{*sys_};
  auto x = ask_one<T>(self, owner, opts_.admin_timeout, question...);
  if (!x)
    return not_answered(
      protocol::partition_of(kg, opts_.max_key_groups, static_cast<std::uint32_t>(pipe->all.size())),
      x.error());
  return std::move(*x);
}

result<state::dead_letter> node::dead_letter(const std::string& id) {
  auto parsed = parse_id(id, opts_.max_key_groups);
  if (!parsed)
    return parsed.err();
  auto [kg, seq] = *parsed;
  auto found = ask_owner<dead_letter_list>(protocol::key_group{kg}, deadone_atom::value, kg, seq);
  if (!found)
    return found.err();
  if (found->empty())
    return error{errc::unknown, "unknown dead letter '" + id + "'"};
  return std::move(found->front());
}

result<size_t> node::replay(const std::string& id) {
  if (stopping_)
    return error{errc::unavailable, "the node is shutting down"};
  auto parsed = parse_id(id, opts_.max_key_groups);
  if (!parsed)
    return parsed.err();
  auto [kg, seq] = *parsed;
  auto n = ask_owner<std::int64_t>(protocol::key_group{kg}, replay_atom::value, kg, seq);
  if (!n)
    return n.err();
  if (*n == -1)
    return error{errc::unknown, "unknown dead letter '" + id + "'"};
  if (*n == -3)
    return error{errc::io, "the dead letter could not be removed"};
  if (*n < 0)
    return error{errc::conflict, "dead letter '" + id
                                   + "' holds no message that can be re-delivered to a function"};
  return static_cast<size_t>(*n);
}

status node::drop(const std::string& id) {
  auto parsed = parse_id(id, opts_.max_key_groups);
  if (!parsed)
    return parsed.err();
  auto [kg, seq] = *parsed;
  auto found = ask_owner<bool>(protocol::key_group{kg}, drop_atom::value, kg, seq);
  if (!found)
    return found.err();
  if (!*found)
    return error{errc::unknown, "unknown dead letter '" + id + "'"};
  return ok();
}

std::vector<partition_stats> node::stats() {
  std::vector<partition_stats> out;
  auto pipe = current();
  if (!pipe)
    return out;
  caf::scoped_actor self{*sys_};
  for (auto& p : pipe->partitions)
    self->request(p, std::chrono::seconds{10}, stats_atom::value)
      .receive([&](partition_stats& s) { out.push_back(s); }, [](caf::error&) {});
  return out;
}

result<std::pair<std::uint64_t, std::vector<actor_summary>>>
node::actors(actor_query q, std::uint64_t offset, std::uint64_t limit) {
  q.limit = offset + limit;
  std::uint64_t total = 0;
  std::vector<actor_summary> all;
  auto pipe = current();
  if (!pipe || !pipe->running)
    return std::pair<std::uint64_t, std::vector<actor_summary>>{};
  caf::scoped_actor self{*sys_};
  auto pages = ask_all<actor_page>(self, pipe->all, opts_.admin_timeout, actors_atom::value, q);
  for (size_t i = 0; i < pages.size(); ++i) {
    if (!pages[i])
      return not_answered(i, pages[i].error());
    total += pages[i]->total;
    std::move(pages[i]->actors.begin(), pages[i]->actors.end(), std::back_inserter(all));
  }
  std::sort(all.begin(), all.end(), [](const actor_summary& a, const actor_summary& b) {
    return a.address < b.address;
  });
  std::vector<actor_summary> out;
  for (auto i = offset; i < all.size() && out.size() < limit; ++i)
    out.push_back(std::move(all[i]));
  return std::pair<std::uint64_t, std::vector<actor_summary>>{total, std::move(out)};
}

error node::not_answered(const std::string& who, const caf::error& why) const {
  if (why == caf::sec::request_timeout)
    return error{errc::unavailable, who + " did not answer within "
                                      + std::to_string(opts_.admin_timeout.count()) + " ms"};
  if (why == caf::sec::request_receiver_down)
    return error{errc::unavailable, who + " ended before it answered (the partitions are being "
                                          "rebuilt, or its node was lost)"};
  return error{errc::unavailable, who + ": " + sys_->render(why)};
}

error node::not_answered(size_t global_partition, const caf::error& why) const {
  return not_answered("partition " + std::to_string(global_partition), why);
}

result<address_detail> node::inspect(const protocol::address& a) {
  auto pipe = current();
  if (!pipe || !pipe->running)
    return address_detail{};
  return ask_owner<address_detail>(protocol::key_group_of(a.id, opts_.max_key_groups),
                                   inspect_atom::value, a);
}

result<std::vector<checkpoint_info>> node::checkpoints() {
  auto pipe = current();
  if (!pipe || !pipe->coordinator)
    return std::vector<checkpoint_info>{};
  caf::scoped_actor self{*sys_};
  auto h = ask_one<std::vector<checkpoint_info>>(self, pipe->coordinator, opts_.admin_timeout,
                                                 history_atom::value);
  if (!h)
    return not_answered("the checkpoint coordinator", h.error());
  return std::move(*h);
}

result<checkpoint_info> node::trigger_checkpoint(std::chrono::milliseconds timeout) {
  if (stopping_)
    return error{errc::unavailable, "the node is shutting down"};
  auto pipe = current();
  if (!pipe || !pipe->running)
    return down();
  result<checkpoint_info> out = error{errc::unavailable, "no checkpoint completed within "
                                                           + std::to_string(timeout.count()) + " ms"};
  caf::scoped_actor self{*sys_};
  auto info = ask_one<checkpoint_info>(self, pipe->coordinator, timeout, trigger_atom::value);
  if (info)
    out = std::move(*info);
  else if (info.error() != caf::sec::request_timeout)
    out = error{errc::unavailable, sys_->render(info.error())};
  return out;
}

std::uint64_t node::shutdown(std::chrono::milliseconds timeout) {
  if (stopping_.exchange(true))
    return 0;
  // No rebuild from here on; one under way is finished first.
  {
    std::lock_guard<std::mutex> g{faults_->mtx};
    faults_->stop = true;
  }
  faults_->cv.notify_all();
  if (supervisor_.joinable())
    supervisor_.join();
  auto pipe = current();
  if (auto in = opts_.clustered ? cluster_in_ : pipe ? pipe->in : nullptr) {
    // Waiting senders are answered: their messages are durable in the log.
    in->gate->open_all();
    in->log->stop();
  }
  if (!pipe || !pipe->running) {
    std::cerr << "hearth-node: no final checkpoint (the partitions are down: " << faults_->down
              << "); the next start resumes from the last one" << std::endl;
    return 0;
  }
  if (draining_) {
    std::cerr << "hearth-node: no final checkpoint (drained: a checkpoint covers this node's log)"
              << std::endl;
    return 0;
  }
  // A cluster member's final checkpoint is the cluster's: it covers what this
  // node took, unless the cluster moves to another epoch meanwhile (its
  // pipeline is then gone and the others replay from the last checkpoint).
  if (opts_.clustered) {
    // (The supervisor has stopped: its view is safe to read here.)
    if (fenced_ || !view_ || pipe->epoch != view_->epoch) {
      std::cerr << "hearth-node: no final checkpoint (the cluster has moved to another epoch)"
                << std::endl;
      return 0;
    }
    timeout = std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds{15});
  }
  std::uint64_t unfinished = 0;
  caf::scoped_actor self{*sys_};
  auto info = ask_one<checkpoint_info>(self, pipe->coordinator, timeout, trigger_atom::value);
  if (info)
    unfinished = info->messages;
  else
    std::cerr << "hearth-node: no final checkpoint (" << sys_->render(info.error())
              << "); the next start resumes from the last one" << std::endl;
  return unfinished;
}

} // namespace hearth::actors

namespace hearth::actors {

namespace {

/// The file system holding `dir` and the bytes available to this process in it.
struct space {
  unsigned long fs = 0;
  std::uint64_t free = 0;
};

space space_of(const std::string& dir) {
  struct statvfs v{};
  if (::statvfs(dir.c_str(), &v) != 0)
    return {};
  return {v.f_fsid, static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize};
}

} // namespace

node_health node::health() {
  node_health h;
  std::shared_ptr<pipeline> pipe;
  {
    std::lock_guard<std::mutex> g{faults_->mtx};
    pipe = pipe_;
    h.restarts = faults_->restarts;
    h.pipeline = pipe && pipe->running ? "running" : faults_->down;
  }
  if (stopping_)
    h.problems.push_back("the node is shutting down");
  if (auto in = opts_.clustered ? cluster_in_ : pipe ? pipe->in : nullptr)
    if (auto f = in->log->failure(); !f.empty())
      h.problems.push_back("the ingress log stopped: " + f);
  if (!pipe || !pipe->running) {
    h.problems.push_back("the partitions are down: " + h.pipeline);
  } else {
    // Every partition answers within a few seconds, or it is stuck.
    caf::scoped_actor self{*sys_};
    for (size_t i = 0; i < pipe->partitions.size(); ++i)
      self->request(pipe->partitions[i], std::chrono::seconds{5}, stats_atom::value)
        .receive([&](partition_stats& s) { h.partitions.push_back(std::move(s)); },
                 [&](caf::error& err) {
                   h.problems.push_back("partition " + std::to_string(i) + " does not answer: "
                                        + sys_->render(err));
                 });
    self->request(pipe->source, std::chrono::seconds{5}, stats_atom::value)
      .receive([&](std::uint64_t remaining) { h.replay_remaining = remaining; },
               [&](caf::error& err) {
                 h.problems.push_back("the ingress source does not answer: " + sys_->render(err));
               });
  }
  h.ready = h.problems.empty();
  auto cp = board_->read();
  h.checkpoint_age_ms = cp.since_completed.count();
  h.last_checkpoint = cp.last_id;
  h.checkpoint_failure = cp.failure;
  if (cp.since_completed > opts_.max_checkpoint_age)
    h.problems.push_back("no checkpoint completed for " + std::to_string(h.checkpoint_age_ms)
                         + " ms" + (cp.failure.empty() ? "" : " (" + cp.failure + ")"));
  auto data = space_of(opts_.data_dir), checkpoints = space_of(opts_.checkpoint_dir);
  h.data_free_bytes = data.free;
  h.checkpoint_free_bytes = checkpoints.free;
  auto low = [&](const char* what, const std::string& dir, std::uint64_t n) {
    if (n < opts_.min_free_bytes)
      h.problems.push_back(std::string{what} + " " + dir + " has " + std::to_string(n)
                           + " bytes free (below " + std::to_string(opts_.min_free_bytes) + ")");
  };
  low("the data dir", opts_.data_dir, data.free);
  if (checkpoints.fs != data.fs) // the same file system is reported once
    low("the checkpoint dir", opts_.checkpoint_dir, checkpoints.free);
  return h;
}

} // namespace hearth::actors
