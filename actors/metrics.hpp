#pragma once

// actors::metrics: the node's Prometheus metrics (GET /metrics). Per function
// type, StateFun's names: in, outLocal, outRemote, outEgress, numBacklog,
// numBlockedAddress, remoteInvocationFailures, remoteInvocationLatency (ms
// histogram); inRate is rate(hearth_in[1m]). Per node: live actors,
// passivations, dead letters, ingress requests by outcome, checkpoints.
// Thread-safe (prometheus-cpp counters are atomic); cheap enough per batch.

#include <cstdint>
#include <memory>
#include <string>

namespace hearth::actors {

class metrics {
public:
  metrics();
  ~metrics();

  void in(const std::string& type, std::uint64_t n = 1);
  void out_local(const std::string& type, std::uint64_t n);
  void out_remote(const std::string& type, std::uint64_t n);
  void out_egress(const std::string& type, std::uint64_t n);
  void failures(const std::string& type, std::uint64_t n);
  void latency(const std::string& type, double ms);
  void backlog(const std::string& type, double messages);
  void blocked(const std::string& type, double addresses);
  void live_actors(std::uint32_t partition, double n);
  void passivated(std::uint64_t n);
  void dead_letter();
  /// outcome: "accepted", "duplicate" or "rejected".
  void ingress(const std::string& outcome);
  void checkpoint(double duration_ms, double bytes);

  /// The Prometheus text exposition of everything above.
  std::string expose() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace hearth::actors
