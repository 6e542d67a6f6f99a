#include "state/ingress_log.hpp"

#include "protocol/primitives.hpp"

#include "unit/temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

using namespace hearth;
using namespace hearth::state;
namespace fs = std::filesystem;

using hearth::testing::temp_dir;

namespace {

ingress_record rec(const std::string& id, const std::string& body, const std::string& key = "") {
  ingress_record r;
  r.time_ms = 1234;
  r.idempotency_key = key;
  r.target = protocol::address{{"com.example", "cart"}, id};
  r.value = protocol::make_string(body);
  return r;
}

std::string last_segment(const std::string& dir) {
  std::string best;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".log" && e.path().string() > best)
      best = e.path().string();
  return best;
}
} // namespace

TEST_CASE("appended records are read back in order after a reopen") {
  temp_dir dir;
  {
    auto log = ingress_log::open(dir.path);
    REQUIRE(log);
    std::vector<ingress_record> batch{rec("a", "1", "k1"), rec("b", "2")};
    CHECK(*(*log)->append(batch) == 0);
    CHECK(batch[1].offset == 1);
    std::vector<ingress_record> more{rec("c", "3")};
    CHECK(*(*log)->append(more) == 2);
  }
  auto log = ingress_log::open(dir.path);
  REQUIRE(log);
  CHECK((*log)->next_offset() == 3);
  auto all = (*log)->read(0, 100);
  REQUIRE(all);
  REQUIRE(all->size() == 3);
  CHECK(all->at(0).idempotency_key == "k1");
  CHECK(all->at(1).target.id == "b");
  CHECK(*protocol::as_string(all->at(2).value) == "3");
  auto tail = (*log)->read(2, 100);
  REQUIRE(tail->size() == 1);
  CHECK(tail->front().offset == 2);
  CHECK((*log)->read(1, 1)->size() == 1);
}

TEST_CASE("a torn record at the end is cut off and its offset reused") {
  temp_dir dir;
  {
    auto log = ingress_log::open(dir.path);
    std::vector<ingress_record> batch{rec("a", "1"), rec("b", "2")};
    REQUIRE((*log)->append(batch));
  }
  auto seg = last_segment(dir.path);
  auto size = fs::file_size(seg);
  {
    // A crash in the middle of the next write: a header and half a payload.
    std::ofstream out{seg, std::ios::binary | std::ios::app};
    out.write("\x00\x00\x00\x40\x12\x34\x56\x78partial", 15);
  }
  auto log = ingress_log::open(dir.path);
  REQUIRE(log);
  CHECK(fs::file_size(seg) == size);
  CHECK((*log)->next_offset() == 2);
  std::vector<ingress_record> batch{rec("c", "3")};
  CHECK(*(*log)->append(batch) == 2);
  CHECK((*log)->read(0, 10)->size() == 3);
}

TEST_CASE("a flipped byte in a record fails its checksum") {
  temp_dir dir;
  {
    auto log = ingress_log::open(dir.path, ingress_log_options{64, true});
    for (int i = 0; i < 3; ++i) {
      std::vector<ingress_record> b{rec("x" + std::to_string(i), std::string(100, 'v'))};
      REQUIRE((*log)->append(b));
    }
  }
  // Three segments (each over 64 bytes); damage the first.
  std::vector<std::string> segs;
  for (auto& e : fs::directory_iterator(dir.path))
    segs.push_back(e.path().string());
  std::sort(segs.begin(), segs.end());
  REQUIRE(segs.size() == 3);
  {
    std::fstream f{segs[0], std::ios::binary | std::ios::in | std::ios::out};
    f.seekp(30);
    f.put('X');
  }
  auto log = ingress_log::open(dir.path);
  REQUIRE(!log);
  CHECK(log.err().message.find(segs[0]) != std::string::npos);
}

