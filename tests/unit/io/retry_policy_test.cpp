#include "io/retry_policy.hpp"

#include <doctest/doctest.h>

using namespace hearth::io;
using ms = std::chrono::milliseconds;

TEST_CASE("backoff doubles from 4 ms and is capped") {
  auto t0 = retry_policy::clock::now();
  retry_policy p{ms{60'000}, t0, ms{1000}};
  CHECK(*p.backoff(0, t0) == ms{4});
  CHECK(*p.backoff(1, t0) == ms{8});
  CHECK(*p.backoff(2, t0) == ms{16});
  CHECK(*p.backoff(8, t0) == ms{1000});
  CHECK(*p.backoff(30, t0) == ms{1000});
}

TEST_CASE("no retry once the call budget is spent") {
  auto t0 = retry_policy::clock::now();
  retry_policy p{ms{100}, t0};
  CHECK(p.backoff(0, t0 + ms{50}).has_value());
  CHECK(!p.backoff(0, t0 + ms{100}).has_value());
  CHECK(!p.backoff(10, t0 + ms{90}).has_value()); // the wait would outlast the budget
  CHECK(p.remaining(t0 + ms{30}) == ms{70});
  CHECK(p.remaining(t0 + ms{300}) == ms{0});
}
