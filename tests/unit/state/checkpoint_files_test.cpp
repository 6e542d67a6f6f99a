#include "state/checkpoint_files.hpp"
#include "state/egress_store.hpp"

#include "protocol/primitives.hpp"

#include "fakes/memory_object_store.hpp"
#include "unit/temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

using namespace hearth;
using namespace hearth::state;
namespace fs = std::filesystem;
using protocol::address;
using protocol::key_group;

using hearth::testing::temp_dir;

namespace {
const address alice{{"com.example", "cart"}, "alice"};
const address bob{{"com.example", "cart"}, "bob"};

void put(store& s, const address& a, const std::string& v, key_group kg = key_group{1}) {
  write_batch wb;
  wb.put_state(kg, a, "items", stored_value{protocol::make_string(v), 1, 1});
  REQUIRE(s.commit(wb));
}

std::string get(store& s, const address& a, key_group kg = key_group{1}) {
  auto states = s.load_states(kg, a);
  REQUIRE(states);
  if (!states->count("items"))
    return "<none>";
  return *protocol::as_string(states->at("items").value);
}
} // namespace

TEST_CASE("a snapshot is a stable view while writes go on, and changes are tracked") {
  temp_dir dir;
  auto s = store::open(dir.path);
  REQUIRE(s);
  auto& st = **s;
  CHECK(st.take_changes().overflow); // a fresh store knows nothing of earlier checkpoints
  put(st, alice, "1");
  auto view = st.take_snapshot();
  REQUIRE(view);
  auto changes = st.take_changes();
  CHECK(!changes.overflow);
  CHECK(changes.keys.count(state_key(key_group{1}, alice, "items")) == 1);
  put(st, alice, "2");
  put(st, bob, "3");
  auto seen = (*view)->get(state_key(key_group{1}, alice, "items"));
  REQUIRE(seen);
  REQUIRE(seen->has_value());
  CHECK(*protocol::as_string(decode_stored_value(**seen)->value) == "1");
  CHECK(!(*view)->get(state_key(key_group{1}, bob, "items"))->has_value());
  CHECK(st.take_changes().keys.size() == 2 + 0 + 1); // alice, bob, and the seq meta key
}

TEST_CASE("full and delta part files restore the store and carry the in-flight messages") {
  temp_dir dir;
  auto files = checkpoint_files::open(dir.path + "/chk");
  REQUIRE(files);
  auto s = store::open(dir.path + "/p0");
  REQUIRE(s);
  auto& st = **s;
  put(st, alice, "a1");
  put(st, bob, "b1");
  st.take_changes();
  auto v1 = st.take_snapshot();
  auto full = files->write_part(1, 0, **v1, nullptr, {});
  REQUIRE(full);
  CHECK(full->keys == 4); // every key: alice, bob and the store's two meta keys
  v1->reset();

  put(st, alice, "a2");
  write_batch del;
  del.delete_state(key_group{1}, bob, "items");
  REQUIRE(st.commit(del));
  auto changed = st.take_changes();
  auto v2 = st.take_snapshot();
  part_extras extras;
  extras.pending.push_back({key_group{1}, 0, alice, {{std::nullopt, protocol::make_string("m1")}}});
  extras.logged.push_back({key_group{1}, 0, bob, {{alice, protocol::make_string("m2")}}});
  extras.egress.push_back({7, "out", "record"});
  auto delta = files->write_part(2, 0, **v2, &changed.keys, extras);
  REQUIRE(delta);
  // Only what changed: alice and the seq counter written, bob's removal a
  // delete frame (not counted as a key written).
  CHECK(changed.keys.size() == 3);
  CHECK(delta->keys == 2);
  v2->reset();

  put(st, alice, "a3-after-checkpoint");
  auto restored = files->restore(st, {full->file, delta->file});
  REQUIRE(restored);
  CHECK(get(st, alice) == "a2");
  CHECK(get(st, bob) == "<none>");
  REQUIRE(restored->pending.size() == 1);
  CHECK(restored->pending[0].target == alice);
  REQUIRE(restored->logged.size() == 1);
  CHECK(*restored->logged[0].invocations[0].caller == alice);
  REQUIRE(restored->egress.size() == 1);
  CHECK(restored->egress[0].seq == 7);

  // A damaged file is refused and the store keeps its content.
  {
    std::fstream f{dir.path + "/chk/" + delta->file, std::ios::binary | std::ios::in | std::ios::out};
    f.seekp(12);
    f.put('#');
  }
  put(st, alice, "kept");
  auto bad = files->restore(st, {full->file, delta->file});
  REQUIRE(!bad);
  CHECK(bad.err().message.find(delta->file) != std::string::npos);
  CHECK(get(st, alice) == "kept");
}

