#include "state/ingress_log.hpp"

#include "state/format.hpp"

#include <zlib.h>

#include <algorithm>
#include <optional>
#include <string_view>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <unistd.h>

namespace hearth::state {

namespace fs = std::filesystem;

namespace {

// DO NOT CHANGE: on-disk format (docs/storage.md, "Ingress log").
constexpr std::uint8_t record_version = 1;
constexpr size_t header_bytes = 8;               // u32 length, u32 crc32
constexpr std::uint32_t max_record_bytes = 1u << 30;

error io_error(const std::string& what, const std::string& path) {
  return error{errc::io, what + " " + path + ": " + std::strerror(errno)};
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8)
    out.push_back(static_cast<char>((v >> s) & 0xff));
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void put_str(std::string& out, const std::string& s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

std::uint32_t checksum(const char* data, size_t n) {
  return static_cast<std::uint32_t>(
    crc32(0L, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(n)));
}

std::string encode_payload(const ingress_record& r) {
  std::string p;
  p.push_back(static_cast<char>(record_version));
  put_u64(p, r.offset);
  put_u64(p, static_cast<std::uint64_t>(r.time_ms));
  put_str(p, r.idempotency_key);
  put_str(p, r.target.type.ns);
  put_str(p, r.target.type.name);
  put_str(p, r.target.id);
  put_str(p, r.value.type_name);
  p.push_back(r.value.has_value ? 1 : 0);
  put_str(p, r.value.value);
  return p;
}

bool decode_payload(std::string_view p, ingress_record& r) {
  auto take = [&p](size_t n) -> std::optional<std::string_view> {
    if (p.size() < n)
      return std::nullopt;
    auto v = p.substr(0, n);
    p.remove_prefix(n);
    return v;
  };
  auto str = [&](std::string& out) {
    auto n = take(4);
    if (!n)
      return false;
    auto s = take(get_u32(n->data()));
    if (!s)
      return false;
    out.assign(*s);
    return true;
  };
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
  return str(r.value.value) && p.empty();
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
/// number of valid bytes.
size_t scan(std::string_view data, std::vector<ingress_record>* out, std::uint64_t from) {
  size_t pos = 0;
  while (data.size() - pos >= header_bytes) {
    auto len = get_u32(data.data() + pos);
    auto crc = get_u32(data.data() + pos + 4);
    if (len == 0 || len > max_record_bytes || data.size() - pos - header_bytes < len)
      break;
    const char* payload = data.data() + pos + header_bytes;
    if (checksum(payload, len) != crc)
      break;
    if (out) {
      ingress_record r;
      if (!decode_payload({payload, len}, r))
        break;
      if (r.offset >= from)
        out->push_back(std::move(r));
    }
    pos += header_bytes + len;
  }
  return pos;
}

/// Whether the invalid bytes at `valid` are a torn tail: the last record of the
/// file, cut short or with a bad checksum (a write that never completed), as
/// opposed to damage followed by more records.
bool torn_tail(std::string_view data, size_t valid) {
  auto rest = data.size() - valid;
  if (rest < header_bytes)
    return true;
  auto len = get_u32(data.data() + valid);
  if (len == 0 || len > max_record_bytes || rest - header_bytes < len)
    return true; // the header claims more than the file holds
  if (rest - header_bytes > len)
    return false; // a complete record with more after it: damage, not a torn write
  // The last record, complete in length: torn if its checksum fails; a record
  // that passes its checksum but cannot be decoded is corruption.
  return checksum(data.data() + valid + header_bytes, len) != get_u32(data.data() + valid + 4);
}

status sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return io_error("cannot open", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    return io_error("cannot fsync", dir);
  return ok();
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
      log->segments_.push_back({std::stoull(name.substr(0, 20)), entry.path().string(), 0});
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
    auto valid = scan(*data, &records, 0);
    bool last = i + 1 == log->segments_.size();
    if (valid != data->size()) {
      if (!last || !torn_tail(*data, valid))
        return error{errc::io, "ingress log segment " + seg.path + " is corrupt at byte "
                                 + std::to_string(valid)};
      // A torn tail: the write that was cut off was never acknowledged.
      if (::truncate(seg.path.c_str(), static_cast<off_t>(valid)) != 0)
        return io_error("cannot truncate", seg.path);
    }
    seg.bytes = valid;
    log->next_ = records.empty() ? std::max(log->next_, seg.first) : records.back().offset + 1;
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
  segment seg{next_, (fs::path{dir_} / segment_name(next_)).string(), 0};
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
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].offset = first + i;
    auto payload = encode_payload(records[i]);
    put_u32(buf, static_cast<std::uint32_t>(payload.size()));
    put_u32(buf, checksum(payload.data(), payload.size()));
    buf += payload;
  }
  auto& seg = segments_.back();
  size_t done = 0;
  while (done < buf.size()) {
    auto n = ::write(fd_, buf.data() + done, buf.size() - done);
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
  if (opts_.sync && ::fdatasync(fd_) != 0) {
    auto err = io_error("cannot fsync", seg.path);
    if (::ftruncate(fd_, static_cast<off_t>(seg.bytes)) != 0)
      broken_ = true;
    return err;
  }
  seg.bytes += buf.size();
  next_ = first + records.size();
  return first;
}

result<std::vector<ingress_record>> ingress_log::read(std::uint64_t from, size_t max) {
  std::vector<ingress_record> out;
  for (size_t i = 0; i < segments_.size() && out.size() < max; ++i) {
    auto& seg = segments_[i];
    bool has_later = i + 1 < segments_.size();
    if (has_later && segments_[i + 1].first <= from)
      continue;
    auto data = slurp(seg.path);
    if (!data)
      return data.err();
    std::vector<ingress_record> records;
    scan(std::string_view{*data}.substr(0, seg.bytes), &records, from);
    for (auto& r : records) {
      if (out.size() >= max)
        break;
      out.push_back(std::move(r));
    }
  }
  return out;
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

ingress_writer::ingress_writer(std::unique_ptr<ingress_log> log)
  : log_(std::move(log)), thread_([this] { run(); }) {}

ingress_writer::~ingress_writer() { stop(); }

std::future<result<std::uint64_t>> ingress_writer::submit(ingress_record rec) {
  std::promise<result<std::uint64_t>> p;
  auto f = p.get_future();
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_) {
      p.set_value(error{errc::unavailable, "the ingress log is closed"});
      return f;
    }
    queue_.emplace_back(std::move(rec), std::move(p));
  }
  cv_.notify_one();
  return f;
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

std::uint64_t ingress_writer::groups() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return groups_;
}

void ingress_writer::run() {
  for (;;) {
    std::deque<std::pair<ingress_record, std::promise<result<std::uint64_t>>>> group;
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return; // stopping, and everything queued is written
      group.swap(queue_);
    }
    std::vector<ingress_record> records;
    records.reserve(group.size());
    for (auto& [rec, _] : group)
      records.push_back(std::move(rec));
    auto first = log_->append(records);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ++groups_;
    }
    for (size_t i = 0; i < group.size(); ++i) {
      if (first)
        group[i].second.set_value(*first + i);
      else
        group[i].second.set_value(first.err());
    }
  }
}

} // namespace hearth::state
