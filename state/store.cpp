#include "state/store.hpp"

#include "state/file_util.hpp"
#include "state/lmdb_util.hpp"

#include "protocol/codec.hpp"

#include <functional>

namespace hearth::state {

using detail::lmdb_error;
using detail::val;
using detail::view;

using protocol::address;
using protocol::key_group;

// -- write_batch --------------------------------------------------------------

void write_batch::put_state(key_group kg, const address& a, const std::string& name,
                            const stored_value& v) {
  ops_.emplace_back(state_key(kg, a, name), encode(v));
}

void write_batch::delete_state(key_group kg, const address& a, const std::string& name) {
  ops_.emplace_back(state_key(kg, a, name), std::nullopt);
}

void write_batch::put_specs(const protocol::function_type& type,
                            const std::vector<protocol::state_spec>& specs) {
  ops_.emplace_back(specs_key(type), protocol::encode_specs(specs));
}

void write_batch::put_delayed(const delayed_record& d) {
  ops_.emplace_back(delayed_key(d.kg, d.due_ms, d.seq), encode(d));
  if (!d.token.empty()) {
    std::string ref;
    put_u64(ref, static_cast<std::uint64_t>(d.due_ms));
    put_u64(ref, d.seq);
    ops_.emplace_back(token_key(d.kg, d.sender, d.token), std::move(ref));
  }
}

void write_batch::delete_delayed(const delayed_record& d) {
  ops_.emplace_back(delayed_key(d.kg, d.due_ms, d.seq), std::nullopt);
  if (!d.token.empty())
    ops_.emplace_back(token_key(d.kg, d.sender, d.token), std::nullopt);
}

void write_batch::put_dead_letter(const dead_letter& d) {
  ops_.emplace_back(dead_letter_key(d.kg, d.seq), encode(d));
}

void write_batch::delete_dead_letter(key_group kg, std::uint64_t seq) {
  ops_.emplace_back(dead_letter_key(kg, seq), std::nullopt);
}

void write_batch::put_backlog(const inbox_entry& e) {
  ops_.emplace_back(backlog_key(e.kg, e.target, e.seq), encode(e));
}

void write_batch::delete_backlog(key_group kg, const address& a, std::uint64_t seq) {
  ops_.emplace_back(backlog_key(kg, a, seq), std::nullopt);
}


// -- store --------------------------------------------------------------------

namespace {

/// Applies the puts and deletes of `batch` in `txn`; an LMDB code, 0 on success.
int apply(MDB_txn* txn, MDB_dbi dbi, const write_batch& batch) {
  for (auto& [key, value] : batch.ops()) {
    MDB_val k = val(key);
    int rc;
    if (value) {
      MDB_val v = val(*value);
      rc = mdb_put(txn, dbi, &k, &v, 0);
    } else {
      rc = mdb_del(txn, dbi, &k, nullptr);
      if (rc == MDB_NOTFOUND)
        rc = 0;
    }
    if (rc != 0)
      return rc;
  }
  return 0;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// Visits every (key, value) starting with `prefix` (all of them when it is
/// empty), in key order, until `fn` returns false. An LMDB error code, or 0.
int scan(MDB_txn* txn, MDB_dbi dbi, std::string_view prefix,
         const std::function<bool(std::string_view, std::string_view)>& fn) {
  MDB_cursor* cur = nullptr;
  if (int rc = mdb_cursor_open(txn, dbi, &cur); rc != 0)
    return rc;
  MDB_val k = val(prefix), v;
  int rc = mdb_cursor_get(cur, &k, &v, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
  while (rc == 0) {
    auto key = view(k);
    if (!starts_with(key, prefix) || !fn(key, view(v)))
      break;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

} // namespace

struct store::impl {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;
  storage_env* seam = nullptr;
  std::string dir;

  /// Commits `txn` through the seam; an LMDB code or errno, 0 on success.
  int commit(MDB_txn* txn) {
    if (int rc = seam->before_commit(dir); rc != 0) {
      mdb_txn_abort(txn);
      return rc;
    }
    return mdb_txn_commit(txn);
  }

  ~impl() {
    if (env)
      mdb_env_close(env);
  }

  /// Runs `fn(txn)` in a read transaction.
  template <class F>
  auto read(F fn) -> decltype(fn(static_cast<MDB_txn*>(nullptr))) {
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn); rc != 0)
      return lmdb_error("begin read", rc);
    auto r = fn(txn);
    mdb_txn_abort(txn);
    return r;
  }

  /// Visits the records with `prefix` in key order: `fn(key, value)` says
  /// whether to go on, or fails, which stops the visit with that error.
  template <class F>
  status visit(MDB_txn* txn, std::string_view prefix, const char* what, F fn) {
    std::optional<error> failed;
    int rc = scan(txn, dbi, prefix, [&](std::string_view k, std::string_view v) {
      result<bool> r = fn(k, v);
      if (!r)
        failed = r.err();
      return r && *r;
    });
    if (rc != 0)
      return lmdb_error(what, rc);
    if (failed)
      return *failed;
    return ok();
  }
};

store::store(std::shared_ptr<impl> p) : impl_(std::move(p)) {}
store::~store() = default;

result<std::unique_ptr<store>> store::open(const std::string& dir, store_options opts) {
  auto p = std::make_shared<impl>();
  p->seam = opts.env;
  p->dir = dir;
  if (auto s = detail::open_env(dir, opts.map_size, p->env, p->dbi); !s)
    return s.err();
  // Format version: written on creation, checked on every open.
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(p->env, nullptr, 0, &txn); rc != 0)
    return lmdb_error("begin", rc);
  auto fkey = meta_key("format");
  MDB_val k = val(fkey), v;
  int rc = mdb_get(txn, p->dbi, &k, &v);
  if (rc == MDB_NOTFOUND) {
    std::string fv;
    put_u64(fv, format_version);
    MDB_val nv = val(fv);
    rc = mdb_put(txn, p->dbi, &k, &nv, 0);
  } else if (rc == 0 && (v.mv_size != 8 || get_u64(view(v)) != format_version)) {
    mdb_txn_abort(txn);
    return error{errc::conflict, dir + " holds an unsupported storage format version"};
  }
  if (rc != 0) {
    mdb_txn_abort(txn);
    return lmdb_error("format check", rc);
  }
  if ((rc = mdb_txn_commit(txn)) != 0)
    return lmdb_error("commit", rc);
  std::unique_ptr<store> s{new store(std::move(p))};
  if (auto st = s->load_seq(); !st)
    return st.err();
  s->changes_.overflow = true; // nothing is known about the last checkpoint yet
  return s;
}

status store::commit(const write_batch& batch) {
  if (batch.empty() && seq_ == persisted_seq_)
    return ok();
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(impl_->env, nullptr, 0, &txn); rc != 0)
    return lmdb_error("begin write", rc);
  if (int rc = apply(txn, impl_->dbi, batch); rc != 0) {
    mdb_txn_abort(txn);
    return lmdb_error("write", rc);
  }
  std::string seq;
  put_u64(seq, seq_);
  auto skey = meta_key("seq");
  MDB_val sk = val(skey), sv = val(seq);
  if (int rc = mdb_put(txn, impl_->dbi, &sk, &sv, 0); rc != 0) {
    mdb_txn_abort(txn);
    return lmdb_error("write", rc);
  }
  if (int rc = impl_->commit(txn); rc != 0)
    return lmdb_error("commit", rc);
  persisted_seq_ = seq_;
  if (!changes_.overflow) {
    for (auto& op : batch.ops())
      changes_.keys.insert(op.first);
    changes_.keys.insert(skey);
    if (changes_.keys.size() > max_tracked_changes) {
      changes_.keys.clear();
      changes_.overflow = true;
    }
  }
  return ok();
}

// -- snapshot -----------------------------------------------------------------

struct snapshot::impl {
  std::shared_ptr<void> env_owner; // the store's environment stays open while this lives
  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  ~impl() {
    if (txn)
      mdb_txn_abort(txn);
  }
};

snapshot::snapshot(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
snapshot::~snapshot() = default;

status snapshot::for_each(const std::function<bool(std::string_view, std::string_view)>& fn) {
  if (int rc = scan(impl_->txn, impl_->dbi, {}, fn); rc != 0)
    return lmdb_error("scan", rc);
  return ok();
}

result<std::optional<std::string>> snapshot::get(std::string_view key) {
  MDB_val k = val(key), v;
  int rc = mdb_get(impl_->txn, impl_->dbi, &k, &v);
  if (rc == MDB_NOTFOUND)
    return std::optional<std::string>{};
  if (rc != 0)
    return lmdb_error("get", rc);
  return std::optional<std::string>{std::string{view(v)}};
}

result<std::unique_ptr<snapshot>> store::take_snapshot() {
  auto p = std::make_unique<snapshot::impl>();
  p->env_owner = impl_;
  p->dbi = impl_->dbi;
  if (int rc = mdb_txn_begin(impl_->env, nullptr, MDB_RDONLY, &p->txn); rc != 0)
    return lmdb_error("begin snapshot", rc);
  return std::unique_ptr<snapshot>{new snapshot(std::move(p))};
}

change_set store::take_changes() {
  change_set out;
  std::swap(out, changes_);
  return out;
}

status store::replace(const std::function<status(write_batch&)>& feed) {
  write_batch wb;
  if (auto s = feed(wb); !s)
    return s;
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(impl_->env, nullptr, 0, &txn); rc != 0)
    return lmdb_error("begin write", rc);
  if (int rc = mdb_drop(txn, impl_->dbi, 0); rc != 0) {
    mdb_txn_abort(txn);
    return lmdb_error("empty", rc);
  }
  if (int rc = apply(txn, impl_->dbi, wb); rc != 0) {
    mdb_txn_abort(txn);
    return lmdb_error("restore", rc);
  }
  if (int rc = impl_->commit(txn); rc != 0)
    return lmdb_error("commit", rc);
  changes_ = change_set{{}, true};
  return load_seq();
}

status store::load_seq() {
  return impl_->read([&](MDB_txn* txn) -> status {
    auto skey = meta_key("seq");
    MDB_val sk = val(skey), sv;
    seq_ = 0;
    if (mdb_get(txn, impl_->dbi, &sk, &sv) == 0 && sv.mv_size == 8)
      seq_ = get_u64(view(sv));
    persisted_seq_ = seq_;
    return ok();
  });
}

status store::sync() {
  if (int rc = mdb_env_sync(impl_->env, 1); rc != 0)
    return lmdb_error("sync", rc);
  return ok();
}

result<std::map<protocol::function_type, std::vector<protocol::state_spec>>> store::load_specs() {
  using map_t = std::map<protocol::function_type, std::vector<protocol::state_spec>>;
  return impl_->read([&](MDB_txn* txn) -> result<map_t> {
    map_t out;
    auto s = impl_->visit(txn, space_prefix(key_space::specs), "scan specs",
                          [&](std::string_view k, std::string_view v) -> result<bool> {
      // key: specs | u32 len | ns | u32 len | name
      auto rest = k.substr(1);
      auto take = [&rest](std::string& out_s) { return detail::take_str(rest, out_s); };
      protocol::function_type t;
      auto specs = protocol::decode_specs(v);
      if (!take(t.ns) || !take(t.name) || !specs)
        return error{errc::io, "corrupt spec record"};
      out.emplace(std::move(t), std::move(*specs));
      return true;
    });
    if (!s)
      return s.err();
    return out;
  });
}

result<std::map<std::string, stored_value>> store::load_states(key_group kg, const address& a) {
  using map_t = std::map<std::string, stored_value>;
  return impl_->read([&](MDB_txn* txn) -> result<map_t> {
    map_t out;
    auto prefix = state_prefix(kg, a);
    auto s = impl_->visit(txn, prefix, "scan state",
                          [&](std::string_view k, std::string_view v) -> result<bool> {
      auto sv = decode_stored_value(v);
      if (!sv)
        return sv.err();
      out.emplace(std::string{k.substr(prefix.size())}, std::move(*sv));
      return true;
    });
    if (!s)
      return s.err();
    return out;
  });
}

result<std::vector<delayed_record>> store::due_delayed(std::uint32_t kg_begin, std::uint32_t kg_end,
                                                       std::int64_t now_ms, size_t limit) {
  using vec_t = std::vector<delayed_record>;
  return impl_->read([&](MDB_txn* txn) -> result<vec_t> {
    vec_t out;
    for (auto g = kg_begin; g < kg_end && out.size() < limit; ++g) {
      auto prefix = group_prefix(key_space::delayed, key_group{static_cast<std::uint16_t>(g)});
      auto s = impl_->visit(txn, prefix, "scan delayed",
                            [&](std::string_view k, std::string_view v) -> result<bool> {
        if (static_cast<std::int64_t>(get_u64(k.substr(3))) > now_ms || out.size() >= limit)
          return false; // sorted by due time: nothing later is due
        auto d = decode_delayed(k, v);
        if (!d)
          return d.err();
        out.push_back(std::move(*d));
        return true;
      });
      if (!s)
        return s.err();
    }
    return out;
  });
}

result<std::optional<std::int64_t>> store::next_due(std::uint32_t kg_begin, std::uint32_t kg_end) {
  using opt_t = std::optional<std::int64_t>;
  return impl_->read([&](MDB_txn* txn) -> result<opt_t> {
    opt_t best;
    for (auto g = kg_begin; g < kg_end; ++g) {
      auto prefix = group_prefix(key_space::delayed, key_group{static_cast<std::uint16_t>(g)});
      auto s = impl_->visit(txn, prefix, "scan delayed",
                            [&](std::string_view k, std::string_view) -> result<bool> {
        auto due = static_cast<std::int64_t>(get_u64(k.substr(3)));
        if (!best || due < *best)
          best = due;
        return false; // only the first (earliest) key of each group
      });
      if (!s)
        return s.err();
    }
    return best;
  });
}

result<std::optional<delayed_record>> store::find_token(key_group kg, const address& sender,
                                                        const std::string& token) {
  using opt_t = std::optional<delayed_record>;
  return impl_->read([&](MDB_txn* txn) -> result<opt_t> {
    auto tkey = token_key(kg, sender, token);
    MDB_val k = val(tkey), v;
    int rc = mdb_get(txn, impl_->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
      return opt_t{};
    if (rc != 0)
      return lmdb_error("get token", rc);
    if (v.mv_size != 16)
      return error{errc::io, "corrupt token record"};
    auto ref = view(v);
    auto dkey = delayed_key(kg, static_cast<std::int64_t>(get_u64(ref)), get_u64(ref.substr(8)));
    MDB_val dk = val(dkey), dv;
    rc = mdb_get(txn, impl_->dbi, &dk, &dv);
    if (rc == MDB_NOTFOUND)
      return opt_t{};
    if (rc != 0)
      return lmdb_error("get delayed", rc);
    auto d = decode_delayed(dkey, view(dv));
    if (!d)
      return d.err();
    return opt_t{std::move(*d)};
  });
}

result<std::vector<delayed_record>> store::delayed_of(key_group kg, const address& sender) {
  using vec_t = std::vector<delayed_record>;
  return impl_->read([&](MDB_txn* txn) -> result<vec_t> {
    vec_t out;
    auto s = impl_->visit(txn, group_prefix(key_space::delayed, kg), "scan delayed",
                          [&](std::string_view k, std::string_view v) -> result<bool> {
      auto d = decode_delayed(k, v);
      if (!d)
        return d.err();
      if (d->sender == sender)
        out.push_back(std::move(*d));
      return true;
    });
    if (!s)
      return s.err();
    return out;
  });
}

result<std::vector<inbox_entry>> store::backlog_of(key_group kg, const address& a, size_t limit) {
  using vec_t = std::vector<inbox_entry>;
  return impl_->read([&](MDB_txn* txn) -> result<vec_t> {
    vec_t out;
    auto s = impl_->visit(txn, backlog_prefix(kg, a), "scan backlog",
                          [&](std::string_view k, std::string_view v) -> result<bool> {
      if (out.size() >= limit)
        return false;
      auto e = decode_backlog(k, v);
      if (!e)
        return e.err();
      out.push_back(std::move(*e));
      return true;
    });
    if (!s)
      return s.err();
    return out;
  });
}

result<std::vector<std::pair<address, std::uint64_t>>> store::backlogs(std::uint32_t kg_begin,
                                                                       std::uint32_t kg_end) {
  using vec_t = std::vector<std::pair<address, std::uint64_t>>;
  return impl_->read([&](MDB_txn* txn) -> result<vec_t> {
    vec_t out;
    for (auto g = kg_begin; g < kg_end; ++g) {
      auto prefix = group_prefix(key_space::backlog, key_group{static_cast<std::uint16_t>(g)});
      auto s = impl_->visit(txn, prefix, "scan backlogs",
                            [&](std::string_view k, std::string_view v) -> result<bool> {
        auto e = decode_backlog(k, v);
        if (!e)
          return e.err();
        // Keys are ordered by address, then sequence: one run per address.
        if (out.empty() || !(out.back().first == e->target))
          out.emplace_back(std::move(e->target), 0);
        out.back().second++;
        return true;
      });
      if (!s)
        return s.err();
    }
    return out;
  });
}

result<std::vector<dead_letter>> store::dead_letters(size_t limit) {
  using vec_t = std::vector<dead_letter>;
  return impl_->read([&](MDB_txn* txn) -> result<vec_t> {
    vec_t out;
    auto s = impl_->visit(txn, space_prefix(key_space::dead_letter), "scan dead letters",
                          [&](std::string_view k, std::string_view v) -> result<bool> {
      if (out.size() >= limit)
        return false;
      auto d = decode_dead_letter(k, v);
      if (!d)
        return d.err();
      out.push_back(std::move(*d));
      return true;
    });
    if (!s)
      return s.err();
    return out;
  });
}

result<std::optional<dead_letter>> store::find_dead_letter(key_group kg, std::uint64_t seq) {
  using opt_t = std::optional<dead_letter>;
  return impl_->read([&](MDB_txn* txn) -> result<opt_t> {
    auto key = dead_letter_key(kg, seq);
    MDB_val k = val(key), v;
    int rc = mdb_get(txn, impl_->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
      return opt_t{};
    if (rc != 0)
      return lmdb_error("get dead letter", rc);
    auto d = decode_dead_letter(key, view(v));
    if (!d)
      return d.err();
    return opt_t{std::move(*d)};
  });
}

result<size_t> store::count(key_space space) {
  return impl_->read([&](MDB_txn* txn) -> result<size_t> {
    size_t n = 0;
    auto s = impl_->visit(txn, space_prefix(space), "count",
                          [&](std::string_view, std::string_view) -> result<bool> {
      ++n;
      return true;
    });
    if (!s)
      return s.err();
    return n;
  });
}

} // namespace hearth::state
