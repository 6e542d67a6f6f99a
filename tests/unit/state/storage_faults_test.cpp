// Every write, fsync, rename and commit of state/ failing through the storage
// seam: the caller gets the error, nothing half-written is left, and what
// was there before is intact.

#include "state/atomic_file.hpp"
#include "state/checkpoint_files.hpp"
#include "state/egress_store.hpp"
#include "state/ingress_log.hpp"
#include "state/store.hpp"

#include "fakes/faulty_env.hpp"
#include "protocol/primitives.hpp"

#include "unit/temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <random>

using namespace hearth;
using namespace hearth::state;
namespace fs = std::filesystem;
using fakes::faulty_env;
using protocol::address;
using protocol::key_group;

using hearth::testing::temp_dir;

namespace {

const address alice{{"com.example", "cart"}, "alice"};

write_batch items(const std::string& v) {
  write_batch wb;
  wb.put_state(key_group{1}, alice, "items", stored_value{protocol::make_string(v), 1, 1});
  return wb;
}

std::string items_of(store& s) {
  auto states = s.load_states(key_group{1}, alice);
  REQUIRE(states);
  return states->count("items") ? *protocol::as_string(states->at("items").value) : "<none>";
}

ingress_record rec(const std::string& body) {
  ingress_record r;
  r.target = alice;
  r.value = protocol::make_string(body);
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>(in), {}};
}
} // namespace

TEST_CASE("a store commit that fails writes nothing and names the cause") {
  temp_dir dir{true};
  faulty_env env;
  store_options o;
  o.env = &env;
  auto s = store::open(dir.path + "/store", o);
  REQUIRE(s);
  REQUIRE((*s)->commit(items("one")));
  constexpr int map_full = -30792; // MDB_MAP_FULL (<lmdb.h> is private to state/)
  for (auto [code, text] : {std::pair{ENOSPC, "No space left on device"},
                            std::pair{EIO, "Input/output error"}, std::pair{map_full, "MDB_MAP_FULL"}}) {
    env.fail(faulty_env::op::commit, code);
    auto failed = (*s)->commit(items("two"));
    REQUIRE(!failed);
    CHECK(failed.err().code == errc::io);
    CHECK(failed.err().message.find(text) != std::string::npos);
    CHECK(items_of(**s) == "one");
  }
  // The store goes on once the fault is gone.
  REQUIRE((*s)->commit(items("three")));
  CHECK(items_of(**s) == "three");
  // A failed restore keeps the old content too.
  env.fail(faulty_env::op::commit, ENOSPC);
  CHECK(!(*s)->replace([](write_batch& wb) {
    wb = items("restored");
    return ok();
  }));
  CHECK(items_of(**s) == "three");
}

TEST_CASE("an ingress-log write or fsync that fails is not acknowledged and leaves the log as it was") {
  temp_dir dir{true};
  faulty_env env;
  ingress_log_options o;
  o.env = &env;
  {
    auto log = ingress_log::open(dir.path, o);
    REQUIRE(log);
    std::vector<ingress_record> good{rec("a"), rec("b")};
    REQUIRE((*log)->append(good));
    for (auto fault : {faulty_env::op::write, faulty_env::op::fdatasync}) {
      env.fail(fault, fault == faulty_env::op::write ? ENOSPC : EIO);
      std::vector<ingress_record> lost{rec("lost")};
      auto r = (*log)->append(lost);
      REQUIRE(!r);
      CHECK(r.err().message.find(fault == faulty_env::op::write ? "No space left on device"
                                                                : "Input/output error")
            != std::string::npos);
      CHECK((*log)->next_offset() == 2);
    }
  }
  auto log = ingress_log::open(dir.path);
  REQUIRE(log);
  auto all = (*log)->read(0, 100);
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK(*protocol::as_string(all->back().value) == "b");
}

