#include "actors/delayed_rules.hpp"

#include "unit/actors/partition_parts.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::actors;
using hearth::testing::addr;
using protocol::delayed_message;
using protocol::key_group;

namespace {
const auto sender = addr("timer", "s");
const auto target = addr("cart", "t");
const key_group kg{3};

delayed_message later(std::int64_t ms, const std::string& token = "") {
  return delayed_message{false, token, ms, target, protocol::make_int(static_cast<int>(ms))};
}
delayed_message cancel(const std::string& token) {
  return delayed_message{true, token, 0, {}, {}};
}

struct fixture : hearth::testing::partition_parts {
  delayed_outcome apply(const std::vector<delayed_message>& list, std::int64_t now = 1000) {
    state::write_batch wb;
    auto out = apply_delayed(*store, module, kg, sender, list, now, wb);
    REQUIRE(store->commit(wb));
    return out;
  }
  std::vector<state::delayed_record> stored() { return *store->delayed_of(kg, sender); }
};
} // namespace

TEST_CASE("delayed messages are stored with their due time; the earliest arms the timer") {
  fixture f;
  auto out = f.apply({later(500), later(100, "t1")});
  CHECK(out.rejected.empty());
  CHECK(out.staged == 2);
  CHECK(out.earliest == 1100);
  auto s = f.stored();
  REQUIRE(s.size() == 2);
  CHECK(s[0].due_ms == 1100);
  CHECK(s[0].token == "t1");
  CHECK(s[1].due_ms == 1500);
}

TEST_CASE("a token already pending for the sender makes the second message a dead letter") {
  fixture f;
  f.apply({later(100, "t")});
  auto out = f.apply({later(200, "t")});
  REQUIRE(out.rejected.size() == 1);
  CHECK(out.rejected[0].reason.find("cancellation token 't' is already pending") == 0);
  CHECK(out.rejected[0].target == target);
  CHECK(f.stored().size() == 1);
  // Twice in one list: the same.
  auto again = f.apply({later(1, "u"), later(2, "u")});
  CHECK(again.rejected.size() == 1);
}

TEST_CASE("a cancellation removes the pending message, in the store or earlier in the same list") {
  fixture f;
  f.apply({later(100, "a")});
  auto out = f.apply({cancel("a"), later(300, "b"), cancel("b"), later(400, "a")});
  CHECK(out.rejected.empty());
  auto s = f.stored();
  REQUIRE(s.size() == 1); // "a" re-registered after its cancellation; "b" cancelled in the batch
  CHECK(s[0].token == "a");
  CHECK(s[0].due_ms == 1400);
}

TEST_CASE("cancelling an unknown token does nothing; a cancellation without a token is a dead letter") {
  fixture f;
  auto out = f.apply({cancel("nobody"), cancel("")});
  REQUIRE(out.rejected.size() == 1);
  CHECK(out.rejected[0].reason == "cancellation of a delayed message without a token");
  CHECK(out.rejected[0].target == sender);
  CHECK(f.stored().empty());
}

TEST_CASE("bad delays, long tokens and unknown targets are dead letters, never stored") {
  fixture f;
  auto unknown = later(10);
  unknown.target = {{"org.other", "x"}, "1"};
  auto out = f.apply({later(-1), later(max_delay_ms + 1), later(10, std::string(max_name_bytes + 1, 'k')),
                      unknown});
  REQUIRE(out.rejected.size() == 4);
  CHECK(out.rejected[0].reason == "delayed message with a negative delay");
  CHECK(out.rejected[1].reason.find("delayed message with a delay over") == 0);
  CHECK(out.rejected[2].reason.find("cancellation token longer than") == 0);
  CHECK(out.rejected[3].reason == "unknown function type 'org.other/x'");
  CHECK(out.rejected[0].invocations.size() == 1);
  CHECK(out.rejected[0].invocations[0].caller == sender);
  CHECK_FALSE(out.earliest);
  CHECK(f.stored().empty());
}
