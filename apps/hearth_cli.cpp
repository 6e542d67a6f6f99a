// hearth: the command-line client of a Hearth node's admin API.
//
//   hearth [--node HOST:PORT] [--json] COMMAND ...
//
// --node defaults to $HEARTH_ADMIN, then localhost:8081. Tables by default,
// the API's JSON with --json. Exit codes: 0 done, 1 the node refused or
// failed the request, 2 bad command line, 3 the node cannot be reached,
// 4 not found.

#include "io/http_client.hpp"
#include "protocol/primitives.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

using namespace hearth;
using nlohmann::json;

namespace {

enum exit_code { done = 0, refused = 1, usage = 2, unreachable = 3, not_found = 4 };

struct client {
  std::string base;
  bool raw_json = false;
  std::string token;   // the admin API's bearer token; empty: none
  std::string ca_file; // CAs for an https:// node; empty: the system's

  /// Calls the API; on failure prints one line and returns the exit code.
  std::variant<json, exit_code> call(const std::string& method, const std::string& path,
                                     const std::string& body = {},
                                     const std::vector<std::string>& headers = {}) const {
    auto all = headers;
    if (!token.empty())
      all.push_back("Authorization: Bearer " + token);
    auto r = io::http_call(method, base + path, body, all, std::chrono::seconds{120}, ca_file);
    if (!r) {
      std::cerr << "hearth: " << r.err().message << std::endl;
      return unreachable;
    }
    auto j = json::parse(r->body, nullptr, false);
    if (r->status >= 400) {
      std::string why = !j.is_discarded() && j.contains("error") ? j["error"].get<std::string>()
                                                                  : r->body;
      std::cerr << "hearth: " << why << " (HTTP " << r->status << ")" << std::endl;
      return r->status == 404 ? not_found : refused;
    }
    if (j.is_discarded()) {
      std::cerr << "hearth: the node answered something that is not JSON" << std::endl;
      return refused;
    }
    return j;
  }
};

std::string text(const json& v) {
  if (v.is_string())
    return v.get<std::string>();
  if (v.is_null())
    return "-";
  return v.dump();
}

std::string addr(const json& a) {
  return text(a["namespace"]) + "/" + text(a["type"]) + " " + text(a["id"]);
}

void table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(head.size());
  for (size_t i = 0; i < head.size(); ++i)
    w[i] = head[i].size();
  for (auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i)
      w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size(); ++i)
      std::cout << std::left << std::setw(static_cast<int>(w[i]) + 2) << r[i];
    std::cout << "\n";
  };
  line(head);
  for (auto& r : rows)
    line(r);
}

std::string shown(const json& v) {
  if (v.contains("value"))
    return text(v["value"]);
  if (v.contains("json"))
    return v["json"].dump();
  return "hex:" + text(v["hex"]);
}

int print(const client& c, const std::variant<json, exit_code>& r,
          const std::function<void(const json&)>& human) {
  if (auto* code = std::get_if<exit_code>(&r))
    return *code;
  auto& j = std::get<json>(r);
  if (c.raw_json)
    std::cout << j.dump(2) << "\n";
  else
    human(j);
  return done;
}

/// Percent-encodes everything but unreserved characters (and '/' when asked).
std::string encode(const std::string& in, bool keep_slash = false) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
      out.push_back(static_cast<char>(c));
    else
      out += {'%', hex[c >> 4], hex[c & 15]};
  }
  return out;
}