TEST_CASE("the newest complete manifest wins and retention keeps what it names") {
  temp_dir dir;
  auto files = checkpoint_files::open(dir.path);
  REQUIRE(files);
  auto s = store::open(dir.path + "/p0");
  auto& st = **s;
  CHECK(!files->latest()->has_value());
  std::vector<std::string> chain;
  for (std::uint64_t id = 1; id <= 5; ++id) {
    put(st, alice, std::to_string(id));
    auto changed = st.take_changes();
    auto v = st.take_snapshot();
    bool full = id == 1 || id == 4;
    auto part = files->write_part(id, 0, **v, full ? nullptr : &changed.keys, {});
    REQUIRE(part);
    if (full)
      chain.clear();
    chain.push_back(part->file);
    REQUIRE(files->write_manifest(manifest{id, 0, id * 10, 1, 128, {chain}, 0, {}}));
    REQUIRE(files->retain(2));
  }
  // A manifest being written (not renamed yet) does not count.
  std::ofstream{dir.path + "/manifest-00000000000000000006.json.tmp"} << "{";
  auto m = files->latest();
  REQUIRE(m);
  REQUIRE(m->has_value());
  CHECK((*m)->id == 5);
  CHECK((*m)->ingress_position == 50);
  CHECK((*m)->chains[0].size() == 2); // full of 4, delta of 5
  size_t parts = 0;
  for (auto& e : fs::directory_iterator(dir.path))
    parts += e.path().filename().string().rfind("part-", 0) == 0 ? 1 : 0;
  CHECK(parts == 2); // checkpoints 4 and 5 need only their own chain
  auto restored = files->restore(st, (*m)->chains[0]);
  REQUIRE(restored);
  CHECK(get(st, alice) == "5");
}

TEST_CASE("egress release is idempotent per partition and pops in order") {
  temp_dir dir;
  auto e = egress_store::open(dir.path);
  REQUIRE(e);
  auto& es = **e;
  REQUIRE(es.release(0, {{1, "out", "a"}, {2, "out", "b"}}));
  REQUIRE(es.release(0, {{2, "out", "b"}, {3, "out", "c"}})); // 2 again after a restore
  REQUIRE(es.release(1, {{1, "out", "x"}}));                   // another partition's 1
  REQUIRE(es.append({{0, "other", "now"}}));
  CHECK(*es.size("out") == 4);
  std::vector<std::string> got;
  while (auto r = *es.pop("out"))
    got.push_back(*r);
  CHECK(got == std::vector<std::string>{"a", "b", "c", "x"});
  CHECK(**es.pop("other") == "now");
  CHECK(!es.pop("other")->has_value());
  CHECK(!es.pop("nope")->has_value());
}

TEST_CASE("sequence numbers handed out without other writes still reach the snapshot") {
  temp_dir dir;
  auto files = checkpoint_files::open(dir.path + "/chk");
  auto s = store::open(dir.path + "/p0");
  REQUIRE(s);
  auto& st = **s;
  st.take_changes();
  REQUIRE(st.commit(write_batch{})); // nothing handed out: nothing written
  CHECK(st.take_changes().keys.empty());
  auto a = st.next_seq();
  auto b = st.next_seq();
  REQUIRE(st.commit(write_batch{})); // what a partition does for an egress-only batch
  CHECK(st.take_changes().keys.size() == 1); // the counter
  auto v = st.take_snapshot();
  auto part = files->write_part(1, 0, **v, nullptr, {});
  REQUIRE(part);
  v->reset();
  st.next_seq();
  REQUIRE(files->restore(st, {part->file}));
  CHECK(st.next_seq() == b + 1); // never a number handed out before the checkpoint
  CHECK(a < b);
}

