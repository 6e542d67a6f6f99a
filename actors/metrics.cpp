#include "actors/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace hearth::actors {

namespace pm = prometheus;

struct metrics::impl {
  explicit impl(pm::Labels constant) : constant_labels(std::move(constant)) {}
  std::shared_ptr<pm::Registry> registry = std::make_shared<pm::Registry>();
  pm::Labels constant_labels; // before every family below, which use them
  pm::Family<pm::Counter>& in = counter("hearth_in", "messages received, per function type");
  pm::Family<pm::Counter>& out_local =
    counter("hearth_outLocal", "messages sent to addresses of the same partition");
  pm::Family<pm::Counter>& out_remote =
    counter("hearth_outRemote", "messages sent to addresses of other partitions");
  pm::Family<pm::Counter>& out_egress = counter("hearth_outEgress", "egress records produced");
  pm::Family<pm::Counter>& failures =
    counter("hearth_remoteInvocationFailures", "invocations whose call failed for good");
  pm::Family<pm::Histogram>& latency =
    pm::BuildHistogram()
      .Name("hearth_remoteInvocationLatency")
      .Help("function call latency in milliseconds")
      .Labels(constant_labels)
      .Register(*registry);
  pm::Family<pm::Gauge>& backlog =
    gauge("hearth_numBacklog", "messages waiting behind a call in flight, per function type");
  pm::Family<pm::Gauge>& blocked =
    gauge("hearth_numBlockedAddress", "addresses at maxNumBatchRequests, per function type");
  pm::Family<pm::Gauge>& live = gauge("hearth_live_actors", "live address actors, per partition");
  pm::Counter& passivations =
    counter("hearth_passivations", "address actors stopped while idle").Add({});
  pm::Counter& dead_letters = counter("hearth_dead_letters", "dead letters written").Add({});
  pm::Counter& spilled =
    counter("hearth_backlog_spilled",
            "messages that waited on disk because their address held maxNumBatchRequests")
      .Add({});
  pm::Family<pm::Counter>& ingress =
    counter("hearth_ingress_requests", "ingress requests, by outcome");
  pm::Counter& ingress_accepted = ingress.Add({{"outcome", "accepted"}});
  pm::Counter& ingress_duplicate = ingress.Add({{"outcome", "duplicate"}});
  pm::Counter& ingress_rejected = ingress.Add({{"outcome", "rejected"}});
  pm::Counter& checkpoints = counter("hearth_checkpoints", "completed checkpoints").Add({});
  pm::Counter& checkpoints_failed =
    counter("hearth_checkpoints_failed", "checkpoints aborted: a part or manifest write failed, "
                                         "or a part did not arrive in time").Add({});
  pm::Counter& restarts =
    counter("hearth_pipeline_restarts", "rebuilds of the partitions from the last checkpoint "
                                        "after a failed write or a failed partition").Add({});
  pm::Gauge& checkpoint_ms =
    gauge("hearth_checkpoint_duration_ms", "duration of the last checkpoint").Add({});
  pm::Gauge& checkpoint_bytes =
    gauge("hearth_checkpoint_bytes", "bytes written by the last checkpoint").Add({});
  pm::Family<pm::Counter>& kafka_in =
    counter("hearth_kafka_records_in", "records read from Kafka, per ingress and topic");
  pm::Family<pm::Gauge>& kafka_lag =
    gauge("hearth_kafka_consumer_lag", "records in a Kafka partition not read yet");
  pm::Family<pm::Counter>& kafka_out =
    counter("hearth_kafka_records_out", "records written to Kafka, per egress and topic");
  pm::Family<pm::Counter>& kafka_txn =
    counter("hearth_kafka_transactions", "Kafka transactions of exactly-once egresses, by outcome");
  pm::Family<pm::Counter>& kinesis_in =
    counter("hearth_kinesis_records_in", "records read from Kinesis, per ingress and stream");
  pm::Family<pm::Gauge>& kinesis_behind =
    gauge("hearth_kinesis_millis_behind", "how far a shard's reader is behind the stream's tip");
  pm::Family<pm::Counter>& kinesis_out =
    counter("hearth_kinesis_records_out", "records put to Kinesis, per egress and stream");
  pm::Family<pm::Counter>& kinesis_retried =
    counter("hearth_kinesis_records_retried", "records Kinesis refused (throttling) and Hearth put again");

  pm::Family<pm::Counter>& counter(const char* name, const char* help) {
    return pm::BuildCounter().Name(name).Help(help).Labels(constant_labels).Register(*registry);
  }
  pm::Family<pm::Gauge>& gauge(const char* name, const char* help) {
    return pm::BuildGauge().Name(name).Help(help).Labels(constant_labels).Register(*registry);
  }
  /// The series of one function type.
  struct per_type {
    pm::Counter& in;
    pm::Counter& out_local;
    pm::Counter& out_remote;
    pm::Counter& out_egress;
    pm::Counter& failures;
    pm::Histogram& latency;
  };
  std::shared_mutex types_mtx;
  std::unordered_map<protocol::function_type, std::unique_ptr<per_type>> types;