TEST_CASE("damage in the last segment followed by more records is corruption, not a torn tail") {
  temp_dir dir;
  {
    auto log = ingress_log::open(dir.path);
    for (int i = 0; i < 3; ++i) {
      std::vector<ingress_record> b{rec("x" + std::to_string(i), std::string(50, 'v'))};
      REQUIRE((*log)->append(b));
    }
  }
  auto seg = last_segment(dir.path);
  auto size = fs::file_size(seg);
  {
    std::fstream f{seg, std::ios::binary | std::ios::in | std::ios::out};
    f.seekp(20); // inside the first of three records
    f.put('X');
  }
  auto log = ingress_log::open(dir.path);
  REQUIRE(!log);
  CHECK(log.err().message.find("corrupt") != std::string::npos);
  CHECK(fs::file_size(seg) == size); // nothing acknowledged was cut off
}

TEST_CASE("segments roll over and trim keeps everything at or after the position") {
  temp_dir dir;
  auto log = ingress_log::open(dir.path, ingress_log_options{200, true});
  REQUIRE(log);
  for (int i = 0; i < 20; ++i) {
    std::vector<ingress_record> b{rec("id" + std::to_string(i), std::string(60, 'x'))};
    REQUIRE((*log)->append(b));
  }
  auto segments = [&] {
    return std::distance(fs::directory_iterator(dir.path), fs::directory_iterator{});
  };
  auto before = segments();
  CHECK(before > 3);
  REQUIRE((*log)->trim(11));
  CHECK(segments() < before);
  CHECK((*log)->first_offset() <= 11);
  auto rest = (*log)->read(0, 100);
  REQUIRE(rest);
  CHECK(rest->front().offset == (*log)->first_offset());
  CHECK(rest->back().offset == 19);
  REQUIRE((*log)->trim(1000));
  CHECK(segments() == 1); // the open segment stays
  std::vector<ingress_record> b{rec("after", "x")};
  CHECK(*(*log)->append(b) == 20);
}

TEST_CASE("the writer groups concurrent submissions into fewer fsyncs, offsets unique") {
  temp_dir dir;
  auto log = ingress_log::open(dir.path);
  REQUIRE(log);
  auto started = ingress_writer::start(std::move(*log), {});
  REQUIRE(started);
  auto& w = **started;
  constexpr int threads = 8, each = 50;
  std::vector<std::thread> ts;
  std::mutex m;
  std::set<std::uint64_t> offsets;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < each; ++i) {
        auto r = w.submit(rec("t" + std::to_string(t), std::to_string(i))).get();
        REQUIRE(r);
        std::lock_guard<std::mutex> g{m};
        offsets.insert(r->offset);
      }
    });
  for (auto& t : ts)
    t.join();
  CHECK(offsets.size() == threads * each);
  CHECK(*offsets.rbegin() == threads * each - 1);
  CHECK(w.groups() < static_cast<std::uint64_t>(threads * each));
  w.stop();
  CHECK(!w.submit(rec("late", "x")).get());
  auto reopened = ingress_log::open(dir.path);
  REQUIRE(reopened);
  CHECK((*reopened)->next_offset() == threads * each);
}

TEST_CASE("an idempotency key accepted once is not logged again, even after a reopen") {
  temp_dir dir;
  std::vector<std::uint64_t> durable;
  auto open_writer = [&] {
    auto log = ingress_log::open(dir.path + "/log");
    REQUIRE(log);
    ingress_writer_options o;
    o.keys_dir = dir.path + "/keys";
    o.on_durable = [&](std::vector<ingress_record> recs) {
      for (auto& r : recs)
        durable.push_back(r.offset);
    };
    auto w = ingress_writer::start(std::move(*log), o);
    REQUIRE(w);
    return std::move(*w);
  };
  {
    auto w = open_writer();
    auto a = w->submit(rec("a", "1", "key-1")).get();
    REQUIRE(a);
    CHECK(!a->duplicate);
    auto b = w->submit(rec("a", "1", "key-1")).get();
    REQUIRE(b);
    CHECK(b->duplicate);
    CHECK(b->offset == a->offset);
    CHECK(!w->submit(rec("a", "2", "key-2")).get()->duplicate);
    CHECK(!w->submit(rec("a", "3")).get()->duplicate); // no key: always logged
    CHECK(!w->submit(rec("a", "3")).get()->duplicate);
  }
  CHECK(durable == std::vector<std::uint64_t>{0, 1, 2, 3});
  auto w = open_writer();
  auto again = w->submit(rec("a", "1", "key-2")).get();
  REQUIRE(again);
  CHECK(again->duplicate);
  CHECK(again->offset == 1);
  CHECK(w->next_offset() == 4);
  auto all = w->read(0, 100);
  CHECK(all->size() == 4);
}

