#pragma once

// What io/module.cpp and io/module_connectors.cpp share to parse module.yaml:
// errors located at a YAML node, scalar readers, and the connector kinds'
// parsers. Private to io/.

#include "io/module.hpp"
#include "io/yaml_doc.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace hearth::io::detail {

/// An error located at a YAML node.
struct located {
  std::string file;

  error at(const yaml::node& node, const std::string& field, const std::string& what) const {
    std::string where = file;
    if (node && node.Mark().line >= 0)
      where += ":" + std::to_string(node.Mark().line + 1);
    return error{errc::malformed, where + ": field '" + field + "': " + what};
  }
  error at_mark(const yaml::mark& m, const std::string& field, const std::string& what) const {
    return error{errc::malformed, file + ":" + std::to_string(m.line + 1) + ": field '" + field
                                    + "': " + what};
  }
};

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

inline result<std::string> scalar(const located& loc, const yaml::node& parent, const yaml::node& node,
                           const std::string& field) {
  if (!node || node.IsNull())
    return loc.at(parent, field, "is missing");
  if (!node.IsScalar())
    return loc.at(node, field, "must be a scalar");
  return node.Scalar();
}

inline result<std::uint64_t> unsigned_value(const located& loc, const yaml::node& node,
                                     const std::string& field, std::uint64_t max) {
  if (!node.IsScalar())
    return loc.at(node, field, "must be a number");
  const auto& s = node.Scalar();
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); }))
    return loc.at(node, field, "must be a non-negative integer, got '" + s + "'");
  try {
    auto v = std::stoull(s);
    if (v > max)
      return loc.at(node, field, "must be at most " + std::to_string(max));
    return v;
  } catch (...) {
    return loc.at(node, field, "is out of range");
  }
}

inline result<millis> duration_value(const located& loc, const yaml::node& node, const std::string& field) {
  if (!node.IsScalar())
    return loc.at(node, field, "must be a duration such as '30s' or '2 min'");
  auto d = parse_duration(node.Scalar());
  if (!d)
    return loc.at(node, field, d.err().message);
  return *d;
}

// Connector kinds (io/module_connectors.cpp): each parses one document's
// spec into `out`, refusing ids already taken there.
status parse_kafka_ingress(const located& loc, const yaml::node& doc, const yaml::node& spec,
                           module_config& out);
status parse_kafka_egress(const located& loc, const yaml::node& doc, const yaml::node& spec,
                          module_config& out);
status parse_kinesis_ingress(const located& loc, const yaml::node& doc, const yaml::node& spec,
                             module_config& out);
status parse_kinesis_egress(const located& loc, const yaml::node& doc, const yaml::node& spec,
                            module_config& out);

} // namespace hearth::io::detail
