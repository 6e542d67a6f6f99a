#pragma once

// The request-reply protocol as small value types (StateFun 3.x,
// request-reply.proto). Protobuf never leaves protocol/; codec.hpp converts
// between these structs and the wire bytes.

#include "protocol/address.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hearth::protocol {

/// An immutable byte string whose copies share one buffer: a message's
/// payload is held once however many places refer to it (the partition's
/// pending list, the address actor's batch, a checkpoint's recording, a dead
/// letter). Reads go through str()/view() or the conversion to const
/// std::string&; a new value replaces the buffer, never changes it.
class shared_bytes {
public:
  shared_bytes() = default;
  shared_bytes(std::string s) // NOLINT: implicit, like a string
    : buf_(s.empty() ? nullptr : std::make_shared<const std::string>(std::move(s))) {}
  shared_bytes(const char* s) : shared_bytes(std::string{s}) {} // NOLINT
  shared_bytes(std::string_view s) : shared_bytes(std::string{s}) {} // NOLINT

  const std::string& str() const { return buf_ ? *buf_ : empty_string(); }
  operator const std::string&() const { return str(); } // NOLINT
  std::string_view view() const { return str(); }
  const char* data() const { return str().data(); }
  size_t size() const { return buf_ ? buf_->size() : 0; }
  bool empty() const { return size() == 0; }

  friend bool operator==(const shared_bytes& a, const shared_bytes& b) {
    return a.buf_ == b.buf_ || a.str() == b.str();
  }

private:
  static const std::string& empty_string() {
    static const std::string empty;
    return empty;
  }
  std::shared_ptr<const std::string> buf_;
};

/// A value with its typename. `has_value` separates an explicitly set empty
/// value from no value. Typenames are opaque to the runtime.
struct typed_value {
  std::string type_name;
  bool has_value = false;
  shared_bytes value;

  friend bool operator==(const typed_value&, const typed_value&) = default;
};

/// One message to a function instance. `caller` is absent for ingress messages.
struct invocation {
  std::optional<address> caller;
  typed_value argument;

  friend bool operator==(const invocation&, const invocation&) = default;
};

/// State expiration, as declared by the SDK.
enum class expire_mode : std::uint8_t { none = 0, after_write = 1, after_invoke = 2 };

/// A persisted value declared by a function (PersistedValueSpec).
struct state_spec {
  std::string name;
  std::string type_name; // "io.statefun.types/unset" when the SDK sent none
  expire_mode mode = expire_mode::none;
  std::int64_t expire_after_ms = 0;

  friend bool operator==(const state_spec&, const state_spec&) = default;
};

/// One state entry of a request: the name is always present, the value only when set.
struct state_entry {
  std::string name;
  std::optional<typed_value> value;
};

/// ToFunction.InvocationBatchRequest: what the runtime POSTs to a function.
struct invocation_batch {
  address target;
  std::vector<state_entry> states;
  std::vector<invocation> invocations;
};

/// PersistedValueMutation.
struct state_mutation {
  enum class kind : std::uint8_t { remove = 0, modify = 1 };
  kind op = kind::modify;
  std::string name;
  typed_value value;
};

/// FromFunction.Invocation: a message to another function.
struct outgoing_message {
  address target;
  typed_value argument;
};

/// FromFunction.DelayedInvocation: a delayed send, or the cancellation of one.
struct delayed_message {
  bool is_cancellation = false;
  std::string cancellation_token;
  std::int64_t delay_ms = 0;
  address target;
  typed_value argument;
};

/// FromFunction.EgressMessage.
struct egress_message {
  std::string egress_namespace;
  std::string egress_type;
  typed_value argument;

  std::string egress_id() const { return egress_namespace + "/" + egress_type; }
};

/// FromFunction.InvocationResponse: the effects of one batch.
struct invocation_response {
  std::vector<state_mutation> mutations;
  std::vector<outgoing_message> outgoing;
  std::vector<delayed_message> delayed;
  std::vector<egress_message> egresses;
};

/// FromFunction.IncompleteInvocationContext: the states the function is missing.
struct incomplete_context {
  std::vector<state_spec> missing;
};

/// A decoded FromFunction. An empty FromFunction decodes as an empty response.
using from_function = std::variant<invocation_response, incomplete_context>;

/// Typename of a spec whose SDK left type_typename empty.
inline constexpr const char* unset_type_name = "io.statefun.types/unset";

} // namespace hearth::protocol
