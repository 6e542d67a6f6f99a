// module.yaml's connector kinds: io.statefun.kafka.v1/* and
// io.statefun.kinesis.v1/* (README, "module.yaml reference").

#include "io/module_parse.hpp"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace hearth::io::detail {

namespace {

/// A non-empty scalar.
result<std::string> text(const located& loc, const yaml::node& parent, const yaml::node& node,
                         const std::string& field) {
  auto s = scalar(loc, parent, node, field);
  if (!s)
    return s.err();
  if (s->empty())
    return loc.at(node, field, "must not be empty");
  return s;
}

/// "<namespace>/<name>": one '/', both parts non-empty, no '*'.
result<protocol::function_type> type_name(const located& loc, const yaml::node& parent,
                                          const yaml::node& node, const std::string& field) {
  auto s = scalar(loc, parent, node, field);
  if (!s)
    return s.err();
  auto slash = s->find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s->size()
      || s->find('/', slash + 1) != std::string::npos || s->find('*') != std::string::npos)
    return loc.at(node, field, "must be '<namespace>/<name>', got '" + *s + "'");
  return protocol::function_type{s->substr(0, slash), s->substr(slash + 1)};
}

/// A `{type: ...}` option; a plain string is taken as the type.
struct option {
  std::string type;
  yaml::node node;   // where the type is written
  std::string field; // its field name
};

result<option> option_of(const located& loc, const yaml::node& opt, const std::string& field) {
  if (opt.IsScalar() && !opt.IsNull())
    return option{opt.Scalar(), opt, field};
  if (!opt.IsMap())
    return loc.at(opt, field, "must be a map with a 'type'");
  auto t = scalar(loc, opt, opt["type"], field + ".type");
  if (!t)
    return t.err();
  return option{*t, opt["type"], field + ".type"};
}

/// An entry of a `key: value` list: StateFun writes them as a list of
/// single-entry maps; a plain map is accepted too.
struct key_value {
  yaml::node key;
  yaml::node value;
  std::string field;
};

result<std::vector<key_value>> entries(const located& loc, const yaml::node& node,
                                       const std::string& field) {
  std::vector<key_value> out;
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it)
      out.push_back({it->first, it->second, field + "." + it->first.Scalar()});
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      auto item = node[i];
      auto f = field + "[" + std::to_string(i) + "]";
      if (!item.IsMap() || item.size() != 1)
        return loc.at(item, f, "must be a single 'key: value' entry");
      auto it = item.begin();
      out.push_back({it->first, it->second, f});
    }
  } else {
    return loc.at(node, field, "must be a list of single-entry maps ('- key: value')");
  }
  for (auto& e : out) {
    if (!e.key.IsScalar() || e.key.Scalar().empty())
      return loc.at(e.key, e.field, "the key must be a non-empty string");
    if (!e.value || e.value.IsNull() || !e.value.IsScalar())
      return loc.at(e.key, e.field, "'" + e.key.Scalar() + "' needs a scalar value");
  }
  return out;
}

/// A property with where it is written (for messages).
struct property_at {
  connector_property p;
  yaml::node node;
  std::string field;
};

result<std::vector<property_at>> properties_of(const located& loc, const yaml::node& spec,
                                               const std::string& name) {
  std::vector<property_at> out;
  auto node = spec[name];
  if (!node || node.IsNull())
    return out;
  auto es = entries(loc, node, "spec." + name);
  if (!es)
    return es.err();
  for (auto& e : *es) {
    auto origin = loc.file + ":" + std::to_string(e.key.Mark().line + 1);
    out.push_back({{e.key.Scalar(), e.value.Scalar(), origin}, e.key, e.field});
  }
  return out;
}

std::vector<connector_property> plain(std::vector<property_at> props) {
  std::vector<connector_property> out;
  for (auto& p : props)
    out.push_back(std::move(p.p));
  return out;
}

/// A Kafka topic name: letters, digits, '.', '_', '-'; at most 249 characters.
bool kafka_topic(const std::string& t) {
  return !t.empty() && t.size() <= 249 && t != "." && t != ".."
         && std::all_of(t.begin(), t.end(), [](unsigned char c) {
              return std::isalnum(c) || c == '.' || c == '_' || c == '-';
            });
}

