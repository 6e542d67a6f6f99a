#include "actors/kafka_egress.hpp"

#include "io/kafka_producer.hpp"

#include <iostream>
#include <map>

namespace hearth::actors {

namespace {

using namespace std::chrono_literals;
using kind = io::kafka_egress_spec::delivery;

constexpr size_t batch_max = 5000;

io::kafka_settings settings_of(const io::kafka_egress_spec& spec) {
  io::kafka_settings out;
  if (!spec.address.empty())
    out.emplace_back("bootstrap.servers", spec.address);
  for (auto& p : spec.properties)
    out.emplace_back(p.key, p.value);
  if (spec.semantic == kind::exactly_once)
    out.emplace_back("transaction.timeout.ms", std::to_string(spec.transaction_timeout.count()));
  return out;
}

} // namespace

std::string kafka_queue(const protocol::function_type& id) { return "kafka:" + id.to_string(); }

result<protocol::kafka_record> decode_kafka_entry(const std::string& bytes) {
  return protocol::decode_kafka_record({protocol::kafka_record_type_name, true, bytes});
}

std::string kafka_egress::transactional_id(const std::string& node_id,
                                           const protocol::function_type& egress) {
  return "hearth-" + node_id + "-" + egress.to_string();
}

kafka_egress::kafka_egress(kafka_egress_config cfg)
  : cfg_(std::move(cfg)), thread_([this] { run(); }) {}

kafka_egress::~kafka_egress() {
  {
    std::lock_guard<std::mutex> g{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool kafka_egress::sleep(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock{mtx_};
  return !cv_.wait_for(lock, d, [&] { return stop_; });
}

void kafka_egress::run() {
  auto id = cfg_.spec.id.to_string();
  auto queue = kafka_queue(cfg_.spec.id);
  bool txn = cfg_.spec.semantic == kind::exactly_once;
  auto say = [&](const std::string& what) {
    std::cerr << "hearth-node: Kafka egress " << id << ": " << what << std::endl;
  };
  std::unique_ptr<io::kafka_producer> producer;
  auto backoff = 100ms;
  auto failed = [&](const std::string& what) {
    say(what + " (retrying in " + std::to_string(backoff.count()) + " ms)");
    bool go_on = sleep(backoff);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
    return go_on;
  };
  for (;;) {
    {
      std::lock_guard<std::mutex> g{mtx_};
      if (stop_)
        return;
    }
    if (!producer) {
      auto p = io::kafka_producer::open(settings_of(cfg_.spec),
                                        txn ? transactional_id(cfg_.node_id, cfg_.spec.id) : "");
      if (!p) {
        if (!failed(p.err().message))
          return;
        continue;
      }
      // Fences the previous producer of this id and aborts its open
      // transaction: its records are still in the store and go out again.
      if (auto s = txn ? (*p)->init_transactions(30s) : status{ok()}; !s) {
        if (!failed(s.err().message))
          return;
        continue;
      }
      producer = std::move(*p);
    }
    auto batch = cfg_.store->peek(queue, batch_max);
    if (!batch) {
      if (!failed("cannot read the egress store: " + batch.err().message))
        return;
      continue;
    }
    if (batch->empty()) {
      producer->poll();
      if (!sleep(20ms))
        return;
      continue;
    }
    std::map<std::string, std::uint64_t> per_topic;
    auto attempt = [&]() -> status {
      if (txn)
        if (auto s = producer->begin(); !s)
          return s;
      for (auto& [n, bytes] : *batch) {
        auto rec = decode_kafka_entry(bytes);
        if (!rec) {
          say("record " + std::to_string(n) + " skipped: " + rec.err().message);
          continue;
        }
        if (auto s = producer->produce(rec->topic, rec->key, rec->value); !s)
          return s;
        ++per_topic[rec->topic];
      }
      if (txn) {
        auto s = producer->commit(60s);
        for (int retry = 0; !s && s.err().code == errc::unavailable && retry < 3; ++retry)
          s = producer->commit(60s);
        return s;
      }
      if (cfg_.spec.semantic == kind::at_least_once)
        return producer->flush(60s);
      producer->poll();
      return ok();
    };
    auto s = attempt();
    if (!s) {
      if (txn) {
        cfg_.stats->kafka_transaction(id, metrics::txn_outcome::aborted);
        if (s.err().code != errc::io) {
          if (auto a = producer->abort(30s); !a)
            producer.reset(); // start over: a new producer aborts what is open
        } else {
          producer.reset(); // fatal (fenced): a new producer with the same id
        }
      }
      if (!failed(s.err().message + "; the batch of " + std::to_string(batch->size())
                  + " record(s) stays in the store and is produced again"))
        return;
      continue;
    }
    backoff = 100ms;
    if (txn)
      cfg_.stats->kafka_transaction(id, metrics::txn_outcome::committed);
    for (auto& [topic, n] : per_topic)
      cfg_.stats->kafka_out(id, topic, n);
    if (auto r = cfg_.store->remove(queue, batch->back().first); !r)
      if (!failed("cannot remove produced records from the egress store: " + r.err().message))
        return;
  }
}

} // namespace hearth::actors