namespace {
/// An address whose id falls in key groups [begin, end) of 128.
address in_groups(std::uint32_t begin, std::uint32_t end, const std::string& tag) {
  for (int i = 0;; ++i) {
    address a{{"com.example", "cart"}, tag + std::to_string(i)};
    auto kg = protocol::key_group_of(a.id, 128).value;
    if (kg >= begin && kg < end)
      return a;
  }
}

/// The key group of `a` among 128.
key_group kg_of(const address& a) { return protocol::key_group_of(a.id, 128); }
} // namespace

TEST_CASE("a partition of another placement restores its key groups from every part that holds them") {
  temp_dir dir;
  auto files = checkpoint_files::open(dir.path + "/chk");
  REQUIRE(files);
  // The old placement: two partitions, key groups [0, 64) and [64, 128).
  auto p0 = store::open(dir.path + "/p0");
  auto p1 = store::open(dir.path + "/p1");
  REQUIRE(p0);
  REQUIRE(p1);
  auto low = in_groups(0, 43, "low");     // stays with the new partition 0
  auto mid0 = in_groups(43, 64, "mid");   // moves from old 0 to the new partition 1
  auto mid1 = in_groups(64, 85, "mid");   // moves from old 1 to the new partition 1
  auto high = in_groups(85, 128, "high"); // goes to the new partition 2
  put(**p0, low, "low", kg_of(low));
  put(**p0, mid0, "mid0-old", kg_of(mid0));
  put(**p1, mid1, "mid1", kg_of(mid1));
  put(**p1, high, "high", kg_of(high));
  {
    write_batch wb;
    wb.put_specs({"com.example", "cart"}, {{"items", "io.statefun.types/string"}});
    REQUIRE((*p0)->commit(wb));
    write_batch wb1;
    wb1.put_specs({"com.example", "cart"}, {{"items", "io.statefun.types/string"}, {"seen", "io.statefun.types/int"}});
    REQUIRE((*p1)->commit(wb1));
  }
  for (int i = 0; i < 50; ++i)
    (*p1)->next_seq(); // the counters differ
  REQUIRE((*p1)->commit(write_batch{}));
  (*p0)->take_changes();
  auto v0 = (*p0)->take_snapshot();
  auto v1 = (*p1)->take_snapshot();
  part_extras extras1;
  extras1.pending.push_back({protocol::key_group_of(mid1.id, 128), 0, mid1, {{std::nullopt, protocol::make_string("m")}}});
  extras1.pending.push_back({protocol::key_group_of(high.id, 128), 0, high, {{std::nullopt, protocol::make_string("h")}}});
  auto f0 = files->write_part(1, 0, **v0, nullptr, {});
  auto f1 = files->write_part(1, 1, **v1, nullptr, extras1);
  REQUIRE(f0);
  REQUIRE(f1);
  // A delta on old partition 0: mid0 changes.
  put(**p0, mid0, "mid0-new", kg_of(mid0));
  auto changed = (*p0)->take_changes();
  auto v0b = (*p0)->take_snapshot();
  auto d0 = files->write_part(2, 0, **v0b, &changed.keys, {});
  REQUIRE(d0);
  std::vector<std::vector<std::string>> chains{{f0->file, d0->file}, {f1->file}};

  // The new placement: three partitions; the middle one takes [43, 85).
  auto q = store::open(dir.path + "/q1");
  REQUIRE(q);
  put(**q, low, "stale", kg_of(low)); // whatever it held before goes
  auto restored = files->restore_range(**q, chains, 43, 85);
  REQUIRE(restored);
  CHECK(get(**q, mid0, kg_of(mid0)) == "mid0-new"); // the old partition 0's chain, delta applied
  CHECK(get(**q, mid1, kg_of(mid1)) == "mid1");
  CHECK(get(**q, low, kg_of(low)) == "<none>");
  CHECK(get(**q, high, kg_of(high)) == "<none>");
  REQUIRE(restored->pending.size() == 1); // only the messages of its key groups
  CHECK(restored->pending[0].target == mid1);
  CHECK(restored->egress.empty());
  // Specs merged; the counter is past every number either part handed out.
  auto specs = (*q)->load_specs();
  REQUIRE(specs);
  auto& cart = specs->at({"com.example", "cart"});
  CHECK(cart.size() == 2);
  CHECK((*q)->next_seq() > 50);
}

