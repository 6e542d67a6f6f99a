#pragma once

// inspect() overloads of the protocol's types, so that CAF can serialize
// them when they cross nodes (actors/wire.hpp registers them). They live in
// protocol's namespace (found by argument-dependent lookup) but here, since
// protocol/ does not depend on CAF.

#include "protocol/messages.hpp"

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

} // namespace hearth::protocol