/// `topics` (Kafka) or `streams` (Kinesis): each {topic|stream, valueType, targets}.
status parse_routes(const located& loc, const yaml::node& spec, const std::string& list_key,
                    const std::string& name_key, bool kafka, std::vector<ingress_route>& out) {
  auto field = "spec." + list_key;
  auto list = spec[list_key];
  if (!list || list.IsNull())
    return loc.at(spec, field, "is missing");
  if (!list.IsSequence() || list.size() == 0)
    return loc.at(list, field,
                  "must be a non-empty list of {" + name_key + ", valueType, targets}");
  std::set<std::string> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    auto item = list[i];
    auto f = field + "[" + std::to_string(i) + "]";
    if (!item.IsMap())
      return loc.at(item, f, "must be a map with '" + name_key + "', 'valueType' and 'targets'");
    ingress_route r;
    auto name = text(loc, item, item[name_key], f + "." + name_key);
    if (!name)
      return name.err();
    if (kafka && !kafka_topic(*name))
      return loc.at(item[name_key], f + "." + name_key,
                    "'" + *name + "' is not a valid Kafka topic name (letters, digits, '.', '_', "
                    "'-'; at most 249 characters)");
    if (!seen.insert(*name).second)
      return loc.at(item[name_key], f + "." + name_key,
                    "'" + *name + "' is listed twice; list all its targets in one entry");
    r.name = *name;
    auto vt = type_name(loc, item, item["valueType"], f + ".valueType");
    if (!vt)
      return vt.err();
    r.value_type = vt->to_string();
    auto targets = item["targets"];
    if (!targets || targets.IsNull())
      return loc.at(item, f + ".targets", "is missing");
    if (!targets.IsSequence() || targets.size() == 0)
      return loc.at(targets, f + ".targets", "must be a non-empty list of function types");
    for (size_t j = 0; j < targets.size(); ++j) {
      auto tf = f + ".targets[" + std::to_string(j) + "]";
      auto t = type_name(loc, targets, targets[j], tf);
      if (!t)
        return t.err();
      if (std::find(r.targets.begin(), r.targets.end(), *t) != r.targets.end())
        return loc.at(targets[j], tf, "'" + t->to_string() + "' is listed twice");
      r.targets.push_back(*t);
    }
    out.push_back(std::move(r));
  }
  return ok();
}

/// A startup date in StateFun's pattern "yyyy-MM-dd HH:mm:ss.SSS Z"; the
/// zone is "Z" or an offset "+HHMM", "+HH:MM", "+HH". Milliseconds since the epoch.
std::optional<std::int64_t> parse_date(const std::string& s) {
  auto digits = [&](size_t at, size_t n) -> std::optional<int> {
    if (at + n > s.size())
      return std::nullopt;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i])))
        return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2), mi = digits(14, 2),
       se = digits(17, 2), ms = digits(20, 3);
  if (!y || !mo || !d || !h || !mi || !se || !ms || s.size() < 25 || s[4] != '-' || s[7] != '-'
      || s[10] != ' ' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != ' ')
    return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok() || *h > 23 || *mi > 59 || *se > 59)
    return std::nullopt;
  auto zone = s.substr(24);
  std::int64_t offset_min = 0;
  if (zone != "Z") {
    if (zone.size() < 3 || (zone[0] != '+' && zone[0] != '-'))
      return std::nullopt;
    auto zh = digits(25, 2);
    std::optional<int> zm = 0;
    if (zone.size() == 5)
      zm = digits(27, 2);
    else if (zone.size() == 6 && zone[3] == ':')
      zm = digits(28, 2);
    else if (zone.size() != 3)
      return std::nullopt;
    if (!zh || !zm || *zh > 18 || *zm > 59)
      return std::nullopt;
    offset_min = (*zh * 60 + *zm) * (zone[0] == '-' ? -1 : 1);
  }
  auto day_ms = duration_cast<milliseconds>(sys_days{ymd}.time_since_epoch()).count();
  return day_ms + ((*h * 60 + *mi) * 60 + *se) * 1000LL + *ms - offset_min * 60'000;
}

