#pragma once

// hearth::state::store: the durable state of one partition (one LMDB
// environment): state values, registered specs, delayed messages and their
// cancellation tokens, dead letters, and the backlogs of full addresses.
//
// Threading: one owner at a time (the partition actor). The environment is
// opened with MDB_NOTLS, so the owner may move between OS threads between
// calls; every transaction begins and ends inside one call.
//
// Durability: commits use MDB_NOSYNC: the live store is a working copy.
// Recovery never trusts it: after any restart the store is rebuilt from the
// newest checkpoint (take_snapshot, replace), which is written and fsynced
// separately (checkpoint_files.hpp).

#include "state/format.hpp"
#include "state/storage_env.hpp"

#include <functional>
#include <map>
#include <memory>
#include <unordered_set>
#include <optional>
#include <string>
#include <utility>
#include <iterator>
#include <vector>

namespace hearth::state {

/// Options of a store; owned by the partition that opens it.
struct store_options {
  /// Maximum size of the memory map (LMDB map size), bytes.
  size_t map_size = size_t{1} << 34; // 16 GiB of address space, grows on disk lazily
  /// The storage seam (a test's env can make commits fail).
  storage_env* env = &storage_env::standard();
};

/// A group of writes committed atomically by store::commit.
class write_batch {
public:
  void put_state(protocol::key_group kg, const protocol::address& a, const std::string& name,
                 const stored_value& v);
  void delete_state(protocol::key_group kg, const protocol::address& a, const std::string& name);
  void put_specs(const protocol::function_type& type,
                 const std::vector<protocol::state_spec>& specs);
  void put_delayed(const delayed_record& d);
  void delete_delayed(const delayed_record& d);
  void put_dead_letter(const dead_letter& d);
  void delete_dead_letter(protocol::key_group kg, std::uint64_t seq);
  /// One message (e.invocations holds exactly one) into its target's backlog.
  void put_backlog(const inbox_entry& e);
  void delete_backlog(protocol::key_group kg, const protocol::address& a, std::uint64_t seq);

  /// A raw key and value, as read back from a checkpoint file.
  void put_raw(std::string key, std::string value) { ops_.emplace_back(std::move(key), std::move(value)); }
  void delete_raw(std::string key) { ops_.emplace_back(std::move(key), std::nullopt); }

  /// Appends the operations of `other` (after this batch's own).
  void append(write_batch&& other) {
    ops_.insert(ops_.end(), std::make_move_iterator(other.ops_.begin()),
                std::make_move_iterator(other.ops_.end()));
    other.ops_.clear();
  }

  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }

  /// (key, value); an absent value deletes the key.
  using op = std::pair<std::string, std::optional<std::string>>;
  const std::vector<op>& ops() const { return ops_; }

private:
  std::vector<op> ops_;
};

/// A stable view of a store at one moment (an LMDB read transaction): writes
/// that follow are not seen. It may be handed to another thread and used by
/// one thread at a time. It keeps the store's LMDB environment open until it
/// is released, so it may outlive the store object itself.
class snapshot {
public:
  ~snapshot();
  snapshot(const snapshot&) = delete;
  snapshot& operator=(const snapshot&) = delete;

  /// Visits every key and value in key order until `fn` returns false.
  status for_each(const std::function<bool(std::string_view, std::string_view)>& fn);

  /// The value of `key` in this view; nullopt when absent.
  result<std::optional<std::string>> get(std::string_view key);

private:
  friend class store;
  struct impl;
  explicit snapshot(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// Keys written since changes were last taken; `overflow` when there were too
/// many to track (the next checkpoint must then be full).
struct change_set {
  std::unordered_set<std::string> keys;
  bool overflow = false;
};

/// The LMDB-backed store of one partition.
class store {
public:
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// Opens or creates the environment in directory `dir` (created if missing).
  /// Fails with errc::io when LMDB cannot open it, errc::conflict when the
  /// directory holds another format version.
  static result<std::unique_ptr<store>> open(const std::string& dir, store_options opts = {});

  /// Commits all writes of `batch` in one transaction, with the sequence
  /// counter (so a snapshot never holds an older counter than the numbers
  /// already in use). An empty batch with no number handed out since the last
  /// commit writes nothing. Fails with errc::io (MDB_MAP_FULL and disk errors
  /// name the cause); nothing is written then.
  status commit(const write_batch& batch);

  /// Flushes committed writes to disk (fsync).
  status sync();

  /// A stable view of the store as of now (see snapshot).
  result<std::unique_ptr<snapshot>> take_snapshot();

  /// The keys committed since the last call (at most `max_tracked_changes`
  /// are remembered), and starts a new set.
  change_set take_changes();

  /// Replaces the whole content: empties the store, then `feed` writes into
  /// the batch it is given (puts and deletes, in order); all in one
  /// transaction, so a failed restore leaves the old content.
  status replace(const std::function<status(write_batch&)>& feed);

  /// A fresh sequence number for delayed messages, dead letters and inbox
  /// entries. Numbers are unique within this store across restarts.
  std::uint64_t next_seq() { return ++seq_; }

  /// All registered specs, per function type.
  result<std::map<protocol::function_type, std::vector<protocol::state_spec>>> load_specs();

  /// The stored values of address `a`, by state name.
  result<std::map<std::string, stored_value>> load_states(protocol::key_group kg,
                                                          const protocol::address& a);

  /// Delayed messages of key groups [kg_begin, kg_end) due at or before
  /// `now_ms`, oldest first per key group, at most `limit`.
  result<std::vector<delayed_record>> due_delayed(std::uint32_t kg_begin, std::uint32_t kg_end,
                                                  std::int64_t now_ms, size_t limit);

  /// Earliest due time among key groups [kg_begin, kg_end); nullopt when none.
  result<std::optional<std::int64_t>> next_due(std::uint32_t kg_begin, std::uint32_t kg_end);

  /// The pending delayed message of `sender` with `token`, if any.
  result<std::optional<delayed_record>> find_token(protocol::key_group kg,
                                                   const protocol::address& sender,
                                                   const std::string& token);

  /// Pending delayed messages sent by `sender` (its key group `kg`).
  result<std::vector<delayed_record>> delayed_of(protocol::key_group kg,
                                                 const protocol::address& sender);

  /// The oldest `limit` messages of the backlog of `a`, in arrival order.
  result<std::vector<inbox_entry>> backlog_of(protocol::key_group kg, const protocol::address& a,
                                              size_t limit);
  /// Every address of key groups [kg_begin, kg_end) with a backlog, and its
  /// length.
  result<std::vector<std::pair<protocol::address, std::uint64_t>>>
  backlogs(std::uint32_t kg_begin, std::uint32_t kg_end);
  /// Dead letters, oldest first within each key group, at most `limit`.
  result<std::vector<dead_letter>> dead_letters(size_t limit);
  result<std::optional<dead_letter>> find_dead_letter(protocol::key_group kg, std::uint64_t seq);

  /// Number of keys in a key space; for tests and metrics.
  result<size_t> count(key_space space);

  /// Beyond this many changed keys between checkpoints, only "everything
  /// changed" is remembered.
  static constexpr size_t max_tracked_changes = 1'000'000;

private:
  struct impl;
  explicit store(std::shared_ptr<impl> p);
  status load_seq();
  std::shared_ptr<impl> impl_; // shared with the snapshots taken of it
  std::uint64_t seq_ = 0;
  std::uint64_t persisted_seq_ = 0;
  change_set changes_;
};

} // namespace hearth::state
