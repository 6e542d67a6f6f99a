#include "actors/node.hpp"

#include "actors/partition.hpp"
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
status check_layout(const node_options& opts) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(opts.data_dir, ec);
  if (ec)
    return error{errc::io, "cannot create data dir " + opts.data_dir + ": " + ec.message()};
  // One node per data dir: the lock is held until the process exits.
  auto lock_path = (fs::path{opts.data_dir} / "LOCK").string();
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0)
    return error{errc::conflict, "data dir " + opts.data_dir
                                   + " is in use by another hearth-node (" + lock_path + ")"};
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
    return ok();
  }
  std::ofstream out{path};
  out << want.str();
  if (!out)
    return error{errc::io, "cannot write " + path.string()};
  return ok();
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
  for (auto& p : partitions_)
    caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

std::string node::dead_letter_id(const state::dead_letter& d) {
  return std::to_string(d.kg.value) + "-" + std::to_string(d.seq);
}

result<std::unique_ptr<node>> node::start(caf::actor_system& sys, node_options opts,
                                          std::shared_ptr<const io::module_config> module,
                                          std::shared_ptr<io::function_client> client,
                                          std::shared_ptr<io::topic_queues> egress) {
  if (auto s = check_layout(opts); !s)
    return s.err();
  std::unique_ptr<node> n{new node()};
  n->sys_ = &sys;
  n->opts_ = opts;
  n->module_ = module;
  for (std::uint32_t p = 0; p < opts.partitions; ++p) {
    auto dir = (std::filesystem::path{opts.data_dir} / "partitions" / std::to_string(p)).string();
    auto store = state::store::open(dir);
    if (!store)
      return store.err();
    partition_config cfg;
    cfg.id = p;
    cfg.partitions = opts.partitions;
    cfg.max_key_groups = opts.max_key_groups;
    cfg.module = module;
    cfg.client = client;
    cfg.egress = egress;
    cfg.store = std::shared_ptr<state::store>{std::move(*store)};
    cfg.idle = opts.idle;
    cfg.max_live = opts.max_live;
    n->partitions_.push_back(sys.spawn(partition_actor, std::move(cfg)));
  }
  caf::scoped_actor self{sys};
  // All peers first, then start: a partition re-delivering its inbox may route
  // to a peer, which must already know its peers.
  for (auto& p : n->partitions_)
    self->request(p, caf::infinite, peers_atom::value, n->partitions_)
      .receive([](caf::ok_atom) {}, [](caf::error&) {});
  for (auto& p : n->partitions_)
    self->request(p, caf::infinite, start_atom::value)
      .receive([](caf::ok_atom) {}, [](caf::error&) {});
  return n;
}

status node::deliver(const protocol::address& target, protocol::typed_value value) {
  if (stopping_)
    return error{errc::unavailable, "the node is shutting down"};
  if (!module_->find_endpoint(target.type))
    return error{errc::unknown, "unknown function type '" + target.type.to_string() + "'"};
  if (state::encoded_address_size(target) > state::max_address_bytes)
    return error{errc::malformed, "address is longer than "
                                    + std::to_string(state::max_address_bytes) + " bytes"};
  auto kg = protocol::key_group_of(target.id, opts_.max_key_groups);
  auto p = protocol::partition_of(kg, opts_.max_key_groups, opts_.partitions);
  envelope env{target, protocol::invocation{std::nullopt, std::move(value)}};
  caf::scoped_actor self{*sys_};
  status out = ok();
  self->request(partitions_[p], caf::infinite, ingress_atom::value, std::move(env))
    .receive([](caf::ok_atom) {},
             [&](caf::error& err) {
               out = error{errc::unavailable, "delivery failed: " + sys_->render(err)};
             });
  return out;
}

result<dead_letter_list> node::dead_letters(size_t limit) {
  dead_letter_list all;
  caf::scoped_actor self{*sys_};
  for (auto& p : partitions_) {
    self->request(p, std::chrono::seconds{30}, deadlist_atom::value, std::uint64_t{limit})
      .receive(
        [&](dead_letter_list& some) {
          for (auto& d : some)
            if (all.size() < limit)
              all.push_back(std::move(d));
        },
        [](caf::error&) {});
  }
  std::sort(all.begin(), all.end(), [](const state::dead_letter& a, const state::dead_letter& b) {
    return a.time_ms < b.time_ms;
  });
  return all;
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
    return error{errc::unavailable, "the node is shutting down"};
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

void node::shutdown() {
  if (stopping_.exchange(true))
    return;
  caf::scoped_actor self{*sys_};
  // Freeze all partitions at once: each waits for the others' markers.
  std::vector<decltype(self->request(partitions_[0], caf::infinite, freeze_atom::value))> pending;
  for (auto& p : partitions_)
    pending.push_back(self->request(p, caf::infinite, freeze_atom::value));
  for (auto& h : pending)
    h.receive([](caf::ok_atom) {}, [](caf::error&) {});
}

} // namespace hearth::actors
