#pragma once

// inspect() overloads of the protocol's and the state's types, so that CAF
// can serialize them when they cross nodes (actors/wire.hpp registers them).
// They live in their types' namespaces (found by argument-dependent lookup)
// but here, since protocol/ and state/ do not depend on CAF.

#include "protocol/key_group.hpp"
#include "protocol/messages.hpp"
#include "state/checkpoint_files.hpp"
#include "state/format.hpp"

#include <caf/all.hpp>

#include <string>

namespace hearth::protocol {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shared_bytes& x) {
  if constexpr (Inspector::reads_state) {
    // Serializers only read: the shared buffer is not copied.
    return f(const_cast<std::string&>(x.str()));
  } else {
    std::string tmp;
    return f(tmp, caf::meta::load_callback([&]() -> caf::error {
               x = shared_bytes{std::move(tmp)};
               return caf::none;
             }));
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, function_type& x) {
  return f(caf::meta::type_name("hearth::function_type"), x.ns, x.name);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, address& x) {
  return f(caf::meta::type_name("hearth::address"), x.type, x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, typed_value& x) {
  return f(caf::meta::type_name("hearth::typed_value"), x.type_name, x.has_value, x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, invocation& x) {
  // std::optional is not known to CAF 0.17: a flag and a value.
  bool has_caller = x.caller.has_value();
  address caller = has_caller ? *x.caller : address{};
  return f(caf::meta::type_name("hearth::invocation"), has_caller, caller, x.argument,
           caf::meta::load_callback([&]() -> caf::error {
             if (has_caller)
               x.caller = std::move(caller);
             else
               x.caller.reset();
             return caf::none;
           }));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, key_group& x) {
  return f(caf::meta::type_name("hearth::key_group"), x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, state_spec& x) {
  return f(caf::meta::type_name("hearth::state_spec"), x.name, x.type_name, x.mode,
           x.expire_after_ms);
}

} // namespace hearth::protocol

namespace hearth::state {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, egress_entry& x) {
  return f(caf::meta::type_name("hearth::egress_entry"), x.seq, x.topic, x.payload);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stored_value& x) {
  return f(caf::meta::type_name("hearth::stored_value"), x.value, x.written_ms, x.accessed_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delayed_record& x) {
  return f(caf::meta::type_name("hearth::delayed_record"), x.kg, x.due_ms, x.seq, x.sender,
           x.token, x.target, x.argument);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dead_letter& x) {
  return f(caf::meta::type_name("hearth::dead_letter"), x.kg, x.seq, x.time_ms, x.reason,
           x.target, x.invocations);
}

} // namespace hearth::state