result<std::int64_t> date_value(const located& loc, const yaml::node& opt, const std::string& field) {
  auto s = text(loc, opt, opt["date"], field);
  if (!s)
    return s.err();
  auto ms = parse_date(*s);
  if (!ms)
    return loc.at(opt["date"], field,
                  "'" + *s + "' is not a date in the pattern 'yyyy-MM-dd HH:mm:ss.SSS Z' (e.g. "
                  "'2020-02-01 04:15:00.000 +0000')");
  return *ms;
}

/// librdkafka's properties and what they apply to: 'C' consumers, 'P'
/// producers, '*' both (from its own property table).
const std::map<std::string, char>& rdkafka_scopes() {
  static const std::map<std::string, char> scopes = [] {
    std::map<std::string, char> out;
    char* buf = nullptr;
    size_t len = 0;
    FILE* f = open_memstream(&buf, &len);
    if (!f)
      return out;
    rd_kafka_conf_properties_show(f);
    std::fclose(f);
    std::istringstream in{std::string{buf, len}};
    std::free(buf);
    auto trim = [](std::string s) {
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.pop_back();
      s.erase(0, std::min(s.size(), s.find_first_not_of(" \t")));
      return s;
    };
    for (std::string line; std::getline(in, line);) {
      auto a = line.find('|');
      auto b = a == std::string::npos ? a : line.find('|', a + 1);
      if (b == std::string::npos)
        continue;
      auto name = trim(line.substr(0, a));
      auto scope = trim(line.substr(a + 1, b - a - 1));
      if (!name.empty() && (scope == "C" || scope == "P" || scope == "*"))
        out.emplace(name, scope[0]);
    }
    return out;
  }();
  return scopes;
}

/// Why Hearth refuses Kafka property `key` ("" when it does not).
std::string managed_kafka_property(const std::string& key, const std::string& value, bool producer,
                                   bool has_address) {
  if ((key == "bootstrap.servers" || key == "metadata.broker.list") && has_address)
    return "spec.address already gives the brokers; give them once";
  if (!producer) {
    if (key == "group.id")
      return "Hearth sets group.id itself; use spec.consumerGroupId";
    if (key == "enable.auto.commit" || key == "auto.commit.enable"
        || key == "enable.auto.offset.store")
      return "Hearth keeps the offsets in its checkpoints (and commits them to "
             "spec.consumerGroupId after each one); remove it";
    if (key == "auto.offset.reset")
      return "Hearth sets auto.offset.reset itself; use spec.autoOffsetResetPosition";
    return "";
  }
  if (key == "transactional.id")
    return "Hearth sets a transactional.id per node for deliverySemantic exactly-once; remove it";
  if (key == "enable.idempotence")
    return "Hearth's producer is always idempotent; remove it";
  if (key == "transaction.timeout.ms")
    return "use spec.deliverySemantic.transactionTimeout";
  // Idempotence (set by Hearth) needs acks=all, at most 5 requests in flight, retries.
  if ((key == "acks" || key == "request.required.acks") && lower(value) != "all" && value != "-1")
    return "Hearth's producer is idempotent, which needs acks=all; remove it";
  try {
    if ((key == "max.in.flight" || key == "max.in.flight.requests.per.connection")
        && std::stoll(value) > 5)
      return "Hearth's producer is idempotent, which needs at most 5 requests in flight";
    if ((key == "retries" || key == "message.send.max.retries") && std::stoll(value) < 1)
      return "Hearth's producer is idempotent, which needs retries of at least 1";
  } catch (...) {
  }
  return "";
}