TEST_CASE("a manifest names the parts a key-group range is restored from, and keeps every node's position") {
  temp_dir dir;
  auto files = checkpoint_files::open(dir.path);
  REQUIRE(files);
  manifest m;
  m.id = 7;
  m.partitions = 4;
  m.max_key_groups = 128; // partitions of 32 key groups each
  for (std::uint32_t p = 0; p < 4; ++p) {
    auto name = checkpoint_files::part_name(7, p, true);
    std::ofstream{dir.path + "/" + name} << "x";
    m.chains.push_back({name});
  }
  m.epoch = 3;
  m.ingress_positions = {{"n1", 100}, {"n2", 250}};
  REQUIRE(files->write_manifest(m));
  auto back = files->latest();
  REQUIRE(back);
  REQUIRE(*back);
  CHECK((*back)->epoch == 3);
  CHECK((*back)->ingress_positions == std::map<std::string, std::uint64_t>{{"n1", 100}, {"n2", 250}});
  // Three new partitions: [0, 42), [42, 85), [85, 128).
  CHECK((*back)->chains_for(0, 42) == std::vector<std::vector<std::string>>{m.chains[0], m.chains[1]});
  CHECK((*back)->chains_for(42, 85) == std::vector<std::vector<std::string>>{m.chains[1], m.chains[2]});
  CHECK((*back)->chains_for(85, 128) == std::vector<std::vector<std::string>>{m.chains[2], m.chains[3]});
  CHECK((*back)->chains_for(32, 64) == std::vector<std::vector<std::string>>{m.chains[1]});
}

TEST_CASE("a cluster's part names carry the epoch; a checkpoint is found by id; held egress is read back") {
  temp_dir dir;
  auto files = checkpoint_files::open(dir.path + "/chk");
  REQUIRE(files);
  CHECK(checkpoint_files::part_name(5, 2, true) == "part-00000000000000000005-p2.full");
  CHECK(checkpoint_files::part_name(5, 2, false, 9) == "part-00000000000000000005-e9-p2.delta");
  auto st = store::open(dir.path + "/s");
  REQUIRE(st);
  auto view = (*st)->take_snapshot();
  REQUIRE(view);
  part_extras extras;
  extras.egress = {{4, "out", "four"}, {5, "out", "five"}};
  auto p0 = files->write_part(3, 0, **view, nullptr, {}, 2);
  auto p1 = files->write_part(3, 1, **view, nullptr, extras, 2);
  REQUIRE(p0);
  REQUIRE(p1);
  CHECK(p1->file == "part-00000000000000000003-e2-p1.full");
  manifest m;
  m.id = 3;
  m.partitions = 2;
  m.max_key_groups = 128;
  m.chains = {{p0->file}, {p1->file}};
  m.epoch = 2;
  m.ingress_positions = {{"n1", 10}};
  REQUIRE(files->write_manifest(m));
  manifest newer = m;
  newer.id = 4;
  REQUIRE(files->write_manifest(newer));
  auto three = files->latest(nullptr, 3);
  REQUIRE(three);
  REQUIRE(three->has_value());
  CHECK((*three)->id == 3);
  auto missing = files->latest(nullptr, 99);
  REQUIRE(missing);
  CHECK(!missing->has_value());
  auto held = files->held_egress(**three);
  REQUIRE(held);
  REQUIRE(held->size() == 2);
  CHECK((*held)[0].empty());
  REQUIRE((*held)[1].size() == 2);
  CHECK((*held)[1][1].payload == "five");
}

