#include "state/store.hpp"

#include "protocol/primitives.hpp"

#include "unit/temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <random>

using namespace hearth;
using namespace hearth::state;
using protocol::address;
using protocol::key_group;

using hearth::testing::temp_dir;

namespace {
const address alice{{"com.example", "cart"}, "alice"};
} // namespace

TEST_CASE("keys start with the key space and the key group, big-endian") {
  auto k = state_key(key_group{0x0102}, alice, "items");
  CHECK(k[0] == 0x02);
  CHECK(static_cast<unsigned char>(k[1]) == 0x01);
  CHECK(static_cast<unsigned char>(k[2]) == 0x02);
  CHECK(k.substr(k.size() - 5) == "items");
  CHECK(state_key(key_group{1}, alice, "a").rfind(state_prefix(key_group{1}, alice), 0) == 0);
  // Delayed keys sort by due time within a key group.
  CHECK(delayed_key(key_group{1}, 5, 9) < delayed_key(key_group{1}, 6, 0));
  CHECK(delayed_key(key_group{1}, 500, 0) < delayed_key(key_group{2}, 5, 0));
}

TEST_CASE("records round-trip and truncated records are reported as corrupt") {
  stored_value v{protocol::make_int(7), 11, 12};
  auto back = decode_stored_value(encode(v));
  REQUIRE(back);
  CHECK(back->value == v.value);
  CHECK(back->written_ms == 11);
  CHECK(back->accessed_ms == 12);
  auto bytes = encode(v);
  CHECK(!decode_stored_value(bytes.substr(0, bytes.size() - 1)));

  dead_letter d{key_group{3}, 42, 1000, "boom", alice, {{std::nullopt, protocol::make_string("x")}}};
  auto dk = dead_letter_key(d.kg, d.seq);
  auto dback = decode_dead_letter(dk, encode(d));
  REQUIRE(dback);
  CHECK(dback->kg.value == 3);
  CHECK(dback->seq == 42);
  CHECK(dback->reason == "boom");
  CHECK(dback->invocations.size() == 1);
}

TEST_CASE("the store keeps state, specs, delayed messages and dead letters across reopen") {
  temp_dir dir;
  key_group kg{5};
  {
    auto s = store::open(dir.path);
    REQUIRE(s);
    auto& st = **s;
    write_batch wb;
    wb.put_state(kg, alice, "items", stored_value{protocol::make_string("socks"), 1, 1});
    wb.put_specs(alice.type, {{"items", protocol::string_type_name, protocol::expire_mode::none, 0}});
    delayed_record d{kg, 100, st.next_seq(), alice, "tok", alice, protocol::make_int(1)};
    wb.put_delayed(d);
    wb.put_dead_letter(dead_letter{kg, st.next_seq(), 5, "why", alice, {}});
    REQUIRE(st.commit(wb));
    REQUIRE(st.sync());
  }
  auto s = store::open(dir.path);
  REQUIRE(s);
  auto& st = **s;
  auto states = st.load_states(kg, alice);
  REQUIRE(states);
  REQUIRE(states->count("items") == 1);
  CHECK(*protocol::as_string(states->at("items").value) == "socks");
  CHECK(st.load_states(key_group{6}, alice)->empty());
  auto specs = st.load_specs();
  REQUIRE(specs);
  CHECK(specs->at(alice.type).size() == 1);
  CHECK(**st.next_due(0, 128) == 100);
  CHECK(st.due_delayed(0, 128, 99, 10)->empty());
  auto due = st.due_delayed(0, 128, 100, 10);
  REQUIRE(due->size() == 1);
  auto tok = st.find_token(kg, alice, "tok");
  REQUIRE(tok);
  REQUIRE(tok->has_value());
  CHECK((*tok)->seq == due->front().seq);
  CHECK(st.dead_letters(10)->size() == 1);
  // Sequence numbers continue after a reopen.
  CHECK(st.next_seq() == 3);
  write_batch wb;
  wb.delete_delayed(due->front());
  REQUIRE(st.commit(wb));
  CHECK(!st.find_token(kg, alice, "tok")->has_value());
  CHECK(!st.next_due(0, 128)->has_value());
}

TEST_CASE("a backlog keeps each address's messages in arrival order, apart from other addresses") {
  temp_dir dir;
  auto s = store::open(dir.path);
  REQUIRE(s);
  auto& st = **s;
  const address bob{{"com.example", "cart"}, "bob"};
  // A prefix of another address's id must not mix the two backlogs.
  const address al{{"com.example", "cart"}, "al"};
  key_group kg{7};
  auto message = [](int n) {
    return protocol::invocation{std::nullopt, protocol::make_int(n)};
  };
  write_batch wb;
  std::vector<std::uint64_t> alice_seqs;
  for (int i = 0; i < 5; ++i) {
    inbox_entry e{kg, st.next_seq(), alice, {message(i)}};
    alice_seqs.push_back(e.seq);
    wb.put_backlog(e);
    wb.put_backlog(inbox_entry{kg, st.next_seq(), al, {message(100 + i)}});
  }
  wb.put_backlog(inbox_entry{key_group{9}, st.next_seq(), bob, {message(200)}});
  REQUIRE(st.commit(wb));

  auto first = st.backlog_of(kg, alice, 3);
  REQUIRE(first);
  REQUIRE(first->size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK((*first)[i].target == alice);
    CHECK(*protocol::as_int((*first)[i].invocations.at(0).argument) == i);
    CHECK((*first)[i].seq == alice_seqs[i]);
  }
  auto all = st.backlogs(0, 128);
  REQUIRE(all);
  REQUIRE(all->size() == 3);
  std::map<std::string, std::uint64_t> counts;
  for (auto& [a, n] : *all)
    counts[a.id] = n;
  CHECK(counts == std::map<std::string, std::uint64_t>{{"al", 5}, {"alice", 5}, {"bob", 1}});
  // Only the key groups asked for.
  CHECK(st.backlogs(0, 8)->size() == 2);

  write_batch taken;
  for (auto& e : *first)
    taken.delete_backlog(kg, alice, e.seq);
  REQUIRE(st.commit(taken));
  auto rest = st.backlog_of(kg, alice, 10);
  REQUIRE(rest->size() == 2);
  CHECK(*protocol::as_int(rest->front().invocations.at(0).argument) == 3);
  // A record under another key is refused as corrupt.
  auto bytes = encode(inbox_entry{kg, 1, alice, {message(1)}});
  CHECK(!decode_backlog(backlog_key(kg, bob, 1), bytes));
  CHECK(decode_backlog(backlog_key(kg, alice, 1), bytes));
}
