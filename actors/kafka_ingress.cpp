#include "actors/kafka_ingress.hpp"

#include "actors/connector_feed.hpp"
#include "io/kafka_consumer.hpp"
#include "state/format.hpp"

#include <iostream>

namespace hearth::actors {

namespace {

using namespace std::chrono_literals;
using poll_atom = caf::atom_constant<caf::atom("kpoll")>;
using open_atom = caf::atom_constant<caf::atom("kopen")>;

constexpr size_t batch_max = 500;

struct owned {
  std::string topic;
  std::int32_t partition = 0;
  std::string stream;
  const io::ingress_route* route = nullptr;
  std::int64_t next = 0;
};

struct ingress_state {
  kafka_ingress_config cfg;
  std::unique_ptr<io::kafka_consumer> consumer;
  std::vector<owned> parts;
  std::map<std::string, size_t> by_stream;
  std::string name; // the ingress id, for logs and metrics
  std::uint64_t skipped = 0;
};

void say(const ingress_state& st, const std::string& what) {
  std::cerr << "hearth-node: Kafka ingress " << st.name << ": " << what << std::endl;
}

/// Where a partition the checkpoint does not know starts (startupPosition).
result<std::int64_t> start_of(ingress_state& st, const owned& o) {
  auto& spec = st.cfg.spec;
  auto marks = st.consumer->watermarks(o.topic, o.partition, 3s);
  if (!marks)
    return marks.err();
  auto reset = spec.reset_earliest ? marks->first : marks->second;
  using kind = io::kafka_startup::kind;
  switch (spec.startup.type) {
    case kind::earliest: return marks->first;
    case kind::latest: return marks->second;
    case kind::group_offsets: {
      auto c = st.consumer->committed(o.topic, o.partition, 3s);
      if (!c)
        return c.err();
      return c->value_or(reset);
    }
    case kind::specific_offsets: {
      auto it = spec.startup.offsets.find(o.topic + "/" + std::to_string(o.partition));
      return it == spec.startup.offsets.end() ? reset : it->second;
    }
    case kind::date: {
      auto t = st.consumer->offset_for_time(o.topic, o.partition, spec.startup.date_ms, 3s);
      if (!t)
        return t.err();
      return t->value_or(marks->second);
    }
  }
  return reset;
}

/// Opens the consumer, finds this node's partitions and their positions, and
/// assigns them; false (after logging) when Kafka is not ready yet.
bool open(ingress_state& st) {
  auto& spec = st.cfg.spec;
  io::kafka_settings settings;
  if (!spec.address.empty())
    settings.emplace_back("bootstrap.servers", spec.address);
  // librdkafka assigns partitions only to a consumer with a group id; without
  // consumerGroupId one is made up, and nothing is ever committed to it.
  settings.emplace_back("group.id",
                        spec.group_id.empty() ? "hearth-" + spec.id.to_string() : spec.group_id);
  settings.emplace_back("auto.offset.reset", spec.reset_earliest ? "earliest" : "latest");
  for (auto& p : spec.properties)
    settings.emplace_back(p.key, p.value);
  if (!st.consumer) {
    auto c = io::kafka_consumer::open(settings);
    if (!c) {
      say(st, c.err().message);
      return false;
    }
    st.consumer = std::move(*c);
  }
  std::vector<owned> all;
  for (auto& route : spec.topics) {
    auto parts = st.consumer->partitions(route.name, 3s);
    if (!parts) {
      say(st, parts.err().message + " (trying again)");
      return false;
    }
    for (auto p : *parts)
      all.push_back({route.name, p, kafka_stream(spec.id, route.name, p), &route, 0});
  }
  st.parts.clear();
  for (size_t i = 0; i < all.size(); ++i)
    if (i % st.cfg.members == st.cfg.member)
      st.parts.push_back(std::move(all[i]));
  std::vector<io::kafka_position> positions;
  for (auto& o : st.parts) {
    if (auto it = st.cfg.restored.find(o.stream); it != st.cfg.restored.end()) {
      try {
        o.next = std::stoll(it->second);
      } catch (...) {
        say(st, "the checkpoint's position '" + it->second + "' of " + o.stream
                  + " is not an offset");
        return false;
      }
    } else if (auto s = start_of(st, o); !s) {
      say(st, s.err().message + " (trying again)");
      return false;
    } else {
      o.next = *s;
    }
    positions.push_back({o.topic, o.partition, o.next});
  }
  if (auto s = st.consumer->assign(positions); !s) {
    say(st, s.err().message);
    return false;
  }
  st.by_stream.clear();
  for (size_t i = 0; i < st.parts.size(); ++i)
    st.by_stream[st.parts[i].topic + "\n" + std::to_string(st.parts[i].partition)] = i;
  return true;
}

void feed(caf::event_based_actor* self, const std::shared_ptr<ingress_state>& st,
               connector_batch batch) {
  hand_over(self, st->cfg.source, std::move(batch), "Kafka ingress " + st->name,
                    [self] { self->send(self, poll_atom::value); });
}

void poll_once(caf::event_based_actor* self, const std::shared_ptr<ingress_state>& st) {
  auto msgs = st->consumer->poll(batch_max, 100ms);
  if (!msgs) {
    say(*st, msgs.err().message);
    self->quit(caf::make_error(caf::sec::runtime_error, msgs.err().message));
    return;
  }
  if (msgs->empty()) {
    for (auto& o : st->parts)
      if (auto lag = st->consumer->lag(o.topic, o.partition, o.next))
        st->cfg.stats->kafka_lag(st->name, o.topic, o.partition, static_cast<double>(*lag));
    self->send(self, poll_atom::value);
    return;
  }
  connector_batch batch;
  std::map<std::string, std::uint64_t> per_topic;
  for (auto& m : *msgs) {
    auto it = st->by_stream.find(m.topic + "\n" + std::to_string(m.partition));
    if (it == st->by_stream.end())
      continue; // not assigned here (cannot happen with assign)
    auto& o = st->parts[it->second];
    if (m.offset < o.next)
      continue; // already handed over
    o.next = m.offset + 1;
    batch.positions[o.stream] = std::to_string(o.next);
    ++per_topic[m.topic];
    if (!m.key || m.key->empty()) {
      if (st->skipped++ % 1000 == 0)
        say(*st, "a record without a key (" + m.topic + "/" + std::to_string(m.partition) + "@"
                   + std::to_string(m.offset) + ") has no function id: skipped ("
                   + std::to_string(st->skipped) + " so far)");
      continue;
    }
    protocol::shared_bytes value{std::move(m.value)};
    for (auto& target : o.route->targets) {
      protocol::address a{target, *m.key};
      if (state::encoded_address_size(a) > state::max_address_bytes) {
        if (st->skipped++ % 1000 == 0)
          say(*st, "a record's key is longer than " + std::to_string(state::max_address_bytes)
                     + " bytes: skipped (" + std::to_string(st->skipped) + " so far)");
        break;
      }
      batch.envelopes.push_back(
        envelope{std::move(a), protocol::invocation{std::nullopt, {o.route->value_type, true, value}}});
    }
  }
  for (auto& [topic, n] : per_topic)
    st->cfg.stats->kafka_in(st->name, topic, n);
  feed(self, st, std::move(batch));
}

} // namespace

std::string kafka_stream(const protocol::function_type& ingress, const std::string& topic,
                         std::int32_t partition) {
  return "kafka/" + ingress.to_string() + "/" + topic + "/" + std::to_string(partition);
}

caf::behavior kafka_ingress_actor(caf::event_based_actor* self, kafka_ingress_config cfg) {
  auto st = std::make_shared<ingress_state>();
  st->name = cfg.spec.id.to_string();
  st->cfg = std::move(cfg);
  self->send(self, open_atom::value);
  return {
    [=](open_atom) {
      if (!open(*st)) {
        self->delayed_send(self, 1s, open_atom::value);
        return;
      }
      // The starting positions first: the next checkpoint records them.
      connector_batch first;
      for (auto& o : st->parts)
        first.positions[o.stream] = std::to_string(o.next);
      feed(self, st, std::move(first));
    },
    [=](poll_atom) { poll_once(self, st); },
    [=](completed_atom, std::uint64_t, std::map<std::string, std::string>& positions) {
      if (st->cfg.spec.group_id.empty() || !st->consumer)
        return;
      std::vector<io::kafka_position> commit;
      for (auto& o : st->parts)
        if (auto it = positions.find(o.stream); it != positions.end())
          try {
            commit.push_back({o.topic, o.partition, std::stoll(it->second)});
          } catch (...) {
          }
      st->consumer->commit(commit);
    },
  };
}

} // namespace hearth::actors
