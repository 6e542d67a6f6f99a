#include "io/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

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

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

// ---------------------------------------------------------------------------
// Targets: percent-decoding and the query string.

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// %XX sequences decoded; an incomplete or non-hex one is kept as it is.
std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

std::multimap<std::string, std::string> parse_query(std::string_view q) {
  std::multimap<std::string, std::string> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty())
      continue;
    auto eq = part.find('=');
    auto key = part.substr(0, eq);
    auto value = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    out.emplace(percent_decode(key, true), percent_decode(value, true));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Handlers run here: a fixed pool of threads, so that a handler may block.

class worker_pool {
public:
  /// `n` threads (none: an event-driven server's pool, never posted to).
  explicit worker_pool(unsigned n) {
    for (unsigned i = 0; i < n; ++i)
      threads_.emplace_back([this] { run(); });
  }

  ~worker_pool() { stop(); }

  void post(std::function<void()> task) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopped_)
      return;
    tasks_.push_back(std::move(task));
    cv_.notify_one();
  }

  /// Drops the tasks not yet started and waits for the running ones.
  void stop() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopped_ = true;
      dropped.swap(tasks_);
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }

private:
  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock{mtx_};
        cv_.wait(lock, [this] { return stopped_ || !tasks_.empty(); });
        if (stopped_)
          return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopped_ = false;
  std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------
// What the sessions of one server share.

/// Bodies up to this size are read without an admission slot.
constexpr std::uint64_t small_body_bytes = 64 << 10;

class session_base {
public:
  virtual ~session_base() = default;
  /// Closes the socket; pending operations end with an error. I/O thread only.
  virtual void close() = 0;
  /// Its request may go on past its headers (see server_shared::waiting).
  virtual void admitted() = 0;
  /// It holds an admission slot, to give back when its answer is written.
  virtual void take_slot() = 0;
  /// The answer of an event-driven handler. I/O thread only.
  virtual void answer(http_response r) = 0;
};

struct server_shared {
  server_shared(http_server_options o, http_handler h)
    : opts(std::move(o)), handler(std::move(h)), workers(std::max(1u, opts.threads)) {}
  server_shared(http_server_options o, http_async_handler h)
    : opts(std::move(o)), async(std::move(h)), workers(0) {}

  http_server_options opts;
  http_handler handler;
  http_async_handler async; // set: requests go here, on the I/O thread
  worker_pool workers;

  // Sessions waiting for an event-driven handler's answer, by request id (I/O
  // thread only). Responders name the id, not the session: a late answer
  // finds nothing, and the sessions end on the I/O thread.
  std::uint64_t next_request = 0;
  std::unordered_map<std::uint64_t, std::shared_ptr<session_base>> answering;
  std::mutex post_mtx;
  asio::io_context* io = nullptr; // null once the server stopped (under post_mtx)
  // Answers handed over and not yet written (under post_mtx): the first of a
  // burst posts one drain to the I/O thread, the others join it, so a burst
  // of answers (a group commit's) wakes the I/O thread once.
  std::vector<std::pair<std::uint64_t, http_response>> answers;

  /// From any thread: hands the answer of request `id` to the I/O thread.
  static void respond(const std::shared_ptr<server_shared>& self, std::uint64_t id,
                      http_response r) {
    std::lock_guard<std::mutex> guard{self->post_mtx};
    if (!self->io)
      return;
    self->answers.emplace_back(id, std::move(r));
    if (self->answers.size() > 1)
      return; // a drain is posted already
    asio::post(*self->io, [self] {
      std::vector<std::pair<std::uint64_t, http_response>> batch;
      {
        std::lock_guard<std::mutex> g{self->post_mtx};
        batch.swap(self->answers);
      }
      for (auto& [id, r] : batch) {
        auto it = self->answering.find(id);
        if (it == self->answering.end())
          continue;
        auto s = std::move(it->second);
        self->answering.erase(it);
        s->answer(std::move(r));
      }
    });
  }
  std::atomic<bool> stopping{false};
  std::atomic<unsigned> connections{0};

  // Admission (I/O thread only): at most `threads` requests with a large body
  // (over small_body_bytes, or of unknown length) are past their headers
  // (body being read, handled, answer being written); the others wait here
  // with their headers read. So large bodies in memory are bounded by the
  // handler threads, not by the connections, while small requests never wait
  // behind slow uploads.
  unsigned admitted = 0;
  std::deque<std::shared_ptr<session_base>> waiting;

  /// A slot freed: the oldest waiting session takes it.
  void release() {
    --admitted;
    while (!waiting.empty() && admitted < opts.threads) {
      auto next = std::move(waiting.front());
      waiting.pop_front();
      ++admitted;
      next->take_slot();
      next->admitted();
    }
  }

