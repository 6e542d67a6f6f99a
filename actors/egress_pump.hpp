#pragma once

// actors::egress_pump: the thread behind a connector egress (Kafka, Kinesis).
// It takes the oldest records of one queue of the node's egress store, hands
// them to a sink, and removes them from the store only once the sink took
// them all; a sink that fails gets the same records again after a backoff
// (100 ms doubling to 5 s). So the store holds a record until its system
// has it, and a crash loses nothing: records not yet delivered go out after
// the restart (some may go out twice, unless the sink makes delivery atomic).

#include "state/egress_store.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hearth::actors {

/// What a pump hands its sink: the store's records, oldest first.
using egress_batch = std::vector<std::pair<std::uint64_t, std::string>>;

class egress_pump;

/// Delivers a batch; ok once every record is delivered (the pump is passed
/// for its sleep()). Called on the pump's thread only. `idle` (may be null)
/// is called instead while the queue is empty.
struct egress_sink {
  std::function<status(const egress_batch&, egress_pump&)> deliver;
  std::function<void()> idle;
};

class egress_pump {
public:
  /// Starts the thread: batches of at most `batch_max` records of `queue`.
  /// `name` prefixes its log lines ("Kafka egress com.example/out").
  egress_pump(std::string name, std::shared_ptr<state::egress_store> store, std::string queue,
              size_t batch_max, egress_sink sink);
  /// Stops the thread (a delivery under way is finished first).
  ~egress_pump();
  egress_pump(const egress_pump&) = delete;
  egress_pump& operator=(const egress_pump&) = delete;

  /// For sinks: waits `d` unless the pump stops meanwhile (false then).
  bool sleep(std::chrono::milliseconds d);

  /// For sinks: whether the pump is stopping (a long delivery gives up then;
  /// its records stay in the store).
  bool stopping();

private:
  void run();

  std::string name_;
  std::shared_ptr<state::egress_store> store_;
  std::string queue_;
  size_t batch_max_;
  egress_sink sink_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace hearth::actors