/// Validates Kafka `properties` the way the client will apply them
/// (librdkafka), refusing what Hearth manages or the client would ignore.
/// Returns the bootstrap.servers property's value, if any.
result<std::string> check_kafka_properties(const located& loc, const std::vector<property_at>& props,
                                           bool producer, bool has_address) {
  std::unique_ptr<rd_kafka_conf_t, void (*)(rd_kafka_conf_t*)> conf{rd_kafka_conf_new(),
                                                                     rd_kafka_conf_destroy};
  std::string brokers;
  for (auto& [p, node, field] : props) {
    if (auto why = managed_kafka_property(p.key, p.value, producer, has_address); !why.empty())
      return loc.at(node, field, "'" + p.key + "' cannot be set here: " + why);
    char errstr[512] = {};
    auto r = rd_kafka_conf_set(conf.get(), p.key.c_str(), p.value.c_str(), errstr, sizeof errstr);
    if (r == RD_KAFKA_CONF_UNKNOWN)
      return loc.at(node, field,
                    "librdkafka refuses '" + p.key + "': " + errstr
                      + " (Hearth's Kafka client is librdkafka; Java client settings do not apply)");
    if (r != RD_KAFKA_CONF_OK)
      return loc.at(node, field, "librdkafka refuses '" + p.key + "': " + errstr);
    auto& scopes = rdkafka_scopes();
    if (auto it = scopes.find(p.key); it != scopes.end()) {
      if (producer && it->second == 'C')
        return loc.at(node, field,
                      "'" + p.key + "' is a consumer setting; a Kafka egress would ignore it");
      if (!producer && it->second == 'P')
        return loc.at(node, field,
                      "'" + p.key + "' is a producer setting; a Kafka ingress would ignore it");
    }
    if (p.key == "bootstrap.servers" || p.key == "metadata.broker.list")
      brokers = p.value;
  }
  return brokers;
}

std::string origin_of(const located& loc, const yaml::node& doc) {
  return loc.file + ":" + std::to_string(doc.Mark().line + 1);
}

/// Refuses an ingress id already used by another connector ingress.
status unique_ingress(const located& loc, const yaml::node& spec, const protocol::function_type& id,
                      const module_config& out) {
  auto taken = [&](const std::string& where) {
    return loc.at(spec["id"], "spec.id",
                  "'" + id.to_string() + "' is already the id of the ingress at " + where);
  };
  for (auto& k : out.kafka_ingresses)
    if (k.id == id)
      return taken(k.origin);
  for (auto& k : out.kinesis_ingresses)
    if (k.id == id)
      return taken(k.origin);
  return ok();
}

/// Refuses an egress id already used by another egress (or the playground's).
status unique_egress(const located& loc, const yaml::node& spec, const protocol::function_type& id,
                     const module_config& out) {
  auto taken = [&](const std::string& where) {
    return loc.at(spec["id"], "spec.id",
                  "'" + id.to_string() + "' is already the id of the egress at " + where);
  };
  if (id.to_string() == playground_egress_id)
    return loc.at(spec["id"], "spec.id",
                  "'" + id.to_string() + "' is the playground egress's id; choose another");
  for (auto& k : out.kafka_egresses)
    if (k.id == id)
      return taken(k.origin);
  for (auto& k : out.kinesis_egresses)
    if (k.id == id)
      return taken(k.origin);
  return ok();
}

