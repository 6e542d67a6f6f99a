#include "actors/kinesis_ingress.hpp"

#include "actors/connector_feed.hpp"
#include "io/aws_credentials.hpp"
#include "io/kinesis_client.hpp"
#include "state/format.hpp"

#include <iostream>
#include <set>

namespace hearth::actors {

namespace {

using namespace std::chrono_literals;
using poll_atom = caf::atom_constant<caf::atom("kipoll")>;
using list_atom = caf::atom_constant<caf::atom("kilist")>;

namespace kin = io::kinesis;

constexpr size_t batch_max = 500; // envelopes per hand-over (about)
constexpr auto relist_every = 10s;

struct shard_state {
  kin::shard info;
  std::string key;      // in checkpoints
  std::string position; // see the header
  std::optional<std::string> iterator;
  bool latest = false; // resolved from startupPosition latest in this run: read from LATEST
  std::chrono::steady_clock::time_point next_read{}; // at most 5 reads a second per shard
};

struct stream_state {
  const io::ingress_route* route = nullptr;
  std::map<std::string, shard_state> shards; // by shard id
};

struct ingress_state {
  kinesis_ingress_config cfg;
  std::string name;
  std::unique_ptr<kin::client> client;
  std::vector<stream_state> streams; // those this member reads
  std::int64_t opened_ms = 0;        // "latest" is resolved to this
  std::chrono::steady_clock::time_point listed{};
  std::chrono::milliseconds backoff = 200ms;
  std::uint64_t skipped = 0;
  bool listing_due = true;
};

void say(const ingress_state& st, const std::string& what) {
  std::cerr << "hearth-node: Kinesis ingress " << st.name << ": " << what << std::endl;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// The startupPosition of a shard nobody has read.
std::string start_position(const ingress_state& st) {
  switch (st.cfg.spec.startup) {
    case io::kinesis_ingress_spec::start::earliest: return "trim";
    case io::kinesis_ingress_spec::start::date: return "time:" + std::to_string(st.cfg.spec.date_ms);
    case io::kinesis_ingress_spec::start::latest: break;
  }
  return "time:" + std::to_string(st.opened_ms);
}

result<kin::position> iterator_start(const std::string& position) {
  if (position == "trim")
    return kin::position::trim_horizon();
  if (position.rfind("after:", 0) == 0)
    return kin::position::after_sequence_number(position.substr(6));
  if (position.rfind("time:", 0) == 0) {
    try {
      return kin::position::at_timestamp(std::chrono::system_clock::time_point{
        std::chrono::milliseconds{std::stoll(position.substr(5))}});
    } catch (...) {
    }
  }
  return error{errc::malformed, "'" + position + "' is not a Kinesis shard position"};
}

status open_client(ingress_state& st) {
  auto creds = io::aws::resolve_credentials(st.cfg.spec.credentials);
  if (!creds)
    return creds.err();
  std::string region;
  auto endpoint = io::aws::endpoint_for(st.cfg.spec.region, "kinesis", &region);
  if (!endpoint)
    return endpoint.err();
  kin::client_options o;
  o.endpoint = *endpoint;
  o.region = region;
  o.credentials = std::move(*creds);
  o.request_timeout = 10s; // a teardown waits for a call under way
  auto c = kin::make_client(std::move(o));
  if (!c)
    return c.err();
  st.client = std::move(*c);
  return ok();
}

/// Lists the shards of every stream read here and adds the new ones with
/// their starting position. The positions of new shards go to `positions`.
status list(ingress_state& st, std::map<std::string, std::string>& positions) {
  for (auto& s : st.streams) {
    auto shards = st.client->list_shards(s.route->name);
    if (!shards)
      return shards.err();
    std::set<std::string> listed;
    for (auto& sh : *shards)
      listed.insert(sh.id);
    for (auto& sh : *shards) {
      if (s.shards.count(sh.id))
        continue;
      shard_state ss;
      ss.info = sh;
      ss.key = kinesis_stream(st.cfg.spec.id, s.route->name, sh.id);
      auto known = [&](const std::string& id) {
        return !id.empty()
               && (listed.count(id) || st.cfg.restored.count(kinesis_stream(st.cfg.spec.id, s.route->name, id)));
      };
      if (auto it = st.cfg.restored.find(ss.key); it != st.cfg.restored.end())
        ss.position = it->second;
      else if (known(sh.parent_id) || known(sh.adjacent_parent_id))
        ss.position = "trim"; // a child: all its records come after its parents'
      else {
        ss.position = start_position(st);
        ss.latest = st.cfg.spec.startup == io::kinesis_ingress_spec::start::latest;
      }
      positions[ss.key] = ss.position;
      s.shards.emplace(sh.id, std::move(ss));
    }
  }
  st.listed = std::chrono::steady_clock::now();
  st.listing_due = false;
  return ok();
}

/// Whether every parent of `sh` still listed has been read to its end.
bool parents_done(const stream_state& s, const shard_state& sh) {
  for (auto* id : {&sh.info.parent_id, &sh.info.adjacent_parent_id}) {
    if (id->empty())
      continue;
    auto it = s.shards.find(*id);
    if (it != s.shards.end() && it->second.position != "done")
      return false;
  }
  return true;
}

/// Reads what the readable shards have now, into `batch`.
status read(ingress_state& st, connector_batch& batch) {
  auto now = std::chrono::steady_clock::now();
  for (auto& s : st.streams) {
    std::uint64_t n = 0;
    for (auto& [id, sh] : s.shards) {
      if (batch.envelopes.size() >= batch_max)
        break;
      if (sh.position == "done" || now < sh.next_read || !parents_done(s, sh))
        continue;
      if (!sh.iterator) {
        // A fresh "latest" reads from the tip; its position (the time the
        // ingress opened) is what a restart before its first record uses.
        auto from = sh.latest ? result<kin::position>{kin::position::latest()}
                              : iterator_start(sh.position);
        if (!from)
          return from.err();
        auto it = st.client->shard_iterator(s.route->name, id, *from);
        if (!it)
          return it.err();
        sh.iterator = *it;
      }
      auto got = st.client->get_records(*sh.iterator, 1000);
      if (!got) {
        if (got.err().code == errc::conflict) { // expired: again from the position
          sh.iterator.reset();
          continue;
        }
        return got.err();
      }
      sh.next_read = now + 200ms;
      for (auto& r : got->records) {
        sh.position = "after:" + r.sequence_number;
        sh.latest = false;
        ++n;
        for (auto& target : s.route->targets) {
          protocol::address a{target, r.partition_key};
          if (r.partition_key.empty() || state::encoded_address_size(a) > state::max_address_bytes) {
            if (st.skipped++ % 1000 == 0)
              say(st, "a record's partition key cannot be a function id: skipped ("
                        + std::to_string(st.skipped) + " so far)");
            break;
          }
          batch.envelopes.push_back(envelope{
            std::move(a), protocol::invocation{std::nullopt, {s.route->value_type, true, r.data}}});
        }
      }
      st.cfg.stats->kinesis_behind(st.name, s.route->name, id,
                                   static_cast<double>(got->millis_behind_latest));
      if (got->next_iterator) {
        sh.iterator = std::move(got->next_iterator);
      } else {
        sh.position = "done"; // closed and read to its end: its children may start
        sh.iterator.reset();
        st.listing_due = true;
      }
      batch.positions[sh.key] = sh.position;
    }
    if (n > 0)
      st.cfg.stats->kinesis_in(st.name, s.route->name, n);
  }
  return ok();
}

void poll(caf::event_based_actor* self, const std::shared_ptr<ingress_state>& st) {
  connector_batch batch;
  auto again = [&](const std::string& why) {
    say(*st, why + " (trying again in " + std::to_string(st->backoff.count()) + " ms)");
    self->delayed_send(self, st->backoff, poll_atom::value);
    st->backoff = std::min<std::chrono::milliseconds>(st->backoff * 2, 5s);
  };
  if (!st->client) {
    if (auto s = open_client(*st); !s)
      return again(s.err().message);
  }
  if (st->listing_due || std::chrono::steady_clock::now() - st->listed > relist_every)
    if (auto s = list(*st, batch.positions); !s)
      return again(s.err().message);
  if (auto s = read(*st, batch); !s && batch.positions.empty())
    return again(s.err().message);
  st->backoff = 200ms;
  if (batch.positions.empty()) {
    self->delayed_send(self, 100ms, poll_atom::value);
    return;
  }
  hand_over(self, st->cfg.source, std::move(batch), "Kinesis ingress " + st->name,
            [self] { self->send(self, poll_atom::value); });
}

} // namespace

std::string kinesis_stream(const protocol::function_type& ingress, const std::string& stream,
                           const std::string& shard) {
  return "kinesis/" + ingress.to_string() + "/" + stream + "/" + shard;
}

caf::behavior kinesis_ingress_actor(caf::event_based_actor* self, kinesis_ingress_config cfg) {
  auto st = std::make_shared<ingress_state>();
  st->name = cfg.spec.id.to_string();
  st->cfg = std::move(cfg);
  st->opened_ms = wall_ms();
  for (size_t i = 0; i < st->cfg.spec.streams.size(); ++i)
    if (i % st->cfg.members == st->cfg.member)
      st->streams.push_back(stream_state{&st->cfg.spec.streams[i], {}});
  self->send(self, poll_atom::value);
  return {
    [=](poll_atom) { poll(self, st); },
    [=](completed_atom, std::uint64_t, std::map<std::string, std::string>&) {},
  };
}

} // namespace hearth::actors
