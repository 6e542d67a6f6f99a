// hearth-node: one Hearth node. Loads a module.yaml, opens the partitions'
// stores under --data-dir, serves the playground ingress/egress the module
// declares and the admin API, and runs until SIGTERM or SIGINT, when it
// persists everything unfinished and exits 0.
//
// Exit codes: 0 clean shutdown, 1 runtime failure (storage, ports), 2 bad
// command line or module.yaml.

#include "actors/cluster_agent.hpp"
#include "actors/node.hpp"
#include "actors/scheduler.hpp"
#include "actors/wire.hpp"
#include "apps/http_apis.hpp"
#include "apps/s3_checkpoints.hpp"
#include "io/aws_credentials.hpp"
#include "io/function_client.hpp"
#include "io/http_server.hpp"
#include "io/module.hpp"
#include "io/playground.hpp"
#include "state/node_identity.hpp"

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sys/resource.h>
#include <thread>

using namespace hearth;

namespace {

struct settings {
  std::uint32_t partitions = std::max(1u, std::thread::hardware_concurrency());
  std::uint32_t max_key_groups = 128;
  std::uint64_t max_body_bytes = 32ull << 20;
  unsigned ingress_threads = 64;
  // CAF's worker threads (partitions, address actors): one core is left to
  // the node's I/O threads (docs/benchmarks.md measures 1 worker against 2
  // on 2 cores).
  unsigned scheduler_threads = std::max(2u, std::thread::hardware_concurrency()) - 1;
  std::uint64_t idle_ms = 60'000;
  std::uint64_t max_live = 100'000;
  std::uint64_t max_pending = 10'000;
  std::uint64_t checkpoint_interval_ms = 1000;
  std::uint64_t checkpoints_kept = 3;
  std::uint64_t full_every = 10;
  std::uint64_t retention_ms = 3'600'000;
  std::uint64_t map_size = 1ull << 34;
  std::uint64_t min_free_bytes = 64ull << 20;
  std::uint64_t max_checkpoint_age_ms = 0; // 0: the larger of 60 s and 3 intervals
  std::uint64_t admin_timeout_ms = 30'000; // an admin call's wait for a partition
  io::http_server_options http;            // limits and deadlines of every server
  std::uint64_t heartbeat_ms = 500;        // between nodes of a cluster
  std::uint64_t node_timeout_ms = 3000;    // a silent node is declared gone after this
  std::uint64_t join_timeout_ms = 60'000;  // the start fails when not a member by then
  // Checkpoints in S3 (--checkpoint-dir s3://bucket/prefix).
  std::string s3_endpoint;                 // empty: AWS's, for s3_region
  std::string s3_region;                   // empty: $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1
  bool s3_path_style = true;
  bool s3_create_bucket = false;
};

bool boolean(const std::string& key, const std::string& value);


/// Prints `msg` and exits at once with `code`: threads (CAF's, the HTTP
/// servers') may be running, so nothing is torn down on the way out.
[[noreturn]] void die(int code, const std::string& msg) {
  std::cerr << "hearth-node: " << msg << std::endl;
  std::cout.flush();
  std::_Exit(code);
}

std::uint64_t duration_ms(const std::string& key, const std::string& value) {
  auto d = io::parse_duration(value);
  if (!d)
    die(2, "--set " + key + "=" + value + ": " + d.err().message);
  return static_cast<std::uint64_t>(d->count());
}

std::uint64_t positive_ms(const std::string& key, const std::string& value) {
  auto ms = duration_ms(key, value);
  if (ms == 0)
    die(2, "--set " + key + "=" + value + ": must be at least 1ms");
  return ms;
}

std::uint64_t number(const std::string& key, const std::string& value, std::uint64_t lo,
                     std::uint64_t hi) {
  try {
    size_t used = 0;
    auto v = std::stoull(value, &used);
    if (used == value.size() && v >= lo && v <= hi && value[0] != '-')
      return v;
  } catch (...) {
  }
  die(2, "--set " + key + "=" + value + ": expected an integer in [" + std::to_string(lo) + ", "
           + std::to_string(hi) + "]");
}

bool boolean(const std::string& key, const std::string& value) {
  if (value == "true")
    return true;
  if (value == "false")
    return false;
  die(2, "--set " + key + "=" + value + ": expected true or false");
}

/// The object store of `--checkpoint-dir s3://...` (null for a directory).
/// Dies with a clear message when S3 cannot be used.
std::shared_ptr<state::object_store> checkpoint_store(const std::string& checkpoint_dir,
                                                      const settings& s) {
  auto where = apps::parse_s3_url(checkpoint_dir);
  if (!where)
    die(2, "--checkpoint-dir: " + where.err().message);
  if (!*where)
    return nullptr;
  io::aws_region region;
  if (!s.s3_endpoint.empty()) {
    region.type = io::aws_region::kind::custom_endpoint;
    region.endpoint = s.s3_endpoint;
    region.id = s.s3_region;
  } else if (!s.s3_region.empty()) {
    region.type = io::aws_region::kind::specific;
    region.id = s.s3_region;
  }
  io::s3_options o;
  auto endpoint = io::aws::endpoint_for(region, "s3", &o.region);
  if (!endpoint)
    die(2, "--checkpoint-dir " + checkpoint_dir + ": " + endpoint.err().message
             + " (set s3.region or s3.endpoint)");
  o.endpoint = *endpoint;
  auto creds = io::aws::resolve_credentials(io::aws_credentials{});
  if (!creds)
    die(2, "--checkpoint-dir " + checkpoint_dir + ": " + creds.err().message);
  o.credentials = std::move(*creds);
  o.path_style = s.s3_path_style;
  auto client = io::s3_client::open(std::move(o));
  if (!client)
    die(2, "--checkpoint-dir " + checkpoint_dir + ": " + client.err().message);
  std::shared_ptr<io::s3_client> shared{std::move(*client)};
  if (s.s3_create_bucket)
    if (auto made = shared->create_bucket((*where)->bucket); !made && made.err().code != errc::conflict)
      die(1, "--checkpoint-dir " + checkpoint_dir + ": cannot create the bucket: " + made.err().message);
  auto store = apps::s3_checkpoint_store(shared, **where);
  // Reached now, so that a wrong endpoint, bucket or key fails the start.
  if (auto probe = store->list("manifest-"); !probe)
    die(1, "--checkpoint-dir " + checkpoint_dir + ": " + probe.err().message);
  return store;
}

settings parse_settings(const std::vector<std::string>& sets) {
  settings s;
  for (auto& kv : sets) {
    auto eq = kv.find('=');
    if (eq == std::string::npos)
      die(2, "--set " + kv + ": expected key=value");
    auto key = kv.substr(0, eq), value = kv.substr(eq + 1);
    if (key == "partitions")
      s.partitions = static_cast<std::uint32_t>(number(key, value, 1, 1024));
    else if (key == "max_key_groups")
      s.max_key_groups = static_cast<std::uint32_t>(number(key, value, 1, 65536));
    else if (key == "ingress.max_body_bytes")
      s.max_body_bytes = number(key, value, 1, 1ull << 31);
    else if (key == "ingress.threads")
      s.ingress_threads = static_cast<unsigned>(number(key, value, 1, 4096));
    else if (key == "scheduler.threads")
      s.scheduler_threads = static_cast<unsigned>(number(key, value, 1, 1024));
    else if (key == "passivation.idle_ms")
      s.idle_ms = number(key, value, 1, 1ull << 40);
    else if (key == "passivation.max_live")
      s.max_live = number(key, value, 1, 1ull << 32);
    else if (key == "partition.max_pending")
      s.max_pending = number(key, value, 1, 1ull << 32);
    else if (key == "checkpoint.interval")
      s.checkpoint_interval_ms = duration_ms(key, value);
    else if (key == "checkpoint.keep")
      s.checkpoints_kept = number(key, value, 1, 1000);
    else if (key == "checkpoint.full_every")
      s.full_every = number(key, value, 1, 1000);
    else if (key == "ingress.idempotency_retention")
      s.retention_ms = duration_ms(key, value);
    else if (key == "storage.map_size")
      s.map_size = number(key, value, 1ull << 20, 1ull << 40);
    else if (key == "health.min_free_bytes")
      s.min_free_bytes = number(key, value, 0, 1ull << 50);
    else if (key == "health.max_checkpoint_age")
      s.max_checkpoint_age_ms = duration_ms(key, value);
    else if (key == "admin.timeout")
      s.admin_timeout_ms = positive_ms(key, value);
    else if (key == "http.max_connections")
      s.http.max_connections = static_cast<unsigned>(number(key, value, 1, 1u << 20));
    else if (key == "http.max_header_bytes")
      s.http.max_header_bytes = number(key, value, 1024, 1u << 20);
    else if (key == "http.idle_timeout")
      s.http.idle_timeout = std::chrono::milliseconds{positive_ms(key, value)};
    else if (key == "http.header_timeout")
      s.http.header_timeout = std::chrono::milliseconds{positive_ms(key, value)};
    else if (key == "http.body_timeout")
      s.http.body_timeout = std::chrono::milliseconds{positive_ms(key, value)};
    else if (key == "cluster.heartbeat")
      s.heartbeat_ms = positive_ms(key, value);
    else if (key == "cluster.node_timeout")
      s.node_timeout_ms = positive_ms(key, value);
    else if (key == "cluster.join_timeout")
      s.join_timeout_ms = positive_ms(key, value);
    else if (key == "s3.endpoint")
      s.s3_endpoint = value;
    else if (key == "s3.region")
      s.s3_region = value;
    else if (key == "s3.path_style")
      s.s3_path_style = boolean(key, value);
    else if (key == "s3.create_bucket")
      s.s3_create_bucket = boolean(key, value);
    else
      die(2, "--set " + kv + ": unknown setting '" + key
               + "' (known: partitions, max_key_groups, ingress.max_body_bytes, ingress.threads, "
                 "scheduler.threads, "
                 "passivation.idle_ms, passivation.max_live, partition.max_pending, checkpoint.interval, "
                 "checkpoint.keep, checkpoint.full_every, ingress.idempotency_retention, storage.map_size, "
                 "health.min_free_bytes, health.max_checkpoint_age, admin.timeout, http.max_connections, "
                 "http.max_header_bytes, http.idle_timeout, http.header_timeout, http.body_timeout, "
                 "cluster.heartbeat, cluster.node_timeout, cluster.join_timeout, s3.endpoint, "
                 "s3.region, s3.path_style, s3.create_bucket)");
  }
  if (s.node_timeout_ms <= s.heartbeat_ms)
    die(2, "--set cluster.node_timeout must be longer than cluster.heartbeat");
  if (s.partitions > s.max_key_groups)
    die(2, "--set partitions=" + std::to_string(s.partitions)
             + ": cannot exceed max_key_groups=" + std::to_string(s.max_key_groups));
  return s;
}

/// True for addresses only this machine can reach.
bool loopback(const std::string& bind) {
  return bind == "localhost" || bind == "::1" || bind.rfind("127.", 0) == 0;
}

/// The admin token in `path`, without surrounding whitespace.
std::string read_token(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    die(2, "--admin-token-file " + path + ": cannot be read");
  std::string token{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  auto first = token.find_first_not_of(" \t\r\n");
  auto last = token.find_last_not_of(" \t\r\n");
  if (first == std::string::npos)
    die(2, "--admin-token-file " + path + ": the file is empty");
  token = token.substr(first, last - first + 1);
  if (token.size() < 16)
    die(2, "--admin-token-file " + path + ": the token must have at least 16 characters");
  return token;
}

/// Raises the soft limit on open files to the hard one: a node holds one
/// socket per function connection (up to the endpoints' pool_size) and per
/// ingress connection, more than the usual soft limit of 1024.
void raise_open_files_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

/// Starts this node's cluster agent on `port` and waits until the node is a
/// member (or dies with the reason it cannot be).
caf::actor join_cluster(caf::actor_system& sys, const std::string& module_path,
                        const std::string& data_dir, const std::string& checkpoint_dir,
                        const std::string& bind, const std::string& advertise, int port,
                        const std::vector<actors::endpoint>& seeds,
                        const state::node_identity* identity, const settings& s,
                        apps::node_info& info, actors::node& node) {
  namespace fs = std::filesystem;
  std::ifstream in{module_path};
  std::string module_text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  actors::cluster_agent_config acfg;
  acfg.self = {identity->id, identity->incarnation, advertise, 0, s.partitions, false};
  acfg.terms = {std::move(module_text), s.max_key_groups};
  acfg.seeds = seeds;
  auto shared = checkpoint_dir.empty() ? (fs::path{data_dir} / "checkpoints").string() : checkpoint_dir;
  acfg.metadata_path = (fs::path{shared} / "CLUSTER").string();
  acfg.next_incarnation = [data_dir, id = identity->id]() -> result<std::uint64_t> {
    auto next = state::next_incarnation(data_dir, id);
    if (!next)
      return next.err();
    return next->incarnation;
  };
  // The node's pipeline follows the cluster's epochs (the agent stops before
  // the node is destroyed).
  acfg.on_view = [&node](const actors::cluster_view& v, bool fenced) {
    node.cluster_view_changed(v, fenced);
  };
  acfg.on_restore = [&node](std::uint64_t epoch, std::uint64_t checkpoint, caf::actor coordinator) {
    node.cluster_restore(epoch, checkpoint, std::move(coordinator));
  };
  acfg.on_go = [&node](actors::cluster_wiring w) { node.cluster_go(std::move(w)); };
  // A drained node that left stops as on SIGTERM (and exits 0).
  acfg.on_left = [] {
    std::cerr << "hearth-node: drained: this node left the cluster" << std::endl;
    ::kill(::getpid(), SIGTERM);
  };
  auto agent = sys.spawn(actors::cluster_agent, std::move(acfg));
  node.set_cluster_agent(agent);
  auto published = sys.middleman().publish(agent, static_cast<std::uint16_t>(port), bind.c_str(), true);
  if (!published) {
    caf::anon_send_exit(agent, caf::exit_reason::user_shutdown);
    die(1, "--cluster-port " + std::to_string(port) + ": cannot listen on " + bind + ": "
             + sys.render(published.error()));
  }
  std::cerr << "hearth-node: cluster agent of node " << identity->id << " (incarnation "
            << identity->incarnation << ") listening on " << bind << ":" << *published << std::endl;
  caf::scoped_actor self{sys};
  std::optional<actors::cluster_status> joined;
  std::string problem;
  self->request(agent, std::chrono::milliseconds{s.join_timeout_ms}, actors::start_atom::value, *published)
    .receive([&](actors::cluster_status& st) { joined = std::move(st); },
             [&](caf::error& err) {
               auto& ctx = err.context();
               problem = ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0) : sys.render(err);
             });
  if (!joined) {
    caf::anon_send_exit(agent, caf::exit_reason::user_shutdown);
    die(problem.find("cannot join") != std::string::npos ? 2 : 1, "cannot join the cluster: " + problem);
  }
  info.set_cluster([agent, &sys]() -> std::optional<actors::cluster_status> {
    caf::scoped_actor self{sys};
    std::optional<actors::cluster_status> out;
    self->request(agent, std::chrono::seconds{5}, actors::cstatus_atom::value)
      .receive([&](actors::cluster_status& st) { out = std::move(st); }, [](caf::error&) {});
    return out;
  });
  info.set_drain([agent, &sys](const std::string& id) -> result<actors::cluster_view> {
    caf::scoped_actor self{sys};
    result<actors::cluster_view> out = error{errc::unavailable, "the cluster agent does not answer"};
    self->request(agent, std::chrono::seconds{10}, actors::drain_atom::value, id)
      .receive([&](actors::cluster_view& v) { out = std::move(v); },
               [&](caf::error& err) {
                 auto& ctx = err.context();
                 auto why = ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0) : sys.render(err);
                 auto code = why.find("is not a member") != std::string::npos ? errc::unknown
                             : why.find("cannot be drained") != std::string::npos
                                 || why.find("last one") != std::string::npos
                               ? errc::conflict
                               : errc::unavailable;
                 out = error{code, why};
               });
    return out;
  });
  return agent;
}

} // namespace

