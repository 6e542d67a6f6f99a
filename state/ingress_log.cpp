#include "state/ingress_log.hpp"

#include "state/file_util.hpp"
#include "state/format.hpp"
#include "state/lmdb_util.hpp"


#include <algorithm>
#include <map>
#include <optional>
#include <string_view>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <unistd.h>

namespace hearth::state {

namespace fs = std::filesystem;
using namespace detail;

namespace {

// DO NOT CHANGE: on-disk format (docs/storage.md, "Ingress log").
constexpr std::uint8_t record_version = 1;
constexpr size_t header_bytes = 8;               // u32 length, u32 crc32
constexpr std::uint32_t max_record_bytes = 1u << 30;





/// Appends record `r`'s payload to `out`, sized up front (one allocation at
/// most, usually none: `out` is the group's buffer).
void append_payload(std::string& out, const ingress_record& r) {
  out.reserve(out.size() + 1 + 8 + 8 + 1 + 6 * 4 + r.idempotency_key.size() + r.target.type.ns.size()
              + r.target.type.name.size() + r.target.id.size() + r.value.type_name.size()
              + r.value.value.view().size());
  out.push_back(static_cast<char>(record_version));
  put_u64(out, r.offset);
  put_u64(out, static_cast<std::uint64_t>(r.time_ms));
  put_str(out, r.idempotency_key);
  put_str(out, r.target.type.ns);
  put_str(out, r.target.type.name);
  put_str(out, r.target.id);
  put_str(out, r.value.type_name);
  out.push_back(r.value.has_value ? 1 : 0);
  put_str(out, r.value.value.view());
}

/// Writes big-endian `v` over the 4 bytes of `out` at `at`.
void set_u32(std::string& out, size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out[at + static_cast<size_t>(i)] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
}

bool decode_payload(std::string_view p, ingress_record& r) {
  auto take = [&p](size_t n) -> std::optional<std::string_view> {
    if (p.size() < n)
      return std::nullopt;
    auto v = p.substr(0, n);
    p.remove_prefix(n);
    return v;
  };
  auto str = [&p](std::string& out) { return take_str(p, out); };
  auto v = take(1);
  if (!v || static_cast<std::uint8_t>((*v)[0]) != record_version)
    return false;
  auto off = take(8), t = take(8);
  if (!off || !t)
    return false;
  r.offset = get_u64(*off);
  r.time_ms = static_cast<std::int64_t>(get_u64(*t));
  if (!str(r.idempotency_key) || !str(r.target.type.ns) || !str(r.target.type.name)
      || !str(r.target.id) || !str(r.value.type_name))
    return false;
  auto hv = take(1);
  if (!hv)
    return false;
  r.value.has_value = (*hv)[0] != 0;
  std::string value;
  if (!str(value) || !p.empty())
    return false;
  r.value.value = std::move(value);
  return true;
}

std::string segment_name(std::uint64_t first) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.log", static_cast<unsigned long long>(first));
  return buf;
}

/// Reads a whole file.
result<std::string> slurp(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return io_error("cannot open", path);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      ::close(fd);
      return io_error("cannot read", path);
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

/// Parses records from `data`; stops at the first invalid one. Returns the
/// number of valid bytes. With `index`, notes (offset, byte) of every
/// `every`-th record.
size_t scan(std::string_view data, std::vector<ingress_record>* out, std::uint64_t from,
            std::vector<std::pair<std::uint64_t, std::uint64_t>>* index = nullptr,
            std::uint64_t every = 1, std::uint64_t* count = nullptr) {
  size_t pos = 0;
  std::uint64_t n = 0;
  while (data.size() - pos >= header_bytes) {
    auto len = get_u32(data.substr(pos));
    auto crc = get_u32(data.substr(pos + 4));
    if (len == 0 || len > max_record_bytes || data.size() - pos - header_bytes < len)
      break;
    const char* payload = data.data() + pos + header_bytes;
    if (checksum({payload, len}) != crc)
      break;
    if (out) {
      ingress_record r;
      if (!decode_payload({payload, len}, r))
        break;
      if (index && n % every == 0)
        index->emplace_back(r.offset, pos);
      if (r.offset >= from)
        out->push_back(std::move(r));
    }
    ++n;
    pos += header_bytes + len;
  }
  if (count)
    *count = n;
  return pos;
}

/// Whether the invalid bytes at `valid` are a torn tail: the last record of the
/// file, cut short or with a bad checksum (a write that never completed), as
/// opposed to damage followed by more records.
bool torn_tail(std::string_view data, size_t valid) {
  auto rest = data.size() - valid;
  if (rest < header_bytes)
    return true;
  auto len = get_u32(data.substr(valid));
  if (len == 0 || len > max_record_bytes || rest - header_bytes < len)
    return true; // the header claims more than the file holds
  if (rest - header_bytes > len)
    return false; // a complete record with more after it: damage, not a torn write
  // The last record, complete in length: torn if its checksum fails; a record
  // that passes its checksum but cannot be decoded is corruption.
  return checksum(data.substr(valid + header_bytes, len)) != get_u32(data.substr(valid + 4));
}


} // namespace

ingress_log::~ingress_log() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::uint64_t ingress_log::first_offset() const {
  return segments_.empty() ? next_ : segments_.front().first;
}

result<std::unique_ptr<ingress_log>> ingress_log::open(const std::string& dir,
                                                      ingress_log_options opts) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return error{errc::io, "cannot create " + dir + ": " + ec.message()};
  std::unique_ptr<ingress_log> log{new ingress_log()};
  log->dir_ = dir;
  log->opts_ = opts;
  for (auto& entry : fs::directory_iterator(dir)) {
    auto name = entry.path().filename().string();
    if (name.size() != 24 || name.substr(20) != ".log")
      continue;
    try {
      log->segments_.push_back({std::stoull(name.substr(0, 20)), entry.path().string(), 0, 0, {}});
    } catch (...) {
      continue;
    }
  }
  std::sort(log->segments_.begin(), log->segments_.end(),
            [](const segment& a, const segment& b) { return a.first < b.first; });
  for (size_t i = 0; i < log->segments_.size(); ++i) {
    auto& seg = log->segments_[i];
    auto data = slurp(seg.path);
    if (!data)
      return data.err();
    std::vector<ingress_record> records;
    auto valid = scan(*data, &records, 0, &seg.index, index_every, &seg.records);
    bool last = i + 1 == log->segments_.size();
    if (valid != data->size()) {
      if (!last || !torn_tail(*data, valid))
        return error{errc::io, "ingress log segment " + seg.path + " is corrupt at byte "
                                 + std::to_string(valid)};
      // A torn tail: the write that was cut off was never acknowledged.
      if (::truncate(seg.path.c_str(), static_cast<off_t>(valid)) != 0)
        return io_error("cannot truncate", seg.path);
    }
    // Offsets run on without a gap: from the segment's name, record by record,
    // and from one segment to the next. Anything else is damage, not a log.
    if (i > 0 && seg.first != log->next_)
      return error{errc::io, "ingress log segment " + seg.path + " starts at offset "
                               + std::to_string(seg.first) + ", but the one before ends at "
                               + std::to_string(log->next_)};
    for (size_t k = 0; k < records.size(); ++k)
      if (records[k].offset != seg.first + k)
        return error{errc::io, "ingress log segment " + seg.path + " holds offset "
                                 + std::to_string(records[k].offset) + " where "
                                 + std::to_string(seg.first + k) + " belongs"};
    seg.bytes = valid;
    log->next_ = seg.first + records.size();
  }
  if (log->next_ < opts.first_offset) {
    if (log->next_ != log->first_offset())
      return error{errc::conflict, "the ingress log in " + dir + " ends at offset "
                                     + std::to_string(log->next_) + ", but the checkpoint resumes at "
                                     + std::to_string(opts.first_offset)
                                     + ": the records in between are gone"};
    // No record yet: the log starts where the checkpoint resumes.
    for (auto& seg : log->segments_)
      fs::remove(seg.path, ec);
    log->segments_.clear();
    log->next_ = opts.first_offset;
  }
  if (log->segments_.empty()) {
    if (auto s = log->roll(); !s)
      return s.err();
  } else {
    auto& seg = log->segments_.back();
    log->fd_ = ::open(seg.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (log->fd_ < 0)
      return io_error("cannot open", seg.path);
  }
  return log;
}

status ingress_log::roll() {
  if (fd_ >= 0)
    ::close(fd_);
  segment seg{next_, (fs::path{dir_} / segment_name(next_)).string(), 0, 0, {}};
  fd_ = ::open(seg.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    return io_error("cannot create", seg.path);
  if (opts_.sync)
    if (auto s = sync_dir(dir_); !s)
      return s;
  segments_.push_back(std::move(seg));
  return ok();
}

result<std::uint64_t> ingress_log::append(std::vector<ingress_record>& records) {
  if (broken_)
    return error{errc::io, "the ingress log could not undo a failed write; restart the node"};
  if (records.empty())
    return next_;
  if (segments_.back().bytes >= opts_.segment_bytes)
    if (auto s = roll(); !s)
      return s.err();
  auto first = next_;
  std::string buf;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> indexed;
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].offset = first + i;
    if ((segments_.back().records + i) % index_every == 0)
      indexed.emplace_back(records[i].offset, segments_.back().bytes + buf.size());
    // The header (length, crc32) is filled in once the payload is in place.
    auto at = buf.size();
    buf.append(header_bytes, '\0');
    append_payload(buf, records[i]);
    auto payload = std::string_view{buf}.substr(at + header_bytes);
    set_u32(buf, at, static_cast<std::uint32_t>(payload.size()));
    set_u32(buf, at + 4, checksum(payload));
  }
  auto& seg = segments_.back();
  size_t done = 0;
  while (done < buf.size()) {
    auto n = opts_.env->write(fd_, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = io_error("cannot write", seg.path);
      // Leave the log as it was: cut off whatever part of the group got in.
      if (::ftruncate(fd_, static_cast<off_t>(seg.bytes)) != 0)
        broken_ = true;
      return err;
    }
    done += static_cast<size_t>(n);
  }
  if (opts_.sync && opts_.env->fdatasync(fd_) != 0) {
    auto err = io_error("cannot fsync", seg.path);
    if (::ftruncate(fd_, static_cast<off_t>(seg.bytes)) != 0)
      broken_ = true;
    return err;
  }
  seg.bytes += buf.size();
  seg.records += records.size();
  seg.index.insert(seg.index.end(), indexed.begin(), indexed.end());
  next_ = first + records.size();
  return first;
}

