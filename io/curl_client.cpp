#include "io/endpoint_url.hpp"
#include "io/function_client.hpp"
#include "io/retry_policy.hpp"
#include "protocol/codec.hpp"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

namespace hearth::io {

namespace {

using clock = std::chrono::steady_clock;

struct transfer {
  function_request req;
  completion done;
  std::optional<retry_policy> policy; // set by the first attempt: waiting in the queue is free
  millis max_backoff;
  int attempt = 0;
  std::string last_error;
  CURL* easy = nullptr;
  std::string response;
  bool too_large = false;
  char detail[CURL_ERROR_SIZE] = {}; // libcurl's own words on a failure (the TLS error, say)

  transfer(function_request r, completion d, millis backoff_cap)
    : req(std::move(r)), done(std::move(d)), max_backoff(backoff_cap) {}
};

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  size_t bytes = size * n;
  if (t->response.size() + bytes > t->req.transport.payload_max_bytes) {
    t->too_large = true;
    return 0; // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.append(data, bytes);
  return bytes;
}

class curl_client final : public function_client {
public:
  explicit curl_client(curl_client_options opts) : opts_(opts) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi_ = curl_multi_init();
    for (auto* h : {"Content-Type: application/octet-stream", "Accept: application/octet-stream",
                    "Expect:"})
      headers_ = curl_slist_append(headers_, h);
    // No CURLMOPT_MAX_HOST_CONNECTIONS: with it, cached connections the
    // server has closed (an idle keep-alive timeout) still count against the
    // limit, and transfers pending on it can stall for good. The client bounds
    // its calls in flight itself (start_queued), and the cache evicts the
    // oldest connection when it is full.
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, opts_.max_calls_in_flight);
    // Event-driven: libcurl names the sockets to watch (on_socket) and its
    // next timeout (on_timer); the I/O thread waits in epoll on those and on
    // an eventfd that invoke() signals, and hands libcurl only the sockets
    // that are ready (curl_multi_socket_action), never a scan of them all.
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &curl_client::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &curl_client::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    thread_ = std::thread([this] { run(); });
  }

  ~curl_client() override {
    shutdown();
    for (auto& [tls, handles] : idle_)
      for (auto* e : handles)
        curl_easy_cleanup(e);
    curl_multi_cleanup(multi_);
    curl_slist_free_all(headers_);
    ::close(wake_);
    ::close(epoll_);
  }

  void invoke(function_request req, completion done) override {
    auto t = std::make_unique<transfer>(std::move(req), std::move(done), opts_.max_backoff);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopping_)
        return;
      incoming_.push_back(std::move(t));
      if (incoming_.size() > 1)
        return; // signalled already, not yet taken
    }
    wake();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopping_)
        return;
      stopping_ = true;
    }
    wake();
    if (thread_.joinable())
      thread_.join();
  }