int main(int argc, char** argv) {
  raise_open_files_limit();
  CLI::App app{"hearth-node: a stateful-functions runtime speaking StateFun's remote protocol"};
  std::string module_path, data_dir = "hearth-data", checkpoint_dir, bind = "127.0.0.1";
  int admin_port = 8081;
  std::vector<std::string> sets;
  app.add_option("--module", module_path, "module.yaml to load")->required();
  app.add_option("--data-dir", data_dir, "directory of the node's state")->capture_default_str();
  app.add_option("--checkpoint-dir", checkpoint_dir,
                 "directory of checkpoints (default: <data-dir>/checkpoints)");
  app.add_option("--admin-port", admin_port, "admin HTTP API port (0: any free port)")
    ->capture_default_str()
    ->check(CLI::Range(0, 65535));
  app.add_option("--bind", bind, "address the HTTP servers listen on")->capture_default_str();
  int ingress_port = -1, egress_port = -1;
  app.add_option("--ingress-port", ingress_port,
                 "the playground ingress's port instead of module.yaml's (0: any free port); "
                 "several nodes of a cluster on one machine share one module.yaml")
    ->check(CLI::Range(0, 65535));
  app.add_option("--egress-port", egress_port,
                 "the playground egress's port instead of module.yaml's (0: any free port)")
    ->check(CLI::Range(0, 65535));
  std::string console_dir;
  app.add_option("--console-dir", console_dir,
                 "web console files (default: <binary dir>/../console)");
  app.add_option("--set", sets, "setting key=value (repeatable)");
  std::string tls_cert, tls_key;
  app.add_option("--tls-cert", tls_cert,
                 "PEM certificate: the ingress, egress and admin servers speak HTTPS");
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert");
  std::string token_file;
  app.add_option("--admin-token-file", token_file,
                 "file holding the admin API's bearer token (required when --bind is not loopback)");
  int cluster_port = -1;
  std::string join, node_id;
  app.add_option("--cluster-port", cluster_port,
                 "join a cluster: the port this node's cluster agent listens on (0: any free port)")
    ->check(CLI::Range(0, 65535));
  app.add_option("--join", join, "HOST:PORT[,HOST:PORT...]: members to join the cluster through");
  std::string advertise;
  app.add_option("--advertise", advertise,
                 "the host other nodes reach this node's cluster port at (default: --bind; "
                 "required when --bind is a wildcard address)");
  app.add_option("--node-id", node_id,
                 "this node's id in the cluster (default: the one kept in the data dir, else generated)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  bool clustered = cluster_port >= 0;
  if (!clustered && (!join.empty() || !node_id.empty() || !advertise.empty()))
    die(2, "--join, --node-id and --advertise need --cluster-port");
  if (clustered && advertise.empty()) {
    if (bind == "0.0.0.0" || bind == "::" || bind.empty())
      die(2, "--bind " + bind + " is not an address other nodes can reach: give --advertise HOST");
    advertise = bind;
  }
  std::vector<actors::endpoint> seeds;
  if (!join.empty()) {
    auto parsed = actors::parse_endpoints(join);
    if (!parsed)
      die(2, "--join " + join + ": " + parsed.err().message);
    seeds = std::move(*parsed);
  }

  auto loaded = io::load_module(module_path);
  if (!loaded)
    die(2, loaded.err().message);
  if (ingress_port >= 0 && !loaded->ingress)
    die(2, "--ingress-port: " + module_path + " declares no io.statefun.playground.v1/ingress");
  if (egress_port >= 0 && !loaded->egress)
    die(2, "--egress-port: " + module_path + " declares no io.statefun.playground.v1/egress");
  if (ingress_port >= 0)
    loaded->ingress->port = static_cast<std::uint16_t>(ingress_port);
  if (egress_port >= 0)
    loaded->egress->port = static_cast<std::uint16_t>(egress_port);
  auto module = std::make_shared<const io::module_config>(std::move(*loaded));
  auto s = parse_settings(sets);
  if (tls_cert.empty() != tls_key.empty())
    die(2, "--tls-cert and --tls-key go together");
  std::string admin_token;
  if (!token_file.empty())
    admin_token = read_token(token_file);
  else if (!loopback(bind))
    die(2, "--bind " + bind + " exposes the admin API beyond this machine: give it a token with "
             "--admin-token-file FILE");

  // Signals are taken by sigwait in main; every thread started below inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", static_cast<size_t>(s.scheduler_threads));
  actors::use_lean_scheduler(cfg);
  if (clustered) {
    // Every node the same (cluster notes): a timeout on one node only would
    // disconnect healthy peers.
    cfg.load<caf::io::middleman>();
    cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds{s.heartbeat_ms}});
    cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::milliseconds{s.node_timeout_ms}});
    actors::add_wire_types(cfg);
  }
  caf::actor_system sys{cfg};
  if (clustered)
    if (auto ok = actors::check_wire_types(sys); !ok)
      die(1, ok.err().message);

  io::curl_client_options copts;
  // Calls in flight: the endpoints' largest pool_size (1024 unless a module
  // says otherwise), not more: a function server gets no more connections
  // than its pool allows.
  if (!module->endpoints.empty()) {
    copts.max_calls_in_flight = 1;
    for (auto& ep : module->endpoints)
      copts.max_calls_in_flight = std::max<long>(copts.max_calls_in_flight, ep.transport.pool_size);
  }
  std::shared_ptr<io::function_client> client = io::make_function_client(copts);

  actors::node_options nopts;
  nopts.data_dir = data_dir;
  nopts.partitions = s.partitions;
  nopts.max_key_groups = s.max_key_groups;
  nopts.idle = std::chrono::milliseconds{s.idle_ms};
  nopts.max_live = s.max_live;
  nopts.max_pending = s.max_pending;
  // A quarter of the ingress threads stays free of senders waiting for room.
  nopts.max_waiting = std::max<size_t>(1, s.ingress_threads - s.ingress_threads / 4);
  nopts.checkpoint_dir = checkpoint_dir;
  if ((nopts.checkpoint_store = checkpoint_store(checkpoint_dir, s)))
    nopts.checkpoint_dir = (std::filesystem::path{data_dir} / "checkpoint-cache").string();
  nopts.checkpoint_interval = std::chrono::milliseconds{s.checkpoint_interval_ms};
  nopts.checkpoints_kept = s.checkpoints_kept;
  nopts.full_every = s.full_every;
  nopts.idempotency_retention = std::chrono::milliseconds{s.retention_ms};
  nopts.map_size = s.map_size;
  nopts.min_free_bytes = s.min_free_bytes;
  nopts.max_checkpoint_age = std::chrono::milliseconds{
    s.max_checkpoint_age_ms != 0 ? s.max_checkpoint_age_ms
                                 : std::max<std::uint64_t>(60'000, 3 * s.checkpoint_interval_ms)};
  nopts.admin_timeout = std::chrono::milliseconds{s.admin_timeout_ms};
  std::optional<state::node_identity> identity;
  if (clustered) {
    // Before node::start, for the metrics' node label. A second process on a
    // running node's data dir gets a number too, then fails at the data dir's
    // lock: incarnations only have to grow.
    auto id = state::next_incarnation(data_dir, node_id);
    if (!id)
      die(id.err().code == errc::io ? 1 : 2, id.err().message);
    identity = std::move(*id);
    nopts.node_id = identity->id;
    nopts.clustered = true;
  }
  auto started = actors::node::start(sys, nopts, module, client);
  if (!started)
    die(started.err().code == errc::conflict ? 2 : 1, started.err().message);
  auto& node = **started;

  std::unique_ptr<io::http_server> ingress_srv, egress_srv, admin_srv;
  std::string ready = "hearth-node ready";
  auto info = std::make_shared<apps::node_info>();
  caf::actor agent;
  if (clustered)
    agent = join_cluster(sys, module_path, data_dir, nopts.checkpoint_dir, bind, advertise, cluster_port, seeds,
                         &*identity, s, *info, node);
  info->version = HEARTH_VERSION;
  info->admin_token = admin_token;
  auto serve = [&](std::unique_ptr<io::http_server>& slot, const char* name, std::uint16_t port,
                   auto h, std::uint64_t max_body) {
    io::http_server_options o = s.http;
    o.bind = bind;
    o.port = port;
    o.name = name;
    o.max_body_bytes = max_body;
    o.tls_cert = tls_cert;
    o.tls_key = tls_key;
    o.threads = std::string{name} == "ingress" ? s.ingress_threads : 8;
    auto srv = io::start_http_server(o, std::move(h));
    if (!srv) {
      node.shutdown();
      client->shutdown();
      die(1, srv.err().message);
    }
    slot = std::move(*srv);
    std::cerr << "hearth-node: " << name << " listening on " << bind << ":" << slot->port()
              << std::endl;
    auto address = bind + ":" + std::to_string(slot->port());
    info->set_port(name, address);
    ready += std::string{" "} + name + "=" + address;
  };
  if (module->ingress)
    serve(ingress_srv, "ingress", module->ingress->port, apps::ingress_api(node), s.max_body_bytes);
  if (module->egress)
    serve(egress_srv, "egress", module->egress->port,
          apps::egress_api(*module->egress, node), 1 << 20);
  if (console_dir.empty()) {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec)
      console_dir = (exe.parent_path().parent_path() / "console").string();
  }
  info->console_dir = console_dir;
  serve(admin_srv, "admin", static_cast<std::uint16_t>(admin_port), apps::admin_api(node, info),
        1 << 20);
  std::cerr << "hearth-node: " << module->endpoints.size() << " endpoint(s), " << s.partitions
            << " partition(s), " << s.max_key_groups << " key groups, data in " << data_dir
            << ", restored checkpoint " << node.restored_checkpoint() << std::endl;
  if (agent) {
    auto st = info->cluster();
    if (!st)
      die(1, "the cluster agent does not answer");
    ready += " cluster=" + st->self.host + ":" + std::to_string(st->self.port) + " node=" + st->self.id;
  }
  // One write: other threads log to stderr too, and the line must stay whole.
  std::cerr << (ready + "\n") << std::flush;

  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << "hearth-node: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
            << ", shutting down (again to stop at once)" << std::endl;
  std::thread([signals] {
    int again = 0;
    sigwait(&signals, &again);
    std::cerr << "hearth-node: stopped without persisting unfinished work" << std::endl;
    std::_Exit(130);
  }).detach();
  // New work is refused first and the ingress requests held back by
  // back-pressure are answered (their messages are in the log), so the
  // servers' threads are free when the servers stop; then a final checkpoint.
  auto unfinished = node.shutdown();
  if (unfinished > 0)
    std::cerr << "hearth-node: persisted " << unfinished
              << " unfinished message(s) for the next start" << std::endl;
  if (ingress_srv)
    ingress_srv->stop();
  client->shutdown();
  if (egress_srv)
    egress_srv->stop();
  admin_srv->stop();
  if (agent) {
    // Gone before the actor system shuts its middleman down.
    caf::scoped_actor self{sys};
    self->send_exit(agent, caf::exit_reason::user_shutdown);
    self->wait_for(agent);
  }
  started->reset();
  std::cerr << "hearth-node: stopped" << std::endl;
  if (agent) {
    // Everything durable is written and closed (the node's stores, log and
    // checkpoint files). A cluster member does not wait in the actor
    // system's shutdown for detached threads: with the middleman loaded,
    // members whose peers had gone were seen waiting there forever for a
    // detached actor's thread: a core showed the actor's last reference in
    // a down message (for a remote monitor) left in the BASP broker's
    // mailbox, which the stopped broker never consumes (CAF 0.17.6).
    std::cerr.flush();
    std::_Exit(0);
  }
  return 0;
}
