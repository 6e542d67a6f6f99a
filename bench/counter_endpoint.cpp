// hearth-bench-counter: the smallest StateFun remote function there is, for
// measuring the runtime without an SDK in the way. Serves `bench/counter`
// (any namespace/type, in fact) on POST /: every invocation adds 1 to the int
// state `count`, and the batch answers one MODIFY of it. A batch without the
// state attached gets the missing-state handshake, as with any SDK.
//
//   hearth-bench-counter [--port 0] [--threads 1100]
//   hearth-bench-counter --write-request FILE
//
// --write-request writes the ToFunction the runtime sends for one message to
// bench/counter:0 with its state attached (the codec the runtime uses), for a
// load generator to replay against an endpoint, and exits.
// Prints "listening <port>" on stdout once bound; stops on SIGTERM/SIGINT.

#include "protocol/codec.hpp"
#include "protocol/primitives.hpp"

#include <CLI/CLI.hpp>
#include <httplib.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <pthread.h>
#include <sys/socket.h>
#include <thread>

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

  // Signals are taken by a thread of their own (sigwait), not a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  httplib::Server svr;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_tcp_nodelay(true);
  svr.set_keep_alive_max_count(1u << 30);
  svr.set_keep_alive_timeout(5);
  int listen_fd = -1; // cpp-httplib listens with a backlog of 5: widened below
  svr.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  svr.Post(".*", [](const httplib::Request& req, httplib::Response& res) {
    int status = 200;
    auto out = answer(req.body, status);
    res.status = status;
    res.set_content(out, status == 200 ? "application/octet-stream" : "text/plain");
  });
  int bound = port == 0 ? svr.bind_to_any_port("127.0.0.1")
                        : (svr.bind_to_port("127.0.0.1", port) ? port : -1);
  if (bound <= 0) {
    std::cerr << "hearth-bench-counter: cannot listen on 127.0.0.1:" << port << "\n";
    return 1;
  }
  if (listen_fd >= 0)
    ::listen(listen_fd, SOMAXCONN);
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    svr.stop();
  });
  stopper.detach();
  std::cout << "listening " << bound << std::endl;
  svr.listen_after_bind();
  return 0;
}
