#include "io/module.hpp"

#include "io/endpoint_url.hpp"
#include "io/module_parse.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace hearth::io {

using namespace detail;

namespace {

/// A TLS file option: a readable file's path. StateFun also takes
/// `classpath:` resources, which exist only in a JVM.
result<std::string> tls_file(const located& loc, const yaml::node& v, const std::string& field) {
  if (!v.IsScalar() || v.Scalar().empty())
    return loc.at(v, field, "must be the path of a file");
  auto path = v.Scalar();
  if (path.rfind("classpath:", 0) == 0)
    return loc.at(v, field, "'classpath:' resources exist only in a JVM; give the path of a file");
  if (path.rfind("file://", 0) == 0)
    path = path.substr(7);
  else if (path.rfind("file:", 0) == 0)
    path = path.substr(5);
  std::ifstream in{path};
  if (!in)
    return loc.at(v, field, "cannot read '" + path + "'");
  return path;
}

/// The password in the file `path` (its first line).
result<std::string> password_in(const located& loc, const yaml::node& v, const std::string& field,
                                const std::string& path) {
  std::ifstream in{path};
  std::string password;
  std::getline(in, password);
  if (!password.empty() && password.back() == '\r')
    password.pop_back();
  if (password.empty())
    return loc.at(v, field, "'" + path + "' holds no password");
  return password;
}

status parse_transport(const located& loc, const yaml::node& spec, const std::string& prefix,
                       transport_options& t) {
  tls_options tls;
  // Flat (async transport) keys, and the OkHttp-style `timeouts:` map.
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    auto key = it->first.Scalar();
    auto field = prefix + key;
    yaml::node v = it->second; // a copy (a handle): `it->` yields a temporary
    if (key == "type") {
      auto type = v.IsScalar() ? v.Scalar() : std::string{};
      if (type != "io.statefun.transports.v1/async" && type != "io.statefun.transports.v1/okhttp")
        return loc.at(v, field, "unknown transport type '" + type
                                  + "' (supported: io.statefun.transports.v1/async, "
                                    "io.statefun.transports.v1/okhttp)");
    } else if (key == "call" || key == "connect" || key == "pool_ttl") {
      auto d = duration_value(loc, v, field);
      if (!d)
        return d.err();
      (key == "call" ? t.call : key == "connect" ? t.connect : t.pool_ttl) = *d;
    } else if (key == "pool_size") {
      auto n = unsigned_value(loc, v, field, 1u << 16);
      if (!n)
        return n.err();
      if (*n == 0)
        return loc.at(v, field, "must be at least 1");
      t.pool_size = static_cast<std::uint32_t>(*n);
    } else if (key == "payload_max_bytes") {
      auto n = unsigned_value(loc, v, field, 1ull << 31);
      if (!n)
        return n.err();
      if (*n == 0)
        return loc.at(v, field, "must be at least 1");
      t.payload_max_bytes = *n;
    } else if (key == "timeouts") {
      if (!v.IsMap())
        return loc.at(v, field, "must be a map of durations");
      for (auto jt = v.begin(); jt != v.end(); ++jt) {
        auto k = jt->first.Scalar();
        auto d = duration_value(loc, jt->second, field + "." + k);
        if (!d)
          return d.err();
        if (k == "call")
          t.call = *d;
        else if (k == "connect")
          t.connect = *d;
        // read / write: accepted for StateFun compatibility; covered by `call`.
      }
    } else if (key == "trust_cacerts" || key == "client_cert" || key == "client_key"
               || key == "client_key_password") {
      auto file = tls_file(loc, v, field);
      if (!file)
        return file.err();
      if (key == "trust_cacerts")
        tls.trust_cacerts = *file;
      else if (key == "client_cert")
        tls.client_cert = *file;
      else if (key == "client_key")
        tls.client_key = *file;
      else if (auto password = password_in(loc, v, field, *file); !password)
        return password.err();
      else
        tls.client_key_password = *password;
    }
    // Unknown properties are ignored, as StateFun does.
  }
  if (t.connect > t.call)
    t.connect = t.call;
  if (tls.client_cert.empty() != tls.client_key.empty())
    return loc.at(spec, prefix.substr(0, prefix.size() - 1),
                  "client_cert and client_key must be given together");
  if (!tls.client_key_password.empty() && tls.client_key.empty())
    return loc.at(spec, prefix.substr(0, prefix.size() - 1),
                  "client_key_password needs client_key");
  if (tls.signature() != tls_options{}.signature())
    t.tls = std::make_shared<const tls_options>(std::move(tls));
  return ok();
}

