#include "apps/http_apis.hpp"

#include "protocol/primitives.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

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

io::http_handler ingress_api(actors::node& n) {
  return [&n](const io::http_request& req) {
    if (req.method != "PUT" && req.method != "POST")
      return io::json_error(405, "use PUT or POST /<namespace>/<type>/<id>");
    auto target = io::parse_ingress_path(req.path);
    if (!target)
      return io::json_error(400, target.err().message);
    auto type_name = io::ingress_type_name(req.content_type);
    if (!type_name)
      return io::json_error(400, type_name.err().message);
    // A body without a vnd typename is text: it becomes a proper
    // io.statefun.types/string value, which every SDK's asString() reads.
    // With an explicit typename the bytes pass through untouched.
    auto value = req.content_type.rfind("application/vnd.", 0) == 0
                   ? protocol::typed_value{*type_name, true, req.body}
                   : protocol::make_string(req.body);
    auto d = n.deliver(*target, std::move(value), req.header("Idempotency-Key"));
    if (!d)
      return io::json_error(status_of(d.err().code), d.err().message);
    return io::json_ok(json{{"status", d->duplicate ? "duplicate" : "accepted"},
                            {"offset", d->offset}}
                         .dump()
                       + "\n");
  };
}

io::http_handler egress_api(const io::playground_egress_spec& spec,
                            std::shared_ptr<state::egress_store> store) {
  return [topics = spec.topics, store](const io::http_request& req) {
    if (req.method != "GET")
      return io::json_error(405, "use GET /<topic>");
    auto topic = req.path.size() > 1 ? req.path.substr(1) : std::string{};
    if (std::find(topics.begin(), topics.end(), topic) == topics.end())
      return io::json_error(405, "unknown topic '" + topic + "'");
    auto rec = store->pop(topic);
    if (!rec)
      return io::json_error(500, rec.err().message);
    if (!*rec)
      return io::http_response{404, "text/plain; charset=utf-8", ""};
    return io::http_response{200, "text/plain; charset=utf-8", std::move(**rec)};
  };
}

io::http_handler admin_api(actors::node& n) {
  return [&n](const io::http_request& req) {
    static const std::string dl = "/dead-letters";
    if (req.path == "/health" && req.method == "GET") {
      json parts = json::array();
      for (auto& s : n.stats())
        parts.push_back({{"partition", s.partition},
                         {"live_addresses", s.live_addresses},
                         {"pending_invocations", s.pending_invocations},
                         {"invocations_completed", s.invocations_completed},
                         {"dead_letters_written", s.dead_letters_written}});
      return io::json_ok(json{{"status", "ok"}, {"partitions", parts}}.dump() + "\n");
    }
    if (req.path == dl && req.method == "GET") {
      auto all = n.dead_letters();
      if (!all)
        return io::json_error(500, all.err().message);
      json list = json::array();
      for (auto& d : *all)
        list.push_back(to_json(d));
      return io::json_ok(
        json{{"dead_letters", list}}.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    }
    if (req.path.rfind(dl + "/", 0) == 0) {
      auto rest = req.path.substr(dl.size() + 1);
      static const std::string replay = "/replay";
      if (req.method == "POST" && rest.size() > replay.size()
          && rest.compare(rest.size() - replay.size(), replay.size(), replay) == 0) {
        auto r = n.replay(rest.substr(0, rest.size() - replay.size()));
        if (!r)
          return io::json_error(status_of(r.err().code), r.err().message);
        return io::json_ok(json{{"replayed", *r}}.dump() + "\n");
      }
      if (req.method == "DELETE" && rest.find('/') == std::string::npos) {
        auto s = n.drop(rest);
        if (!s)
          return io::json_error(status_of(s.err().code), s.err().message);
        return io::json_ok(json{{"deleted", rest}}.dump() + "\n");
      }
    }
    return io::json_error(404, "no such admin endpoint: " + req.method + " " + req.path);
  };
}

} // namespace hearth::apps
