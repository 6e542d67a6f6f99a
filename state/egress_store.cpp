#include "state/egress_store.hpp"

#include "state/file_util.hpp"
#include "state/lmdb_util.hpp"

#include <algorithm>

namespace hearth::state {

using detail::val;
using detail::view;

namespace {
error lmdb_error(const char* what, int rc) { return detail::lmdb_error(std::string{"egress "} + what, rc); }
} // namespace

namespace {

// DO NOT CHANGE: on-disk format (docs/storage.md, "Egress").
//   'R' u32(len) topic u64(seq)  -> payload
//   'M' u32(partition)           -> u64 highest released sequence number
//   'E' u64(epoch) u32(partition) -> the same, for a cluster's partition of that epoch
//   'N'                          -> u64 next record number
std::string topic_prefix(const std::string& topic) {
  std::string k{"R"};
  detail::put_str(k, topic);
  return k;
}

std::string marker_key(std::uint64_t epoch, std::uint32_t p) {
  if (epoch == 0) {
    std::string k{"M"};
    detail::put_u32(k, p);
    return k;
  }
  std::string k{"E"};
  put_u64(k, epoch); // state/format.hpp
  detail::put_u32(k, p);
  return k;
}

} // namespace

struct egress_store::impl {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;
  storage_env* seam = nullptr;
  std::string dir;
  ~impl() {
    if (env)
      mdb_env_close(env);
  }

  /// Runs `fn(txn)` in a write transaction, committing when it succeeds.
  status write(const std::function<status(MDB_txn*)>& fn) {
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env, nullptr, 0, &txn); rc != 0)
      return lmdb_error("begin", rc);
    if (auto s = fn(txn); !s) {
      mdb_txn_abort(txn);
      return s;
    }
    if (int rc = seam->before_commit(dir); rc != 0) {
      mdb_txn_abort(txn);
      return lmdb_error("commit", rc);
    }
    if (int rc = mdb_txn_commit(txn); rc != 0)
      return lmdb_error("commit", rc);
    return ok();
  }

  std::uint64_t read_u64(MDB_txn* txn, const std::string& key) {
    MDB_val k = val(key), v;
    if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size == 8)
      return get_u64(view(v));
    return 0;
  }

  status put_u64_key(MDB_txn* txn, const std::string& key, std::uint64_t value) {
    std::string v;
    put_u64(v, value);
    MDB_val k = val(key), d = val(v);
    if (int rc = mdb_put(txn, dbi, &k, &d, 0); rc != 0)
      return lmdb_error("put", rc);
    return ok();
  }

  status add(MDB_txn* txn, const egress_entry& e, std::uint64_t& next) {
    auto key = topic_prefix(e.topic);
    put_u64(key, next++);
    MDB_val k = val(key), v = val(e.payload);
    if (int rc = mdb_put(txn, dbi, &k, &v, 0); rc != 0)
      return lmdb_error("put", rc);
    return ok();
  }
};

egress_store::egress_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
egress_store::~egress_store() = default;

result<std::unique_ptr<egress_store>> egress_store::open(const std::string& dir,
                                                         storage_env& env) {
  auto p = std::make_unique<impl>();
  p->seam = &env;
  p->dir = dir;
  if (auto s = detail::open_env(dir, size_t{1} << 34, p->env, p->dbi); !s)
    return s.err();
  return std::unique_ptr<egress_store>{new egress_store(std::move(p))};
}

status egress_store::release(std::uint32_t p, const std::vector<egress_entry>& records,
                             std::uint64_t epoch) {
  if (records.empty())
    return ok();
  auto sorted = records;
  std::sort(sorted.begin(), sorted.end(),
            [](const egress_entry& a, const egress_entry& b) { return a.seq < b.seq; });
  auto s = impl_->write([&](MDB_txn* txn) -> status {
    auto marker = marker_key(epoch, p);
    auto released = impl_->read_u64(txn, marker);
    auto next = impl_->read_u64(txn, "N");
    auto highest = released;
    for (auto& e : sorted) {
      if (e.seq <= released)
        continue;
      if (auto s = impl_->add(txn, e, next); !s)
        return s;
      highest = std::max(highest, e.seq);
    }
    if (highest == released)
      return ok();
    if (auto s = impl_->put_u64_key(txn, "N", next); !s)
      return s;
    return impl_->put_u64_key(txn, marker, highest);
  });
  if (!s)
    return s;
  // Released records must outlive a power loss: the checkpoint that held
  // them may be deleted once newer ones complete.
  if (int rc = mdb_env_sync(impl_->env, 1); rc != 0)
    return lmdb_error("sync", rc);
  return ok();
}

