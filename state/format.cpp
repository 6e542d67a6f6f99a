#include "state/format.hpp"

#include "state/file_util.hpp"

namespace hearth::state {

using detail::put_str;
using detail::put_u32;

using protocol::address;
using protocol::key_group;
using protocol::typed_value;

void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}


void put_u64(std::string& out, std::uint64_t v) {
  for (int s = 56; s >= 0; s -= 8)
    out.push_back(static_cast<char>((v >> s) & 0xff));
}

std::uint64_t get_u64(std::string_view in) {
  std::uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

namespace {

void put_addr(std::string& out, const address& a) {
  put_str(out, a.type.ns);
  put_str(out, a.type.name);
  put_str(out, a.id);
}

void put_value(std::string& out, const typed_value& v) {
  out.reserve(out.size() + 9 + v.type_name.size() + v.value.view().size());
  put_str(out, v.type_name);
  out.push_back(v.has_value ? 1 : 0);
  put_str(out, v.value.view());
}

/// A bounds-checked reader over a record; any overrun sets `bad`.
struct reader {
  std::string_view in;
  bool bad = false;

  bool need(size_t n) {
    if (in.size() < n)
      bad = true;
    return !bad;
  }
  std::uint8_t u8() {
    if (!need(1))
      return 0;
    auto v = static_cast<std::uint8_t>(in[0]);
    in.remove_prefix(1);
    return v;
  }
  std::uint32_t u32() {
    if (!need(4))
      return 0;
    auto v = detail::get_u32(in);
    in.remove_prefix(4);
    return v;
  }
  std::uint64_t u64() {
    if (!need(8))
      return 0;
    auto v = get_u64(in);
    in.remove_prefix(8);
    return v;
  }
  std::string str() {
    std::string s;
    if (!bad && !detail::take_str(in, s))
      bad = true;
    return s;
  }
  address addr() {
    address a;
    a.type.ns = str();
    a.type.name = str();
    a.id = str();
    return a;
  }
  typed_value value() {
    typed_value v;
    v.type_name = str();
    v.has_value = u8() != 0;
    v.value = str();
    return v;
  }
  void invocations(std::vector<protocol::invocation>& out) {
    auto n = u32();
    for (std::uint32_t i = 0; i < n && !bad; ++i) {
      protocol::invocation inv;
      if (u8() != 0)
        inv.caller = addr();
      inv.argument = value();
      out.push_back(std::move(inv));
    }
  }
};

void put_invocations(std::string& out, const std::vector<protocol::invocation>& invs) {
  put_u32(out, static_cast<std::uint32_t>(invs.size()));
  for (auto& inv : invs) {
    out.push_back(inv.caller ? 1 : 0);
    if (inv.caller)
      put_addr(out, *inv.caller);
    put_value(out, inv.argument);
  }
}

constexpr std::uint8_t record_version = 1;

error corrupt(const char* what) {
  return error{errc::io, std::string{"corrupt "} + what + " record"};
}

std::string group_key(key_space s, key_group kg) {
  std::string k;
  k.push_back(static_cast<char>(s));
  put_u16(k, kg.value);
  return k;
}

} // namespace

std::string space_prefix(key_space space) { return std::string(1, static_cast<char>(space)); }
std::string group_prefix(key_space space, key_group kg) { return group_key(space, kg); }

std::string meta_key(std::string_view name) {
  auto k = space_prefix(key_space::meta);
  k.append(name);
  return k;
}

std::string specs_key(const protocol::function_type& type) {
  auto k = space_prefix(key_space::specs);
  put_str(k, type.ns);
  put_str(k, type.name);
  return k;
}

size_t encoded_address_size(const address& a) {
  return 12 + a.type.ns.size() + a.type.name.size() + a.id.size();
}

std::string state_prefix(key_group kg, const address& a) {
  auto k = group_key(key_space::state, kg);
  put_addr(k, a);
  return k;
}

std::string state_key(key_group kg, const address& a, std::string_view name) {
  std::string k;
  k.reserve(3 + encoded_address_size(a) + name.size()); // one allocation
  k.push_back(static_cast<char>(key_space::state));
  put_u16(k, kg.value);
  put_addr(k, a);
  k.append(name);
  return k;
}

std::string delayed_key(key_group kg, std::int64_t due_ms, std::uint64_t seq) {
  auto k = group_key(key_space::delayed, kg);
  put_u64(k, static_cast<std::uint64_t>(due_ms));
  put_u64(k, seq);
  return k;
}

std::string token_key(key_group kg, const address& sender, std::string_view token) {
  auto k = group_key(key_space::token, kg);
  put_addr(k, sender);
  k.append(token);
  return k;
}

std::string dead_letter_key(key_group kg, std::uint64_t seq) {
  auto k = group_key(key_space::dead_letter, kg);
  put_u64(k, seq);
  return k;
}

std::string inbox_key(key_group kg, std::uint64_t seq) {
  auto k = group_key(key_space::inbox, kg);
  put_u64(k, seq);
  return k;
}

std::string backlog_prefix(key_group kg, const address& a) {
  auto k = group_key(key_space::backlog, kg);
  put_addr(k, a);
  return k;
}

std::string backlog_key(key_group kg, const address& a, std::uint64_t seq) {
  auto k = backlog_prefix(kg, a);
  put_u64(k, seq);
  return k;
}

std::string encode(const stored_value& v) {
  std::string out;
  out.push_back(static_cast<char>(record_version));
  put_u64(out, static_cast<std::uint64_t>(v.written_ms));
  put_u64(out, static_cast<std::uint64_t>(v.accessed_ms));
  put_value(out, v.value);
  return out;
}

result<stored_value> decode_stored_value(std::string_view bytes) {
  reader r{bytes};
  if (r.u8() != record_version)
    return corrupt("state");
  stored_value v;
  v.written_ms = static_cast<std::int64_t>(r.u64());
  v.accessed_ms = static_cast<std::int64_t>(r.u64());
  v.value = r.value();
  if (r.bad)
    return corrupt("state");
  return v;
}

std::string encode(const delayed_record& d) {
  std::string out;
  out.push_back(static_cast<char>(record_version));
  put_addr(out, d.sender);
  put_str(out, d.token);
  put_addr(out, d.target);
  put_value(out, d.argument);
  return out;
}

namespace {
/// Reads kg and the trailing u64 fields of a key of the form space|kg|(u64)*.
bool parse_group_key(std::string_view key, key_group& kg) {
  if (key.size() < 3)
    return false;
  kg.value = static_cast<std::uint16_t>((static_cast<unsigned char>(key[1]) << 8)
                                        | static_cast<unsigned char>(key[2]));
  return true;
}
} // namespace

result<delayed_record> decode_delayed(std::string_view key, std::string_view bytes) {
  delayed_record d;
  if (key.size() != 19 || !parse_group_key(key, d.kg))
    return corrupt("delayed key");
  d.due_ms = static_cast<std::int64_t>(get_u64(key.substr(3)));
  d.seq = get_u64(key.substr(11));
  reader r{bytes};
  if (r.u8() != record_version)
    return corrupt("delayed");
  d.sender = r.addr();
  d.token = r.str();
  d.target = r.addr();
  d.argument = r.value();
  if (r.bad)
    return corrupt("delayed");
  return d;
}

std::string encode(const dead_letter& d) {
  std::string out;
  out.push_back(static_cast<char>(record_version));
  put_u64(out, static_cast<std::uint64_t>(d.time_ms));
  put_str(out, d.reason);
  put_addr(out, d.target);
  put_invocations(out, d.invocations);
  return out;
}

result<dead_letter> decode_dead_letter(std::string_view key, std::string_view bytes) {
  dead_letter d;
  if (key.size() != 11 || !parse_group_key(key, d.kg))
    return corrupt("dead letter key");
  d.seq = get_u64(key.substr(3));
  reader r{bytes};
  if (r.u8() != record_version)
    return corrupt("dead letter");
  d.time_ms = static_cast<std::int64_t>(r.u64());
  d.reason = r.str();
  d.target = r.addr();
  r.invocations(d.invocations);
  if (r.bad)
    return corrupt("dead letter");
  return d;
}

std::string encode(const inbox_entry& e) {
  std::string out;
  out.push_back(static_cast<char>(record_version));
  put_addr(out, e.target);
  put_invocations(out, e.invocations);
  return out;
}

result<inbox_entry> decode_inbox(std::string_view key, std::string_view bytes) {
  inbox_entry e;
  if (key.size() != 11 || !parse_group_key(key, e.kg))
    return corrupt("inbox key");
  e.seq = get_u64(key.substr(3));
  reader r{bytes};
  if (r.u8() != record_version)
    return corrupt("inbox");
  e.target = r.addr();
  r.invocations(e.invocations);
  if (r.bad)
    return corrupt("inbox");
  return e;
}

result<inbox_entry> decode_backlog(std::string_view key, std::string_view bytes) {
  inbox_entry e;
  if (key.size() < 3 + 8 || static_cast<std::uint8_t>(key[0]) != static_cast<std::uint8_t>(key_space::backlog)
      || !parse_group_key(key.substr(0, 3), e.kg))
    return corrupt("backlog key");
  e.seq = get_u64(key.substr(key.size() - 8));
  reader r{bytes};
  if (r.u8() != record_version)
    return corrupt("backlog");
  e.target = r.addr();
  r.invocations(e.invocations);
  if (r.bad || e.invocations.size() != 1 || backlog_key(e.kg, e.target, e.seq) != key)
    return corrupt("backlog");
  return e;
}

} // namespace hearth::state
