// remote_gate batches a partition's reports to another node's gate: one
// reminder per batch, one message per flush, delivered in gate_reports' order.

#include "actors/remote_gate.hpp"
#include "actors/wire.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

using namespace hearth;
using namespace hearth::actors;
using namespace std::chrono_literals;

namespace {

/// A gate that writes down what it is told, one line per call.
class recording_gate final : public gate_port {
public:
  void accept(std::uint64_t o) override { note("accept " + std::to_string(o)); }
  void applied(std::uint64_t o, const invocation_record& b) override {
    note("applied " + std::to_string(o) + " " + std::to_string(b.invocations));
  }
  void lost(std::uint64_t o) override { note("lost " + std::to_string(o)); }
  void set_full(const std::string& k, bool f) override { note("full " + k + (f ? " 1" : " 0")); }
  void set_partition_full(std::uint32_t p, bool f) override {
    note("pfull " + std::to_string(p) + (f ? " 1" : " 0"));
  }

  /// Waits for `n` lines and returns them.
  std::vector<std::string> await(size_t n) {
    std::unique_lock<std::mutex> lock{mtx_};
    REQUIRE(cv_.wait_for(lock, 30s, [&] { return lines_.size() >= n; }));
    return lines_;
  }

private:
  void note(std::string line) {
    std::lock_guard<std::mutex> g{mtx_};
    lines_.push_back(std::move(line));
    cv_.notify_all();
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

} // namespace

TEST_CASE("remote_gate: reports wait for the flush, go as one message, and arrive in order") {
  caf::actor_system_config cfg;
  add_wire_types(cfg);
  caf::actor_system sys{cfg};
  auto recorder = std::make_shared<recording_gate>();
  auto gate = sys.spawn(gate_actor, std::shared_ptr<gate_port>{recorder});
  int reminders = 0;
  remote_gate port{gate, [&] { ++reminders; }};

  port.flush(); // nothing pending: nothing sent
  port.set_full("ns/t:a", true);
  port.accept(1);
  port.applied(1, invocation_record{0, 3, false, {}, 0, 0, 0, {}});
  port.accept(2);
  port.lost(2);
  port.set_partition_full(4, true);
  port.set_full("ns/t:a", false);
  CHECK(reminders == 1); // once per batch, on its first report
  port.flush();
  auto lines = recorder->await(7);
  CHECK(lines == std::vector<std::string>{"accept 1", "accept 2", "applied 1 3", "lost 2", "full ns/t:a 1",
                                          "full ns/t:a 0", "pfull 4 1"});

  port.accept(3); // a new batch asks again
  CHECK(reminders == 2);
  port.flush();
  CHECK(recorder->await(8).back() == "accept 3");
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
}