status egress_store::append(const std::vector<egress_entry>& records) {
  if (records.empty())
    return ok();
  return impl_->write([&](MDB_txn* txn) -> status {
    auto next = impl_->read_u64(txn, "N");
    for (auto& e : records)
      if (auto s = impl_->add(txn, e, next); !s)
        return s;
    return impl_->put_u64_key(txn, "N", next);
  });
}

result<std::optional<std::string>> egress_store::pop(const std::string& topic) {
  std::optional<std::string> out;
  auto s = impl_->write([&](MDB_txn* txn) -> status {
    MDB_cursor* cur = nullptr;
    if (int rc = mdb_cursor_open(txn, impl_->dbi, &cur); rc != 0)
      return lmdb_error("cursor", rc);
    auto prefix = topic_prefix(topic);
    MDB_val k = val(prefix), v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && view(k).substr(0, prefix.size()) == prefix && k.mv_size == prefix.size() + 8) {
      out = std::string{view(v)};
      rc = mdb_cursor_del(cur, 0);
    } else if (rc == MDB_NOTFOUND || rc == 0) {
      rc = 0;
    }
    mdb_cursor_close(cur);
    if (rc != 0)
      return lmdb_error("pop", rc);
    return ok();
  });
  if (!s)
    return s.err();
  return out;
}

result<std::vector<std::pair<std::uint64_t, std::string>>>
egress_store::peek(const std::string& topic, size_t max) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(impl_->env, nullptr, MDB_RDONLY, &txn); rc != 0)
    return lmdb_error("begin", rc);
  MDB_cursor* cur = nullptr;
  if (int rc = mdb_cursor_open(txn, impl_->dbi, &cur); rc != 0) {
    mdb_txn_abort(txn);
    return lmdb_error("cursor", rc);
  }
  auto prefix = topic_prefix(topic);
  MDB_val k = val(prefix), v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && out.size() < max && view(k).substr(0, prefix.size()) == prefix
         && k.mv_size == prefix.size() + 8) {
    out.emplace_back(get_u64(view(k).substr(prefix.size())), std::string{view(v)});
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return lmdb_error("peek", rc);
  return out;
}

status egress_store::remove(const std::string& topic, std::uint64_t through) {
  return impl_->write([&](MDB_txn* txn) -> status {
    MDB_cursor* cur = nullptr;
    if (int rc = mdb_cursor_open(txn, impl_->dbi, &cur); rc != 0)
      return lmdb_error("cursor", rc);
    auto prefix = topic_prefix(topic);
    MDB_val k = val(prefix), v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && view(k).substr(0, prefix.size()) == prefix && k.mv_size == prefix.size() + 8
           && get_u64(view(k).substr(prefix.size())) <= through) {
      if (rc = mdb_cursor_del(cur, 0); rc != 0)
        break;
      rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
      if (rc == MDB_NOTFOUND || rc == EINVAL) // deleted the last entry
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
      return lmdb_error("remove", rc);
    return ok();
  });
}

result<size_t> egress_store::size(const std::string& topic) {
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(impl_->env, nullptr, MDB_RDONLY, &txn); rc != 0)
    return lmdb_error("begin", rc);
  MDB_cursor* cur = nullptr;
  mdb_cursor_open(txn, impl_->dbi, &cur);
  auto prefix = topic_prefix(topic);
  MDB_val k = val(prefix), v;
  size_t n = 0;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && view(k).substr(0, prefix.size()) == prefix && k.mv_size == prefix.size() + 8) {
    ++n;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  return n;
}

} // namespace hearth::state
