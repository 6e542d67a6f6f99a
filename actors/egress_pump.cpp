#include "actors/egress_pump.hpp"

#include <iostream>

namespace hearth::actors {

using namespace std::chrono_literals;

egress_pump::egress_pump(std::string name, std::shared_ptr<state::egress_store> store,
                         std::string queue, size_t batch_max, egress_sink sink)
  : name_(std::move(name)), store_(std::move(store)), queue_(std::move(queue)),
    batch_max_(batch_max), sink_(std::move(sink)), thread_([this] { run(); }) {}

egress_pump::~egress_pump() {
  {
    std::lock_guard<std::mutex> g{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool egress_pump::sleep(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock{mtx_};
  return !cv_.wait_for(lock, d, [&] { return stop_; });
}

bool egress_pump::stopping() {
  std::lock_guard<std::mutex> g{mtx_};
  return stop_;
}

void egress_pump::run() {
  auto backoff = 100ms;
  auto failed = [&](const std::string& what) {
    std::cerr << "hearth-node: " << name_ << ": " << what << " (retrying in " << backoff.count()
              << " ms)" << std::endl;
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
    auto batch = store_->peek(queue_, batch_max_);
    if (!batch) {
      if (!failed("cannot read the egress store: " + batch.err().message))
        return;
      continue;
    }
    if (batch->empty()) {
      if (sink_.idle)
        sink_.idle();
      if (!sleep(20ms))
        return;
      continue;
    }
    if (auto s = sink_.deliver(*batch, *this); !s) {
      if (!failed(s.err().message + "; the batch of " + std::to_string(batch->size())
                  + " record(s) stays in the store and goes out again"))
        return;
      continue;
    }
    backoff = 100ms;
    if (auto r = store_->remove(queue_, batch->back().first); !r)
      if (!failed("cannot remove delivered records from the egress store: " + r.err().message))
        return;
  }
}

} // namespace hearth::actors
