#pragma once

// actors::instance_state: the state values of one function instance, with
// StateFun's rules for attaching them to a request (every registered name,
// value only when present and not expired) and for applying a response's
// mutations (registered names only, MODIFY must carry the registered type).
// TTL runs on processing time: AFTER_WRITE counts from the last write,
// AFTER_INVOKE from the last invocation that carried the state. Not
// thread-safe; owned by one address actor.

#include "protocol/messages.hpp"
#include "protocol/result.hpp"
#include "state/format.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hearth::actors {

/// A change to persist: a new stored value, or a deletion (nullopt).
using state_change = std::pair<std::string, std::optional<state::stored_value>>;

class instance_state {
public:
  instance_state() = default;
  explicit instance_state(std::map<std::string, state::stored_value> values)
    : values_(std::move(values)) {}

  /// Builds the state entries of a request at time `now_ms`: expired values
  /// are dropped (and reported in `changes` as deletions); AFTER_INVOKE values
  /// get their access time refreshed (reported as puts).
  std::vector<protocol::state_entry> attach(const std::vector<protocol::state_spec>& specs,
                                            std::int64_t now_ms,
                                            std::vector<state_change>& changes);

  /// Checks every mutation against `specs`, then applies all of them, or none
  /// when one is invalid (errc::unknown: unregistered state; errc::conflict:
  /// typename differs from the registered type). Applied changes are appended
  /// to `changes`.
  status apply(const std::vector<protocol::state_mutation>& mutations,
               const std::vector<protocol::state_spec>& specs, std::int64_t now_ms,
               std::vector<state_change>& changes);

  const std::map<std::string, state::stored_value>& values() const { return values_; }

private:
  std::map<std::string, state::stored_value> values_;
};

/// Merges newly reported specs into `registered`. New names are added; a name
/// already registered must keep its type (errc::conflict); its expiration
/// stays as registered (specs cannot change after registration, as in StateFun).
status register_specs(std::vector<protocol::state_spec>& registered,
                      const std::vector<protocol::state_spec>& reported);

/// True when `v` has expired under `spec` at `now_ms`.
bool expired(const protocol::state_spec& spec, const state::stored_value& v, std::int64_t now_ms);

} // namespace hearth::actors
