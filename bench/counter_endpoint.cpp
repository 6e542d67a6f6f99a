// hearth-bench-counter: the smallest StateFun remote function there is, for
// measuring the runtime without an SDK in the way. Serves `bench/counter`
// (any namespace/type, in fact) on POST / with the runtime's own
// io::http_server: every invocation adds 1 to the int state `count`, and the
// batch answers one MODIFY of it. A batch without the state attached gets the
// missing-state handshake, as with any SDK.
//
//   hearth-bench-counter [--port 0] [--threads 1100]
//   hearth-bench-counter --write-request FILE
//
// --write-request writes the ToFunction the runtime sends for one message to
// bench/counter:0 with its state attached (the codec the runtime uses), for a
// load generator to replay against an endpoint, and exits.
// Prints "listening <port>" on stdout once bound; stops on SIGTERM/SIGINT.

#include "io/http_server.hpp"
#include "protocol/codec.hpp"
#include "protocol/primitives.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <fstream>
#include <iostream>
#include <pthread.h>

using namespace hearth;

namespace {

std::string answer(std::string_view body, int& status) {
  auto batch = protocol::decode_to_function(body);
  if (!batch) {
    status = 400;
    return batch.err().message;
  }
  const protocol::state_entry* count = nullptr;
  for (auto& s : batch->states)
    if (s.name == "count")
      count = &s;
  if (!count)
    return protocol::encode(protocol::from_function{protocol::incomplete_context{
      {protocol::state_spec{"count", protocol::int_type_name}}}});
  std::int32_t n = 0;
  if (count->value && count->value->has_value) {
    auto v = protocol::as_int(*count->value);
    if (!v) {
      status = 400;
      return v.err().message;
    }
    n = *v;
  }
  n += static_cast<std::int32_t>(batch->invocations.size());
  protocol::invocation_response r;
  r.mutations.push_back({protocol::state_mutation::kind::modify, "count", protocol::make_int(n)});
  return protocol::encode(protocol::from_function{std::move(r)});
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"hearth-bench-counter: a minimal StateFun counter function"};
  int port = 0;
  unsigned threads = 1100;
  app.add_option("--port", port, "port on 127.0.0.1 (0: any free port)");
  app.add_option("--threads", threads, "server threads: one per open connection (the runtime opens up to 1024)");
  std::string request_file;
  app.add_option("--write-request", request_file, "write a one-invocation ToFunction and exit");
  CLI11_PARSE(app, argc, argv);
  if (!request_file.empty()) {
    protocol::invocation_batch b;
    b.target = protocol::address{{"bench", "counter"}, "0"};
    b.states.push_back({"count", protocol::make_int(41)});
    b.invocations.push_back({std::nullopt, protocol::make_string("1")});
    std::ofstream out{request_file, std::ios::binary};
    out << protocol::encode(b);
    return out.good() ? 0 : 1;
  }

  // Signals are waited for (sigwait), not handled.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  io::http_server_options opts;
  opts.port = static_cast<std::uint16_t>(port);
  opts.threads = threads;
  opts.name = "hearth-bench-counter";
  auto server = io::start_http_server(opts, [](const io::http_request& req) {
    if (req.method != "POST")
      return io::http_response{405, "text/plain", "use POST", {}};
    int status = 200;
    auto out = answer(req.body, status);
    return io::http_response{status, status == 200 ? "application/octet-stream" : "text/plain",
                             std::move(out), {}};
  });
  if (!server) {
    std::cerr << "hearth-bench-counter: " << server.err().message << "\n";
    return 1;
  }
  std::cout << "listening " << (*server)->port() << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  (*server)->stop();
  return 0;
}
