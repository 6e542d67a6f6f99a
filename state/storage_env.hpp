#pragma once

// state::storage_env: the storage seam. Every write, fsync, rename and LMDB
// commit that state/ makes goes through one, so that a test can make any of
// them fail and check what the caller does then (LevelDB's Env is the
// model). The standard env calls the system; a test passes its own in the
// options of the store, the ingress log, the egress store or the checkpoint
// files. The calls follow POSIX: -1 with errno set on failure.
//
// Threading: the standard env is stateless; a test's env must be thread-safe
// when it is shared by objects used from several threads.

#include <cstddef>
#include <string>
#include <sys/types.h>

namespace hearth::state {

class storage_env {
public:
  virtual ~storage_env() = default;

  virtual ssize_t write(int fd, const void* data, size_t size);
  virtual int fsync(int fd);
  virtual int fdatasync(int fd);
  virtual int rename(const std::string& from, const std::string& to);

  /// Called just before an LMDB write transaction of `what` (a directory) is
  /// committed: 0 lets it commit; an errno or an LMDB code aborts it with
  /// that error instead (ENOSPC, EIO, MDB_MAP_FULL).
  virtual int before_commit(const std::string& what);

  /// The env that calls the system.
  static storage_env& standard();
};

} // namespace hearth::state