bool split_type(const std::string& t, std::string& out) {
  auto slash = t.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == t.size()
      || t.find('/', slash + 1) != std::string::npos)
    return false;
  out = t;
  return true;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"hearth: inspect and drive a Hearth node through its admin API"};
  app.require_subcommand(1);
  // Global options also after the subcommand (hearth actors --json); set
  // before the subcommands are made, which inherit it.
  app.fallthrough();
  client c;
  const char* env = std::getenv("HEARTH_ADMIN");
  std::string node = env && *env ? env : "localhost:8081";
  app.add_option("--node", node, "admin API address (default $HEARTH_ADMIN or localhost:8081)");
  app.add_flag("--json", c.raw_json, "print the API's JSON");
  app.add_option("--cacert", c.ca_file, "CA certificates to check an https:// node against");
  std::string token_file;
  app.add_option("--token-file", token_file,
                 "file holding the admin API's token (default: $HEARTH_TOKEN)");

  auto* status = app.add_subcommand("status", "node status and counters");
  auto* functions = app.add_subcommand("functions", "function types and their endpoints");
  auto* actors = app.add_subcommand("actors", "live address actors");
  std::string type_filter, prefix;
  std::uint64_t limit = 50, offset = 0;
  actors->add_option("--type", type_filter, "only this function type (ns/name)");
  actors->add_option("--prefix", prefix, "only ids starting with this");
  actors->add_option("--limit", limit, "page size (at most 1000)")->check(CLI::Range(1, 1000));
  actors->add_option("--offset", offset, "first entry of the page");

  auto* state = app.add_subcommand("state", "one address: state, pending and delayed messages");
  std::string fn_type, id;
  state->add_option("type", fn_type, "function type ns/name (or the whole address ns/name/id)")->required();
  state->add_option("id", id, "address id");

  auto* send = app.add_subcommand("send", "send a message to an address");
  std::string value_type, s_value, json_value, file;
  std::int64_t int_value = 0;
  bool wait = false;
  std::uint64_t timeout_ms = 10'000;
  send->add_option("type", fn_type, "function type ns/name (or the whole address ns/name/id)")->required();
  send->add_option("id", id, "address id");
  send->add_option("--type", value_type, "the message's typename");
  auto* o_string = send->add_option("--string", s_value, "a string (io.statefun.types/string)");
  auto* o_int = send->add_option("--int", int_value, "an int (io.statefun.types/int)");
  auto* o_json = send->add_option("--json", json_value, "JSON text (needs --type)");
  auto* o_file = send->add_option("--file", file, "the bytes of a file (needs --type)");
  o_string->excludes(o_int, o_json, o_file);
  o_int->excludes(o_json, o_file);
  o_json->excludes(o_file);
  send->add_flag("--wait", wait, "wait until it has been applied and show its effects");
  send->add_option("--timeout-ms", timeout_ms, "how long --wait waits");

  auto* dead = app.add_subcommand("dead-letters", "list, show, replay or drop dead letters");
  std::string dl_action = "list", dl_id;
  dead->add_option("action", dl_action, "list | show | replay | drop")
    ->check(CLI::IsMember({"list", "show", "replay", "drop"}));
  dead->add_option("id", dl_id, "dead letter id");

  auto* checkpoints = app.add_subcommand("checkpoints", "list checkpoints or trigger one");
  std::string cp_action = "list";
  checkpoints->add_option("action", cp_action, "list | trigger")
    ->check(CLI::IsMember({"list", "trigger"}));

  auto* cluster = app.add_subcommand("cluster", "the cluster's members, epoch and key groups; drain NODE");
  std::string cluster_action = "status";
  std::string cluster_node;
  cluster->add_option("action", cluster_action, "status | drain")->check(CLI::IsMember({"status", "drain"}));
  cluster->add_option("node", cluster_node, "the node to drain");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? done : usage;
  }
  c.base = (node.rfind("http://", 0) == 0 || node.rfind("https://", 0) == 0 ? "" : "http://") + node;
  if (!token_file.empty()) {
    std::ifstream in{token_file};
    if (!in) {
      std::cerr << "hearth: --token-file " << token_file << ": cannot be read" << std::endl;
      return usage;
    }
    std::getline(in, c.token);
  } else if (const char* t = std::getenv("HEARTH_TOKEN"); t && *t) {
    c.token = t;
  }
  while (!c.token.empty() && std::isspace(static_cast<unsigned char>(c.token.back())))
    c.token.pop_back();
  while (!c.token.empty() && std::isspace(static_cast<unsigned char>(c.token.front())))
    c.token.erase(0, 1);

  if (status->parsed())
    return print(c, c.call("GET", "/status"), [](const json& j) {
      std::cout << "version " << text(j["version"]) << ", up " << j["uptime_ms"].get<long>() / 1000
                << " s, restored checkpoint " << text(j["restored_checkpoint"]) << "\n";
      for (auto& [name, port] : j["ports"].items())
        std::cout << name << " " << text(port) << "\n";
      std::vector<std::vector<std::string>> rows;
      for (auto& p : j["partitions"])
        rows.push_back({text(p["partition"]),
                        text(p["key_groups"][0]) + "-" + text(p["key_groups"][1]),
                        text(p["live_addresses"]), text(p["pending_invocations"]),
                        text(p["invocations_completed"]), text(p["dead_letters_written"])});
      table({"PARTITION", "KEY GROUPS", "LIVE", "PENDING", "COMPLETED", "DEAD LETTERS"}, rows);
      if (!j["last_checkpoint"].is_null())
        std::cout << "last checkpoint " << text(j["last_checkpoint"]["id"]) << "\n";
    });
  if (functions->parsed())
    return print(c, c.call("GET", "/functions"), [](const json& j) {
      std::vector<std::vector<std::string>> rows;
      for (auto& e : j["endpoints"])
        rows.push_back({text(e["functions"]), text(e["url_template"]),
                        text(e["max_num_batch_requests"]), text(e["call_ms"])});
      table({"FUNCTIONS", "URL", "MAX BATCH", "CALL MS"}, rows);
      if (!j["types"].empty()) {
        std::cout << "\n";
        std::vector<std::vector<std::string>> types;
        for (auto& t : j["types"])
          types.push_back({text(t["type"]), text(t["endpoint"])});
        table({"TYPE", "ENDPOINT"}, types);
      }
    });
  if (actors->parsed()) {
    std::string t;
    if (!type_filter.empty() && !split_type(type_filter, t)) {
      std::cerr << "hearth: --type must be <namespace>/<name>" << std::endl;
      return usage;
    }
    std::string path = "/actors?limit=" + std::to_string(limit) + "&offset=" + std::to_string(offset);
    if (!t.empty())
      path += "&type=" + encode(t);
    if (!prefix.empty())
      path += "&prefix=" + encode(prefix);
    return print(c, c.call("GET", path), [](const json& j) {
      std::vector<std::vector<std::string>> rows;
      // A cluster member lists the whole cluster: then each address's node too.
      bool clustered = false;
      for (auto& a : j["actors"])
        clustered = clustered || (a.contains("node") && !a["node"].is_null());
      for (auto& a : j["actors"]) {
        rows.push_back({addr(a["address"]), text(a["pending"]), a["busy"].get<bool>() ? "busy" : "idle",
                        text(a["invocations"]), text(a["failures"])});
        if (clustered)
          rows.back().push_back(a["node"].is_null() ? "-" : text(a["node"]));
      }
      std::vector<std::string> heads{"ADDRESS", "PENDING", "STATE", "INVOCATIONS", "FAILURES"};
      if (clustered)
        heads.push_back("NODE");
      table(heads, rows);
      std::cout << j["actors"].size() << " of " << text(j["total"]) << "\n";
    });
  }
  // An address as one argument: ns/name/id (the id may hold more slashes).
  if ((state->parsed() || send->parsed()) && id.empty()) {
    auto first = fn_type.find('/');
    auto second = first == std::string::npos ? std::string::npos : fn_type.find('/', first + 1);
    if (second == std::string::npos || second + 1 == fn_type.size()) {
      std::cerr << "hearth: give the address as <namespace>/<name> <id> or <namespace>/<name>/<id>, got '"
                << fn_type << "'" << std::endl;
      return usage;
    }
    id = fn_type.substr(second + 1);
    fn_type.resize(second);
  }
  std::string t;
  if ((state->parsed() || send->parsed()) && !split_type(fn_type, t)) {
    std::cerr << "hearth: the function type must be <namespace>/<name>, got '" << fn_type << "'"
              << std::endl;
    return usage;
  }
  if (state->parsed())
    return print(c, c.call("GET", "/actors/" + encode(t, true) + "/" + encode(id)), [](const json& j) {
      std::cout << addr(j["address"]) << (j["live"].get<bool>() ? " (live)" : " (passivated)")
                << "\n";
      std::vector<std::vector<std::string>> rows;
      for (auto& [name, v] : j["states"].items())
        rows.push_back({name, text(v["typename"]), shown(v)});
      table({"STATE", "TYPE", "VALUE"}, rows);
      std::cout << "pending messages: " << j["pending_messages"].size()
                << ", delayed messages: " << j["delayed_messages"].size() << "\n";
    });
  if (send->parsed()) {
    std::string body, typename_;
    if (*o_string) {
      typename_ = value_type.empty() ? protocol::string_type_name : value_type;
      body = typename_ == protocol::string_type_name ? protocol::make_string(s_value).value.str() : s_value;
    } else if (*o_int) {
      typename_ = value_type.empty() ? protocol::int_type_name : value_type;
      if (int_value < INT32_MIN || int_value > INT32_MAX) {
        std::cerr << "hearth: --int must fit in 32 bits" << std::endl;
        return usage;
      }
      body = protocol::make_int(static_cast<std::int32_t>(int_value)).value;
    } else if (*o_json || *o_file) {
      if (value_type.empty()) {
        std::cerr << "hearth: --json and --file need --type <namespace>/<name>" << std::endl;
        return usage;
      }
      typename_ = value_type;
      if (*o_json) {
        if (json::parse(json_value, nullptr, false).is_discarded()) {
          std::cerr << "hearth: --json is not valid JSON" << std::endl;
          return usage;
        }
        body = json_value;
      } else {
        std::ifstream in{file, std::ios::binary};
        if (!in) {
          std::cerr << "hearth: cannot read " << file << std::endl;
          return usage;
        }
        std::stringstream ss;
        ss << in.rdbuf();
        body = ss.str();
      }
    } else {
      std::cerr << "hearth: give the message with --string, --int, --json or --file" << std::endl;
      return usage;
    }
    std::string path = "/actors/" + encode(t, true) + "/" + encode(id) + "/messages";
    if (wait)
      path += "?wait=true&timeout_ms=" + std::to_string(timeout_ms);
    return print(c, c.call("POST", path, body, {"Content-Type: application/vnd." + typename_}),
                 [](const json& j) {
                   std::cout << text(j["status"]) << " (offset " << text(j["offset"]) << ")\n";
                   if (j.contains("applied")) {
                     auto& a = j["applied"];
                     if (a.is_boolean()) {
                       std::cout << "not applied yet: " << text(j["reason"]) << "\n";
                       return;
                     }
                     std::cout << "applied: " << (a["failed"].get<bool>() ? "failed, " : "")
                               << "states changed " << a["states_changed"].dump()
                               << ", messages sent " << text(a["messages_sent"])
                               << ", delayed " << text(a["delayed"]) << ", egress records "
                               << text(a["egress_records"]) << "\n";
                   }
                 });
  }
  if (dead->parsed()) {
    if (dl_action != "list" && dl_id.empty()) {
      std::cerr << "hearth: dead-letters " << dl_action << " needs an id" << std::endl;
      return usage;
    }
    if (dl_action == "list")
      return print(c, c.call("GET", "/dead-letters"), [](const json& j) {
        std::vector<std::vector<std::string>> rows;
        for (auto& d : j["dead_letters"])
          rows.push_back({text(d["id"]), addr(d["address"]), std::to_string(d["messages"].size()),
                          text(d["reason"])});
        table({"ID", "ADDRESS", "MESSAGES", "REASON"}, rows);
      });
    if (dl_action == "show")
      return print(c, c.call("GET", "/dead-letters/" + dl_id),
                   [](const json& j) { std::cout << j.dump(2) << "\n"; });
    if (dl_action == "replay")
      return print(c, c.call("POST", "/dead-letters/" + dl_id + "/replay"),
                   [](const json& j) { std::cout << "replayed " << text(j["replayed"]) << "\n"; });
    return print(c, c.call("DELETE", "/dead-letters/" + dl_id),
                 [](const json& j) { std::cout << "deleted " << text(j["deleted"]) << "\n"; });
  }
  if (cluster->parsed() && cluster_action == "drain") {
    if (cluster_node.empty()) {
      std::cerr << "hearth: cluster drain needs the node's id\n";
      return 2;
    }
    return print(c, c.call("POST", "/cluster/drain/" + cluster_node), [&](const json& j) {
      std::cout << "draining " << text(j["drained"]) << " (epoch " << text(j["epoch"])
                << "): its key groups move to the others; it leaves once a checkpoint covers its log\n";
    });
  }
  if (cluster->parsed())
    return print(c, c.call("GET", "/cluster"), [](const json& j) {
      std::cout << "epoch " << text(j["epoch"]) << ", coordinator " << text(j["coordinator"])
                << ", seen from " << text(j["node"]) << (j["member"].get<bool>() ? "" : " (not a member)")
                << "\n";
      if (!j["problem"].is_null())
        std::cout << "problem: " << text(j["problem"]) << "\n";
      if (j.contains("last_checkpoint") && !j["last_checkpoint"].is_null())
        std::cout << "last checkpoint " << text(j["last_checkpoint"]["id"]) << ", "
                  << text(j["last_checkpoint"]["age_ms"]) << " ms ago\n";
      std::vector<std::vector<std::string>> rows;
      for (auto& m : j["members"]) {
        std::string groups;
        for (auto& r : m["key_groups"])
          groups += (groups.empty() ? "" : " ") + text(r[0]) + "-" + std::to_string(r[1].get<int>() - 1);
        rows.push_back({text(m["id"]), text(m["incarnation"]), text(m["address"]), text(m["state"]),
                        text(m["partitions"]), groups.empty() ? "-" : groups});
      }
      table({"NODE", "INCARNATION", "ADDRESS", "STATE", "PARTITIONS", "KEY GROUPS"}, rows);
    });
  if (checkpoints->parsed()) {
    auto show = [](const json& c) {
      return std::vector<std::string>{text(c["id"]), text(c["duration_ms"]), text(c["bytes"]),
                                      text(c["full_parts"]), text(c["messages"])};
    };
    if (cp_action == "trigger")
      return print(c, c.call("POST", "/checkpoints"), [&](const json& j) {
        table({"ID", "DURATION MS", "BYTES", "FULL PARTS", "MESSAGES"}, {show(j)});
      });
    return print(c, c.call("GET", "/checkpoints"), [&](const json& j) {
      std::vector<std::vector<std::string>> rows;
      for (auto& cp : j["checkpoints"])
        rows.push_back(show(cp));
      table({"ID", "DURATION MS", "BYTES", "FULL PARTS", "MESSAGES"}, rows);
    });
  }
  return usage;
}
