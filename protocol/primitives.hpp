#pragma once

// StateFun's primitive type encodings (io.statefun.types/*): proto3 wrapper
// messages with one field 1. Zero, false and "" encode to zero bytes. The
// runtime treats typenames as opaque; these helpers are for tools, tests and
// the CLI, which build and show values the way the SDKs do.

#include "protocol/messages.hpp"
#include "protocol/result.hpp"

#include <cstdint>
#include <string>

namespace hearth::protocol {

inline constexpr const char* string_type_name = "io.statefun.types/string";
inline constexpr const char* int_type_name = "io.statefun.types/int";
inline constexpr const char* long_type_name = "io.statefun.types/long";
inline constexpr const char* bool_type_name = "io.statefun.types/bool";
inline constexpr const char* float_type_name = "io.statefun.types/float";
inline constexpr const char* double_type_name = "io.statefun.types/double";

typed_value make_string(const std::string& s);
typed_value make_int(std::int32_t v);
typed_value make_long(std::int64_t v);
typed_value make_bool(bool v);

result<std::string> as_string(const typed_value& v);
result<std::int32_t> as_int(const typed_value& v);
result<std::int64_t> as_long(const typed_value& v);
result<bool> as_bool(const typed_value& v);
result<float> as_float(const typed_value& v);
result<double> as_double(const typed_value& v);

} // namespace hearth::protocol
