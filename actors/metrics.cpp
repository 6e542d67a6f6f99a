#include "actors/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace hearth::actors {

namespace pm = prometheus;

struct metrics::impl {
  std::shared_ptr<pm::Registry> registry = std::make_shared<pm::Registry>();
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
      .Register(*registry);
  pm::Family<pm::Gauge>& backlog =
    gauge("hearth_numBacklog", "messages waiting behind a call in flight, per function type");
  pm::Family<pm::Gauge>& blocked =
    gauge("hearth_numBlockedAddress", "addresses at maxNumBatchRequests, per function type");
  pm::Family<pm::Gauge>& live = gauge("hearth_live_actors", "live address actors, per partition");
  pm::Counter& passivations =
    counter("hearth_passivations", "address actors stopped while idle").Add({});
  pm::Counter& dead_letters = counter("hearth_dead_letters", "dead letters written").Add({});
  pm::Family<pm::Counter>& ingress =
    counter("hearth_ingress_requests", "ingress requests, by outcome");
  pm::Counter& checkpoints = counter("hearth_checkpoints", "completed checkpoints").Add({});
  pm::Gauge& checkpoint_ms =
    gauge("hearth_checkpoint_duration_ms", "duration of the last checkpoint").Add({});
  pm::Gauge& checkpoint_bytes =
    gauge("hearth_checkpoint_bytes", "bytes written by the last checkpoint").Add({});

  pm::Family<pm::Counter>& counter(const char* name, const char* help) {
    return pm::BuildCounter().Name(name).Help(help).Register(*registry);
  }
  pm::Family<pm::Gauge>& gauge(const char* name, const char* help) {
    return pm::BuildGauge().Name(name).Help(help).Register(*registry);
  }
  static pm::Labels of(const std::string& type) { return {{"function_type", type}}; }
};

metrics::metrics() : impl_(std::make_unique<impl>()) {}
metrics::~metrics() = default;

void metrics::in(const std::string& t, std::uint64_t n) {
  impl_->in.Add(impl::of(t)).Increment(static_cast<double>(n));
}
void metrics::out_local(const std::string& t, std::uint64_t n) {
  impl_->out_local.Add(impl::of(t)).Increment(static_cast<double>(n));
}
void metrics::out_remote(const std::string& t, std::uint64_t n) {
  impl_->out_remote.Add(impl::of(t)).Increment(static_cast<double>(n));
}
void metrics::out_egress(const std::string& t, std::uint64_t n) {
  impl_->out_egress.Add(impl::of(t)).Increment(static_cast<double>(n));
}
void metrics::failures(const std::string& t, std::uint64_t n) {
  impl_->failures.Add(impl::of(t)).Increment(static_cast<double>(n));
}
void metrics::latency(const std::string& t, double ms) {
  static const pm::Histogram::BucketBoundaries buckets{1,   2,    5,    10,   25,    50,   100,
                                                       250, 500, 1000, 2500, 5000, 10000, 30000};
  impl_->latency.Add(impl::of(t), buckets).Observe(ms);
}
void metrics::backlog(const std::string& t, double n) { impl_->backlog.Add(impl::of(t)).Set(n); }
void metrics::blocked(const std::string& t, double n) { impl_->blocked.Add(impl::of(t)).Set(n); }
void metrics::live_actors(std::uint32_t p, double n) {
  impl_->live.Add({{"partition", std::to_string(p)}}).Set(n);
}
void metrics::passivated(std::uint64_t n) { impl_->passivations.Increment(static_cast<double>(n)); }
void metrics::dead_letter() { impl_->dead_letters.Increment(); }
void metrics::ingress(const std::string& outcome) {
  impl_->ingress.Add({{"outcome", outcome}}).Increment();
}
void metrics::checkpoint(double ms, double bytes) {
  impl_->checkpoints.Increment();
  impl_->checkpoint_ms.Set(ms);
  impl_->checkpoint_bytes.Set(bytes);
}

std::string metrics::expose() const {
  return pm::TextSerializer{}.Serialize(impl_->registry->Collect());
}

} // namespace hearth::actors
