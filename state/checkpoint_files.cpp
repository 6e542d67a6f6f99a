#include "state/checkpoint_files.hpp"
#include "state/atomic_file.hpp"
#include "state/file_util.hpp"

#include "protocol/codec.hpp"
#include "protocol/key_group.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <unistd.h>

namespace hearth::state {

namespace fs = std::filesystem;
using namespace detail;

namespace {

// DO NOT CHANGE: on-disk format (docs/checkpoints.md, "Files").
constexpr std::uint8_t part_version = 1;
constexpr char frame_header = 'H', frame_put = 'P', frame_del = 'D', frame_pending = 'I',
               frame_logged = 'L', frame_egress = 'E', frame_end = 'Z';




/// Buffered writer of checksummed frames: u32 length, u32 crc32, payload.
class frame_writer {
public:
  frame_writer(int fd, storage_env& env) : fd_(fd), env_(env) {}
  bool frame(char kind, std::string_view body) {
    std::string payload;
    payload.reserve(body.size() + 1);
    payload.push_back(kind);
    payload.append(body);
    put_u32(buf_, static_cast<std::uint32_t>(payload.size()));
    put_u32(buf_, checksum(payload));
    buf_ += payload;
    ++frames_;
    return buf_.size() < (1u << 20) || flush();
  }
  bool flush() {
    size_t done = 0;
    while (done < buf_.size()) {
      auto n = env_.write(fd_, buf_.data() + done, buf_.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return false;
      done += static_cast<size_t>(n);
    }
    bytes_ += buf_.size();
    buf_.clear();
    // Start write-back every few MB, so the final fsync has little left and
    // other fsyncs (the ingress log's) do not queue behind one large burst.
    if (bytes_ - started_ >= writeback_step) {
      ::sync_file_range(fd_, static_cast<off_t>(started_), static_cast<off_t>(bytes_ - started_),
                        SYNC_FILE_RANGE_WRITE);
      started_ = bytes_;
    }
    return true;
  }
  std::uint64_t frames() const { return frames_; }
  std::uint64_t bytes() const { return bytes_ + buf_.size(); }

private:
  static constexpr std::uint64_t writeback_step = 8u << 20;
  int fd_;
  storage_env& env_;
  std::string buf_;
  std::uint64_t frames_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t started_ = 0; // bytes whose write-back has been started
};

std::string encode_entry(const inbox_entry& e) {
  std::string out;
  put_u16(out, e.kg.value);
  out += encode(e);
  return out;
}

result<inbox_entry> decode_entry(std::string_view body) {
  if (body.size() < 2)
    return error{errc::io, "short message frame"};
  auto kg = static_cast<std::uint16_t>((static_cast<unsigned char>(body[0]) << 8)
                                       | static_cast<unsigned char>(body[1]));
  return decode_inbox(inbox_key(protocol::key_group{kg}, 0), body.substr(2));
}


std::string part_file_name(std::uint64_t id, std::uint64_t epoch, std::uint32_t p, bool full) {
  char buf[96];
  if (epoch == 0)
    std::snprintf(buf, sizeof buf, "part-%020llu-p%u.%s", static_cast<unsigned long long>(id), p,
                  full ? "full" : "delta");
  else
    std::snprintf(buf, sizeof buf, "part-%020llu-e%llu-p%u.%s", static_cast<unsigned long long>(id),
                  static_cast<unsigned long long>(epoch), p, full ? "full" : "delta");
  return buf;
}

std::string manifest_name(std::uint64_t id) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "manifest-%020llu.json", static_cast<unsigned long long>(id));
  return buf;
}

/// Reads and checks a part file; calls `on_frame(kind, body)` per frame.
status read_part(const std::string& path,
                 const std::function<status(char, std::string_view)>& on_frame) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return error{errc::io, "cannot read checkpoint file " + path};
  std::string data{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  std::string_view rest{data};
  std::uint64_t frames = 0;
  bool ended = false;
  while (!rest.empty()) {
    if (ended || rest.size() < 8)
      return error{errc::io, "checkpoint file " + path + " has trailing or torn data"};
    auto len = get_u32(rest);
    auto sum = get_u32(rest.substr(4));
    if (len == 0 || rest.size() - 8 < len)
      return error{errc::io, "checkpoint file " + path + " is cut short"};
    auto payload = rest.substr(8, len);
    if (checksum(payload) != sum)
      return error{errc::io, "checkpoint file " + path + " fails its checksum at frame "
                               + std::to_string(frames)};
    rest.remove_prefix(8 + len);
    char kind = payload[0];
    auto body = payload.substr(1);
    if (kind == frame_end) {
      if (body.size() != 8 || get_u64(body) != frames)
        return error{errc::io, "checkpoint file " + path + " has a bad end marker"};
      ended = true;
      continue;
    }
    ++frames;
    if (auto s = on_frame(kind, body); !s)
      return s;
  }
  if (!ended)
    return error{errc::io, "checkpoint file " + path + " has no end marker"};
  return ok();
}

} // namespace