  per_type& of(const protocol::function_type& t) {
    {
      std::shared_lock<std::shared_mutex> read{types_mtx};
      if (auto it = types.find(t); it != types.end())
        return *it->second;
    }
    static const pm::Histogram::BucketBoundaries buckets{1,   2,    5,    10,   25,    50,   100,
                                                         250, 500, 1000, 2500, 5000, 10000, 30000};
    std::unique_lock<std::shared_mutex> write{types_mtx};
    auto& slot = types[t];
    if (!slot) {
      pm::Labels l{{"function_type", t.to_string()}};
      slot.reset(new per_type{in.Add(l), out_local.Add(l), out_remote.Add(l), out_egress.Add(l),
                              failures.Add(l), latency.Add(l, buckets)});
    }
    return *slot;
  }
};

metrics::metrics(const std::string& node)
  : impl_(std::make_unique<impl>(node.empty() ? pm::Labels{} : pm::Labels{{"node", node}})) {}
metrics::~metrics() = default;

void metrics::in(const protocol::function_type& t, std::uint64_t n) {
  impl_->of(t).in.Increment(static_cast<double>(n));
}
void metrics::applied(const protocol::function_type& t, std::uint64_t local, std::uint64_t remote,
                      std::uint64_t egress, double latency_ms) {
  auto& series = impl_->of(t);
  series.out_local.Increment(static_cast<double>(local));
  series.out_remote.Increment(static_cast<double>(remote));
  series.out_egress.Increment(static_cast<double>(egress));
  series.latency.Observe(latency_ms);
}
void metrics::failures(const protocol::function_type& t, std::uint64_t n) {
  impl_->of(t).failures.Increment(static_cast<double>(n));
}
void metrics::latency(const protocol::function_type& t, double ms) {
  impl_->of(t).latency.Observe(ms);
}
void metrics::backlog(std::uint32_t p, const protocol::function_type& t, double messages,
                      double blocked) {
  pm::Labels l{{"function_type", t.to_string()}, {"partition", std::to_string(p)}};
  impl_->backlog.Add(l).Set(messages);
  impl_->blocked.Add(l).Set(blocked);
}
void metrics::live_actors(std::uint32_t p, double n) {
  impl_->live.Add({{"partition", std::to_string(p)}}).Set(n);
}
void metrics::passivated(std::uint64_t n) { impl_->passivations.Increment(static_cast<double>(n)); }
void metrics::dead_letter() { impl_->dead_letters.Increment(); }
void metrics::spilled() { impl_->spilled.Increment(); }
void metrics::ingress(ingress_outcome outcome) {
  switch (outcome) {
    case ingress_outcome::accepted: impl_->ingress_accepted.Increment(); break;
    case ingress_outcome::duplicate: impl_->ingress_duplicate.Increment(); break;
    case ingress_outcome::rejected: impl_->ingress_rejected.Increment(); break;
  }
}
void metrics::checkpoint_failed() { impl_->checkpoints_failed.Increment(); }

void metrics::pipeline_restarted() { impl_->restarts.Increment(); }

void metrics::checkpoint(double ms, double bytes) {
  impl_->checkpoints.Increment();
  impl_->checkpoint_ms.Set(ms);
  impl_->checkpoint_bytes.Set(bytes);
}

void metrics::kafka_in(const std::string& ingress, const std::string& topic, std::uint64_t n) {
  impl_->kafka_in.Add({{"ingress", ingress}, {"topic", topic}}).Increment(static_cast<double>(n));
}
void metrics::kafka_lag(const std::string& ingress, const std::string& topic,
                        std::int32_t partition, double records) {
  impl_->kafka_lag
    .Add({{"ingress", ingress}, {"topic", topic}, {"partition", std::to_string(partition)}})
    .Set(records);
}
void metrics::kafka_out(const std::string& egress, const std::string& topic, std::uint64_t n) {
  impl_->kafka_out.Add({{"egress", egress}, {"topic", topic}}).Increment(static_cast<double>(n));
}
void metrics::kafka_transaction(const std::string& egress, txn_outcome outcome) {
  impl_->kafka_txn
    .Add({{"egress", egress},
          {"outcome", outcome == txn_outcome::committed ? "committed" : "aborted"}})
    .Increment();
}

void metrics::kinesis_in(const std::string& ingress, const std::string& stream, std::uint64_t n) {
  impl_->kinesis_in.Add({{"ingress", ingress}, {"stream", stream}}).Increment(static_cast<double>(n));
}
void metrics::kinesis_behind(const std::string& ingress, const std::string& stream,
                             const std::string& shard, double ms) {
  impl_->kinesis_behind.Add({{"ingress", ingress}, {"stream", stream}, {"shard", shard}}).Set(ms);
}
void metrics::kinesis_out(const std::string& egress, const std::string& stream, std::uint64_t n) {
  impl_->kinesis_out.Add({{"egress", egress}, {"stream", stream}}).Increment(static_cast<double>(n));
}
void metrics::kinesis_retried(const std::string& egress, std::uint64_t n) {
  impl_->kinesis_retried.Add({{"egress", egress}}).Increment(static_cast<double>(n));
}

std::string metrics::expose() const {
  return pm::TextSerializer{}.Serialize(impl_->registry->Collect());
}

} // namespace hearth::actors