status parse_endpoint(const located& loc, const yaml::node& doc, const yaml::node& spec,
                      bool v1, module_config& out) {
  endpoint_spec ep;
  ep.origin = loc.file + ":" + std::to_string(doc.Mark().line + 1);
  auto fns = scalar(loc, spec, spec["functions"], "spec.functions");
  if (!fns)
    return fns.err();
  auto slash = fns->find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == fns->size()
      || fns->find('/', slash + 1) != std::string::npos)
    return loc.at(spec["functions"], "spec.functions",
                  "must be '<namespace>/<name>' or '<namespace>/*', got '" + *fns + "'");
  ep.ns = fns->substr(0, slash);
  auto name = fns->substr(slash + 1);
  if (ep.ns.find('*') != std::string::npos
      || (name != "*" && name.find('*') != std::string::npos))
    return loc.at(spec["functions"], "spec.functions",
                  "'*' is only allowed as the whole function name ('<namespace>/*')");
  ep.name = name == "*" ? "" : name;
  auto url = scalar(loc, spec, spec["urlPathTemplate"], "spec.urlPathTemplate");
  if (!url)
    return url.err();
  if (auto parsed = parse_endpoint_url(*url); !parsed)
    return loc.at(spec["urlPathTemplate"], "spec.urlPathTemplate", parsed.err().message);
  ep.url_template = *url;
  if (auto mb = spec["maxNumBatchRequests"]) {
    // StateFun: values <= 0 disable the cap.
    if (mb.IsScalar() && !mb.Scalar().empty() && mb.Scalar()[0] == '-') {
      ep.max_batch = 0;
    } else {
      auto n = unsigned_value(loc, mb, "spec.maxNumBatchRequests", 1u << 30);
      if (!n)
        return n.err();
      ep.max_batch = static_cast<std::uint32_t>(*n);
    }
  }
  if (v1) {
    ep.transport.call = std::chrono::minutes{1}; // endpoints.v1 is OkHttp: 1 min
    if (auto t = spec["timeouts"]) {
      // The v1 keys sit under `spec`: parse them as a transport map of one entry.
      auto key = std::make_shared<yaml::node::data>();
      key->scalar = "timeouts";
      key->line = t.Mark().line;
      auto wrapper = std::make_shared<yaml::node::data>();
      wrapper->what = yaml::node::data::kind::map;
      wrapper->line = t.Mark().line;
      wrapper->items.push_back({yaml::node{key}, t});
      if (auto s = parse_transport(loc, yaml::node{wrapper}, "spec.", ep.transport); !s)
        return s.err();
    }
  } else if (auto t = spec["transport"]) {
    if (!t.IsMap())
      return loc.at(t, "spec.transport", "must be a map");
    ep.transport.call = std::chrono::minutes{2};
    if (t["timeouts"]) // OkHttp style: call defaults to 1 min there.
      ep.transport.call = std::chrono::minutes{1};
    if (auto s = parse_transport(loc, t, "spec.transport.", ep.transport); !s)
      return s.err();
  }
  for (auto& other : out.endpoints)
    if (other.ns == ep.ns && other.name == ep.name)
      return loc.at(spec["functions"], "spec.functions",
                    "'" + *fns + "' is already served by the endpoint at " + other.origin);
  out.endpoints.push_back(std::move(ep));
  return ok();
}

