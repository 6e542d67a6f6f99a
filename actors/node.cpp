#include "actors/node.hpp"

#include "actors/coordinator.hpp"
#include "actors/partition.hpp"
#include "actors/source.hpp"
#include "state/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

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
  std::ofstream out{path};
  out << want.str();
  if (!out)
    return error{errc::io, "cannot write " + path.string()};
  return fd;
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
  for (auto* group : {&partitions_, &writers_})
    for (auto& a : *group)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  if (source_)
    caf::anon_send_exit(source_, caf::exit_reason::user_shutdown);
  if (coordinator_)
    caf::anon_send_exit(coordinator_, caf::exit_reason::user_shutdown);
  if (log_)
    log_->stop();
  if (lock_fd_ >= 0)
    ::close(lock_fd_);
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
  if (opts.checkpoint_dir.empty())
    opts.checkpoint_dir = (fs::path{opts.data_dir} / "checkpoints").string();
  n->opts_ = opts;

  // The newest completed checkpoint.
  auto files = state::checkpoint_files::open(opts.checkpoint_dir);
  if (!files)
    return files.err();
  auto shared_files = std::make_shared<state::checkpoint_files>(std::move(*files));
  std::vector<std::string> skipped;
  auto latest = shared_files->latest(&skipped);
  if (!latest)
    return latest.err();
  for (auto& s : skipped)
    std::cerr << "hearth-node: skipped checkpoint " << s << std::endl;
  auto& m = *latest;
  if (m && (m->partitions != opts.partitions || m->max_key_groups != opts.max_key_groups))
    return error{errc::conflict, "the newest checkpoint was taken with partitions="
                                   + std::to_string(m->partitions) + " max_key_groups="
                                   + std::to_string(m->max_key_groups)};
  n->restored_ = m ? m->id : 0;

  // Stores, rebuilt from the checkpoint (or emptied: without one, the ingress
  // log replayed from its start is the whole history).
  std::vector<std::shared_ptr<state::store>> stores;
  std::vector<state::part_extras> extras(opts.partitions);
  for (std::uint32_t p = 0; p < opts.partitions; ++p) {
    auto dir = (fs::path{opts.data_dir} / "partitions" / std::to_string(p)).string();
    auto store = state::store::open(dir);
    if (!store)
      return store.err();
    if (m) {
      auto restored = shared_files->restore(**store, m->chains[p]);
      if (!restored)
        return restored.err();
      extras[p] = std::move(*restored);
    } else if (auto s = (*store)->replace([](state::write_batch&) { return ok(); }); !s) {
      return s.err();
    }
    stores.emplace_back(std::move(*store));
  }

  // Egress: a restored checkpoint's records are released (again: harmless).
  if (module->egress) {
    auto eg = state::egress_store::open((fs::path{opts.data_dir} / "egress").string());
    if (!eg)
      return eg.err();
    n->egress_ = std::shared_ptr<state::egress_store>{std::move(*eg)};
    for (std::uint32_t p = 0; p < opts.partitions; ++p)
      if (auto s = n->egress_->release(p, extras[p].egress); !s)
        return s.err();
  }

  // The ingress log; durable records go to the source (set below, before any
  // record can be submitted).
  auto log = state::ingress_log::open((fs::path{opts.data_dir} / "ingress" / "log").string());
  if (!log)
    return log.err();
  n->gate_ = std::make_shared<ingress_gate>();
  auto source_slot = std::make_shared<caf::actor>();
  state::ingress_writer_options wopts;
  wopts.keys_dir = (fs::path{opts.data_dir} / "ingress" / "keys").string();
  wopts.retention = opts.idempotency_retention;
  wopts.on_durable = [gate = n->gate_, source_slot](std::vector<state::ingress_record> records) {
    for (auto& r : records)
      gate->expect(r.offset);
    caf::anon_send(*source_slot, log_atom::value, std::move(records));
  };
  auto writer = state::ingress_writer::start(std::move(*log), std::move(wopts));
  if (!writer)
    return writer.err();
  n->log_ = std::shared_ptr<state::ingress_writer>{std::move(*writer)};

  coordinator_config ccfg;
  ccfg.files = shared_files;
  ccfg.egress = n->egress_;
  ccfg.log = n->log_;
  ccfg.interval = opts.checkpoint_interval;
  ccfg.keep = opts.checkpoints_kept;
  ccfg.last_completed = n->restored_;
  ccfg.max_key_groups = opts.max_key_groups;
  ccfg.stats = n->metrics_;
  n->coordinator_ = sys.spawn<caf::detached>(coordinator_actor, std::move(ccfg));

  for (std::uint32_t p = 0; p < opts.partitions; ++p) {
    n->writers_.push_back(
      sys.spawn<caf::detached>(snapshot_writer_actor, shared_files, n->coordinator_));
    partition_config cfg;
    cfg.id = p;
    cfg.partitions = opts.partitions;
    cfg.max_key_groups = opts.max_key_groups;
    cfg.module = module;
    cfg.client = client;
    cfg.store = stores[p];
    cfg.egress = n->egress_;
    cfg.gate = n->gate_;
    cfg.stats = n->metrics_;
    cfg.writer = n->writers_.back();
    cfg.idle = opts.idle;
    cfg.max_live = opts.max_live;
    cfg.max_pending = opts.max_pending;
    cfg.full_every = opts.full_every;
    cfg.last_completed = n->restored_;
    n->partitions_.push_back(sys.spawn(partition_actor, std::move(cfg)));
  }
  caf::scoped_actor self{sys};
  for (auto& p : n->partitions_)
    self->request(p, caf::infinite, peers_atom::value, n->partitions_)
      .receive([](caf::ok_atom) {}, [](caf::error&) {});
  for (std::uint32_t p = 0; p < opts.partitions; ++p)
    self->request(n->partitions_[p], caf::infinite, start_atom::value, std::move(extras[p]))
      .receive([](caf::ok_atom) {}, [](caf::error&) {});

  source_config scfg;
  scfg.log = n->log_;
  scfg.partitions = n->partitions_;
  scfg.max_key_groups = opts.max_key_groups;
  scfg.position = m ? m->ingress_position : n->log_->first_offset();
  n->source_ = sys.spawn<caf::detached>(source_actor, std::move(scfg));
  *source_slot = n->source_;
  self->request(n->source_, caf::infinite, start_atom::value)
    .receive([](caf::ok_atom) {}, [](caf::error&) {});
  self->request(n->coordinator_, caf::infinite, setup_atom::value, n->partitions_, n->source_)
    .receive([](caf::ok_atom) {}, [](caf::error&) {});
  return n;
}

