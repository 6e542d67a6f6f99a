// hearth-bench-checkpoint: measures the checkpoint machinery on one store of
// N keys with B-byte values: a full checkpoint, an incremental one after P% of
// the keys changed, and a restore from both. With --node-data DIR it instead
// lays down a data dir (store, checkpoint, manifest) that hearth-node restores
// at start, for the node-level benchmark (bench/node_bench.js).

#include "protocol/key_group.hpp"
#include "protocol/messages.hpp"
#include "state/checkpoint_files.hpp"
#include "state/store.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

using namespace hearth;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

double secs(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

protocol::address addr(std::uint64_t i) {
  return protocol::address{{"bench", "blob"}, "k" + std::to_string(i)};
}

state::stored_value blob(std::uint64_t i, std::uint64_t version, size_t bytes) {
  // A JSON string of `bytes` bytes, so the JS SDK's jsonType reads it.
  std::string v = "\"" + std::to_string(i) + ":" + std::to_string(version) + ":";
  v.resize(bytes - 1, 'x');
  v += "\"";
  return state::stored_value{protocol::typed_value{"bench/Blob", true, v}, 1, 1};
}

void fill(state::store& st, std::uint64_t from, std::uint64_t to, std::uint32_t kgs,
          size_t bytes, std::uint64_t version) {
  state::write_batch wb;
  for (std::uint64_t i = from; i < to; ++i) {
    auto a = addr(i);
    wb.put_state(protocol::key_group_of(a.id, kgs), a, "blob", blob(i, version, bytes));
    if (wb.size() == 20'000 || i + 1 == to) {
      if (auto s = st.commit(wb); !s) {
        std::cerr << s.err().message << "\n";
        std::exit(1);
      }
      wb = state::write_batch{};
    }
  }
}

int micro(std::uint64_t keys, size_t bytes, double percent, const std::string& dir) {
  fs::remove_all(dir);
  auto st = state::store::open(dir + "/store");
  auto files = state::checkpoint_files::open(dir + "/checkpoints");
  if (!st || !files) {
    std::cerr << "cannot open " << dir << "\n";
    return 1;
  }
  auto t0 = clock_type::now();
  fill(**st, 0, keys, 128, bytes, 0);
  auto t1 = clock_type::now();
  (*st)->take_changes();
  auto view = (*st)->take_snapshot();
  auto full = files->write_part(1, 0, **view, nullptr, {});
  auto t2 = clock_type::now();
  view->reset();
  std::mt19937_64 rng{42};
  auto changed_keys = static_cast<std::uint64_t>(keys * percent / 100.0);
  state::write_batch wb;
  for (std::uint64_t n = 0; n < changed_keys; ++n) {
    auto i = rng() % keys;
    auto a = addr(i);
    wb.put_state(protocol::key_group_of(a.id, 128), a, "blob", blob(i, 1, bytes));
  }
  (*st)->commit(wb);
  auto changes = (*st)->take_changes();
  auto t3 = clock_type::now();
  auto view2 = (*st)->take_snapshot();
  auto delta = files->write_part(2, 0, **view2, &changes.keys, {});
  auto t4 = clock_type::now();
  view2->reset();
  auto restored = files->restore(**st, {full->file, delta->file});
  auto t5 = clock_type::now();
  if (!full || !delta || !restored) {
    std::cerr << "checkpoint failed\n";
    return 1;
  }
  std::cout << "| keys | value bytes | load | full checkpoint | full size | changed | "
               "incremental checkpoint | incremental size | restore (full + incremental) |\n"
            << "|---|---|---|---|---|---|---|---|---|\n"
            << "| " << keys << " | " << bytes << " | " << secs(t0, t1) << " s | " << secs(t1, t2)
            << " s | " << full->bytes / 1e6 << " MB | " << changes.keys.size() - 1 << " keys | "
            << secs(t3, t4) << " s | " << delta->bytes / 1e6 << " MB | " << secs(t4, t5)
            << " s |\n";
  fs::remove_all(dir);
  return 0;
}

/// A data dir as hearth-node leaves it after checkpoint 1, holding `keys`
/// addresses bench/blob/k<i> with state "blob".
int node_data(std::uint64_t keys, size_t bytes, std::uint32_t partitions, std::uint32_t kgs,
              const std::string& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream{dir + "/LAYOUT"} << "partitions=" << partitions << "\nmax_key_groups=" << kgs
                                 << "\n";
  auto files = state::checkpoint_files::open(dir + "/checkpoints");
  state::manifest m;
  m.id = 1;
  m.partitions = partitions;
  m.max_key_groups = kgs;
  std::vector<std::unique_ptr<state::store>> stores;
  for (std::uint32_t p = 0; p < partitions; ++p) {
    auto st = state::store::open(dir + "/partitions/" + std::to_string(p));
    if (!st)
      return 1;
    state::write_batch wb;
    wb.put_specs({"bench", "blob"}, {{"blob", "bench/Blob", protocol::expire_mode::none, 0}});
    (*st)->commit(wb);
    stores.push_back(std::move(*st));
  }
  state::write_batch batch;
  std::vector<state::write_batch> per(partitions);
  for (std::uint64_t i = 0; i < keys; ++i) {
    auto a = addr(i);
    auto kg = protocol::key_group_of(a.id, kgs);
    auto p = protocol::partition_of(kg, kgs, partitions);
    per[p].put_state(kg, a, "blob", blob(i, 0, bytes));
    if (per[p].size() >= 20'000) {
      stores[p]->commit(per[p]);
      per[p] = state::write_batch{};
    }
  }
  for (std::uint32_t p = 0; p < partitions; ++p) {
    stores[p]->commit(per[p]);
    auto view = stores[p]->take_snapshot();
    auto part = files->write_part(1, p, **view, nullptr, {});
    if (!part)
      return 1;
    m.chains.push_back({part->file});
  }
  if (auto s = files->write_manifest(m); !s)
    return 1;
  std::cout << "wrote " << keys << " keys for " << partitions << " partitions to " << dir << "\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"hearth-bench-checkpoint"};
  std::uint64_t keys = 1'000'000;
  size_t bytes = 100;
  double percent = 1.0;
  std::uint32_t partitions = 2, kgs = 128;
  std::string dir = (fs::temp_directory_path() / "hearth-bench-checkpoint").string();
  std::string node_dir;
  app.add_option("--keys", keys);
  app.add_option("--value-bytes", bytes);
  app.add_option("--changed-percent", percent);
  app.add_option("--dir", dir);
  app.add_option("--node-data", node_dir, "write a restorable node data dir instead");
  app.add_option("--partitions", partitions);
  app.add_option("--max-key-groups", kgs);
  CLI11_PARSE(app, argc, argv);
  if (!node_dir.empty())
    return node_data(keys, bytes, partitions, kgs, node_dir);
  return micro(keys, bytes, percent, dir);
}