result<std::uint16_t> port_value(const located& loc, const yaml::node& spec, const std::string& field,
                                 std::uint16_t def) {
  auto p = spec["port"];
  if (!p)
    return def;
  auto n = unsigned_value(loc, p, field, 65535);
  if (!n)
    return n.err();
  return static_cast<std::uint16_t>(*n);
}

status parse_document(const located& loc, const yaml::node& doc, module_config& out) {
  if (!doc.IsMap())
    return loc.at(doc, "kind", "each document must be a map with 'kind' and 'spec'");
  if (doc["version"])
    return loc.at(doc["version"], "version",
                  "the legacy 'version: 3.0' module format is not supported; use 'kind'/'spec' "
                  "documents");
  auto kind = scalar(loc, doc, doc["kind"], "kind");
  if (!kind)
    return kind.err();
  auto spec = doc["spec"];
  if (!spec || !spec.IsMap())
    return loc.at(spec ? spec : doc, "spec", "is missing or not a map");
  const auto& k = *kind;
  if (k == "io.statefun.endpoints.v2/http" || k == "io.statefun.endpoints.v1/http")
    return parse_endpoint(loc, doc, spec, k == "io.statefun.endpoints.v1/http", out);
  if (k == "io.statefun.playground.v1/ingress") {
    if (out.ingress)
      return loc.at(doc["kind"], "kind", "a module may declare only one playground ingress");
    auto port = port_value(loc, spec, "spec.port", 8090);
    if (!port)
      return port.err();
    out.ingress = playground_ingress_spec{*port};
    return ok();
  }
  if (k == "io.statefun.playground.v1/egress") {
    if (out.egress)
      return loc.at(doc["kind"], "kind", "a module may declare only one playground egress");
    auto port = port_value(loc, spec, "spec.port", 8091);
    if (!port)
      return port.err();
    playground_egress_spec eg{*port, {}};
    auto topics = spec["topics"];
    if (!topics || !topics.IsSequence() || topics.size() == 0)
      return loc.at(topics ? topics : spec, "spec.topics", "must be a non-empty list of topic names");
    std::set<std::string> seen;
    for (size_t i = 0; i < topics.size(); ++i) {
      auto field = "spec.topics[" + std::to_string(i) + "]";
      if (!topics[i].IsScalar() || topics[i].Scalar().empty())
        return loc.at(topics[i], field, "must be a topic name");
      auto t = topics[i].Scalar();
      if (t.find('/') != std::string::npos || !seen.insert(t).second)
        return loc.at(topics[i], field, "'" + t + "' is not a valid, unique topic name");
      eg.topics.push_back(t);
    }
    if (auto ds = spec["deliverySemantic"]) {
      // StateFun's option: a string, or {type: ...}.
      auto node = ds.IsMap() ? ds["type"] : ds;
      auto v = node && node.IsScalar() ? node.Scalar() : std::string{};
      if (v == "at-least-once")
        eg.at_least_once = true;
      else if (v != "exactly-once")
        return loc.at(node ? node : ds, "spec.deliverySemantic",
                      "must be 'exactly-once' or 'at-least-once', got '" + v + "'");
    }
    out.egress = std::move(eg);
    return ok();
  }
  if (k == "io.statefun.kafka.v1/ingress")
    return parse_kafka_ingress(loc, doc, spec, out);
  if (k == "io.statefun.kafka.v1/egress")
    return parse_kafka_egress(loc, doc, spec, out);
  if (k == "io.statefun.kinesis.v1/ingress")
    return parse_kinesis_ingress(loc, doc, spec, out);
  if (k == "io.statefun.kinesis.v1/egress")
    return parse_kinesis_egress(loc, doc, spec, out);
  return loc.at(doc["kind"], "kind",
                "unknown kind '" + k + "' (supported: io.statefun.endpoints.v2/http, "
                  "io.statefun.endpoints.v1/http, io.statefun.kafka.v1/ingress, "
                  "io.statefun.kafka.v1/egress, io.statefun.kinesis.v1/ingress, "
                  "io.statefun.kinesis.v1/egress, io.statefun.playground.v1/ingress, "
                  "io.statefun.playground.v1/egress)");
}

} // namespace

