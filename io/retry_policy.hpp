#pragma once

// Retry policy of a function call: exponential backoff within one time budget
// (StateFun's async transport): the first retry waits 4 ms, then 8, 16, ...,
// each wait capped at `max_backoff` and at what is left of the budget; no retry
// once less than 1 ms is left. A single attempt may use the whole remainder.
// A plain value type; not thread-safe, owned by one call.

#include <chrono>
#include <optional>

namespace hearth::io {

class retry_policy {
public:
  using clock = std::chrono::steady_clock;
  using millis = std::chrono::milliseconds;

  retry_policy(millis budget, clock::time_point start,
               millis max_backoff = millis{1000})
    : deadline_(start + budget), max_backoff_(max_backoff) {}

  /// Time left for attempts and waits.
  millis remaining(clock::time_point now) const {
    auto left = std::chrono::duration_cast<millis>(deadline_ - now);
    return left.count() > 0 ? left : millis{0};
  }

  /// Called after attempt number `attempt` (0-based) failed at `now`: the wait
  /// before the next attempt, or nullopt when the budget is spent.
  std::optional<millis> backoff(int attempt, clock::time_point now) const {
    auto left = remaining(now);
    if (left < millis{1})
      return std::nullopt;
    auto shift = attempt + 1 < 20 ? attempt + 1 : 20;
    millis delay{2LL << shift};
    if (delay > max_backoff_)
      delay = max_backoff_;
    if (delay >= left)
      return std::nullopt; // waiting would leave no time for another attempt
    return delay;
  }

  clock::time_point deadline() const { return deadline_; }

private:
  clock::time_point deadline_;
  millis max_backoff_;
};

} // namespace hearth::io
