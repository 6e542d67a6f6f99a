#include "actors/routing.hpp"

#include "state/format.hpp"

namespace hearth::actors {

std::string check_target(const io::module_config& module, const protocol::address& a) {
  if (a.type.ns.empty() || a.type.name.empty())
    return "target address has an empty namespace or type";
  if (state::encoded_address_size(a) > state::max_address_bytes)
    return "target address is longer than " + std::to_string(state::max_address_bytes) + " bytes";
  if (!module.find_endpoint(a.type))
    return "unknown function type '" + a.type.to_string() + "'";
  return {};
}

} // namespace hearth::actors