  std::mutex sessions_mtx;
  std::unordered_set<session_base*> sessions;

  http_response call(http_request& req) {
    try {
      return handler(req);
    } catch (const std::exception& e) {
      return json_error(500, std::string{"internal error: "} + e.what());
    }
  }
};

// ---------------------------------------------------------------------------
// One connection: read a whole request within its deadlines on the I/O
// thread, hand it to a worker, write the answer, repeat while kept alive.
// A connection holds no thread while its client is slow.

template <class Stream>
class session final : public session_base,
                      public std::enable_shared_from_this<session<Stream>> {
public:
  template <class... Args>
  session(std::shared_ptr<server_shared> shared, Args&&... args)
    : shared_(std::move(shared)), stream_(std::forward<Args>(args)...),
      wait_timer_(stream_.get_executor()) {
    std::lock_guard<std::mutex> guard{shared_->sessions_mtx};
    shared_->sessions.insert(this);
  }

  ~session() override {
    {
      std::lock_guard<std::mutex> guard{shared_->sessions_mtx};
      shared_->sessions.erase(this);
    }
    shared_->connections.fetch_sub(1);
  }

  void start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      await_request();
    } else {
      lowest().expires_after(shared_->opts.header_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec)
                                  return self->close();
                                self->await_request();
                              });
    }
  }

  void close() override {
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }

private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void await_request() {
    if (shared_->stopping)
      return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->opts.max_header_bytes));
    parser_->body_limit(shared_->opts.max_body_bytes);
    if (buffer_.size() > 0)
      return read_header();
    // An idle kept-alive connection: wait for the first byte of the next
    // request, then the header deadline runs.
    lowest().expires_after(shared_->opts.idle_timeout);
    stream_.async_read_some(buffer_.prepare(16384),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec)
                                return self->close();
                              self->buffer_.commit(n);
                              self->read_header();
                            });
  }

  void read_header() {
    lowest().expires_after(shared_->opts.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](beast::error_code ec, size_t) {
                               self->on_header(ec);
                             });
  }

  void on_header(beast::error_code ec) {
    if (ec)
      return fail(ec);
    if (shared_->stopping)
      return close();
    auto& req = parser_->get();
    if (req.target().size() > shared_->opts.max_target_bytes)
      return refuse(json_error(414, "request target exceeds "
                                      + std::to_string(shared_->opts.max_target_bytes) + " bytes"));
    // Small bodies are read at once; a large one (or one of unknown length)
    // needs a slot.
    auto length = parser_->content_length();
    if (parser_->is_done() || (length && *length <= small_body_bytes))
      return admitted();
    if (shared_->admitted >= shared_->opts.threads) {
      if (shared_->waiting.size() >= shared_->opts.threads)
        return refuse(json_error(503, "too many large requests wait already; retry later"));
      // Waiting for a slot, within the header deadline: a client that went
      // away, or more waiting than that, gives its place up.
      lowest().expires_never();
      shared_->waiting.push_back(this->shared_from_this());
      wait_timer_.expires_after(shared_->opts.header_timeout);
      wait_timer_.async_wait([self = this->shared_from_this()](beast::error_code wec) {
        if (wec)
          return;
        auto& q = self->shared_->waiting;
        auto it = std::find(q.begin(), q.end(), self);
        if (it == q.end())
          return; // admitted meanwhile
        q.erase(it);
        self->close();
      });
      return;
    }
    ++shared_->admitted;
    slot_ = true;
    admitted();
  }

  void admitted() override {
    if (shared_->stopping)
      return close();
    auto& req = parser_->get();
    auto expect = req[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue") && req.version() >= 11 && !parser_->is_done()) {
      continue_ = bhttp::response<bhttp::empty_body>{bhttp::status::continue_, req.version()};
      lowest().expires_after(shared_->opts.header_timeout);
      return bhttp::async_write(stream_, continue_,
                                [self = this->shared_from_this()](beast::error_code ec, size_t) {
                                  if (ec) {
                                    self->free_slot();
                                    return self->close();
                                  }
                                  self->read_body();
                                });
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done())
      return dispatch();
    lowest().expires_after(shared_->opts.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec)
                          return self->fail(ec);
                        self->dispatch();
                      });
  }

  /// A request that could not be read: answer what the client did wrong, or
  /// just close when it went away or was too slow.
  void fail(beast::error_code ec) {
    if (ec == bhttp::error::header_limit)
      return refuse(json_error(431, "request header exceeds "
                                      + std::to_string(shared_->opts.max_header_bytes) + " bytes"));
    if (ec == bhttp::error::body_limit)
      return refuse(json_error(413, "request body exceeds the limit of "
                                      + std::to_string(shared_->opts.max_body_bytes) + " bytes"));
    if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category()
        && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
      return refuse(json_error(400, "malformed request: " + ec.message()));
    free_slot();
    close(); // timeout, reset, end of stream, shutdown
  }

  void answer(http_response r) override { write(std::move(r)); }

  void take_slot() override {
    slot_ = true;
    wait_timer_.cancel();
  }

  void free_slot() {
    if (!slot_)
      return;
    slot_ = false;
    shared_->release();
  }

  void refuse(http_response answer) {
    keep_alive_ = false;
    head_ = false;
    version_ = 11;
    write(std::move(answer));
  }

  void dispatch() {
    lowest().expires_never();
    req_ = parser_->release();
    keep_alive_ = req_.keep_alive();
    head_ = req_.method() == bhttp::verb::head;
    version_ = req_.version();
    auto target = std::string_view{req_.target().data(), req_.target().size()};
    auto qmark = target.find('?');
    request_.method = std::string{req_.method_string()};
    request_.path = percent_decode(target.substr(0, qmark), false);
    request_.params = qmark == std::string_view::npos ? std::multimap<std::string, std::string>{}
                                                      : parse_query(target.substr(qmark + 1));
    request_.content_type = std::string{req_[bhttp::field::content_type]};
    request_.body = std::move(req_.body());
    request_.header = [this](const std::string& name) { return std::string{req_[name]}; };
    if (shared_->async) {
      auto id = ++shared_->next_request;
      shared_->answering.emplace(id, this->shared_from_this());
      http_responder respond = [shared = shared_, id](http_response r) {
        server_shared::respond(shared, id, std::move(r));
      };
      try {
        shared_->async(request_, respond);
      } catch (const std::exception& e) {
        respond(json_error(500, std::string{"internal error: "} + e.what()));
      }
      return;
    }
    shared_->workers.post([self = this->shared_from_this()] {
      auto answer = self->shared_->call(self->request_);
      asio::post(self->stream_.get_executor(), [self, answer = std::move(answer)]() mutable {
        self->write(std::move(answer));
      });
    });
  }

  /// Writes `answer`. The head is written by hand, in one string (Beast's
  /// serializer cost more than the rest of the answer): the status line,
  /// Content-Type, the handler's headers, Keep-Alive and Connection as
  /// Beast's keep_alive() sets them, and Content-Length.
  void write(http_response answer) {
    bool keep = keep_alive_ && !shared_->stopping;
    auto code = answer.status;
    bool sized = code >= 200 && code != 204 && code != 304; // the others carry no body
    if (!sized)
      answer.body.clear();
    auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(code));
    auto& h = head_out_;
    h.clear();
    h.append(version_ >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ");
    h.append(std::to_string(code)).append(" ").append(reason.data(), reason.size()).append("\r\n");
    if (!answer.content_type.empty())
      h.append("Content-Type: ").append(answer.content_type).append("\r\n");
    for (auto& [name, value] : answer.headers)
      h.append(name).append(": ").append(value).append("\r\n");
    if (keep && version_ >= 11) {
      auto idle = std::chrono::duration_cast<std::chrono::seconds>(shared_->opts.idle_timeout);
      h.append("Keep-Alive: timeout=")
        .append(std::to_string(std::max<long long>(1, idle.count())))
        .append("\r\n");
    }
    if (!keep && version_ >= 11)
      h.append("Connection: close\r\n");
    else if (keep && version_ < 11)
      h.append("Connection: keep-alive\r\n");
    if (sized) // Content-Length stays that of the body for HEAD, which sends none
      h.append("Content-Length: ").append(std::to_string(answer.body.size())).append("\r\n");
    h.append("\r\n");
    body_out_ = head_ ? std::string{} : std::move(answer.body);
    request_ = {};
    req_ = {};
    lowest().expires_after(shared_->opts.body_timeout);
    std::array<asio::const_buffer, 2> out{asio::buffer(head_out_), asio::buffer(body_out_)};
    asio::async_write(stream_, out,
                      [self = this->shared_from_this(), keep](beast::error_code ec, size_t) {
                        self->free_slot();
                        if (ec || !keep)
                          return self->close();
                        self->await_request();
                      });
  }

  std::shared_ptr<server_shared> shared_;
  Stream stream_;
  asio::steady_timer wait_timer_; // while waiting for an admission slot
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::request<bhttp::string_body> req_;
  http_request request_;
  std::string head_out_; // the answer being written: its head and body
  std::string body_out_;
  bhttp::response<bhttp::empty_body> continue_;
  bool keep_alive_ = false;
  bool slot_ = false; // holds one of the server's admission slots
  bool head_ = false;
  unsigned version_ = 11;
};

// ---------------------------------------------------------------------------

