#pragma once

// The private parts of actors::node, shared by node.cpp (a single node, and
// what both modes do) and node_cluster.cpp (a cluster member's epochs). Not
// for other files.

#include "actors/node.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hearth::actors {

struct node::ingress_side {
  std::shared_ptr<state::ingress_writer> log;
  std::shared_ptr<ingress_gate> gate = std::make_shared<ingress_gate>();

  /// Where durable records go from now on (records durable meanwhile are
  /// replayed by the next source: it starts at its checkpoint's position).
  void feed(caf::actor source) {
    std::lock_guard<std::mutex> g{mtx_};
    source_ = std::move(source);
  }
  void durable(std::vector<state::ingress_record> records) {
    for (auto& r : records)
      gate->expect(r.offset);
    caf::actor to;
    {
      std::lock_guard<std::mutex> g{mtx_};
      to = source_;
    }
    if (to)
      caf::anon_send(to, log_atom::value, std::move(records));
  }

private:
  std::mutex mtx_;
  caf::actor source_;
};

struct node::pipeline {
  std::uint64_t generation = 0;
  std::uint64_t epoch = 0;    // the cluster's (0: a single node)
  std::uint64_t restored = 0; // the checkpoint it was built from (0: none)
  std::shared_ptr<ingress_side> in;
  bool own_ingress = true;    // a single node's: stopped with the pipeline
  std::vector<caf::actor> partitions; // this node's
  std::vector<caf::actor> writers;
  caf::actor source;
  std::vector<caf::actor> connectors; // Kafka ingresses feeding `source`
  std::map<std::string, std::string> connector_positions; // of the restored checkpoint
  caf::actor coordinator;     // may run on another node
  bool own_coordinator = true;
  std::uint32_t first = 0;    // global index of partitions[0]
  std::uint32_t total = 0;    // partitions of the whole pipeline
  std::vector<caf::actor> all; // every partition by global index, once running
  std::vector<caf::actor> egress_peers; // other nodes' egress actors
  std::vector<state::part_extras> extras; // re-delivered at start
  std::atomic<bool> running{false}; // set once `all` is (readers check it first)
};

struct node::cluster_event {
  enum class kind { view, restore, go } what = kind::view;
  cluster_view_ptr view;
  bool fenced = false;
  std::uint64_t epoch = 0;
  std::uint64_t checkpoint = 0;
  caf::actor coordinator;
  cluster_wiring wiring;
};

struct node::fault_line {
  std::mutex mtx;
  std::condition_variable cv;
  std::uint64_t generation = 0;     // of the pipeline being built or running
  std::optional<std::string> fault; // reported for `generation`: a rebuild is due
  std::string down;                 // why there is no pipeline (while pipe_ is null)
  std::uint64_t restarts = 0;
  bool stop = false;
  bool log_failed = false;          // a cluster node's log must be opened again
  std::deque<cluster_event> events; // cluster mode

  /// A part of pipeline `gen` failed; reports about an older pipeline are stale.
  void report(std::uint64_t gen, std::string why) {
    {
      std::lock_guard<std::mutex> g{mtx};
      if (gen != generation || fault || stop)
        return;
      fault = std::move(why);
    }
    cv.notify_all();
  }

  /// A cluster node's ingress log failed: opened again before the next pipeline.
  void report_log(std::string why) {
    {
      std::lock_guard<std::mutex> g{mtx};
      log_failed = true;
      if (fault || stop)
        return;
      fault = std::move(why);
    }
    cv.notify_all();
  }

  void post(cluster_event e) {
    {
      std::lock_guard<std::mutex> g{mtx};
      events.push_back(std::move(e));
    }
    cv.notify_all();
  }
};

/// Asks actors, in order, to take a start-up step; each must answer ok
/// within a minute. The first refusal or silence is kept as the problem, and
/// the asks after it are skipped. Blocks the calling (non-CAF) thread.
class ordered_asks {
public:
  explicit ordered_asks(caf::actor_system& sys) : sys_(sys), self_(sys) {}

  template <class... Ts>
  void operator()(const caf::actor& whom, const std::string& what, Ts&&... xs) {
    if (problem_)
      return;
    self_->request(whom, std::chrono::seconds{60}, std::forward<Ts>(xs)...)
      .receive([](caf::ok_atom) {},
               [&](caf::error& err) { problem_ = what + ": " + sys_.render(err); });
  }

  const std::optional<std::string>& problem() const { return problem_; }

private:
  caf::actor_system& sys_;
  caf::scoped_actor self_;
  std::optional<std::string> problem_;
};

} // namespace hearth::actors
