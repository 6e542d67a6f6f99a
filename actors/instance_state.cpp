#include "actors/instance_state.hpp"

#include <algorithm>

namespace hearth::actors {

using protocol::expire_mode;
using protocol::state_spec;

bool expired(const state_spec& spec, const state::stored_value& v, std::int64_t now_ms) {
  switch (spec.mode) {
    case expire_mode::after_write:
      return now_ms - v.written_ms >= spec.expire_after_ms;
    case expire_mode::after_invoke:
      return now_ms - std::max(v.accessed_ms, v.written_ms) >= spec.expire_after_ms;
    default:
      return false;
  }
}

std::vector<protocol::state_entry> instance_state::attach(const std::vector<state_spec>& specs,
                                                          std::int64_t now_ms,
                                                          std::vector<state_change>& changes) {
  std::vector<protocol::state_entry> out;
  out.reserve(specs.size());
  for (auto& spec : specs) {
    protocol::state_entry e{spec.name, std::nullopt};
    auto it = values_.find(spec.name);
    if (it != values_.end()) {
      if (expired(spec, it->second, now_ms)) {
        values_.erase(it);
        changes.emplace_back(spec.name, std::nullopt);
      } else {
        if (spec.mode == expire_mode::after_invoke) {
          it->second.accessed_ms = now_ms;
          changes.emplace_back(spec.name, it->second);
        }
        e.value = it->second.value;
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

status instance_state::apply(const std::vector<protocol::state_mutation>& mutations,
                             const std::vector<state_spec>& specs, std::int64_t now_ms,
                             std::vector<state_change>& changes) {
  auto find = [&](const std::string& name) -> const state_spec* {
    for (auto& s : specs)
      if (s.name == name)
        return &s;
    return nullptr;
  };
  for (auto& m : mutations) {
    auto* spec = find(m.name);
    if (!spec)
      return error{errc::unknown, "mutation of unregistered state '" + m.name + "'"};
    if (m.op == protocol::state_mutation::kind::modify
        && spec->type_name != protocol::unset_type_name && m.value.type_name != spec->type_name)
      return error{errc::conflict, "state '" + m.name + "' is registered with type '"
                                     + spec->type_name + "' but was written with type '"
                                     + m.value.type_name + "'"};
  }
  for (auto& m : mutations) {
    if (m.op == protocol::state_mutation::kind::remove) {
      values_.erase(m.name);
      changes.emplace_back(m.name, std::nullopt);
    } else {
      state::stored_value v{m.value, now_ms, now_ms};
      v.value.has_value = true;
      values_[m.name] = v;
      changes.emplace_back(m.name, std::move(v));
    }
  }
  return ok();
}

status register_specs(std::vector<state_spec>& registered, const std::vector<state_spec>& reported) {
  for (auto& r : reported) {
    auto it = std::find_if(registered.begin(), registered.end(),
                           [&](const state_spec& s) { return s.name == r.name; });
    if (it == registered.end())
      continue;
    if (it->type_name != r.type_name)
      return error{errc::conflict, "state '" + r.name + "' is already registered with type '"
                                     + it->type_name + "', the function now declares '"
                                     + r.type_name + "'"};
  }
  for (auto& r : reported) {
    auto it = std::find_if(registered.begin(), registered.end(),
                           [&](const state_spec& s) { return s.name == r.name; });
    if (it == registered.end())
      registered.push_back(r);
  }
  return ok();
}

} // namespace hearth::actors
