// Admin API parameters: any method, path, query, header and body against a
// real node (its function client fails every call at once). Every request is
// answered with a status in [200, 600) and, for the API, a JSON body.
// Input: path, query ("a=b&c=d"), Authorization header and body separated by
// "\n--\n"; the first byte of the input picks the method.

#include "actors/node.hpp"
#include "apps/http_apis.hpp"
#include "fuzz_util.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>

using namespace hearth;

namespace {

class failing_client final : public io::function_client {
public:
  void invoke(io::function_request, io::completion done) override {
    done(io::function_reply{error{errc::unavailable, "no function in this fuzz target"}, 1});
  }
  void shutdown() override {}
};

const char* module_yaml = R"(kind: io.statefun.endpoints.v2/http
spec:
  functions: test/*
  urlPathTemplate: http://127.0.0.1:1/{function.name}
  transport:
    call: 1s
)";

struct harness {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<actors::node> node;
  io::http_handler admin;

  harness() {
    cfg.set("scheduler.max-threads", size_t{2});
    sys = std::make_unique<caf::actor_system>(cfg);
    auto module = io::parse_module(module_yaml, "fuzz.yaml");
    actors::node_options opts;
    opts.data_dir = fuzz::fresh_dir("admin");
    opts.partitions = 2;
    auto n = actors::node::start(*sys, opts,
                                 std::make_shared<const io::module_config>(std::move(*module)),
                                 std::make_shared<failing_client>());
    if (!n)
      std::abort();
    node = std::move(*n);
    auto info = std::make_shared<apps::node_info>();
    info->version = "fuzz";
    info->admin_token = "a-token-of-32-characters-exactly";
    admin = apps::admin_api(*node, info);
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  // Never destroyed: at exit, static destructors of libraries that ran after
  // it was built would otherwise run before the actor system's.
  static harness& h = *new harness;
  if (size == 0)
    return 0;
  static const char* methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
  io::http_request req;
  req.method = methods[data[0] % 5];
  fuzz::fields in{data + 1, size - 1};
  req.path = in.next();
  auto query = in.next();
  auto authorization = in.next();
  req.body = in.rest();
  for (size_t pos = 0; pos <= query.size();) {
    auto end = std::min(query.find('&', pos), query.size());
    auto pair = query.substr(pos, end - pos);
    auto eq = pair.find('=');
    req.params.emplace(pair.substr(0, eq), eq == std::string::npos ? "" : pair.substr(eq + 1));
    pos = end + 1;
  }
  req.content_type = "application/vnd.test/Command";
  req.header = [&](const std::string& name) {
    return name == "Authorization" ? authorization : std::string{};
  };
  if (req.method == "POST" && req.path.find("/messages") != std::string::npos)
    req.params.emplace("timeout_ms", "50"); // do not wait for the failing function long
  auto res = h.admin(req);
  if (res.status < 200 || res.status >= 600)
    std::abort();
  if (res.content_type == "application/json" && nlohmann::json::parse(res.body, nullptr, false).is_discarded())
    std::abort();
  return 0;
}
