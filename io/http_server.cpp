#include "io/http_server.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <thread>

namespace hearth::io {

http_response json_error(int status, const std::string& message) {
  return http_response{status, "application/json",
                       nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                               nlohmann::json::error_handler_t::replace)
                         + "\n",
                       {}};
}

http_response json_ok(std::string json_text, int status) {
  return http_response{status, "application/json", std::move(json_text), {}};
}

namespace {

class httplib_server final : public http_server {
public:
  httplib_server(http_server_options opts, http_handler handler)
    : opts_(std::move(opts)), handler_(std::move(handler)) {
    if (!opts_.tls_cert.empty())
      server_ = std::make_unique<httplib::SSLServer>(opts_.tls_cert.c_str(), opts_.tls_key.c_str());
    else
      server_ = std::make_unique<httplib::Server>();
    auto threads = opts_.threads;
    server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_->set_payload_max_length(opts_.max_body_bytes);
    // Small answers go out at once (no Nagle delay on kept-alive connections),
    // and an idle kept-alive connection does not hold up a shutdown for long.
    server_->set_tcp_nodelay(true);
    server_->set_keep_alive_timeout(1);
    server_->set_keep_alive_max_count(1u << 30); // a busy client keeps its connection
    // The listening socket: SO_REUSEADDR only (a restart can bind while old
    // connections linger in TIME_WAIT; cpp-httplib's default SO_REUSEPORT
    // would let a second process bind the same port and take half of its
    // connections). cpp-httplib listens with a backlog of 5, so a burst of new
    // connections would have SYNs dropped and retried a second later: bind()
    // widens it.
    server_->set_socket_options([this](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      listen_fd_ = sock;
    });
    auto serve = [this](const httplib::Request& req, httplib::Response& res) {
      http_request r;
      r.method = req.method;
      r.path = req.path;
      r.params = req.params;
      r.content_type = req.get_header_value("Content-Type");
      r.body = req.body;
      r.header = [&req](const std::string& name) { return req.get_header_value(name.c_str()); };
      http_response out;
      try {
        out = handler_(r);
      } catch (const std::exception& e) {
        out = json_error(500, std::string{"internal error: "} + e.what());
      }
      res.status = out.status;
      for (auto& [name, value] : out.headers)
        res.set_header(name.c_str(), value);
      res.set_content(out.body, out.content_type.c_str());
    };
    for (auto* m : {"GET", "PUT", "POST", "DELETE", "PATCH"}) {
      std::string method = m;
      if (method == "GET")
        server_->Get(".*", serve);
      else if (method == "PUT")
        server_->Put(".*", serve);
      else if (method == "POST")
        server_->Post(".*", serve);
      else if (method == "DELETE")
        server_->Delete(".*", serve);
      else
        server_->Patch(".*", serve);
    }
    server_->set_error_handler([this](const httplib::Request&, httplib::Response& res) {
      // Only answers the server produced itself (bad request line, body too
      // large); the handlers' own answers are left as they are.
      if (!res.body.empty() || (res.status != 400 && res.status != 413 && res.status != 414
                                && res.status != 431))
        return;
      std::string what = res.status == 413
                           ? "request body exceeds the limit of "
                               + std::to_string(opts_.max_body_bytes) + " bytes"
                           : "request failed with status " + std::to_string(res.status);
      auto err = json_error(res.status, what);
      res.set_content(err.body, err.content_type.c_str());
    });
  }

  ~httplib_server() override { stop(); }

  status bind() {
    if (!server_->is_valid())
      return error{errc::io, opts_.name + ": cannot use the TLS certificate " + opts_.tls_cert
                               + " with the key " + opts_.tls_key + " (unreadable or not a pair)"};
    int port = opts_.port == 0 ? server_->bind_to_any_port(opts_.bind)
                               : (server_->bind_to_port(opts_.bind, opts_.port) ? opts_.port : -1);
    if (port <= 0)
      return error{errc::io, opts_.name + ": cannot listen on " + opts_.bind + ":"
                               + std::to_string(opts_.port) + " (in use or not allowed)"};
    port_ = static_cast<std::uint16_t>(port);
    if (listen_fd_ >= 0)
      ::listen(listen_fd_, SOMAXCONN); // on a listening socket: sets the backlog
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    return ok();
  }

  std::uint16_t port() const override { return port_; }

  void stop() override {
    server_->stop();
    if (thread_.joinable())
      thread_.join();
  }

private:
  http_server_options opts_;
  http_handler handler_;
  std::unique_ptr<httplib::Server> server_; // an SSLServer with TLS
  std::thread thread_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
};

} // namespace

result<std::unique_ptr<http_server>> start_http_server(http_server_options opts,
                                                       http_handler handler) {
  auto s = std::make_unique<httplib_server>(std::move(opts), std::move(handler));
  if (auto st = s->bind(); !st)
    return st.err();
  return std::unique_ptr<http_server>{std::move(s)};
}

} // namespace hearth::io