std::string checkpoint_files::part_name(std::uint64_t id, std::uint32_t p, bool full,
                                        std::uint64_t epoch) {
  return part_file_name(id, epoch, p, full);
}

result<checkpoint_files> checkpoint_files::open(const std::string& dir, storage_env& env,
                                                std::shared_ptr<object_store> remote) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return error{errc::io, "cannot create checkpoint dir " + dir + ": " + ec.message()};
  return checkpoint_files{dir, env, std::move(remote)};
}

std::string checkpoint_files::where() const { return remote_ ? remote_->where() : dir_; }

status checkpoint_files::upload(const std::string& name) {
  if (!remote_)
    return ok();
  std::ifstream in{fs::path{dir_} / name, std::ios::binary};
  std::stringstream bytes;
  bytes << in.rdbuf();
  if (!in)
    return error{errc::io, "cannot read " + (fs::path{dir_} / name).string() + " to upload it"};
  if (auto s = remote_->put(name, bytes.str()); !s)
    return error{s.err().code, "cannot upload " + name + " to " + remote_->where() + ": "
                                 + s.err().message};
  return ok();
}

status checkpoint_files::fetch(const std::vector<std::string>& names) {
  if (!remote_)
    return ok();
  for (auto& n : names) {
    auto path = (fs::path{dir_} / n).string();
    if (fs::exists(path))
      continue;
    auto bytes = remote_->get(n);
    if (!bytes)
      return error{bytes.err().code, "cannot download " + n + " from " + remote_->where() + ": "
                                       + bytes.err().message};
    if (auto s = write_atomically(path, *bytes, *env_); !s)
      return s;
  }
  return ok();
}

result<part_written> checkpoint_files::write_part(std::uint64_t id, std::uint32_t p,
                                                  snapshot& view,
                                                  const std::unordered_set<std::string>* changed,
                                                  const part_extras& extras, std::uint64_t epoch) {
  auto name = part_file_name(id, epoch, p, changed == nullptr);
  auto path = (fs::path{dir_} / name).string();
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_error("cannot create", tmp);
  frame_writer w{fd, *env_};
  std::uint64_t keys = 0;
  bool good = true;
  std::string header;
  header.push_back(static_cast<char>(part_version));
  put_u64(header, id);
  put_u32(header, p);
  header.push_back(changed == nullptr ? 1 : 0);
  good = w.frame(frame_header, header);
  auto put = [&](std::string_view k, std::string_view v) {
    std::string body;
    put_str(body, k);
    put_str(body, v);
    ++keys;
    return w.frame(frame_put, body);
  };
  status scanned = ok();
  if (changed == nullptr) {
    scanned = view.for_each([&](std::string_view k, std::string_view v) {
      good = good && put(k, v);
      return good;
    });
  } else {
    // Sorted, so a delta file is deterministic and restores in key order.
    std::vector<std::string> sorted(changed->begin(), changed->end());
    std::sort(sorted.begin(), sorted.end());
    for (auto& k : sorted) {
      auto v = view.get(k);
      if (!v) {
        scanned = v.err();
        break;
      }
      if (*v) {
        good = good && put(k, **v);
      } else {
        std::string body;
        put_str(body, k);
        good = good && w.frame(frame_del, body);
      }
    }
  }
  for (auto& e : extras.pending)
    good = good && w.frame(frame_pending, encode_entry(e));
  for (auto& e : extras.logged)
    good = good && w.frame(frame_logged, encode_entry(e));
  for (auto& e : extras.egress) {
    std::string body;
    put_u64(body, e.seq);
    put_str(body, e.topic);
    put_str(body, e.payload);
    good = good && w.frame(frame_egress, body);
  }
  std::string end;
  put_u64(end, w.frames());
  good = good && w.frame(frame_end, end) && w.flush();
  bool synced = good && env_->fsync(fd) == 0;
  ::close(fd);
  if (!scanned) {
    ::unlink(tmp.c_str());
    return scanned.err();
  }
  if (!good || !synced) {
    auto err = io_error("cannot write", tmp);
    ::unlink(tmp.c_str());
    return err;
  }
  if (env_->rename(tmp, path) != 0) {
    auto err = io_error("cannot rename", tmp);
    ::unlink(tmp.c_str());
    return err;
  }
  if (remote_) {
    // The remote store keeps it; the cache only holds what a restore reads.
    auto s = upload(name);
    fs::remove(path);
    if (!s)
      return s.err();
  }
  return part_written{name, w.bytes(), keys};
}

