#pragma once

// hearth::result<T>: a value or an error, for every operation that can fail
// in an expected way (bad input, I/O). Exceptions are kept for the process
// boundary; nothing below apps/ throws across its public interface.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace hearth {

/// Error categories shared by all modules.
enum class errc {
  /// Input that does not follow the protocol or format (bad bytes, bad field).
  malformed,
  /// A name (function type, egress, state, dead letter) that is not known.
  unknown,
  /// A value that contradicts an earlier registration (state type mismatch).
  conflict,
  /// A size limit was exceeded.
  too_large,
  /// An I/O or storage failure (LMDB, sockets, files).
  io,
  /// The remote function did not answer successfully within its budget.
  unavailable,
};

/// An error: a category and a sentence a user can act on.
struct error {
  errc code = errc::malformed;
  std::string message;
};

/// Either a T or an error. Cheap to move; check with has_value() / operator bool.
template <class T>
class result {
public:
  result(T value) : v_(std::move(value)) {}
  result(error err) : v_(std::move(err)) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() { assert(has_value()); return std::get<0>(v_); }
  const T& value() const { assert(has_value()); return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const error& err() const { assert(!has_value()); return std::get<1>(v_); }

private:
  std::variant<T, error> v_;
};

/// Result of an operation that yields nothing on success.
struct unit_t {};
using status = result<unit_t>;
inline status ok() { return unit_t{}; }

} // namespace hearth
