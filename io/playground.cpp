#include "io/playground.hpp"

#include "protocol/primitives.hpp"

#include <nlohmann/json.hpp>

namespace hearth::io {

namespace {
/// True when `s` is well-formed UTF-8 (protobuf string fields require it).
bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : 4;
    if (extra == 4 || i + extra >= s.size())
      return false;
    for (size_t k = 1; k <= extra; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2)
        return false;
    i += extra + 1;
  }
  return true;
}
} // namespace

result<protocol::address> parse_ingress_path(const std::string& path) {
  if (!valid_utf8(path))
    return error{errc::malformed, "path is not valid UTF-8"};
  // Exactly three non-empty segments.
  std::vector<std::string> parts;
  size_t pos = 0;
  if (path.empty() || path[0] != '/')
    return error{errc::malformed, "path must be /<namespace>/<type>/<id>"};
  pos = 1;
  while (pos <= path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string::npos)
      next = path.size();
    parts.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  if (parts.size() != 3)
    return error{errc::malformed,
                 "path '" + path + "' must be /<namespace>/<type>/<id> (three segments)"};
  for (auto& p : parts)
    if (p.empty())
      return error{errc::malformed, "path '" + path + "' has an empty segment"};
  return protocol::address{{parts[0], parts[1]}, parts[2]};
}

result<protocol::typed_value> ingress_value(const std::string& content_type, std::string body) {
  static const std::string vnd = "application/vnd.";
  if (content_type.rfind(vnd, 0) != 0)
    return protocol::make_string(std::move(body));
  if (!valid_utf8(content_type))
    return error{errc::malformed, "Content-Type is not valid UTF-8"};
  auto t = content_type.substr(vnd.size());
  if (auto semi = t.find(';'); semi != std::string::npos)
    t.resize(semi);
  while (!t.empty() && t.back() == ' ')
    t.pop_back();
  auto slash = t.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == t.size()
      || t.find('/', slash + 1) != std::string::npos)
    return error{errc::malformed, "Content-Type typename '" + t
                                    + "' must be '<namespace>/<name>'"};
  return protocol::typed_value{std::move(t), true, std::move(body)};
}

result<egress_record> decode_egress_record(const protocol::typed_value& v) {
  if (v.type_name != playground_record_type)
    return error{errc::malformed, "the playground egress accepts only " + std::string{playground_record_type}
                                    + " values, got '" + v.type_name + "'"};
  auto j = nlohmann::json::parse(v.value.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("topic") || !j["topic"].is_string()
      || !j.contains("payload"))
    return error{errc::malformed, "egress record must be JSON {\"topic\": string, \"payload\": ...}"};
  egress_record rec;
  rec.topic = j["topic"].get<std::string>();
  rec.payload = j["payload"].is_string() ? j["payload"].get<std::string>() : j["payload"].dump();
  return rec;
}

} // namespace hearth::io