std::vector<ingress_log::span> ingress_log::plan_read(std::uint64_t from) const {
  std::vector<span> out;
  for (size_t i = 0; i < segments_.size(); ++i) {
    auto& seg = segments_[i];
    if (i + 1 < segments_.size() && segments_[i + 1].first <= from)
      continue; // wholly before `from`
    // The last indexed record at or before `from` (records before it are skipped).
    std::uint64_t pos = 0;
    auto it = std::upper_bound(seg.index.begin(), seg.index.end(), from,
                               [](std::uint64_t o, const auto& e) { return o < e.first; });
    if (it != seg.index.begin())
      pos = std::prev(it)->second;
    out.push_back({seg.path, pos, seg.bytes});
  }
  return out;
}

result<std::vector<ingress_record>> ingress_log::read_spans(const std::vector<span>& spans,
                                                            std::uint64_t from, size_t max,
                                                            size_t max_bytes) {
  std::vector<ingress_record> out;
  size_t bytes = 0;
  for (auto& sp : spans) {
    if (out.size() >= max || (bytes >= max_bytes && !out.empty()))
      break;
    int fd = ::open(sp.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return io_error("cannot open", sp.path);
    // Chunks of the span; scan() takes the whole records in the buffer and
    // leaves a cut one for the next chunk.
    std::string buf;
    auto pos = sp.pos;
    bool done = false;
    while (!done && pos < sp.end) {
      auto old = buf.size();
      size_t want = std::min<std::uint64_t>(sp.end - pos, 1u << 20);
      buf.resize(old + want);
      auto n = ::pread(fd, buf.data() + old, want, static_cast<off_t>(pos));
      if (n < 0 && errno == EINTR) {
        buf.resize(old);
        continue;
      }
      if (n <= 0) {
        auto err = n < 0 ? io_error("cannot read", sp.path)
                         : error{errc::io, "ingress log segment " + sp.path + " is shorter than "
                                             + std::to_string(sp.end) + " bytes"};
        ::close(fd);
        return err;
      }
      buf.resize(old + static_cast<size_t>(n));
      pos += static_cast<std::uint64_t>(n);
      std::vector<ingress_record> got;
      buf.erase(0, scan(buf, &got, from));
      for (auto& r : got) {
        bytes += r.value.value.size() + 1; // +1: an empty record counts too
        out.push_back(std::move(r));
        if (out.size() >= max || bytes >= max_bytes) {
          done = true;
          break;
        }
      }
    }
    if (!done && !buf.empty()) { // bytes left that hold no whole valid record
      ::close(fd);
      return error{errc::io, "ingress log segment " + sp.path + " is corrupt near byte "
                               + std::to_string(pos - buf.size())};
    }
    ::close(fd);
  }
  return out;
}

result<std::vector<ingress_record>> ingress_log::read(std::uint64_t from, size_t max,
                                                      size_t max_bytes) {
  return read_spans(plan_read(from), from, max, max_bytes);
}

status ingress_log::trim(std::uint64_t before) {
  // Keep the last segment (it is open for appends) and any segment holding an
  // offset >= before.
  while (segments_.size() > 1 && segments_[1].first <= before) {
    std::error_code ec;
    fs::remove(segments_.front().path, ec);
    if (ec)
      return error{errc::io, "cannot remove " + segments_.front().path + ": " + ec.message()};
    segments_.erase(segments_.begin());
  }
  return ok();
}

// -- ingress_writer ------------------------------------------------------------

// The idempotency-key index: 'K' key -> u64(offset) u64(time_ms);
// 'T' u64(time_ms) key -> empty (for expiry); 'W' -> u64 offset up to which the
// log's keys are indexed. DO NOT CHANGE: on-disk format.
struct ingress_writer::key_index {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;
  ~key_index() {
    if (env)
      mdb_env_close(env);
  }

  using offsets = std::vector<std::optional<std::uint64_t>>;

  /// The offsets of `keys` (empty ones skipped) accepted at or after
  /// `oldest_ms`, in one read transaction; nothing for unknown keys.
  result<offsets> find(const std::vector<std::string_view>& keys, std::int64_t oldest_ms) {
    offsets out(keys.size());
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn); rc != 0)
      return lmdb_error("key index", rc);
    std::string k;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].empty())
        continue;
      k.assign("K").append(keys[i]);
      MDB_val mk = val(k), mv;
      if (mdb_get(txn, dbi, &mk, &mv) == 0 && mv.mv_size == 16) {
        auto v = view(mv);
        if (static_cast<std::int64_t>(get_u64(v.substr(8))) >= oldest_ms)
          out[i] = get_u64(v);
      }
    }
    mdb_txn_abort(txn);
    return out;
  }

  /// Indexes the keys of `records` and moves the watermark to `next`; expires
  /// keys accepted before `oldest_ms`.
  status add(const std::vector<ingress_record>& records, std::uint64_t next,
             std::int64_t oldest_ms) {
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env, nullptr, 0, &txn); rc != 0)
      return lmdb_error("key index", rc);
    int rc = expire(txn, oldest_ms);
    for (auto& r : records) {
      if (rc != 0)
        break;
      if (r.idempotency_key.empty())
        continue;
      std::string v, t{"T"};
      put_u64(v, r.offset);
      put_u64(v, static_cast<std::uint64_t>(r.time_ms));
      put_u64(t, static_cast<std::uint64_t>(r.time_ms));
      t += r.idempotency_key;
      auto k = "K" + r.idempotency_key;
      MDB_val mk = val(k), mv = val(v), tk = val(t), tv = val("");
      if ((rc = mdb_put(txn, dbi, &mk, &mv, 0)) != 0 || (rc = mdb_put(txn, dbi, &tk, &tv, 0)) != 0)
        break;
    }
    if (rc == 0) {
      std::string w;
      put_u64(w, next);
      MDB_val wk = val("W"), wv = val(w);
      rc = mdb_put(txn, dbi, &wk, &wv, 0);
    }
    if (rc != 0) {
      mdb_txn_abort(txn);
      return lmdb_error("key index", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
      return lmdb_error("key index", rc);
    return ok();
  }

  /// Deletes the keys accepted before `oldest_ms` (the 'T' keys sort by time).
  /// Runs before new keys are written, so a key accepted again is never
  /// deleted by the expiry of its earlier acceptance.
  int expire(MDB_txn* txn, std::int64_t oldest_ms) {
    for (;;) {
      // The oldest 'T' key, looked up afresh after each deletion.
      std::string from{"T"};
      MDB_val ck = val(from), cv;
      MDB_cursor* cur = nullptr;
      if (int rc = mdb_cursor_open(txn, dbi, &cur); rc != 0)
        return rc;
      int c = mdb_cursor_get(cur, &ck, &cv, MDB_SET_RANGE);
      std::string t;
      if (c == 0)
        t.assign(static_cast<const char*>(ck.mv_data), ck.mv_size);
      mdb_cursor_close(cur);
      if (c == MDB_NOTFOUND || t.size() < 9 || t[0] != 'T'
          || static_cast<std::int64_t>(get_u64(std::string_view{t}.substr(1))) >= oldest_ms)
        return 0;
      if (c != 0)
        return c;
      auto k = "K" + t.substr(9);
      MDB_val mk = val(k), tk = val(t);
      mdb_del(txn, dbi, &mk, nullptr);
      if (int rc = mdb_del(txn, dbi, &tk, nullptr); rc != 0)
        return rc;
    }
  }

  std::uint64_t watermark() {
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) != 0)
      return 0;
    MDB_val k = val("W"), v;
    std::uint64_t w = 0;
    if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size == 8)
      w = get_u64(view(v));
    mdb_txn_abort(txn);
    return w;
  }
};

