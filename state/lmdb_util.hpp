#pragma once

// LMDB helpers shared by state/'s environments (partition stores, the egress
// store, the idempotency-key index). Private to state/; <lmdb.h> stays here.

#include "protocol/result.hpp"

#include <lmdb.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace hearth::state::detail {

inline MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

inline std::string_view view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

/// Translates an LMDB return code: errc::io with "LMDB <what>: <mdb_strerror>".
inline error lmdb_error(const std::string& what, int rc) {
  return error{errc::io, "LMDB " + what + ": " + mdb_strerror(rc)};
}

/// Creates `dir` if needed and opens an environment there with its unnamed
/// database: MDB_NOTLS (transactions may move between threads), MDB_NOSYNC
/// and MDB_NOMETASYNC (callers sync what must be durable). On failure `env`
/// is closed and null.
status open_env(const std::string& dir, size_t map_size, MDB_env*& env, MDB_dbi& dbi);

} // namespace hearth::state::detail