std::vector<std::vector<std::string>> manifest::chains_for(std::uint32_t kg_begin,
                                                          std::uint32_t kg_end) const {
  std::vector<std::vector<std::string>> out;
  for (std::uint32_t p = 0; p < partitions && p < chains.size(); ++p) {
    auto begin = protocol::first_key_group(p, max_key_groups, partitions);
    auto end = protocol::first_key_group(p + 1, max_key_groups, partitions);
    if (begin < kg_end && kg_begin < end)
      out.push_back(chains[p]);
  }
  return out;
}

status checkpoint_files::write_manifest(const manifest& m) {
  nlohmann::json j{{"format", 1},
                   {"checkpoint", m.id},
                   {"time_ms", m.time_ms},
                   {"ingress_position", m.ingress_position},
                   {"partitions", m.partitions},
                   {"max_key_groups", m.max_key_groups},
                   {"chains", m.chains}};
  if (!m.ingress_positions.empty()) {
    j["epoch"] = m.epoch;
    j["ingress_positions"] = m.ingress_positions;
  }
  if (!m.connector_positions.empty())
    j["connector_positions"] = m.connector_positions;
  // Remote: the manifest goes last (every part it names is there already).
  if (remote_) {
    if (auto s = remote_->put(manifest_name(m.id), j.dump(1) + "\n"); !s)
      return error{s.err().code, "cannot upload " + manifest_name(m.id) + " to "
                                   + remote_->where() + ": " + s.err().message};
    return ok();
  }
  auto path = (fs::path{dir_} / manifest_name(m.id)).string();
  return write_atomically(path, j.dump(1) + "\n", *env_);
}