namespace {
std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}
} // namespace

result<std::unique_ptr<ingress_writer>> ingress_writer::start(std::unique_ptr<ingress_log> log,
                                                              ingress_writer_options opts) {
  std::unique_ptr<ingress_writer> w{new ingress_writer()};
  w->log_ = std::move(log);
  w->opts_ = std::move(opts);
  if (!w->opts_.keys_dir.empty()) {
    auto k = std::make_unique<key_index>();
    if (auto s = detail::open_env(w->opts_.keys_dir, size_t{1} << 32, k->env, k->dbi); !s)
      return s.err();
    // Records the index may have missed: from its watermark to the log's end.
    auto from = std::max(k->watermark(), w->log_->first_offset());
    auto oldest = now_ms() - w->opts_.retention.count();
    for (;;) {
      auto batch = w->log_->read(from, 10'000);
      if (!batch)
        return batch.err();
      if (batch->empty())
        break;
      from = batch->back().offset + 1;
      if (auto s = k->add(*batch, from, oldest); !s)
        return s.err();
    }
    w->keys_ = std::move(k);
  }
  w->thread_ = std::thread([p = w.get()] { p->run(); });
  return w;
}

ingress_writer::~ingress_writer() { stop(); }

void ingress_writer::submit(ingress_record rec, on_logged done) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!stopping_ && failed_.empty()) {
      queue_.emplace_back(std::move(rec), std::move(done));
      if (queue_.size() > 1)
        return; // the writer is woken already, or busy and looks again
    } else {
      auto why = failed_.empty() ? std::string{"the ingress log is closed"}
                                 : "the ingress log stopped: " + failed_;
      done(error{errc::unavailable, why});
      return;
    }
  }
  cv_.notify_one();
}

