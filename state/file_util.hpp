#pragma once

// Helpers shared by state/'s formats (ingress log, checkpoint files, store
// keys and values, egress keys): big-endian u32, length-prefixed strings,
// crc32, POSIX errors, directory fsync. Private to state/.

#include "protocol/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::state::detail {

void put_u32(std::string& out, std::uint32_t v);
std::uint32_t get_u32(std::string_view in); // precondition: in.size() >= 4

/// A string as u32 length + bytes.
void put_str(std::string& out, std::string_view s);
/// Takes a put_str string off the front of `in`; false (and `in` unchanged)
/// when `in` is too short.
bool take_str(std::string_view& in, std::string& out);

/// zlib's crc32 of `data`.
std::uint32_t checksum(std::string_view data);

/// errc::io with "<what> <path>: <strerror(errno)>".
error io_error(const std::string& what, const std::string& path);

/// fsyncs directory `dir`, so a created or renamed file in it is durable.
status sync_dir(const std::string& dir);

} // namespace hearth::state::detail