status parse_aws(const located& loc, const yaml::node& spec, aws_region& region,
                 aws_credentials& credentials) {
  if (auto r = spec["awsRegion"]; r && !r.IsNull()) {
    auto opt = option_of(loc, r, "spec.awsRegion");
    if (!opt)
      return opt.err();
    using kind = aws_region::kind;
    if (opt->type == "default") {
      region.type = kind::default_chain;
    } else if (opt->type == "specific" || opt->type == "custom-endpoint") {
      region.type = opt->type == "specific" ? kind::specific : kind::custom_endpoint;
      auto id = text(loc, r, r["id"], "spec.awsRegion.id");
      if (!id)
        return id.err();
      region.id = *id;
      if (region.type == kind::custom_endpoint) {
        auto ep = text(loc, r, r["endpoint"], "spec.awsRegion.endpoint");
        if (!ep)
          return ep.err();
        auto l = lower(*ep);
        if (l.rfind("http://", 0) != 0 && l.rfind("https://", 0) != 0)
          return loc.at(r["endpoint"], "spec.awsRegion.endpoint",
                        "must start with http:// or https://, got '" + *ep + "'");
        region.endpoint = *ep;
      }
    } else {
      return loc.at(opt->node, opt->field,
                    "unknown AWS region type '" + opt->type
                      + "' (supported: default, specific, custom-endpoint)");
    }
  }
  if (auto c = spec["awsCredentials"]; c && !c.IsNull()) {
    auto opt = option_of(loc, c, "spec.awsCredentials");
    if (!opt)
      return opt.err();
    using kind = aws_credentials::kind;
    if (opt->type == "default") {
      credentials.type = kind::default_chain;
    } else if (opt->type == "basic") {
      credentials.type = kind::basic;
      auto key = text(loc, c, c["accessKeyId"], "spec.awsCredentials.accessKeyId");
      if (!key)
        return key.err();
      auto secret = text(loc, c, c["secretAccessKey"], "spec.awsCredentials.secretAccessKey");
      if (!secret)
        return secret.err();
      credentials.access_key_id = *key;
      credentials.secret_access_key = *secret;
    } else if (opt->type == "profile") {
      credentials.type = kind::profile;
      auto name = text(loc, c, c["profileName"], "spec.awsCredentials.profileName");
      if (!name)
        return name.err();
      credentials.profile_name = *name;
      if (c["profilePath"]) {
        auto path = text(loc, c, c["profilePath"], "spec.awsCredentials.profilePath");
        if (!path)
          return path.err();
        credentials.profile_path = *path;
      }
    } else {
      return loc.at(opt->node, opt->field,
                    "unknown AWS credentials type '" + opt->type
                      + "' (supported: default, basic, profile)");
    }
  }
  return ok();
}

} // namespace

status parse_kafka_ingress(const located& loc, const yaml::node& doc, const yaml::node& spec,
                           module_config& out) {
  kafka_ingress_spec ing;
  ing.origin = origin_of(loc, doc);
  auto id = type_name(loc, spec, spec["id"], "spec.id");
  if (!id)
    return id.err();
  ing.id = *id;
  if (auto s = unique_ingress(loc, spec, ing.id, out); !s)
    return s;
  if (spec["address"]) {
    auto a = text(loc, spec, spec["address"], "spec.address");
    if (!a)
      return a.err();
    ing.address = *a;
  }
  if (spec["consumerGroupId"]) {
    auto g = text(loc, spec, spec["consumerGroupId"], "spec.consumerGroupId");
    if (!g)
      return g.err();
    ing.group_id = *g;
  }
  if (auto s = parse_routes(loc, spec, "topics", "topic", true, ing.topics); !s)
    return s;
  if (auto r = spec["autoOffsetResetPosition"]) {
    auto v = scalar(loc, spec, r, "spec.autoOffsetResetPosition");
    if (!v)
      return v.err();
    auto l = lower(*v);
    if (l != "earliest" && l != "latest")
      return loc.at(r, "spec.autoOffsetResetPosition",
                    "must be 'earliest' or 'latest', got '" + *v + "'");
    ing.reset_earliest = l == "earliest";
  }
  if (auto sp = spec["startupPosition"]; sp && !sp.IsNull()) {
    auto opt = option_of(loc, sp, "spec.startupPosition");
    if (!opt)
      return opt.err();
    using kind = kafka_startup::kind;
    const auto& t = opt->type;
    if (t == "group-offsets") {
      if (ing.group_id.empty())
        return loc.at(opt->node, opt->field, "'group-offsets' needs spec.consumerGroupId");
      ing.startup.type = kind::group_offsets;
    } else if (t == "earliest") {
      ing.startup.type = kind::earliest;
    } else if (t == "latest") {
      ing.startup.type = kind::latest;
    } else if (t == "specific-offsets") {
      ing.startup.type = kind::specific_offsets;
      auto offsets = sp["offsets"];
      if (!offsets || offsets.IsNull())
        return loc.at(sp, "spec.startupPosition.offsets", "is missing");
      auto es = entries(loc, offsets, "spec.startupPosition.offsets");
      if (!es)
        return es.err();
      if (es->empty())
        return loc.at(offsets, "spec.startupPosition.offsets",
                      "must list at least one '<topic>/<partition>: <offset>'");
      for (auto& e : *es) {
        const auto& key = e.key.Scalar();
        auto slash = key.rfind('/');
        auto topic = slash == std::string::npos ? key : key.substr(0, slash);
        auto part = slash == std::string::npos ? std::string{} : key.substr(slash + 1);
        std::optional<std::int64_t> partition;
        if (!part.empty() && part.size() <= 10
            && std::all_of(part.begin(), part.end(), [](unsigned char c) { return std::isdigit(c); }))
          partition = std::stoll(part);
        if (topic.empty() || !partition || *partition > std::numeric_limits<std::int32_t>::max())
          return loc.at(e.key, e.field,
                        "'" + key + "' must be '<topic>/<partition>' with a partition number");
        if (std::none_of(ing.topics.begin(), ing.topics.end(),
                         [&](const ingress_route& r) { return r.name == topic; }))
          return loc.at(e.key, e.field,
                        "topic '" + topic + "' is not one of this ingress's spec.topics");
        auto offset = unsigned_value(loc, e.value, e.field,
                                     std::uint64_t(std::numeric_limits<std::int64_t>::max()));
        if (!offset)
          return offset.err();
        auto norm = topic + "/" + std::to_string(*partition);
        if (!ing.startup.offsets.emplace(norm, static_cast<std::int64_t>(*offset)).second)
          return loc.at(e.key, e.field, "'" + norm + "' is given twice");
      }
    } else if (t == "date") {
      ing.startup.type = kind::date;
      auto ms = date_value(loc, sp, "spec.startupPosition.date");
      if (!ms)
        return ms.err();
      ing.startup.date_ms = *ms;
    } else {
      return loc.at(opt->node, opt->field,
                    "unknown startup position '" + t
                      + "' (supported: group-offsets, earliest, latest, specific-offsets, date)");
    }
  }
  auto props = properties_of(loc, spec, "properties");
  if (!props)
    return props.err();
  auto brokers = check_kafka_properties(loc, *props, false, !ing.address.empty());
  if (!brokers)
    return brokers.err();
  if (ing.address.empty())
    ing.address = *brokers;
  if (ing.address.empty())
    return loc.at(spec, "spec.address",
                  "is missing (give the brokers here or as bootstrap.servers in spec.properties)");
  ing.properties = plain(std::move(*props));
  out.kafka_ingresses.push_back(std::move(ing));
  return ok();
}

