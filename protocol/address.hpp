#pragma once

// Identities: a function type (`namespace/name`) and a logical address (type + id).
// These are the names users write in module.yaml, ingress paths and SDK code.

#include <functional>
#include <string>
#include <tuple>

namespace hearth::protocol {

/// A function type, `namespace/name` (StateFun's FunctionType).
struct function_type {
  std::string ns;
  std::string name;

  std::string to_string() const { return ns + "/" + name; }
  friend bool operator==(const function_type&, const function_type&) = default;
  friend auto operator<=>(const function_type&, const function_type&) = default;
};

/// A logical address: one function instance. Partitioning uses `id` only.
struct address {
  function_type type;
  std::string id;

  bool empty() const { return type.ns.empty() && type.name.empty() && id.empty(); }
  std::string to_string() const { return type.to_string() + "/" + id; }
  friend bool operator==(const address&, const address&) = default;
  friend auto operator<=>(const address&, const address&) = default;
};

} // namespace hearth::protocol

template <>
struct std::hash<hearth::protocol::function_type> {
  size_t operator()(const hearth::protocol::function_type& t) const noexcept {
    return std::hash<std::string>{}(t.ns) * 31 + std::hash<std::string>{}(t.name);
  }
};

template <>
struct std::hash<hearth::protocol::address> {
  size_t operator()(const hearth::protocol::address& a) const noexcept {
    return std::hash<hearth::protocol::function_type>{}(a.type) * 31
           + std::hash<std::string>{}(a.id);
  }
};
