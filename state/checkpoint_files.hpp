#pragma once

// state::checkpoint_files: the checkpoint directory. Each completed checkpoint
// is a manifest naming, per partition, a chain of part files (one full file
// and the deltas written since); a part file holds a partition's store (all
// keys, or the keys changed since the previous checkpoint) and the messages
// that were in flight at the checkpoint. Format: docs/checkpoints.md, "Files".
//
// A checkpoint counts only once its manifest is written atomically (temporary
// file, fsync, rename, fsync of the directory). Thread-safe for different
// files; called from the snapshot writers and the coordinator, never from a
// CAF scheduler thread (it does blocking I/O).

#include "state/format.hpp"
#include "state/object_store.hpp"
#include "state/store.hpp"

#include <cstdint>
#include <optional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hearth::state {

/// An egress record held back until its checkpoint completes. `seq` is unique
/// and increasing per partition, which makes releasing twice harmless.
struct egress_entry {
  std::uint64_t seq = 0;
  std::string topic;
  std::string payload;
};

/// What a part file carries besides the store: invocations received and not
/// yet completed (per address, in order), messages logged on input channels
/// during the checkpoint (in channel order), and unreleased egress records.
struct part_extras {
  std::vector<inbox_entry> pending;
  std::vector<inbox_entry> logged;
  std::vector<egress_entry> egress;
};

/// A completed checkpoint.
struct manifest {
  std::uint64_t id = 0;
  std::int64_t time_ms = 0;
  std::uint64_t ingress_position = 0; // first ingress offset not reflected in it
  std::uint32_t partitions = 0;
  std::uint32_t max_key_groups = 0;
  std::vector<std::vector<std::string>> chains; // per partition: full file, then deltas
  /// A cluster's checkpoint: its epoch, and the ingress-log position of
  /// every node by node id (`ingress_position` is then unused). Empty on a
  /// single node.
  std::uint64_t epoch = 0;
  std::map<std::string, std::uint64_t> ingress_positions;
  /// Where each connector stream resumes after this checkpoint: its key is
  /// "kafka/<ingress id>/<topic>/<partition>", its value the offset of the
  /// first record not reflected in the checkpoint (a string, so that any
  /// connector's position fits). Empty without connector ingresses.
  std::map<std::string, std::string> connector_positions;

  /// The chains of the partitions whose key groups intersect [kg_begin,
  /// kg_end), partition p holding [first_key_group(p), first_key_group(p+1))
  /// of this manifest's partitions: what a partition of another placement
  /// restores from (checkpoint_files::restore_range).
  std::vector<std::vector<std::string>> chains_for(std::uint32_t kg_begin, std::uint32_t kg_end) const;
};

/// Result of writing one part file.
struct part_written {
  std::string file;
  std::uint64_t bytes = 0;
  std::uint64_t keys = 0;
};

class checkpoint_files {
public:
  /// Uses (and creates) directory `dir`.
  /// Every write, fsync and rename goes through `env`. With `remote`, the
  /// files live there and `dir` is a cache (state/object_store.hpp): parts
  /// and manifests are uploaded once written (write_part, write_manifest fail
  /// when the upload does), latest() reads the remote manifests, a file the
  /// cache lacks is downloaded before it is read, and retain() removes from
  /// both.
  static result<checkpoint_files> open(const std::string& dir,
                                       storage_env& env = storage_env::standard(),
                                       std::shared_ptr<object_store> remote = nullptr);


  /// The file name of partition `p`'s part of checkpoint `id`; in a
  /// cluster, `p` is a global partition of `epoch`, which the name carries
  /// (a fenced node's late part never takes the name of a current one).
  static std::string part_name(std::uint64_t id, std::uint32_t p, bool full,
                               std::uint64_t epoch = 0);

  /// Writes and fsyncs the part file of partition `p` for checkpoint `id`:
  /// every key of `view` when `changed` is null (full), otherwise the keys of
  /// `changed` with their value in `view`, or a deletion (delta).
  result<part_written> write_part(std::uint64_t id, std::uint32_t p, snapshot& view,
                                  const std::unordered_set<std::string>* changed,
                                  const part_extras& extras, std::uint64_t epoch = 0);

  /// Writes `m` atomically; from then on it is the newest checkpoint.
  status write_manifest(const manifest& m);

  /// The newest manifest whose files all exist, if any (with `only`, that
  /// checkpoint's manifest, if usable). A manifest that cannot be parsed is
  /// skipped (it never completed its rename) with a note in `skipped`.
  result<std::optional<manifest>> latest(std::vector<std::string>* skipped = nullptr,
                                         std::optional<std::uint64_t> only = std::nullopt);

  /// The egress records held in each partition's part of `m` (the last file
  /// of each chain), indexed like m.chains: what a completed checkpoint
  /// releases, read again after a restart or a change of placement.
  result<std::vector<std::vector<egress_entry>>> held_egress(const manifest& m);

  /// Rebuilds `target` from a chain (full file, then deltas, in order) and
  /// returns the extras of the last file. Every file is checked (checksums,
  /// end marker); on error `target` keeps its old content.
  result<part_extras> restore(store& target, const std::vector<std::string>& chain);

  /// Rebuilds `target` with the key groups [kg_begin, kg_end) only, from the
  /// chains of every part that may hold some of them (the parts of a
  /// checkpoint taken with another placement: docs/cluster.md). Keys of
  /// other key groups are left out; the keys that belong to no key group are
  /// merged: the registered specs of a function type are the union of the
  /// parts' (by state name, the first part's definition kept), and the
  /// sequence counter is the largest. Returns the pending and logged messages
  /// of those key groups (the last file of each chain holds them); egress
  /// records are left out (they are released by partition, from the
  /// manifest). Every file is checked; on error `target` keeps its old content.
  result<part_extras> restore_range(store& target,
                                    const std::vector<std::vector<std::string>>& chains,
                                    std::uint32_t kg_begin, std::uint32_t kg_end);

  /// Keeps the newest `keep` manifests and the files they name; removes the
  /// rest (and stray temporary files).
  status retain(size_t keep);

  /// Where the checkpoints live, for messages (the directory, or the remote store).
  std::string where() const;

private:
  checkpoint_files(std::string dir, storage_env& env, std::shared_ptr<object_store> remote)
    : dir_(std::move(dir)), env_(&env), remote_(std::move(remote)) {}
  /// Downloads the files of `names` the cache lacks (no-op without remote).
  status fetch(const std::vector<std::string>& names);
  /// Remote: drops cached files that neither manifest `name` (`m`) nor a
  /// newer checkpoint needs.
  void prune_cache(const std::string& name, const manifest& m);
  /// retain()'s rule applied to the remote store (no-op without remote).
  status retain_remote(size_t keep);
  /// Uploads the cached file `name` (no-op without remote).
  status upload(const std::string& name);
  std::string dir_;
  storage_env* env_;
  std::shared_ptr<object_store> remote_;
};

} // namespace hearth::state
