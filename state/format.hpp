#pragma once

// The on-disk format of a partition's LMDB environment: key layout and record
// encodings. Specified in docs/storage.md.
//
// DO NOT CHANGE: on-disk format. Any change to a key space byte, a field order
// or an encoding needs a new format_version and a migration.
//
// Every key starts with a key-space byte; every key that belongs to an address
// or a key group then carries the key group as 2 bytes big-endian, so a key
// group's data is contiguous per key space and can be copied, snapshotted and
// moved on its own.

#include "protocol/address.hpp"
#include "protocol/key_group.hpp"
#include "protocol/messages.hpp"
#include "protocol/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::state {

/// Version of the layout below, stored under meta key "format".
inline constexpr std::uint32_t format_version = 1;

/// Key spaces (the first byte of every key).
enum class key_space : std::uint8_t {
  meta = 0x00,         // meta | name                      -> meta value
  specs = 0x01,        // specs | function type            -> encoded spec list
  state = 0x02,        // state | kg | address | name      -> stored_value
  delayed = 0x03,      // delayed | kg | due_ms | seq      -> delayed_record
  token = 0x04,        // token | kg | sender | token      -> due_ms | seq
  dead_letter = 0x05,  // dead_letter | kg | seq           -> dead_letter
  inbox = 0x06,        // not stored in the store; frames messages in checkpoint files
  backlog = 0x07,      // backlog | kg | address | seq       -> inbox_entry (one message)
};

/// Longest encoded address accepted in keys (LMDB's key limit is 511 bytes).
inline constexpr size_t max_address_bytes = 400;

/// A state value with its TTL metadata (milliseconds since the epoch).
struct stored_value {
  protocol::typed_value value;
  std::int64_t written_ms = 0;
  std::int64_t accessed_ms = 0;
};

/// A pending delayed message, stored under its sender's key group.
struct delayed_record {
  protocol::key_group kg;       // key group of the sender
  std::int64_t due_ms = 0;
  std::uint64_t seq = 0;
  protocol::address sender;
  std::string token;            // empty: no cancellation token
  protocol::address target;
  protocol::typed_value argument;
};

/// A batch that could not be delivered, with the reason.
struct dead_letter {
  protocol::key_group kg;       // key group of the target
  std::uint64_t seq = 0;
  std::int64_t time_ms = 0;
  std::string reason;
  protocol::address target;
  std::vector<protocol::invocation> invocations;
};

/// Messages for one address that were in flight at a checkpoint (pending at
/// the address, or logged on a channel); re-delivered after a restore.
struct inbox_entry {
  protocol::key_group kg;       // key group of the target
  std::uint64_t seq = 0;
  protocol::address target;
  std::vector<protocol::invocation> invocations;
};

// Keys. Each returns the full LMDB key.
std::string meta_key(std::string_view name);
std::string specs_key(const protocol::function_type& type);
std::string state_key(protocol::key_group kg, const protocol::address& a, std::string_view name);
std::string state_prefix(protocol::key_group kg, const protocol::address& a);
std::string delayed_key(protocol::key_group kg, std::int64_t due_ms, std::uint64_t seq);
std::string token_key(protocol::key_group kg, const protocol::address& sender, std::string_view token);
std::string dead_letter_key(protocol::key_group kg, std::uint64_t seq);
std::string inbox_key(protocol::key_group kg, std::uint64_t seq);
/// A message for address `a` that waits on disk because `a` already holds
/// maxNumBatchRequests messages (see actors/partition.hpp), in arrival order.
std::string backlog_key(protocol::key_group kg, const protocol::address& a, std::uint64_t seq);
std::string backlog_prefix(protocol::key_group kg, const protocol::address& a);
/// Prefix of a whole key space, or of one key group within it.
std::string space_prefix(key_space space);
std::string group_prefix(key_space space, protocol::key_group kg);

/// Size of an address once encoded in a key; compare to max_address_bytes.
size_t encoded_address_size(const protocol::address& a);

// Records.
std::string encode(const stored_value& v);
result<stored_value> decode_stored_value(std::string_view bytes);
std::string encode(const delayed_record& d);
/// Key fields (kg, due, seq) come from the key.
result<delayed_record> decode_delayed(std::string_view key, std::string_view bytes);
std::string encode(const dead_letter& d);
result<dead_letter> decode_dead_letter(std::string_view key, std::string_view bytes);
std::string encode(const inbox_entry& e);
result<inbox_entry> decode_inbox(std::string_view key, std::string_view bytes);
/// A backlog record (encoded as an inbox_entry); kg and seq come from the key.
result<inbox_entry> decode_backlog(std::string_view key, std::string_view bytes);

/// Big-endian helpers, exposed for tests.
void put_u16(std::string& out, std::uint16_t v);
void put_u64(std::string& out, std::uint64_t v);
std::uint64_t get_u64(std::string_view in);

} // namespace hearth::state