status parse_kafka_egress(const located& loc, const yaml::node& doc, const yaml::node& spec,
                          module_config& out) {
  kafka_egress_spec eg;
  eg.origin = origin_of(loc, doc);
  auto id = type_name(loc, spec, spec["id"], "spec.id");
  if (!id)
    return id.err();
  eg.id = *id;
  if (auto s = unique_egress(loc, spec, eg.id, out); !s)
    return s;
  if (spec["address"]) {
    auto a = text(loc, spec, spec["address"], "spec.address");
    if (!a)
      return a.err();
    eg.address = *a;
  }
  if (auto ds = spec["deliverySemantic"]; ds && !ds.IsNull()) {
    auto opt = option_of(loc, ds, "spec.deliverySemantic");
    if (!opt)
      return opt.err();
    using kind = kafka_egress_spec::delivery;
    if (opt->type == "exactly-once")
      eg.semantic = kind::exactly_once;
    else if (opt->type == "at-least-once")
      eg.semantic = kind::at_least_once;
    else if (opt->type == "none")
      eg.semantic = kind::none;
    else
      return loc.at(opt->node, opt->field,
                    "unknown delivery semantic '" + opt->type
                      + "' (supported: exactly-once, at-least-once, none)");
    // transactionTimeoutMillis (deprecated) takes precedence, as in StateFun.
    yaml::node timeout_node;
    std::string timeout_field;
    if (auto ms = ds["transactionTimeoutMillis"]) {
      timeout_node = ms;
      timeout_field = "spec.deliverySemantic.transactionTimeoutMillis";
      auto n = unsigned_value(loc, ms, timeout_field, 1ull << 40);
      if (!n)
        return n.err();
      eg.transaction_timeout = millis{static_cast<std::int64_t>(*n)};
    } else if (auto d = ds["transactionTimeout"]) {
      timeout_node = d;
      timeout_field = "spec.deliverySemantic.transactionTimeout";
      auto v = duration_value(loc, d, timeout_field);
      if (!v)
        return v.err();
      eg.transaction_timeout = *v;
    }
    // librdkafka's range of transaction.timeout.ms.
    if (timeout_node && eg.semantic == kind::exactly_once
        && (eg.transaction_timeout < std::chrono::seconds{1}
            || eg.transaction_timeout.count() > std::numeric_limits<std::int32_t>::max()))
      return loc.at(timeout_node, timeout_field,
                    "must be between 1s and 2147483647 ms (librdkafka's transaction.timeout.ms)");
  }
  auto props = properties_of(loc, spec, "properties");
  if (!props)
    return props.err();
  auto brokers = check_kafka_properties(loc, *props, true, !eg.address.empty());
  if (!brokers)
    return brokers.err();
  if (eg.address.empty())
    eg.address = *brokers;
  if (eg.address.empty())
    return loc.at(spec, "spec.address",
                  "is missing (give the brokers here or as bootstrap.servers in spec.properties)");
  eg.properties = plain(std::move(*props));
  out.kafka_egresses.push_back(std::move(eg));
  return ok();
}