result<delivery> node::deliver(const protocol::address& target, protocol::typed_value value,
                               const std::string& idempotency_key,
                               std::optional<std::chrono::milliseconds> wait_applied) {
  if (stopping_)
    return error{errc::unavailable, "the node is shutting down"};
  if (!module_->find_endpoint(target.type))
    return error{errc::unknown, "unknown function type '" + target.type.to_string() + "'"};
  if (state::encoded_address_size(target) > state::max_address_bytes)
    return error{errc::malformed, "address is longer than "
                                    + std::to_string(state::max_address_bytes) + " bytes"};
  if (idempotency_key.size() > 400)
    return error{errc::malformed, "Idempotency-Key is longer than 400 bytes"};
  state::ingress_record rec;
  rec.idempotency_key = idempotency_key;
  rec.target = target;
  rec.value = std::move(value);
  auto logged = log_->submit(std::move(rec)).get();
  if (!logged)
    return error{errc::unavailable, "the message could not be logged: " + logged.err().message};
  delivery out{logged->offset, logged->duplicate, {}, {}};
  if (logged->duplicate)
    return out; // nothing new to wait for
  using kind = ingress_gate::outcome::kind;
  auto mode = wait_applied ? ingress_gate::until::applied : ingress_gate::until::accepted;
  auto o = gate_->wait(logged->offset, mode, wait_applied.value_or(std::chrono::milliseconds{0}));
  if (!wait_applied)
    return out;
  switch (o.what) {
    case kind::applied: out.applied = std::move(o.batch); break;
    case kind::timeout:
      out.not_applied = "not applied within " + std::to_string(wait_applied->count()) + " ms";
      break;
    case kind::lost:
      out.not_applied = "dead-lettered on arrival (see the dead letters)";
      break;
    default: out.not_applied = "the node is shutting down"; break;
  }
  return out;
}

result<dead_letter_list> node::dead_letters(size_t limit) {
  dead_letter_list all;
  caf::scoped_actor self{*sys_};
  for (auto& p : partitions_) {
    self->request(p, std::chrono::seconds{30}, deadlist_atom::value, std::uint64_t{limit})
      .receive(
        [&](dead_letter_list& some) { std::move(some.begin(), some.end(), std::back_inserter(all)); },
        [](caf::error&) {});
  }
  std::sort(all.begin(), all.end(), [](const state::dead_letter& a, const state::dead_letter& b) {
    return a.time_ms < b.time_ms;
  });
  if (all.size() > limit)
    all.resize(limit);
  return all;
}

result<state::dead_letter> node::dead_letter(const std::string& id) {
  auto parsed = parse_id(id, opts_.max_key_groups);
  if (!parsed)
    return parsed.err();
  auto [kg, seq] = *parsed;
  auto p = protocol::partition_of(protocol::key_group{kg}, opts_.max_key_groups, opts_.partitions);
  caf::scoped_actor self{*sys_};
  dead_letter_list found;
  self->request(partitions_[p], std::chrono::seconds{30}, deadone_atom::value, kg, seq)
    .receive([&](dead_letter_list& r) { found = std::move(r); }, [](caf::error&) {});
  if (found.empty())
    return error{errc::unknown, "unknown dead letter '" + id + "'"};
  return std::move(found.front());
}