private:
  void wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
  }

  /// libcurl: watch `fd` for `what` (CURL_POLL_*), or no more.
  static int on_socket(CURL*, curl_socket_t fd, int what, void* user, void*) {
    auto* self = static_cast<curl_client*>(user);
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(self->epoll_, EPOLL_CTL_DEL, fd, nullptr);
      self->watched_.erase(fd);
      return 0;
    }
    epoll_event ev{};
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    bool known = !self->watched_.insert(fd).second;
    if (epoll_ctl(self->epoll_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0 && errno == ENOENT)
      epoll_ctl(self->epoll_, EPOLL_CTL_ADD, fd, &ev); // closed and reused meanwhile
    return 0;
  }

  /// libcurl: call curl_multi_socket_action(CURL_SOCKET_TIMEOUT) in `ms`
  /// (-1: no timer).
  static int on_timer(CURLM*, long ms, void* user) {
    auto* self = static_cast<curl_client*>(user);
    self->timer_ = ms < 0 ? std::nullopt : std::optional<clock::time_point>{clock::now() + millis{ms}};
    return 0;
  }

  /// Hands libcurl its finished transfers.
  void reap() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left))
      if (msg->msg == CURLMSG_DONE)
        finish(msg->easy_handle, msg->data.result);
  }

  void run() {
    int running = 0;
    std::vector<epoll_event> events(256);
    for (;;) {
      std::deque<std::unique_ptr<transfer>> fresh;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        if (stopping_)
          break;
        fresh.swap(incoming_);
      }
      for (auto& t : fresh)
        queued_.push_back(std::move(t));
      auto now = clock::now();
      while (!waiting_.empty() && waiting_.begin()->first <= now) {
        // A retry goes ahead of fresh calls: it has waited already.
        queued_.push_front(std::move(waiting_.begin()->second));
        waiting_.erase(waiting_.begin());
      }
      start_queued(); // added handles make libcurl set a timer of 0: run below
      if (timer_ && *timer_ <= clock::now()) {
        timer_.reset();
        curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
        reap();
        start_queued();
      }
      // Wait for a socket, the next timer, a retry's turn, or invoke().
      auto until = now + millis{1000};
      if (timer_)
        until = std::min(until, *timer_);
      if (!waiting_.empty())
        until = std::min(until, waiting_.begin()->first);
      auto wait = std::chrono::duration_cast<millis>(until - clock::now()).count();
      if (timer_ && *timer_ <= clock::now())
        wait = 0;
      int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()),
                         static_cast<int>(std::clamp<long long>(wait, 0, 1000)));
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wake_) {
          std::uint64_t count = 0;
          [[maybe_unused]] auto r = ::read(wake_, &count, sizeof count);
          continue;
        }
        int flags = (events[i].events & EPOLLIN ? CURL_CSELECT_IN : 0)
                    | (events[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0)
                    | (events[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(multi_, fd, flags, &running);
      }
      if (n > 0) {
        reap();
        start_queued();
      }
    }
    // Drop whatever is open; see the contract in function_client.hpp.
    for (auto& [easy, t] : active_) {
      curl_multi_remove_handle(multi_, easy);
      release(*t);
    }
    active_.clear();
    waiting_.clear();
    queued_.clear();
  }

  /// Starts queued calls while fewer than max_calls_in_flight are in flight.
  void start_queued() {
    while (!queued_.empty() && static_cast<long>(active_.size()) < opts_.max_calls_in_flight) {
      auto t = std::move(queued_.front());
      queued_.pop_front();
      start(std::move(t));
    }
  }

  static std::string tls_key(const transport_options& t) {
    return t.tls ? t.tls->signature() : std::string{};
  }

  /// Keeps the transfer's easy handle for the next call with the same TLS
  /// options (the other options are all set again by start()); a handle is
  /// cheap to keep, costly to create.
  void release(transfer& t) {
    if (!t.easy)
      return;
    curl_easy_setopt(t.easy, CURLOPT_ERRORBUFFER, nullptr); // the transfer's buffer goes with it
    auto& idle = idle_[tls_key(t.req.transport)];
    if (idle.size() < idle_kept)
      idle.push_back(t.easy);
    else
      curl_easy_cleanup(t.easy);
    t.easy = nullptr;
  }

  CURL* fresh_handle(const transport_options& transport) {
    auto& idle = idle_[tls_key(transport)];
    if (!idle.empty()) {
      auto* e = idle.back();
      idle.pop_back();
      return e;
    }
    auto* e = curl_easy_init();
    if (auto& tls = transport.tls) {
      if (!tls->trust_cacerts.empty())
        curl_easy_setopt(e, CURLOPT_CAINFO, tls->trust_cacerts.c_str());
      if (!tls->client_cert.empty()) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, tls->client_cert.c_str());
        curl_easy_setopt(e, CURLOPT_SSLKEY, tls->client_key.c_str());
      }
      if (!tls->client_key_password.empty())
        curl_easy_setopt(e, CURLOPT_KEYPASSWD, tls->client_key_password.c_str());
    }
    // Options that are the same for every call.
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hearth");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    return e;
  }

  void start(std::unique_ptr<transfer> t) {
    // The call budget counts from the first attempt, not from the queue: with
    // more busy addresses than calls in flight, a call may wait its turn for
    // long, and a healthy function must not lose it to the wait.
    if (!t->policy)
      t->policy.emplace(t->req.transport.call, clock::now(), t->max_backoff);
    auto left = t->policy->remaining(clock::now());
    if (left < millis{1}) {
      error err{errc::unavailable, "call budget spent: " + t->last_error};
      complete(std::move(t), std::move(err));
      return;
    }
    t->response.clear();
    t->too_large = false;
    t->detail[0] = '\0';
    auto target = parse_endpoint_url(t->req.url);
    if (!target) { // module.yaml's check makes this unreachable
      complete(std::move(t), target.err());
      return;
    }
    CURL* e = fresh_handle(t->req.transport);
    t->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, target->url.c_str());
    curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH,
                     target->unix_socket.empty() ? nullptr : target->unix_socket.c_str());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->detail);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->req.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->req.body.size()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
    auto connect = std::min(left, t->req.transport.connect);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::max<long long>(1, connect.count())));
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, static_cast<long>(std::max<long long>(
                                              1, t->req.transport.pool_ttl.count() / 1000)));
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_multi_add_handle(multi_, e);
    active_.emplace(e, std::move(t));
  }

  void finish(CURL* easy, CURLcode code) {
    auto it = active_.find(easy);
    if (it == active_.end())
      return;
    auto t = std::move(it->second);
    active_.erase(it);
    curl_multi_remove_handle(multi_, easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    release(*t);
    t->attempt++;
    if (t->too_large) {
      // Retried like every other failure (StateFun's async transport does).
      t->last_error = "response exceeds payload_max_bytes ("
                      + std::to_string(t->req.transport.payload_max_bytes) + ")";
    } else if (code == CURLE_OK && status >= 200 && status < 300 && t->response.empty()) {
      // Every SDK answers with a body (even "no effects" encodes to bytes), so
      // an empty 2xx is a misrouted call (wrong URL, a proxy), not a result.
      t->last_error = "HTTP " + std::to_string(status) + " with an empty body";
    } else if (code == CURLE_OK && status >= 200 && status < 300) {
      auto decoded = protocol::decode_from_function(t->response);
      if (decoded) {
        complete(std::move(t), std::move(*decoded));
        return;
      }
      t->last_error = "malformed response: " + decoded.err().message;
    } else if (code == CURLE_OK) {
      t->last_error = "HTTP " + std::to_string(status);
    } else {
      t->last_error = curl_easy_strerror(code);
      if (t->detail[0] != '\0' && t->last_error != t->detail)
        t->last_error += std::string{": "} + t->detail;
    }
    auto wait = t->policy->backoff(t->attempt - 1, clock::now());
    if (!wait) {
      error err{errc::unavailable, "no successful answer within the call budget of "
                                     + std::to_string(t->req.transport.call.count()) + " ms after "
                                     + std::to_string(t->attempt) + " attempt(s); last: "
                                     + t->last_error};
      complete(std::move(t), std::move(err));
      return;
    }
    waiting_.emplace(clock::now() + *wait, std::move(t));
  }

  void complete(std::unique_ptr<transfer> t, result<protocol::from_function> r) {
    function_reply reply{std::move(r), t->attempt};
    t->done(std::move(reply));
  }

  static constexpr size_t idle_kept = 1024;

  curl_client_options opts_;
  CURLM* multi_ = nullptr;
  curl_slist* headers_ = nullptr;     // the same for every call
  std::map<std::string, std::vector<CURL*>> idle_; // easy handles to reuse, by TLS options (I/O thread only)
  int epoll_ = -1;                    // the sockets libcurl names, and wake_
  int wake_ = -1;                     // eventfd: invoke() and shutdown() signal it
  std::set<curl_socket_t> watched_;   // in epoll_ (I/O thread only)
  std::optional<clock::time_point> timer_; // libcurl's next timeout (I/O thread only)
  std::thread thread_;
  std::mutex mtx_;
  bool stopping_ = false;
  std::deque<std::unique_ptr<transfer>> incoming_;
  std::map<CURL*, std::unique_ptr<transfer>> active_;
  std::deque<std::unique_ptr<transfer>> queued_; // not started: at the in-flight limit
  std::multimap<clock::time_point, std::unique_ptr<transfer>> waiting_;
};

} // namespace

std::unique_ptr<function_client> make_curl_client(curl_client_options opts) {
  return std::make_unique<curl_client>(opts);
}

} // namespace hearth::io