TEST_CASE("the ingress writer stops after a failed append: it reports once and refuses the rest") {
  temp_dir dir{true};
  faulty_env env;
  ingress_log_options o;
  o.env = &env;
  auto log = ingress_log::open(dir.path, o);
  REQUIRE(log);
  std::promise<std::string> reported;
  int reports = 0;
  ingress_writer_options wo;
  wo.on_failure = [&](const error& e) {
    if (reports++ == 0)
      reported.set_value(e.message);
  };
  auto w = ingress_writer::start(std::move(*log), std::move(wo));
  REQUIRE(w);
  REQUIRE((*w)->submit(rec("kept")).get());
  env.fail(faulty_env::op::fdatasync, EIO);
  auto failed = (*w)->submit(rec("lost")).get();
  REQUIRE(!failed);
  CHECK(reported.get_future().get().find("cannot fsync") != std::string::npos);
  auto refused = (*w)->submit(rec("later")).get();
  REQUIRE(!refused);
  CHECK(refused.err().code == errc::unavailable);
  CHECK(refused.err().message.find("the ingress log stopped") != std::string::npos);
  CHECK((*w)->failure().find("cannot fsync") != std::string::npos);
  (*w)->stop();
  CHECK(reports == 1);
  auto reopened = ingress_log::open(dir.path);
  REQUIRE(reopened);
  CHECK((*reopened)->next_offset() == 1);
}

TEST_CASE("a checkpoint part or manifest that cannot be written leaves no file and the older checkpoint") {
  temp_dir dir{true};
  faulty_env env;
  auto s = store::open(dir.path + "/store");
  REQUIRE(s);
  REQUIRE((*s)->commit(items("one")));
  auto files = checkpoint_files::open(dir.path + "/cp", env);
  REQUIRE(files);
  auto write = [&](std::uint64_t id) -> status {
    auto view = (*s)->take_snapshot();
    REQUIRE(view);
    auto part = files->write_part(id, 0, **view, nullptr, {});
    if (!part)
      return part.err();
    manifest m;
    m.id = id;
    m.partitions = 1;
    m.max_key_groups = 128;
    m.chains = {{part->file}};
    return files->write_manifest(m);
  };
  REQUIRE(write(1));
  for (auto fault : {faulty_env::op::write, faulty_env::op::fsync, faulty_env::op::rename}) {
    env.fail(fault, ENOSPC); // the part's
    CHECK(!write(2));
    env.fail(fault, ENOSPC, 1, 1); // the manifest's (the part has one of each)
    CHECK(!write(2));
  }
  for (auto& e : fs::directory_iterator(dir.path + "/cp"))
    CHECK(e.path().extension() != ".tmp");
  auto latest = files->latest();
  REQUIRE(latest);
  REQUIRE(*latest);
  CHECK((*latest)->id == 1);
}

TEST_CASE("a metadata file written atomically keeps its old content when any step fails") {
  temp_dir dir{true};
  faulty_env env;
  auto path = dir.path + "/LAYOUT";
  REQUIRE(write_atomically(path, "old\n", env));
  for (auto fault : {faulty_env::op::write, faulty_env::op::fsync, faulty_env::op::rename}) {
    env.fail(fault, EIO);
    auto r = write_atomically(path, "new\n", env);
    REQUIRE(!r);
    CHECK(r.err().message.find(path) != std::string::npos);
    CHECK(slurp(path) == "old\n");
    CHECK(!fs::exists(path + ".tmp"));
  }
  REQUIRE(write_atomically(path, "new\n", env));
  CHECK(slurp(path) == "new\n");
}

TEST_CASE("an egress release whose commit fails releases nothing, and a later one does") {
  temp_dir dir{true};
  faulty_env env;
  auto eg = egress_store::open(dir.path, env);
  REQUIRE(eg);
  std::vector<egress_entry> records{{1, "out", "a"}, {2, "out", "b"}};
  env.fail(faulty_env::op::commit, ENOSPC);
  CHECK(!(*eg)->release(0, records));
  CHECK(*(*eg)->size("out") == 0);
  REQUIRE((*eg)->release(0, records));
  CHECK(*(*eg)->size("out") == 2);
}