result<std::optional<manifest>> checkpoint_files::latest(std::vector<std::string>* skipped,
                                                         std::optional<std::uint64_t> only) {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir_, ec)) {
    auto n = e.path().filename().string();
    if (n.rfind("manifest-", 0) == 0 && n.size() > 5 && n.substr(n.size() - 5) == ".json"
        && (!only || n == manifest_name(*only)))
      names.push_back(n);
  }
  if (ec)
    return error{errc::io, "cannot list checkpoint dir " + dir_ + ": " + ec.message()};
  // Remote: its manifests are the checkpoints; a cached one it no longer has
  // was removed by retention (or never uploaded) and goes from the cache too.
  std::set<std::string> remote_parts;
  if (remote_) {
    auto listed = remote_->list("manifest-");
    if (!listed)
      return error{listed.err().code, "cannot list the checkpoints in " + remote_->where() + ": "
                                        + listed.err().message};
    std::set<std::string> there(listed->begin(), listed->end());
    for (auto& n : names)
      if (!there.count(n))
        fs::remove(fs::path{dir_} / n);
    names.clear();
    for (auto& n : there)
      if (n.size() > 5 && n.substr(n.size() - 5) == ".json" && (!only || n == manifest_name(*only)))
        names.push_back(n);
    auto parts = remote_->list("part-");
    if (!parts)
      return error{parts.err().code, "cannot list the checkpoint parts in " + remote_->where()
                                       + ": " + parts.err().message};
    remote_parts.insert(parts->begin(), parts->end());
  }
  std::sort(names.rbegin(), names.rend());
  for (auto& n : names) {
    if (auto s = fetch({n}); !s) {
      if (skipped)
        skipped->push_back(n + ": " + s.err().message);
      continue;
    }
    std::ifstream in{fs::path{dir_} / n};
    auto j = nlohmann::json::parse(in, nullptr, false);
    manifest m;
    try {
      // Integers only, in range: a JSON number converted to an integer type
      // it does not fit is undefined behaviour, not an exception.
      auto integer = [&](const char* key, std::int64_t lo, std::uint64_t hi) -> std::uint64_t {
        auto& v = j.at(key);
        if (v.is_number_unsigned() && v.get<std::uint64_t>() <= hi)
          return v.get<std::uint64_t>();
        if (v.is_number_integer() && v.get<std::int64_t>() >= lo && lo < 0)
          return static_cast<std::uint64_t>(v.get<std::int64_t>());
        throw std::runtime_error("unreadable");
      };
      if (j.is_discarded() || integer("format", 0, 1000) != 1)
        throw std::runtime_error("unreadable");
      m.id = integer("checkpoint", 0, ~std::uint64_t{0});
      m.time_ms = static_cast<std::int64_t>(integer("time_ms", INT64_MIN, INT64_MAX));
      m.ingress_position = integer("ingress_position", 0, ~std::uint64_t{0});
      m.partitions = static_cast<std::uint32_t>(integer("partitions", 0, UINT32_MAX));
      m.max_key_groups = static_cast<std::uint32_t>(integer("max_key_groups", 0, UINT32_MAX));
      m.chains = j.at("chains").get<std::vector<std::vector<std::string>>>();
      if (j.contains("ingress_positions")) {
        m.epoch = integer("epoch", 0, ~std::uint64_t{0});
        if (!j.at("ingress_positions").is_object())
          throw std::runtime_error("unreadable");
        for (auto& [node, position] : j.at("ingress_positions").items()) {
          if (!position.is_number_unsigned())
            throw std::runtime_error("unreadable");
          m.ingress_positions[node] = position.get<std::uint64_t>();
        }
      }
      if (j.contains("connector_positions")) {
        if (!j.at("connector_positions").is_object())
          throw std::runtime_error("unreadable");
        for (auto& [stream, position] : j.at("connector_positions").items()) {
          if (!position.is_string())
            throw std::runtime_error("unreadable");
          m.connector_positions[stream] = position.get<std::string>();
        }
      }
      for (auto& chain : m.chains)
        for (auto& f : chain)
          if (f.empty() || f.find('/') != std::string::npos || f == "." || f == "..")
            throw std::runtime_error("unreadable"); // part files live in this folder
    } catch (...) {
      if (skipped)
        skipped->push_back(n + ": unreadable manifest");
      continue;
    }
    bool complete = m.chains.size() == m.partitions;
    for (auto& chain : m.chains)
      for (auto& f : chain)
        complete = complete && (fs::exists(fs::path{dir_} / f) || remote_parts.count(f));
    if (!complete) {
      if (skipped)
        skipped->push_back(n + ": names missing files");
      continue;
    }
    if (remote_)
      prune_cache(n, m);
    return std::optional<manifest>{std::move(m)};
  }
  return std::optional<manifest>{};
}

namespace {

/// What reading a chain of part files hands out, in file order.
struct chain_visitor {
  /// A key frame: a put (with its value) or a deletion.
  std::function<status(bool put, std::string key, std::string value)> key;
  /// A pending or logged message of the chain's last file.
  std::function<status(char kind, inbox_entry entry)> entry;
  /// An egress record of the chain's last file.
  std::function<status(egress_entry record)> egress;
};

/// Reads `chain` (full file, then deltas) from `dir`, checking every file.
status read_chain(const std::string& dir, const std::vector<std::string>& chain,
                  const chain_visitor& visit) {
  for (size_t i = 0; i < chain.size(); ++i) {
    bool last = i + 1 == chain.size();
    auto path = (fs::path{dir} / chain[i]).string();
    auto r = read_part(path, [&](char kind, std::string_view body) -> status {
      std::string k, v;
      switch (kind) {
        case frame_header:
          return ok();
        case frame_put:
        case frame_del:
          if (!take_str(body, k) || (kind == frame_put && !take_str(body, v)))
            return error{errc::io, "bad key frame in " + path};
          return visit.key(kind == frame_put, std::move(k), std::move(v));
        case frame_pending:
        case frame_logged: {
          if (!last)
            return ok();
          auto e = decode_entry(body);
          if (!e)
            return e.err();
          return visit.entry(kind, std::move(*e));
        }
        case frame_egress: {
          if (!last)
            return ok();
          egress_entry e;
          if (body.size() < 8)
            return error{errc::io, "bad egress frame in " + path};
          e.seq = get_u64(body);
          body.remove_prefix(8);
          if (!take_str(body, e.topic) || !take_str(body, e.payload))
            return error{errc::io, "bad egress frame in " + path};
          return visit.egress(std::move(e));
        }
        default:
          return error{errc::io, "unknown frame in " + path};
      }
    });
    if (!r)
      return r;
  }
  return ok();
}

} // namespace