std::future<result<accepted>> ingress_writer::submit(ingress_record rec) {
  auto p = std::make_shared<std::promise<result<accepted>>>();
  auto f = p->get_future();
  submit(std::move(rec), [p](result<accepted> r) { p->set_value(std::move(r)); });
  return f;
}

result<std::vector<ingress_record>> ingress_writer::read(std::uint64_t from, size_t max) {
  std::vector<ingress_log::span> spans;
  {
    // Only the plan under the lock: the files are read while appends go on.
    std::lock_guard<std::mutex> guard{log_mtx_};
    if (!log_)
      return error{errc::unavailable, "the ingress log is closed"};
    spans = log_->plan_read(from);
  }
  return ingress_log::read_spans(spans, from, max);
}

status ingress_writer::trim(std::uint64_t before) {
  // The keys of the records about to go must be durable first: after a power
  // loss the index is re-built only from records still in the log.
  std::lock_guard<std::mutex> guard{log_mtx_};
  if (!log_)
    return error{errc::unavailable, "the ingress log is closed"};
  if (keys_)
    if (int rc = mdb_env_sync(keys_->env, 1); rc != 0)
      return lmdb_error("key index sync", rc);
  return log_->trim(before);
}

std::uint64_t ingress_writer::next_offset() const {
  std::lock_guard<std::mutex> guard{log_mtx_};
  return log_ ? log_->next_offset() : 0;
}

