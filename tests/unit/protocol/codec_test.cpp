#include "protocol/codec.hpp"
#include "protocol/key_group.hpp"
#include "protocol/primitives.hpp"

#include <doctest/doctest.h>

using namespace hearth;
using namespace hearth::protocol;

namespace {
std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}
} // namespace

TEST_CASE("primitive wrappers encode as the SDKs do") {
  CHECK(hex(make_int(2).value) == "0d02000000");
  CHECK(hex(make_string("tick").value) == "0a047469636b");
  CHECK(make_int(0).value.empty());
  CHECK(make_string("").value.empty());
  CHECK(make_bool(false).value.empty());
  CHECK(hex(make_bool(true).value) == "0801");
  CHECK(*as_int(make_int(-7)) == -7);
  CHECK(*as_long(make_long(1LL << 40)) == (1LL << 40));
  CHECK(*as_int(typed_value{int_type_name, true, ""}) == 0);
  CHECK(as_int(make_string("x")).err().code == errc::conflict);
}

TEST_CASE("a ToFunction round-trips and carries the ToFunction.invocation tag") {
  invocation_batch b;
  b.target = address{{"com.example", "cart"}, "alice"};
  b.states.push_back({"items", typed_value{"com.example/Items", true, "{}"}});
  b.states.push_back({"empty", std::nullopt});
  b.invocations.push_back({std::nullopt, make_string("hello")});
  b.invocations.push_back({address{{"com.example", "inventory"}, "socks"}, make_int(3)});
  auto bytes = encode(b);
  CHECK(hex(bytes.substr(0, 2)) == "a206");
  auto back = decode_to_function(bytes);
  REQUIRE(back);
  CHECK(back->target == b.target);
  REQUIRE(back->states.size() == 2);
  CHECK(back->states[0].value == b.states[0].value);
  CHECK(!back->states[1].value.has_value());
  REQUIRE(back->invocations.size() == 2);
  CHECK(!back->invocations[0].caller);
  CHECK(back->invocations[1] == b.invocations[1]);
}

TEST_CASE("a FromFunction response keeps every effect list") {
  invocation_response r;
  r.mutations.push_back({state_mutation::kind::modify, "count", make_int(2)});
  r.mutations.push_back({state_mutation::kind::remove, "old", {}});
  r.outgoing.push_back({address{{"a", "b"}, "c"}, make_string("x")});
  r.delayed.push_back({false, "tok", 1000, address{{"a", "b"}, "c"}, make_int(1)});
  r.delayed.push_back({true, "tok", 0, {}, {}});
  r.egresses.push_back({"io.statefun.playground", "egress", typed_value{"t/x", true, "{}"}});
  auto back = decode_from_function(encode(from_function{r}));
  REQUIRE(back);
  auto& got = std::get<invocation_response>(*back);
  REQUIRE(got.mutations.size() == 2);
  CHECK(got.mutations[0].op == state_mutation::kind::modify);
  CHECK(got.mutations[1].op == state_mutation::kind::remove);
  CHECK(got.outgoing[0].target.id == "c");
  CHECK(got.delayed[0].delay_ms == 1000);
  CHECK(got.delayed[0].cancellation_token == "tok");
  CHECK(got.delayed[1].is_cancellation);
  CHECK(got.egresses[0].egress_id() == "io.statefun.playground/egress");
}

TEST_CASE("an IncompleteInvocationContext decodes with its specs and tag") {
  incomplete_context ctx;
  ctx.missing.push_back({"count", int_type_name, expire_mode::after_write, 60000});
  ctx.missing.push_back({"seen", "", expire_mode::none, 0});
  auto bytes = encode(from_function{ctx});
  CHECK(hex(bytes.substr(0, 2)) == "aa06");
  auto back = decode_from_function(bytes);
  REQUIRE(back);
  auto& got = std::get<incomplete_context>(*back);
  REQUIRE(got.missing.size() == 2);
  CHECK(got.missing[0] == ctx.missing[0]);
  CHECK(got.missing[1].type_name == unset_type_name);
}

TEST_CASE("an empty FromFunction is an empty response; garbage is an error") {
  auto empty = decode_from_function("");
  REQUIRE(empty);
  CHECK(std::holds_alternative<invocation_response>(*empty));
  auto bad = decode_from_function("\xff\xff\xff\xff");
  REQUIRE(!bad);
  CHECK(bad.err().code == errc::malformed);
  CHECK(!decode_to_function("hello world"));
}

TEST_CASE("kafka egress records are unpacked only with their typename") {
  typed_value v{"wrong/type", true, ""};
  CHECK(!decode_kafka_record(v));
}

TEST_CASE("murmur3 matches the reference vectors") {
  CHECK(murmur3_32("") == 0u);
  CHECK(murmur3_32("", 1) == 0x514E28B7u);
  CHECK(murmur3_32("hello") == 0x248bfa47u);
  CHECK(murmur3_32("The quick brown fox jumps over the lazy dog") == 0x2e4ff723u);
}

TEST_CASE("key groups split into contiguous partition ranges") {
  for (std::uint32_t k : {1u, 7u, 128u, 1000u}) {
    for (std::uint32_t p = 1; p <= std::min(k, 9u); ++p) {
      CHECK(first_key_group(0, k, p) == 0);
      CHECK(first_key_group(p, k, p) == k);
      for (std::uint32_t g = 0; g < k; ++g) {
        auto owner = partition_of(key_group{static_cast<std::uint16_t>(g)}, k, p);
        REQUIRE(owner < p);
        CHECK(first_key_group(owner, k, p) <= g);
        CHECK(g < first_key_group(owner + 1, k, p));
      }
    }
  }
}

TEST_CASE("an id's key group is murmur3 of its bytes mod max_key_groups (a format: pinned)") {
  // From the reference vectors: murmur3("hello") = 0x248bfa47, and
  // murmur3("The quick brown fox jumps over the lazy dog") = 0x2e4ff723.
  CHECK(key_group_of("hello", 128).value == 71);
  CHECK(key_group_of("hello", 1000).value == 351);
  CHECK(key_group_of("The quick brown fox jumps over the lazy dog", 128).value == 35);
  CHECK(key_group_of("The quick brown fox jumps over the lazy dog", 1000).value == 547);
  CHECK(key_group_of("", 128).value == 0);
  CHECK(key_group_of("hello", 1).value == 0);
}