result<part_extras> checkpoint_files::restore(store& target, const std::vector<std::string>& chain) {
  part_extras extras;
  chain_visitor visit;
  write_batch* batch = nullptr;
  visit.key = [&](bool put, std::string k, std::string v) -> status {
    if (put)
      batch->put_raw(std::move(k), std::move(v));
    else
      batch->delete_raw(std::move(k));
    return ok();
  };
  visit.entry = [&](char kind, inbox_entry e) -> status {
    (kind == frame_pending ? extras.pending : extras.logged).push_back(std::move(e));
    return ok();
  };
  visit.egress = [&](egress_entry e) -> status {
    extras.egress.push_back(std::move(e));
    return ok();
  };
  if (auto f = fetch(chain); !f)
    return f.err();
  auto s = target.replace([&](write_batch& wb) -> status {
    batch = &wb;
    return read_chain(dir_, chain, visit);
  });
  if (!s)
    return s.err();
  return extras;
}

result<std::vector<std::vector<egress_entry>>> checkpoint_files::held_egress(const manifest& m) {
  std::vector<std::vector<egress_entry>> out(m.chains.size());
  for (size_t p = 0; p < m.chains.size(); ++p) {
    if (m.chains[p].empty())
      continue;
    chain_visitor visit;
    visit.key = [](bool, std::string, std::string) { return ok(); };
    visit.entry = [](char, inbox_entry) { return ok(); };
    visit.egress = [&](egress_entry e) -> status {
      out[p].push_back(std::move(e));
      return ok();
    };
    // The extras live in the last file of a chain.
    if (auto f = fetch({m.chains[p].back()}); !f)
      return f.err();
    if (auto r = read_chain(dir_, {m.chains[p].back()}, visit); !r)
      return r.err();
  }
  return out;
}

namespace {

/// The key group a key belongs to; nullopt for the key spaces that have none
/// (meta, specs).
std::optional<std::uint32_t> group_of_key(std::string_view key) {
  if (key.empty())
    return std::nullopt;
  auto space = static_cast<key_space>(static_cast<std::uint8_t>(key[0]));
  if (space == key_space::meta || space == key_space::specs || key.size() < 3)
    return std::nullopt;
  return (static_cast<std::uint32_t>(static_cast<std::uint8_t>(key[1])) << 8)
         | static_cast<std::uint8_t>(key[2]);
}

} // namespace

result<part_extras> checkpoint_files::restore_range(store& target,
                                                    const std::vector<std::vector<std::string>>& chains,
                                                    std::uint32_t kg_begin, std::uint32_t kg_end) {
  auto in_range = [&](std::uint32_t kg) { return kg >= kg_begin && kg < kg_end; };
  part_extras extras;
  // Keys of no key group, as each chain leaves them (the last write of a chain wins).
  std::vector<std::map<std::string, std::optional<std::string>>> ungrouped(chains.size());
  size_t c = 0;
  write_batch* batch = nullptr;
  chain_visitor visit;
  visit.key = [&](bool put, std::string k, std::string v) -> status {
    auto kg = group_of_key(k);
    if (!kg)
      ungrouped[c][std::move(k)] = put ? std::optional<std::string>{std::move(v)} : std::nullopt;
    else if (in_range(*kg) && put)
      batch->put_raw(std::move(k), std::move(v));
    else if (in_range(*kg))
      batch->delete_raw(std::move(k));
    return ok();
  };
  visit.entry = [&](char kind, inbox_entry e) -> status {
    if (in_range(e.kg.value))
      (kind == frame_pending ? extras.pending : extras.logged).push_back(std::move(e));
    return ok();
  };
  visit.egress = [](egress_entry) { return ok(); };
  for (auto& chain : chains)
    if (auto f = fetch(chain); !f)
      return f.err();
  auto s = target.replace([&](write_batch& wb) -> status {
    batch = &wb;
    for (c = 0; c < chains.size(); ++c)
      if (auto r = read_chain(dir_, chains[c], visit); !r)
        return r;
    // Merge what belongs to no key group.
    std::uint64_t seq = 0;
    std::map<std::string, std::vector<protocol::state_spec>> specs;
    auto seq_key = meta_key("seq");
    for (auto& chain_keys : ungrouped)
      for (auto& [k, v] : chain_keys) {
        if (!v)
          continue;
        if (k == seq_key && v->size() == 8) {
          seq = std::max(seq, get_u64(*v));
        } else if (static_cast<key_space>(static_cast<std::uint8_t>(k[0])) == key_space::specs) {
          auto decoded = protocol::decode_specs(*v);
          if (!decoded)
            return error{errc::io, "bad specs record in a part: " + decoded.err().message};
          auto& merged = specs[k];
          for (auto& spec : *decoded)
            if (std::none_of(merged.begin(), merged.end(),
                             [&](const protocol::state_spec& x) { return x.name == spec.name; }))
              merged.push_back(spec);
        } else {
          wb.put_raw(k, *v); // meta: the same in every part (the format version)
        }
      }
    for (auto& [k, list] : specs)
      wb.put_raw(k, protocol::encode_specs(list));
    if (seq > 0) {
      std::string bytes;
      put_u64(bytes, seq);
      wb.put_raw(seq_key, std::move(bytes));
    }
    return ok();
  });
  if (!s)
    return s.err();
  return extras;
}