TEST_CASE("reads start at the nearest indexed record: every offset reads the right records, in bounded batches") {
  temp_dir dir;
  ingress_log_options o;
  o.sync = false;
  o.segment_bytes = 4096; // several segments
  auto log = ingress_log::open(dir.path, o);
  REQUIRE(log);
  constexpr std::uint64_t n = 700;
  for (std::uint64_t i = 0; i < n; i += 7) {
    std::vector<ingress_record> batch;
    for (std::uint64_t j = i; j < std::min(n, i + 7); ++j)
      batch.push_back(rec("id" + std::to_string(j), std::string(j % 50, 'x') + std::to_string(j)));
    REQUIRE((*log)->append(batch));
  }
  auto check = [&](ingress_log& l) {
    for (std::uint64_t from = 0; from < n; from += 13) {
      auto some = l.read(from, 100);
      REQUIRE(some);
      REQUIRE(some->size() == std::min<std::uint64_t>(100, n - from));
      for (size_t k = 0; k < some->size(); ++k) {
        CHECK((*some)[k].offset == from + k);
        CHECK((*some)[k].target.id == "id" + std::to_string(from + k));
      }
    }
    // A byte bound stops a batch early, but never before its first record.
    auto small = l.read(10, 1000, 1);
    REQUIRE(small);
    CHECK(small->size() == 1);
    CHECK(small->front().offset == 10);
    CHECK(l.read(n, 10)->empty());
  };
  check(**log);
  // The index is rebuilt when the log is opened again.
  log->reset();
  auto reopened = ingress_log::open(dir.path, o);
  REQUIRE(reopened);
  check(**reopened);
}

TEST_CASE("a record larger than a read chunk reads back whole") {
  temp_dir dir;
  auto log = ingress_log::open(dir.path);
  REQUIRE(log);
  std::vector<ingress_record> batch{rec("a", std::string(3u << 20, 'y')), rec("b", "small")};
  REQUIRE((*log)->append(batch));
  auto all = (*log)->read(0, 10);
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK(protocol::as_string(all->front().value)->size() == (3u << 20));
  CHECK(*protocol::as_string(all->back().value) == "small");
}

TEST_CASE("a new log starts where the restored checkpoint resumes; one that ends before it is refused") {
  temp_dir dir;
  ingress_log_options opts;
  opts.first_offset = 20;
  {
    auto log = ingress_log::open(dir.path + "/new", opts);
    REQUIRE(log);
    CHECK((*log)->first_offset() == 20);
    std::vector<ingress_record> batch{rec("a", "1")};
    CHECK(*(*log)->append(batch) == 20);
  }
  auto again = ingress_log::open(dir.path + "/new", opts);
  REQUIRE(again);
  CHECK((*again)->next_offset() == 21);
  {
    auto short_log = ingress_log::open(dir.path + "/short");
    REQUIRE(short_log);
    std::vector<ingress_record> batch{rec("a", "1")};
    REQUIRE((*short_log)->append(batch));
  }
  auto refused = ingress_log::open(dir.path + "/short", opts);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::conflict);
  CHECK(refused.err().message.find("the records in between are gone") != std::string::npos);
}