result<size_t> node::replay(const std::string& id) {
  if (stopping_)
    return error{errc::unavailable, "the node is shutting down"};
  auto parsed = parse_id(id, opts_.max_key_groups);
  if (!parsed)
    return parsed.err();
  auto [kg, seq] = *parsed;
  auto p = protocol::partition_of(protocol::key_group{kg}, opts_.max_key_groups, opts_.partitions);
  caf::scoped_actor self{*sys_};
  std::int64_t n = -1;
  self->request(partitions_[p], std::chrono::seconds{30}, replay_atom::value, kg, seq)
    .receive([&](std::int64_t r) { n = r; }, [](caf::error&) {});
  if (n == -1)
    return error{errc::unknown, "unknown dead letter '" + id + "'"};
  if (n == -3)
    return error{errc::io, "the dead letter could not be removed"};
  if (n < 0)
    return error{errc::conflict, "dead letter '" + id
                                   + "' holds no message that can be re-delivered to a function"};
  return static_cast<size_t>(n);
}

status node::drop(const std::string& id) {
  auto parsed = parse_id(id, opts_.max_key_groups);
  if (!parsed)
    return parsed.err();
  auto [kg, seq] = *parsed;
  auto p = protocol::partition_of(protocol::key_group{kg}, opts_.max_key_groups, opts_.partitions);
  caf::scoped_actor self{*sys_};
  bool found = false;
  self->request(partitions_[p], std::chrono::seconds{30}, drop_atom::value, kg, seq)
    .receive([&](bool r) { found = r; }, [](caf::error&) {});
  if (!found)
    return error{errc::unknown, "unknown dead letter '" + id + "'"};
  return ok();
}

std::vector<partition_stats> node::stats() {
  std::vector<partition_stats> out;
  caf::scoped_actor self{*sys_};
  for (auto& p : partitions_)
    self->request(p, std::chrono::seconds{10}, stats_atom::value)
      .receive([&](partition_stats& s) { out.push_back(s); }, [](caf::error&) {});
  return out;
}

std::pair<std::uint64_t, std::vector<actor_summary>>
node::actors(actor_query q, std::uint64_t offset, std::uint64_t limit) {
  q.limit = offset + limit;
  std::uint64_t total = 0;
  std::vector<actor_summary> all;
  caf::scoped_actor self{*sys_};
  for (auto& p : partitions_)
    self->request(p, std::chrono::seconds{30}, actors_atom::value, q)
      .receive(
        [&](actor_page& page) {
          total += page.total;
          all.insert(all.end(), std::make_move_iterator(page.actors.begin()),
                     std::make_move_iterator(page.actors.end()));
        },
        [](caf::error&) {});
  std::sort(all.begin(), all.end(), [](const actor_summary& a, const actor_summary& b) {
    return a.address < b.address;
  });
  std::vector<actor_summary> out;
  for (auto i = offset; i < all.size() && out.size() < limit; ++i)
    out.push_back(std::move(all[i]));
  return {total, std::move(out)};
}

address_detail node::inspect(const protocol::address& a) {
  auto kg = protocol::key_group_of(a.id, opts_.max_key_groups);
  auto p = protocol::partition_of(kg, opts_.max_key_groups, opts_.partitions);
  address_detail out;
  caf::scoped_actor self{*sys_};
  self->request(partitions_[p], std::chrono::seconds{30}, inspect_atom::value, a)
    .receive([&](address_detail& d) { out = std::move(d); }, [](caf::error&) {});
  return out;
}

std::vector<checkpoint_info> node::checkpoints() {
  std::vector<checkpoint_info> out;
  caf::scoped_actor self{*sys_};
  self->request(coordinator_, std::chrono::seconds{30}, history_atom::value)
    .receive([&](std::vector<checkpoint_info>& h) { out = std::move(h); }, [](caf::error&) {});
  return out;
}

result<checkpoint_info> node::trigger_checkpoint(std::chrono::milliseconds timeout) {
  if (stopping_)
    return error{errc::unavailable, "the node is shutting down"};
  result<checkpoint_info> out = error{errc::unavailable, "no checkpoint completed within "
                                                           + std::to_string(timeout.count()) + " ms"};
  caf::scoped_actor self{*sys_};
  self->request(coordinator_, timeout, trigger_atom::value)
    .receive([&](checkpoint_info& info) { out = info; }, [](caf::error&) {});
  return out;
}

std::uint64_t node::shutdown(std::chrono::milliseconds timeout) {
  if (stopping_.exchange(true))
    return 0;
  // Waiting senders are answered: their messages are durable in the log.
  gate_->open_all();
  log_->stop();
  std::uint64_t unfinished = 0;
  caf::scoped_actor self{*sys_};
  self->request(coordinator_, timeout, trigger_atom::value)
    .receive([&](checkpoint_info& info) { unfinished = info.messages; },
             [&](caf::error& err) {
               std::cerr << "hearth-node: no final checkpoint (" << sys_->render(err)
                         << "); the next start resumes from the last one" << std::endl;
             });
  return unfinished;
}

} // namespace hearth::actors