status checkpoint_files::retain(size_t keep) {
  if (remote_)
    return retain_remote(keep); // the cache is pruned by latest()
  std::vector<std::string> manifests;
  std::vector<std::string> others;
  for (auto& e : fs::directory_iterator(dir_)) {
    auto n = e.path().filename().string();
    if (n.rfind("manifest-", 0) == 0 && n.substr(n.size() - 5) == ".json")
      manifests.push_back(n);
    else
      others.push_back(n);
  }
  std::sort(manifests.rbegin(), manifests.rend());
  std::set<std::string> referenced;
  for (size_t i = 0; i < manifests.size(); ++i) {
    if (i >= keep) {
      fs::remove(fs::path{dir_} / manifests[i]);
      continue;
    }
    std::ifstream in{fs::path{dir_} / manifests[i]};
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("chains"))
      continue;
    for (auto& chain : j["chains"])
      for (auto& f : chain)
        if (f.is_string())
          referenced.insert(f.get<std::string>());
  }
  // Only files older than the newest manifest are candidates: a part file of a
  // checkpoint still being written is newer and must stay.
  std::string newest = manifests.empty() ? "" : manifests.front().substr(9, 20);
  for (auto& n : others) {
    if (n.rfind("part-", 0) != 0 || referenced.count(n))
      continue;
    if (n.size() < 25 || n.substr(5, 20) > newest)
      continue;
    fs::remove(fs::path{dir_} / n);
  }
  return ok();
}

void checkpoint_files::prune_cache(const std::string& name, const manifest& m) {
  std::set<std::string> keep{name};
  for (auto& chain : m.chains)
    keep.insert(chain.begin(), chain.end());
  auto id = name.substr(9, 20);
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir_, ec)) {
    auto n = e.path().filename().string();
    bool older_part = n.rfind("part-", 0) == 0 && n.size() >= 25 && n.substr(5, 20) <= id
                      && n.find(".tmp") == std::string::npos;
    bool other_manifest = n.rfind("manifest-", 0) == 0 && n != name;
    if ((older_part || other_manifest) && !keep.count(n))
      fs::remove(e.path(), ec);
  }
}

status checkpoint_files::retain_remote(size_t keep) {
  if (!remote_)
    return ok();
  // The same rule as in the cache, over what the remote store holds.
  auto manifests = remote_->list("manifest-");
  if (!manifests)
    return manifests.err();
  auto parts = remote_->list("part-");
  if (!parts)
    return parts.err();
  std::sort(manifests->rbegin(), manifests->rend());
  std::set<std::string> referenced;
  std::vector<std::string> doomed;
  for (size_t i = 0; i < manifests->size(); ++i) {
    auto& n = (*manifests)[i];
    if (i >= keep) {
      doomed.push_back(n);
      continue;
    }
    auto text = remote_->get(n);
    if (!text)
      return text.err(); // unknown references: remove nothing
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.contains("chains"))
      continue;
    for (auto& chain : j["chains"])
      for (auto& f : chain)
        if (f.is_string())
          referenced.insert(f.get<std::string>());
  }
  std::string newest = manifests->empty() ? "" : manifests->front().substr(9, 20);
  for (auto& n : *parts)
    if (!referenced.count(n) && n.size() >= 25 && n.substr(5, 20) <= newest)
      doomed.push_back(n);
  return remote_->remove(doomed);
}

} // namespace hearth::state
