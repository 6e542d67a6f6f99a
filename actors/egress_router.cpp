#include "actors/egress_router.hpp"

#include "actors/kafka_egress.hpp"
#include "actors/kinesis_egress.hpp"
#include "io/playground.hpp"

#include <algorithm>

namespace hearth::actors {

bool egress_router::known_topic(const std::string& topic) const {
  auto& eg = module_.egress;
  return eg && std::find(eg->topics.begin(), eg->topics.end(), topic) != eg->topics.end();
}

routed_egress egress_router::route(state::store& store, const protocol::address& source,
                                   const std::vector<protocol::egress_message>& messages) const {
  routed_egress out;
  for (auto& eg : messages) {
    protocol::address pseudo{{eg.egress_namespace, eg.egress_type}, ""};
    auto id = eg.egress_id();
    auto dead = [&](std::string why) {
      out.rejected.push_back({pseudo, {protocol::invocation{source, eg.argument}}, std::move(why)});
    };
    if (!enabled_) {
      dead("unknown egress '" + id + "'");
      continue;
    }
    if (auto* kafka = module_.find_kafka_egress(pseudo.type)) {
      auto rec = protocol::decode_kafka_record(eg.argument);
      if (!rec) {
        dead(rec.err().message);
        continue;
      }
      if (rec->topic.empty()) {
        dead("the KafkaProducerRecord names no topic");
        continue;
      }
      state::egress_entry e{store.next_seq(), kafka_queue(kafka->id), eg.argument.value.str()};
      auto exactly = kafka->semantic == io::kafka_egress_spec::delivery::exactly_once;
      (exactly ? out.records : out.now).push_back(std::move(e));
      continue;
    }
    if (auto* kinesis = module_.find_kinesis_egress(pseudo.type)) {
      auto rec = protocol::decode_kinesis_record(eg.argument);
      if (!rec) {
        dead(rec.err().message);
        continue;
      }
      if (rec->stream.empty() || rec->partition_key.empty()) {
        dead("the KinesisEgressRecord names no stream or no partition key");
        continue;
      }
      out.now.push_back({store.next_seq(), kinesis_queue(kinesis->id), eg.argument.value.str()});
      continue;
    }
    if (id != io::playground_egress_id || !module_.egress) {
      dead("unknown egress '" + id + "'");
      continue;
    }
    auto rec = io::decode_egress_record(eg.argument);
    if (!rec) {
      dead(rec.err().message);
      continue;
    }
    if (!known_topic(rec->topic)) {
      dead("unknown egress topic '" + rec->topic + "'");
      continue;
    }
    state::egress_entry e{store.next_seq(), std::move(rec->topic), std::move(rec->payload)};
    (module_.egress->at_least_once ? out.now : out.records).push_back(std::move(e));
  }
  return out;
}

void egress_router::hold(std::vector<state::egress_entry> records, std::uint64_t first_checkpoint) {
  for (auto& r : records)
    held_.push_back({first_checkpoint, std::move(r)});
}

std::vector<state::egress_entry> egress_router::held() const {
  std::vector<state::egress_entry> out;
  out.reserve(held_.size());
  for (auto& h : held_)
    out.push_back(h.entry);
  return out;
}

void egress_router::completed(std::uint64_t id) {
  held_.erase(std::remove_if(held_.begin(), held_.end(),
                             [&](const held_record& h) { return h.first_checkpoint <= id; }),
              held_.end());
}

} // namespace hearth::actors
