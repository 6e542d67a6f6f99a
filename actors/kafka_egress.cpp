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

kafka_egress::kafka_egress(kafka_egress_config cfg) : cfg_(std::move(cfg)) {
  auto name = "Kafka egress " + cfg_.spec.id.to_string();
  egress_sink sink{[this](const egress_batch& b, egress_pump& pump) { return deliver(b, pump); },
                   [this] {
                     if (producer_)
                       producer_->poll(); // delivery reports of `none` records
                   }};
  pump_ = std::make_unique<egress_pump>(name, cfg_.store, kafka_queue(cfg_.spec.id), batch_max,
                                        std::move(sink));
}

kafka_egress::~kafka_egress() { pump_.reset(); }

namespace {

/// Runs `step` (a call with a 1 s timeout) until it is done, fails for good,
/// the pump stops, or `budget` has passed: the node's shutdown never waits
/// long for a Kafka that does not answer.
template <class Step>
status patiently(egress_pump& pump, std::chrono::milliseconds budget, Step step) {
  auto until = std::chrono::steady_clock::now() + budget;
  for (;;) {
    auto s = step(1s);
    if (s || s.err().code != errc::unavailable || pump.stopping()
        || std::chrono::steady_clock::now() >= until)
      return s;
  }
}

} // namespace

status kafka_egress::deliver(const egress_batch& batch, egress_pump& pump) {
  auto id = cfg_.spec.id.to_string();
  bool txn = cfg_.spec.semantic == kind::exactly_once;
  if (!producer_) {
    auto p = io::kafka_producer::open(settings_of(cfg_.spec),
                                      txn ? transactional_id(cfg_.node_id, cfg_.spec.id) : "");
    if (!p)
      return p.err();
    // Fences the previous producer of this id and aborts its open
    // transaction: its records are still in the store and go out again.
    if (txn)
      if (auto s = patiently(pump, 30s, [&](auto t) { return (*p)->init_transactions(t); }); !s)
        return s;
    producer_ = std::move(*p);
  }
  std::map<std::string, std::uint64_t> per_topic;
  auto attempt = [&]() -> status {
    if (txn)
      if (auto s = producer_->begin(); !s)
        return s;
    for (auto& [n, bytes] : batch) {
      auto rec = decode_kafka_entry(bytes);
      if (!rec) {
        std::cerr << "hearth-node: Kafka egress " << id << ": record " << n
                  << " skipped: " << rec.err().message << std::endl;
        continue;
      }
      if (auto s = producer_->produce(rec->topic, rec->key, rec->value); !s)
        return s;
      ++per_topic[rec->topic];
    }
    if (txn)
      return patiently(pump, 60s, [&](auto t) { return producer_->commit(t); });
    if (cfg_.spec.semantic == kind::at_least_once)
      return patiently(pump, 60s, [&](auto t) { return producer_->flush(t); });
    producer_->poll();
    return ok();
  };
  auto s = attempt();
  if (!s) {
    if (txn) {
      cfg_.stats->kafka_transaction(id, metrics::txn_outcome::aborted);
      // A fatal error (fenced) needs a new producer with the same id; so
      // does an abort that fails. Otherwise the transaction is aborted.
      if (s.err().code == errc::io || pump.stopping() || !producer_->abort(5s))
        producer_.reset();
    }
    return s;
  }
  if (txn)
    cfg_.stats->kafka_transaction(id, metrics::txn_outcome::committed);
  for (auto& [topic, n] : per_topic)
    cfg_.stats->kafka_out(id, topic, n);
  return ok();
}

} // namespace hearth::actors
