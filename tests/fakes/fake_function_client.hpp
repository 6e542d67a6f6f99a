#pragma once

// A function client for tests of one module: it records each call and lets
// the test answer it, from the test's own thread, when it chooses.

#include "io/function_client.hpp"
#include "protocol/codec.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace hearth::fakes {

class fake_function_client final : public io::function_client {
public:
  struct call {
    io::function_request request;
    protocol::invocation_batch batch;
    io::completion done;
  };

  void invoke(io::function_request req, io::completion done) override {
    auto batch = protocol::decode_to_function(req.body);
    std::lock_guard<std::mutex> guard{mtx_};
    calls_.push_back(call{std::move(req), batch ? std::move(*batch) : protocol::invocation_batch{},
                          std::move(done)});
    cv_.notify_all();
  }

  void shutdown() override {}

  /// The next call, waiting up to `timeout`; nullopt when none came.
  std::optional<call> next(std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    std::unique_lock<std::mutex> lock{mtx_};
    if (!cv_.wait_for(lock, timeout, [this] { return !calls_.empty(); }))
      return std::nullopt;
    auto c = std::move(calls_.front());
    calls_.pop_front();
    return c;
  }

  size_t waiting() {
    std::lock_guard<std::mutex> guard{mtx_};
    return calls_.size();
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<call> calls_;
};

} // namespace hearth::fakes