class beast_server final : public http_server {
public:
  template <class Handler>
  beast_server(http_server_options opts, Handler handler)
    : shared_(std::make_shared<server_shared>(std::move(opts), std::move(handler))),
      acceptor_(io_), retry_(io_), guard_(asio::make_work_guard(io_)) {
    shared_->io = &io_;
  }

  ~beast_server() override { stop(); }

  status bind() {
    auto& opts = shared_->opts;
    try {
      if (!opts.tls_cert.empty()) {
        tls_.emplace(asio::ssl::context::tls_server);
        tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2
                          | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1
                          | asio::ssl::context::no_tlsv1_1);
        tls_->use_certificate_chain_file(opts.tls_cert);
        tls_->use_private_key_file(opts.tls_key, asio::ssl::context::pem);
      }
    } catch (const std::exception& e) {
      return error{errc::io, opts.name + ": cannot use the TLS certificate " + opts.tls_cert
                               + " with the key " + opts.tls_key + " (" + e.what() + ")"};
    }
    try {
      tcp::resolver resolver{io_};
      auto endpoints = resolver.resolve(opts.bind, std::to_string(opts.port),
                                        tcp::resolver::passive | tcp::resolver::numeric_service);
      auto endpoint = endpoints.begin()->endpoint();
      acceptor_.open(endpoint.protocol());
      // SO_REUSEADDR only: a restart can bind while old connections linger
      // in TIME_WAIT, but a second process cannot take the same port.
      acceptor_.set_option(asio::socket_base::reuse_address(true));
      acceptor_.bind(endpoint);
      acceptor_.listen(asio::socket_base::max_listen_connections);
      port_ = acceptor_.local_endpoint().port();
    } catch (const std::exception& e) {
      return error{errc::io, opts.name + ": cannot listen on " + opts.bind + ":"
                               + std::to_string(opts.port) + " (" + e.what() + ")"};
    }
    accept();
    thread_ = std::thread([this] { io_.run(); });
    return ok();
  }

  std::uint16_t port() const override { return port_; }

  void stop() override {
    if (stopped_.exchange(true))
      return;
    shared_->stopping = true;
    asio::post(io_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      retry_.cancel();
      shared_->waiting.clear();
      shared_->answering.clear(); // late answers find nothing
      std::lock_guard<std::mutex> guard{shared_->sessions_mtx};
      for (auto* s : shared_->sessions)
        s->close();
    });
    shared_->workers.stop();
    asio::post(io_, [this] {
      shared_->waiting.clear(); // any queued after the close above
      shared_->answering.clear();
      io_.stop();
    });
    guard_.reset();
    if (thread_.joinable())
      thread_.join();
    std::lock_guard<std::mutex> guard{shared_->post_mtx};
    shared_->io = nullptr; // answers from now on are dropped
  }

private:
  void accept() {
    // The sessions run on the server's one I/O thread: no strand (a strand
    // executor does not fit in asio's type-erased executor, so every copy of
    // it, several per request, was an allocation).
    acceptor_.async_accept(io_, [this](beast::error_code ec, tcp::socket sock) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open())
        return;
      if (ec) {
        // Out of descriptors, most likely: accept again a little later
        // rather than spin.
        retry_.expires_after(std::chrono::milliseconds{50});
        retry_.async_wait([this](beast::error_code wec) {
          if (!wec)
            accept();
        });
        return;
      }
      if (shared_->connections.fetch_add(1) >= shared_->opts.max_connections) {
        shared_->connections.fetch_sub(1);
        beast::error_code ignored;
        sock.close(ignored); // over the cap: closed at once
      } else {
        beast::error_code ignored;
        sock.set_option(tcp::no_delay(true), ignored);
        if (tls_)
          std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(shared_, std::move(sock),
                                                                          *tls_)
            ->start();
        else
          std::make_shared<session<beast::tcp_stream>>(shared_, std::move(sock))->start();
      }
      accept();
    });
  }

  std::shared_ptr<server_shared> shared_;
  std::optional<asio::ssl::context> tls_; // outlives the sessions io_ may still hold
  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

} // namespace

namespace {
template <class Handler>
result<std::unique_ptr<http_server>> start(http_server_options opts, Handler handler) {
  auto s = std::make_unique<beast_server>(std::move(opts), std::move(handler));
  if (auto st = s->bind(); !st)
    return st.err();
  return std::unique_ptr<http_server>{std::move(s)};
}
} // namespace

result<std::unique_ptr<http_server>> start_http_server(http_server_options opts,
                                                       http_handler handler) {
  return start(std::move(opts), std::move(handler));
}

result<std::unique_ptr<http_server>> start_http_server(http_server_options opts,
                                                       http_async_handler handler) {
  return start(std::move(opts), std::move(handler));
}

} // namespace hearth::io