status parse_kinesis_ingress(const located& loc, const yaml::node& doc, const yaml::node& spec,
                             module_config& out) {
  kinesis_ingress_spec ing;
  ing.origin = origin_of(loc, doc);
  auto id = type_name(loc, spec, spec["id"], "spec.id");
  if (!id)
    return id.err();
  ing.id = *id;
  if (auto s = unique_ingress(loc, spec, ing.id, out); !s)
    return s;
  if (auto s = parse_aws(loc, spec, ing.region, ing.credentials); !s)
    return s;
  if (auto sp = spec["startupPosition"]; sp && !sp.IsNull()) {
    auto opt = option_of(loc, sp, "spec.startupPosition");
    if (!opt)
      return opt.err();
    using start = kinesis_ingress_spec::start;
    if (opt->type == "earliest") {
      ing.startup = start::earliest;
    } else if (opt->type == "latest") {
      ing.startup = start::latest;
    } else if (opt->type == "date") {
      ing.startup = start::date;
      auto ms = date_value(loc, sp, "spec.startupPosition.date");
      if (!ms)
        return ms.err();
      ing.date_ms = *ms;
    } else {
      return loc.at(opt->node, opt->field,
                    "unknown startup position '" + opt->type + "' (supported: earliest, latest, date)");
    }
  }
  if (auto s = parse_routes(loc, spec, "streams", "stream", false, ing.streams); !s)
    return s;
  auto props = properties_of(loc, spec, "clientConfigProperties");
  if (!props)
    return props.err();
  ing.client_properties = plain(std::move(*props));
  out.kinesis_ingresses.push_back(std::move(ing));
  return ok();
}

status parse_kinesis_egress(const located& loc, const yaml::node& doc, const yaml::node& spec,
                            module_config& out) {
  kinesis_egress_spec eg;
  eg.origin = origin_of(loc, doc);
  auto id = type_name(loc, spec, spec["id"], "spec.id");
  if (!id)
    return id.err();
  eg.id = *id;
  if (auto s = unique_egress(loc, spec, eg.id, out); !s)
    return s;
  if (auto s = parse_aws(loc, spec, eg.region, eg.credentials); !s)
    return s;
  if (auto m = spec["maxOutstandingRecords"]) {
    auto n = unsigned_value(loc, m, "spec.maxOutstandingRecords",
                            std::numeric_limits<std::uint32_t>::max());
    if (!n)
      return n.err();
    if (*n == 0)
      return loc.at(m, "spec.maxOutstandingRecords", "must be at least 1");
    eg.max_outstanding = static_cast<std::uint32_t>(*n);
  }
  auto props = properties_of(loc, spec, "clientConfigProperties");
  if (!props)
    return props.err();
  eg.client_properties = plain(std::move(*props));
  out.kinesis_egresses.push_back(std::move(eg));
  return ok();
}

} // namespace hearth::io::detail