std::uint64_t ingress_writer::first_offset() const {
  std::lock_guard<std::mutex> guard{log_mtx_};
  return log_ ? log_->first_offset() : 0;
}

void ingress_writer::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable())
    thread_.join();
}

void ingress_writer::close() {
  stop();
  std::lock_guard<std::mutex> guard{log_mtx_};
  log_.reset();
  keys_.reset();
}

std::string ingress_writer::failure() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return failed_;
}

std::uint64_t ingress_writer::groups() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return groups_;
}

void ingress_writer::run() {
  for (;;) {
    std::deque<std::pair<ingress_record, on_logged>> group;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return; // stopping, and everything queued is written
      group.swap(queue_);
    }
    auto now = now_ms();
    auto oldest = now - opts_.retention.count();
    // Duplicates: keys already indexed, or repeated within this group.
    std::vector<std::optional<accepted>> outcome(group.size());
    std::map<std::string, size_t> first_in_group;
    std::vector<ingress_record> records;
    std::vector<size_t> slot; // group index of each logged record
    result<key_index::offsets> indexed = key_index::offsets{};
    // A group without idempotency keys touches no index: its watermark stays
    // behind, and a start re-reads the log from there (never more than the
    // log holds since its last trim).
    bool keyed = keys_ && std::any_of(group.begin(), group.end(), [](const auto& g) {
                   return !g.first.idempotency_key.empty();
                 });
    if (keyed) {
      std::vector<std::string_view> keys;
      for (auto& [rec, promise] : group)
        keys.push_back(rec.idempotency_key);
      indexed = keys_->find(keys, oldest);
      if (!indexed) // treated as not indexed: the record is logged again
        std::fprintf(stderr, "hearth-node: %s\n", indexed.err().message.c_str());
    }
    for (size_t i = 0; i < group.size(); ++i) {
      auto& key = group[i].first.idempotency_key;
      if (keys_ && !key.empty()) {
        if (indexed && (*indexed)[i]) {
          outcome[i] = accepted{*(*indexed)[i], true};
          continue;
        }
        if (auto it = first_in_group.find(key); it != first_in_group.end())
          continue; // resolved once its first copy has an offset
        first_in_group.emplace(key, i);
      }
      slot.push_back(i);
      group[i].first.time_ms = now; // accepted now: retention counts from here
      records.push_back(std::move(group[i].first));
    }
    result<std::uint64_t> first = std::uint64_t{0};
    {
      std::lock_guard<std::mutex> guard{log_mtx_};
      first = log_->append(records);
    }
    if (first && keyed)
      if (auto s = keys_->add(records, *first + records.size(), oldest); !s)
        std::fprintf(stderr, "hearth-node: %s\n", s.err().message.c_str());
    std::deque<std::pair<ingress_record, on_logged>> refused;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ++groups_;
      if (!first && failed_.empty()) {
        // Stop taking records: what was queued meanwhile is refused too.
        failed_ = first.err().message;
        refused.swap(queue_);
      }
    }
    if (!first) {
      for (auto& [rec, done] : refused)
        done(error{errc::unavailable, "the ingress log stopped: " + failed_});
      if (opts_.on_failure)
        opts_.on_failure(first.err());
    }
    if (first && opts_.on_durable && !records.empty())
      opts_.on_durable(std::move(records)); // not read below
    for (size_t j = 0; j < slot.size(); ++j)
      outcome[slot[j]] = first ? std::optional<accepted>{accepted{*first + j, false}}
                               : std::nullopt;
    for (size_t i = 0; i < group.size(); ++i) {
      if (!outcome[i] && !group[i].first.idempotency_key.empty() && keys_) {
        auto it = first_in_group.find(group[i].first.idempotency_key);
        if (it != first_in_group.end() && it->second != i && outcome[it->second])
          outcome[i] = accepted{outcome[it->second]->offset, true};
      }
      if (outcome[i])
        group[i].second(*outcome[i]);
      else
        group[i].second(first ? error{errc::io, "not logged"} : first.err());
    }
  }
}

} // namespace hearth::state
