#include "apps/http_apis.hpp"

#include "protocol/primitives.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <set>

namespace hearth::apps {

using nlohmann::json;

namespace {

std::string base64(const std::string& in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8)
             | static_cast<unsigned char>(in[i + 2]);
    out += {tbl[(n >> 18) & 63], tbl[(n >> 12) & 63], tbl[(n >> 6) & 63], tbl[n & 63]};
  }
  if (i + 1 == in.size()) {
    auto n = static_cast<unsigned char>(in[i]) << 16;
    out += {tbl[(n >> 18) & 63], tbl[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {tbl[(n >> 18) & 63], tbl[(n >> 12) & 63], tbl[(n >> 6) & 63], '='};
  }
  return out;
}

json to_json(const protocol::address& a) {
  return json{{"namespace", a.type.ns}, {"type", a.type.name}, {"id", a.id}};
}

json to_json(const state::dead_letter& d) {
  json msgs = json::array();
  for (auto& inv : d.invocations)
    msgs.push_back({{"typename", inv.argument.type_name},
                    {"value_base64", base64(inv.argument.value)},
                    {"caller", inv.caller ? to_json(*inv.caller) : json(nullptr)}});
  return json{{"id", actors::node::dead_letter_id(d)},
              {"address", to_json(d.target)},
              {"reason", d.reason},
              {"time_ms", d.time_ms},
              {"messages", std::move(msgs)}};
}

int status_of(errc code) {
  switch (code) {
    case errc::unknown: return 404;
    case errc::malformed: return 400;
    case errc::conflict: return 409;
    case errc::too_large: return 413;
    case errc::unavailable: return 503;
    default: return 500;
  }
}

} // namespace

namespace {

std::string hex(const std::string& in) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : in) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

/// A value shown by its typename: StateFun primitives as values, JSON as
/// JSON, anything else as hex; always base64 too.
json show_value(const protocol::typed_value& v) {
  json out{{"typename", v.type_name}, {"base64", base64(v.value)}};
  const auto& t = v.type_name;
  if (t == protocol::string_type_name) {
    if (auto r = protocol::as_string(v))
      out["value"] = *r;
  } else if (t == protocol::int_type_name) {
    if (auto r = protocol::as_int(v))
      out["value"] = *r;
  } else if (t == protocol::long_type_name) {
    if (auto r = protocol::as_long(v))
      out["value"] = *r;
  } else if (t == protocol::bool_type_name) {
    if (auto r = protocol::as_bool(v))
      out["value"] = *r;
  } else if (t == protocol::float_type_name) {
    if (auto r = protocol::as_float(v))
      out["value"] = *r;
  } else if (t == protocol::double_type_name) {
    if (auto r = protocol::as_double(v))
      out["value"] = *r;
  }
  if (!out.contains("value")) {
    auto j = json::parse(v.value.str(), nullptr, false);
    if (!j.is_discarded() && t.rfind("io.statefun.types/", 0) != 0)
      out["json"] = std::move(j);
    else
      out["hex"] = hex(v.value.str().substr(0, 4096));
  }
  return out;
}

json show_invocation(const protocol::invocation& inv) {
  json out = show_value(inv.argument);
  out["caller"] = inv.caller ? to_json(*inv.caller) : json(nullptr);
  return out;
}

json to_json(const actors::actor_summary& a) {
  return json{{"address", to_json(a.address)},          {"pending", a.pending},
              {"busy", a.busy},                          {"last_invocation_ms", a.last_invocation_ms},
              {"invocations", a.invocations},           {"failures", a.failures},
              {"node", a.node.empty() ? json(nullptr) : json(a.node)}};
}

json to_json(const actors::invocation_record& r) {
  json out{{"time_ms", r.time_ms},         {"invocations", r.invocations},
           {"failed", r.failed},           {"states_changed", r.states_changed},
           {"messages_sent", r.messages_sent}, {"delayed", r.delayed},
           {"egress_records", r.egress_records}};
  if (r.failed)
    out["failure"] = r.failure;
  return out;
}

json to_json(const actors::checkpoint_info& c) {
  return json{{"id", c.id},           {"time_ms", c.time_ms},   {"duration_ms", c.duration_ms},
              {"bytes", c.bytes},     {"full_parts", c.full_parts}, {"messages", c.messages},
              {"ingress_position", c.ingress_position}};
}

const char* mode_name(protocol::expire_mode m) {
  switch (m) {
    case protocol::expire_mode::after_write: return "after_write";
    case protocol::expire_mode::after_invoke: return "after_invoke";
    default: return "none";
  }
}

json detail_json(const actors::address_detail& d) {
  json states = json::object();
  for (auto& [name, v] : d.states) {
    auto shown = show_value(v.value);
    shown["written_ms"] = v.written_ms;
    shown["accessed_ms"] = v.accessed_ms;
    states[name] = std::move(shown);
  }
  json specs = json::array();
  for (auto& s : d.specs)
    specs.push_back({{"name", s.name}, {"typename", s.type_name}, {"expire", mode_name(s.mode)},
                     {"expire_after_ms", s.expire_after_ms}});
  json pending = json::array();
  for (auto& inv : d.pending)
    pending.push_back(show_invocation(inv));
  json delayed = json::array();
  for (auto& r : d.delayed) {
    auto m = show_value(r.argument);
    m["target"] = to_json(r.target);
    m["due_ms"] = r.due_ms;
    m["cancellation_token"] = r.token;
    delayed.push_back(std::move(m));
  }
  json recent = json::array();
  for (auto& r : d.recent)
    recent.push_back(to_json(r));
  auto out = to_json(d.summary);
  out["live"] = d.live;
  out["states"] = std::move(states);
  out["specs"] = std::move(specs);
  out["pending_messages"] = std::move(pending);
  out["delayed_messages"] = std::move(delayed);
  out["recent_invocations"] = std::move(recent);
  return out;
}

/// A file of the web console: "/" is index.html; nothing outside `dir`.
std::optional<io::http_response> console_file(const std::string& dir, const std::string& path) {
  namespace fs = std::filesystem;
  auto rel = path == "/" ? std::string{"index.html"} : path.substr(1);
  if (rel.empty() || rel.find("..") != std::string::npos || rel.find('\0') != std::string::npos)
    return std::nullopt;
  auto full = fs::path{dir} / rel;
  std::error_code ec;
  if (!fs::is_regular_file(full, ec))
    return std::nullopt;
  std::ifstream in{full, std::ios::binary};
  if (!in)
    return std::nullopt;
  std::string body{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  static const std::map<std::string, std::string> types{
    {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
    {".png", "image/png"},                 {".json", "application/json"},
    {".map", "application/json"},          {".woff2", "font/woff2"},
    {".ico", "image/x-icon"}};
  auto it = types.find(full.extension().string());
  return io::http_response{200, it == types.end() ? "application/octet-stream" : it->second,
                           std::move(body), {}};
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

/// Query parameter `name` (the first one when repeated).
std::optional<std::string> query_param(const io::http_request& req, const std::string& name) {
  auto it = req.params.find(name);
  return it == req.params.end() ? std::nullopt : std::optional<std::string>{it->second};
}

/// Query parameter `name` as a number in [0, max]: `def` when absent,
/// nothing when it is not such a number.
std::optional<std::uint64_t> number_param(const io::http_request& req, const std::string& name,
                                          std::uint64_t def, std::uint64_t max) {
  auto v = query_param(req, name);
  if (!v)
    return def;
  try {
    size_t used = 0;
    auto n = std::stoull(*v, &used);
    if (used == v->size() && n <= max && (*v)[0] != '-')
      return n;
  } catch (...) {
  }
  return std::nullopt;
}

/// Logs a message for `target` from an HTTP request (its Content-Type, body
/// and Idempotency-Key) and answers through `respond`; with `wait=true` in the
/// query, once the invocation's effects are committed or `timeout_ms`
/// (default 10 s) has passed: 200 with "applied", or 202 with "applied": false
/// and the reason. Holds no thread while the message waits.
void send_message(actors::node& n, const protocol::address& target, io::http_request& req,
                  bool count_ingress, io::http_responder respond) {
  using actors::metrics;
  auto outcome = [&n, count_ingress](metrics::ingress_outcome what) {
    if (count_ingress)
      n.stats_registry().ingress(what);
  };
  auto timeout = number_param(req, "timeout_ms", 10'000, 600'000);
  auto wait = query_param(req, "wait").value_or("false");
  if (!timeout || (wait != "true" && wait != "false")) {
    outcome(metrics::ingress_outcome::rejected);
    return respond(io::json_error(400, "wait must be true or false and timeout_ms a number of "
                                       "milliseconds up to 600000"));
  }
  // The body moves into the message (a text body is encoded once): one copy
  // of the payload from here on.
  auto value = io::ingress_value(req.content_type, std::move(req.body));
  if (!value) {
    outcome(metrics::ingress_outcome::rejected);
    return respond(io::json_error(400, value.err().message));
  }
  std::optional<std::chrono::milliseconds> wait_for;
  if (wait == "true")
    wait_for = std::chrono::milliseconds{*timeout};
  n.deliver_async(target, std::move(*value), req.header("Idempotency-Key"), wait_for,
                  [outcome, wait_for, respond = std::move(respond)](result<actors::delivery> d) {
                    outcome(!d              ? metrics::ingress_outcome::rejected
                            : d->duplicate ? metrics::ingress_outcome::duplicate
                                           : metrics::ingress_outcome::accepted);
                    if (!d)
                      return respond(io::json_error(status_of(d.err().code), d.err().message));
                    if (!wait_for) // the usual answer, the bytes dump() gives, without a tree
                      return respond(io::json_ok("{\"offset\":" + std::to_string(d->offset)
                                                 + (d->duplicate ? ",\"status\":\"duplicate\"}\n"
                                                                 : ",\"status\":\"accepted\"}\n")));
                    json out{{"status", d->duplicate ? "duplicate" : "accepted"},
                             {"offset", d->offset}};
                    if (wait_for && d->applied) {
                      out["applied"] = to_json(*d->applied);
                    } else if (wait_for && !d->duplicate) {
                      out["applied"] = false;
                      out["reason"] = d->not_applied;
                      return respond(io::json_ok(dump(out), 202));
                    }
                    respond(io::json_ok(dump(out)));
                  });
}

/// The same, answered on this thread.
io::http_response send_message(actors::node& n, const protocol::address& target,
                               io::http_request& req, bool count_ingress) {
  std::promise<io::http_response> answer;
  auto f = answer.get_future();
  send_message(n, target, req, count_ingress,
               [&answer](io::http_response r) { answer.set_value(std::move(r)); });
  return f.get();
}

} // namespace

io::http_async_handler ingress_api(actors::node& n) {
  return [&n](io::http_request& req, io::http_responder respond) {
    auto reject = [&n, &respond](int status, const std::string& why) {
      n.stats_registry().ingress(actors::metrics::ingress_outcome::rejected);
      respond(io::json_error(status, why));
    };
    if (req.method != "PUT" && req.method != "POST")
      return reject(405, "use PUT or POST /<namespace>/<type>/<id>");
    auto target = io::parse_ingress_path(req.path);
    if (!target)
      return reject(400, target.err().message);
    send_message(n, *target, req, true, std::move(respond));
  };
}

io::http_handler egress_api(const io::playground_egress_spec& spec, actors::node& n) {
  return [topics = spec.topics, &n](const io::http_request& req) {
    if (req.method != "GET")
      return io::json_error(405, "use GET /<topic>");
    auto topic = req.path.size() > 1 ? req.path.substr(1) : std::string{};
    if (std::find(topics.begin(), topics.end(), topic) == topics.end())
      return io::json_error(405, "unknown topic '" + topic + "'");
    auto rec = n.pop_egress(topic);
    if (!rec)
      return io::json_error(500, rec.err().message);
    if (!*rec)
      return io::http_response{404, "text/plain; charset=utf-8", "", {}};
    return io::http_response{200, "text/plain; charset=utf-8", std::move(**rec), {}};
  };
}

namespace {

/// True for every path of the API itself (not the console's files, not the probes).
bool api_path(const std::string& path) {
  for (auto* p : {"/health", "/metrics", "/status", "/functions", "/cluster"})
    if (path == p)
      return true;
  for (auto* p : {"/actors", "/dead-letters", "/checkpoints", "/cluster/"})
    if (path.rfind(p, 0) == 0)
      return true;
  return false;
}

/// GET /cluster: the view this node holds, with the key groups of each member.
json cluster_json(const actors::cluster_status& st) {
  auto layout = st.view.layout();
  json members = json::array();
  for (auto& m : st.view.members) {
    json ranges = json::array();
    if (auto i = layout.index_of(m.id))
      for (auto [begin, end] : layout.ranges_of(*i))
        if (end > begin)
          ranges.push_back({begin, end});
    members.push_back({{"id", m.id},
                       {"incarnation", m.incarnation},
                       {"address", m.host + ":" + std::to_string(m.port)},
                       {"partitions", m.partitions},
                       {"state", m.draining ? "draining" : "active"},
                       {"coordinator", m.id == st.view.coordinator},
                       {"key_groups", ranges}});
  }
  return json{{"node", st.self.id},
              {"incarnation", st.self.incarnation},
              {"member", st.member},
              {"epoch", st.view.epoch},
              {"coordinator", st.view.coordinator},
              {"max_key_groups", st.view.max_key_groups},
              {"running_epoch", st.coordinator ? json(st.running_epoch) : json(nullptr)},
              {"members", members},
              {"problem", st.problem.empty() ? json(nullptr) : json(st.problem)}};
}

/// Compares in a time that does not depend on where the strings differ.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i % std::max<size_t>(1, b.size())]);
  return diff == 0;
}

/// 401 unless `req` carries the admin token (when one is set).
std::optional<io::http_response> refuse_without_token(const io::http_request& req,
                                                      const node_info& info) {
  if (info.admin_token.empty())
    return std::nullopt;
  if (req.method == "GET" && (req.path == "/livez" || req.path == "/readyz"))
    return std::nullopt;
  if (req.method == "GET" && !api_path(req.path))
    return std::nullopt; // the console's files (or a 404)
  static const std::string scheme = "Bearer ";
  auto given = req.header("Authorization");
  if (given.size() > scheme.size() && given.compare(0, scheme.size(), scheme) == 0
      && same_secret(given.substr(scheme.size()), info.admin_token))
    return std::nullopt;
  auto out = io::json_error(401, given.empty() ? "this admin API needs a token: send "
                                                 "'Authorization: Bearer <token>'"
                                               : "the admin token is not the node's");
  out.headers.emplace_back("WWW-Authenticate", "Bearer");
  return out;
}

} // namespace

io::http_handler admin_api(actors::node& n, std::shared_ptr<const node_info> info) {
  return [&n, info](io::http_request& req) {
    static const std::string dl = "/dead-letters", act = "/actors", cps = "/checkpoints";
    const auto& path = req.path;
    if (auto refused = refuse_without_token(req, *info))
      return *refused;
    auto bad_param = [](const std::string& what) { return io::json_error(400, what); };
    auto counters = [](const actors::partition_stats& s) {
      return json{{"live_addresses", s.live_addresses},
                  {"pending_invocations", s.pending_invocations},
                  {"backlog_messages", s.backlog_messages},
                  {"invocations_completed", s.invocations_completed},
                  {"effect_commits", s.effect_commits},
                  {"dead_letters_written", s.dead_letters_written}};
    };
    // Probes: /livez answers while the process serves requests; /readyz and
    // /health answer 200 only when the node can take and apply messages
    // (partitions running and answering, ingress log writable), and /health
    // also when a checkpoint completed recently and the disks have room.
    if (path == "/livez" && req.method == "GET")
      return io::json_ok(dump(json{{"status", "live"}}));
    if ((path == "/readyz" || path == "/health") && req.method == "GET") {
      auto h = n.health();
      bool good = path == "/readyz" ? h.ready : h.problems.empty();
      json out{{"status", good ? "ok" : "unavailable"},
               {"ready", h.ready},
               {"problems", h.problems}};
      if (path == "/health") {
        json parts = json::array();
        for (auto& s : h.partitions) {
          parts.push_back(counters(s));
          parts.back()["partition"] = s.partition;
        }
        out["partitions"] = std::move(parts);
        out["pipeline"] = h.pipeline;
        out["replay"] = {{"remaining", h.replay_remaining}};
        out["restarts"] = h.restarts;
        out["checkpoint"] = {{"last", h.last_checkpoint},
                             {"age_ms", h.checkpoint_age_ms},
                             {"failure", h.checkpoint_failure.empty()
                                           ? json(nullptr) : json(h.checkpoint_failure)}};
        out["free_bytes"] = {{"data_dir", h.data_free_bytes},
                             {"checkpoint_dir", h.checkpoint_free_bytes}};
        if (info->clustered()) {
          auto st = info->cluster();
          out["cluster"] = st ? json{{"node", st->self.id},
                                     {"incarnation", st->self.incarnation},
                                     {"member", st->member},
                                     {"epoch", st->view.epoch}}
                              : json{{"member", false}, {"problem", "the cluster agent does not answer"}};
        }
      }
      if (!good)
        out["reason"] = h.problems.empty() ? std::string{"not ready"} : h.problems.front();
      return io::json_ok(dump(out), good ? 200 : 503);
    }
    if (path == "/metrics" && req.method == "GET")
      return io::http_response{200, "text/plain; version=0.0.4; charset=utf-8",
                               n.stats_registry().expose(), {}};
    if (path == "/status" && req.method == "GET") {
      auto& o = n.options();
      json parts = json::array();
      json totals = counters({});
      std::vector<std::uint32_t> lat;
      std::uint64_t failures = 0;
      for (auto& s : n.stats()) {
        auto part = counters(s);
        for (auto& [k, v] : part.items())
          totals[k] = totals[k].get<std::uint64_t>() + v.get<std::uint64_t>();
        part["partition"] = s.partition;
        part["key_groups"] = {
          protocol::first_key_group(s.partition, o.max_key_groups, o.partitions),
          protocol::first_key_group(s.partition + 1, o.max_key_groups, o.partitions)};
        parts.push_back(std::move(part));
        lat.insert(lat.end(), s.latencies_ms.begin(), s.latencies_ms.end());
        failures += s.invocation_failures;
      }
      std::sort(lat.begin(), lat.end());
      auto q = [&](double p) {
        return lat.empty() ? json(nullptr)
                           : json(lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))]);
      };
      totals["invocation_failures"] = failures;
      // A coordinator that does not answer is said so, never "no checkpoint yet".
      auto cps = n.checkpoints();
      json last = nullptr;
      if (cps && !cps->empty())
        last = to_json(cps->back());
      json out{
        {"version", info->version},
        {"uptime_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - info->started)
                        .count()},
        {"ports", info->ports()},
        {"max_key_groups", o.max_key_groups},
        {"partitions", parts},
        {"counters", totals},
        {"latency_ms", {{"p50", q(0.5)}, {"p95", q(0.95)}, {"p99", q(0.99)}, {"count", lat.size()}}},
        {"restored_checkpoint", n.restored_checkpoint()},
        {"last_checkpoint", std::move(last)}};
      if (!cps)
        out["last_checkpoint_error"] = cps.err().message;
      return io::json_ok(dump(out));
    }
    if (path == "/cluster" && req.method == "GET") {
      if (!info->clustered())
        return io::json_error(404, "this node is not a cluster member (start it with --cluster-port)");
      auto st = info->cluster();
      if (!st)
        return io::json_error(503, "the cluster agent does not answer");
      auto out = cluster_json(*st);
      auto cp = n.board().read();
      out["last_checkpoint"] = cp.last_id == 0 ? json(nullptr) : json{{"id", cp.last_id}, {"age_ms", cp.since_completed.count()}};
      return io::json_ok(dump(out));
    }
    if (path.rfind("/cluster/drain/", 0) == 0 && req.method == "POST") {
      if (!info->clustered())
        return io::json_error(404, "this node is not a cluster member (start it with --cluster-port)");
      auto id = path.substr(std::string{"/cluster/drain/"}.size());
      if (id.empty())
        return io::json_error(400, "POST /cluster/drain/<node id>");
      auto v = info->drain(id);
      if (!v)
        return io::json_error(v.err().code == errc::unknown    ? 404
                              : v.err().code == errc::conflict ? 409
                                                               : 503,
                              v.err().message);
      return io::json_ok(dump(json{{"drained", id}, {"epoch", v->epoch}}));
    }
    if (path == "/functions" && req.method == "GET") {
      json eps = json::array();
      for (auto& ep : n.module().endpoints)
        eps.push_back({{"functions", ep.ns + "/" + (ep.wildcard() ? "*" : ep.name)},
                       {"url_template", ep.url_template},
                       {"max_num_batch_requests", ep.max_batch},
                       {"call_ms", ep.transport.call.count()},
                       {"connect_ms", ep.transport.connect.count()}});
      std::set<std::string> types;
      for (auto& s : n.stats())
        types.insert(s.registered_types.begin(), s.registered_types.end());
      json list = json::array();
      for (auto& t : types) {
        auto slash = t.find('/');
        auto* ep = n.module().find_endpoint({t.substr(0, slash), t.substr(slash + 1)});
        list.push_back({{"type", t}, {"endpoint", ep ? ep->url_for({t.substr(0, slash),
                                                                     t.substr(slash + 1)})
                                                     : ""}});
      }
      return io::json_ok(dump(json{{"endpoints", eps}, {"types", list}}));
    }
    if (path == act && req.method == "GET") {
      auto offset = number_param(req, "offset", 0, 1ull << 40);
      auto limit = number_param(req, "limit", 100, 1000);
      if (!offset || !limit)
        return bad_param("offset must be a number and limit a number up to 1000");
      actors::actor_query q;
      q.type = query_param(req, "type").value_or("");
      q.prefix = query_param(req, "prefix").value_or("");
      if (!q.type.empty() && q.type.find('/') == std::string::npos)
        return bad_param("type must be <namespace>/<name>");
      auto listed = n.actors(q, *offset, *limit);
      if (!listed)
        return io::json_error(status_of(listed.err().code), listed.err().message);
      auto& [total, page] = *listed;
      json list = json::array();
      for (auto& a : page)
        list.push_back(to_json(a));
      return io::json_ok(dump(json{{"total", total}, {"offset", *offset}, {"limit", *limit},
                                   {"actors", list}}));
    }
    if (path.rfind(act + "/", 0) == 0) {
      auto rest = path.substr(act.size());
      static const std::string msgs = "/messages";
      bool sending = rest.size() > msgs.size()
                     && rest.compare(rest.size() - msgs.size(), msgs.size(), msgs) == 0;
      if (sending)
        rest.resize(rest.size() - msgs.size());
      auto target = io::parse_ingress_path(rest);
      if (!target)
        return io::json_error(400, "use /actors/<namespace>/<type>/<id>: " + target.err().message);
      if (!sending && req.method == "GET") {
        auto found = n.inspect(*target);
        if (!found)
          return io::json_error(status_of(found.err().code), found.err().message);
        auto& d = *found;
        if (!d.known)
          return io::json_error(404, "no address " + target->to_string()
                                       + " (not live, no state, no delayed messages)");
        return io::json_ok(dump(detail_json(d)));
      }
      if (sending && req.method == "POST")
        return send_message(n, *target, req, false);
      return io::json_error(405, "use GET /actors/<ns>/<type>/<id> or POST .../messages");
    }
    if (path == dl && req.method == "GET") {
      auto all = n.dead_letters();
      if (!all)
        return io::json_error(status_of(all.err().code), all.err().message);
      json list = json::array();
      for (auto& d : *all)
        list.push_back(to_json(d));
      return io::json_ok(dump(json{{"dead_letters", list}}));
    }
    if (path.rfind(dl + "/", 0) == 0) {
      auto rest = path.substr(dl.size() + 1);
      static const std::string replay = "/replay";
      if (req.method == "POST" && rest.size() > replay.size()
          && rest.compare(rest.size() - replay.size(), replay.size(), replay) == 0) {
        auto r = n.replay(rest.substr(0, rest.size() - replay.size()));
        if (!r)
          return io::json_error(status_of(r.err().code), r.err().message);
        return io::json_ok(dump(json{{"replayed", *r}}));
      }
      if (req.method == "DELETE" && rest.find('/') == std::string::npos) {
        auto s = n.drop(rest);
        if (!s)
          return io::json_error(status_of(s.err().code), s.err().message);
        return io::json_ok(dump(json{{"deleted", rest}}));
      }
      if (req.method == "GET" && rest.find('/') == std::string::npos) {
        auto d = n.dead_letter(rest);
        if (!d)
          return io::json_error(status_of(d.err().code), d.err().message);
        return io::json_ok(dump(to_json(*d)));
      }
    }
    if (path == cps && req.method == "GET") {
      auto cps = n.checkpoints();
      if (!cps)
        return io::json_error(status_of(cps.err().code), cps.err().message);
      json list = json::array();
      for (auto& c : *cps)
        list.push_back(to_json(c));
      return io::json_ok(dump(json{{"checkpoints", list}}));
    }
    if (path == cps && req.method == "POST") {
      auto c = n.trigger_checkpoint(std::chrono::seconds{60});
      if (!c)
        return io::json_error(status_of(c.err().code), c.err().message);
      return io::json_ok(dump(to_json(*c)));
    }
    if (req.method == "GET" && !info->console_dir.empty()) {
      if (auto file = console_file(info->console_dir, path))
        return *file;
    }
    return io::json_error(404, "no such admin endpoint: " + req.method + " " + path);
  };
}

} // namespace hearth::apps