TEST_CASE("a cluster's egress release is idempotent per partition of an epoch, not across epochs") {
  temp_dir dir;
  auto e = egress_store::open(dir.path);
  REQUIRE(e);
  auto& es = **e;
  REQUIRE(es.release(1, {{7, "out", "e1-a"}}, 1));
  REQUIRE(es.release(1, {{7, "out", "e1-a"}}, 1)); // again after a restore: nothing new
  // Partition 1 of the next epoch is another partition: its numbers start anew.
  REQUIRE(es.release(1, {{3, "out", "e2-a"}}, 2));
  REQUIRE(es.release(1, {{2, "out", "single"}}));  // a single node's partition 1
  std::vector<std::string> got;
  while (auto r = *es.pop("out"))
    got.push_back(*r);
  CHECK(got == std::vector<std::string>{"e1-a", "e2-a", "single"});
}

TEST_CASE("with a remote store, checkpoints live there: a node with an empty cache restores from it") {
  temp_dir dir;
  auto remote = std::make_shared<hearth::testing::memory_object_store>();
  auto s = store::open(dir.path + "/p0");
  REQUIRE(s);
  auto& st = **s;
  {
    auto files = checkpoint_files::open(dir.path + "/cache-a", storage_env::standard(), remote);
    REQUIRE(files);
    for (std::uint64_t id = 1; id <= 4; ++id) {
      put(st, alice, "a" + std::to_string(id));
      st.take_changes();
      auto view = st.take_snapshot();
      REQUIRE(view);
      part_extras extras;
      extras.egress.push_back({id, "out", "record " + std::to_string(id)});
      auto part = files->write_part(id, 0, **view, nullptr, extras);
      REQUIRE(part);
      CHECK_FALSE(fs::exists(dir.path + "/cache-a/" + part->file)); // uploaded, not kept
      manifest m;
      m.id = id;
      m.partitions = 1;
      m.max_key_groups = 128;
      m.chains = {{part->file}};
      m.connector_positions["kafka/com.example/in/t/0"] = std::to_string(id * 10);
      REQUIRE(files->write_manifest(m));
      REQUIRE(files->retain(2));
    }
    // Retention removed the old checkpoints from the remote store.
    CHECK(remote->list("manifest-")->size() == 2);
    CHECK(remote->list("part-")->size() == 2);
  }
  // A node with an empty cache (a new data dir) finds and restores the newest.
  put(st, alice, "lost");
  auto files = checkpoint_files::open(dir.path + "/cache-b", storage_env::standard(), remote);
  REQUIRE(files);
  auto m = files->latest();
  REQUIRE(m);
  REQUIRE(m->has_value());
  CHECK((*m)->id == 4);
  CHECK((*m)->connector_positions.at("kafka/com.example/in/t/0") == "40");
  auto held = files->held_egress(**m);
  REQUIRE(held);
  REQUIRE((*held)[0].size() == 1);
  CHECK((*held)[0][0].payload == "record 4");
  REQUIRE(files->restore(st, (*m)->chains[0]));
  CHECK(get(st, alice) == "a4");
  CHECK(files->where() == "memory://test");
}

TEST_CASE("with a remote store, a failed upload fails the part or the manifest: the checkpoint does not count") {
  temp_dir dir;
  auto remote = std::make_shared<hearth::testing::memory_object_store>();
  auto files = checkpoint_files::open(dir.path + "/cache", storage_env::standard(), remote);
  REQUIRE(files);
  auto s = store::open(dir.path + "/p0");
  REQUIRE(s);
  put(**s, alice, "a1");
  auto view = (*s)->take_snapshot();
  remote->fail_puts = 1;
  auto part = files->write_part(1, 0, **view, nullptr, {});
  REQUIRE_FALSE(part);
  CHECK(part.err().message.find("cannot upload") != std::string::npos);
  part = files->write_part(1, 0, **view, nullptr, {});
  REQUIRE(part);
  manifest m;
  m.id = 1;
  m.partitions = 1;
  m.max_key_groups = 128;
  m.chains = {{part->file}};
  remote->fail_puts = 1;
  CHECK_FALSE(files->write_manifest(m));
  auto none = files->latest();
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  REQUIRE(files->write_manifest(m));
  auto found = files->latest();
  REQUIRE(found);
  CHECK(found->has_value());
}