std::string endpoint_spec::url_for(const protocol::function_type& t) const {
  static const std::string var = "{function.name}";
  std::string url = url_template;
  for (auto pos = url.find(var); pos != std::string::npos; pos = url.find(var, pos + t.name.size()))
    url.replace(pos, var.size(), t.name);
  return url;
}

const kafka_egress_spec* module_config::find_kafka_egress(const protocol::function_type& id) const {
  for (auto& eg : kafka_egresses)
    if (eg.id == id)
      return &eg;
  return nullptr;
}

const kinesis_egress_spec* module_config::find_kinesis_egress(const protocol::function_type& id) const {
  for (auto& eg : kinesis_egresses)
    if (eg.id == id)
      return &eg;
  return nullptr;
}

const endpoint_spec* module_config::find_endpoint(const protocol::function_type& t) const {
  for (auto& ep : endpoints)
    if (!ep.wildcard() && ep.ns == t.ns && ep.name == t.name)
      return &ep;
  for (auto& ep : endpoints)
    if (ep.wildcard() && ep.ns == t.ns)
      return &ep;
  return nullptr;
}

result<millis> parse_duration(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
    ++i;
  size_t start = i;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])))
    ++i;
  if (i == start)
    return error{errc::malformed, "'" + text + "' is not a duration (e.g. '30s', '2 min', '500ms')"};
  std::uint64_t n = 0;
  try {
    n = std::stoull(text.substr(start, i - start));
  } catch (...) {
    return error{errc::malformed, "'" + text + "' is out of range"};
  }
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
    ++i;
  auto unit = lower(text.substr(i));
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.back())))
    unit.pop_back();
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "ms" || unit == "milli" || unit == "millis" || unit == "millisecond"
      || unit == "milliseconds")
    factor = 1;
  else if (unit == "s" || unit == "sec" || unit == "secs" || unit == "second" || unit == "seconds")
    factor = 1000;
  else if (unit == "m" || unit == "min" || unit == "mins" || unit == "minute" || unit == "minutes")
    factor = 60'000;
  else if (unit == "h" || unit == "hour" || unit == "hours")
    factor = 3'600'000;
  else if (unit == "d" || unit == "day" || unit == "days")
    factor = 86'400'000;
  else
    return error{errc::malformed, "'" + text + "' has an unknown time unit '" + unit + "'"};
  if (n == 0)
    return error{errc::malformed, "a duration must be greater than zero"};
  if (n > (1ull << 40) / factor)
    return error{errc::malformed, "'" + text + "' is too long"};
  return millis{static_cast<std::int64_t>(n * factor)};
}

result<module_config> parse_module(const std::string& text, const std::string& name) {
  located loc{name};
  auto docs = yaml::load_all(text);
  if (!docs)
    return error{errc::malformed, name + ":" + docs.err().message};
  module_config out;
  for (auto& doc : *docs) {
    if (!doc || doc.IsNull())
      continue;
    if (auto s = parse_document(loc, doc, out); !s)
      return s.err();
  }
  if (out.endpoints.empty())
    return error{errc::malformed, name + ":1: field 'kind': the module declares no "
                                         "io.statefun.endpoints.v2/http endpoint"};
  if (out.ingress && out.egress && out.ingress->port != 0 && out.ingress->port == out.egress->port)
    return error{errc::malformed, name + ": field 'spec.port': the playground ingress and egress "
                                         "use the same port " + std::to_string(out.ingress->port)};
  return out;
}

result<module_config> load_module(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return error{errc::io, path + ": cannot read the module file"};
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_module(ss.str(), path);
}

} // namespace hearth::io
