#include "io/endpoint_url.hpp"
#include "io/function_client.hpp"
#include "io/retry_policy.hpp"
#include "protocol/codec.hpp"

#include <curl/curl.h>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
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
    thread_ = std::thread([this] { run(); });
  }

  ~curl_client() override {
    shutdown();
    for (auto& [tls, handles] : idle_)
      for (auto* e : handles)
        curl_easy_cleanup(e);
    curl_multi_cleanup(multi_);
    curl_slist_free_all(headers_);
  }

  void invoke(function_request req, completion done) override {
    auto t = std::make_unique<transfer>(std::move(req), std::move(done), opts_.max_backoff);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopping_)
        return;
      incoming_.push_back(std::move(t));
    }
    curl_multi_wakeup(multi_);
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopping_)
        return;
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
    if (thread_.joinable())
      thread_.join();
  }

private:
  void run() {
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
      start_queued();
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      bool finished = false;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg == CURLMSG_DONE) {
          finish(msg->easy_handle, msg->data.result);
          finished = true;
        }
      }
      if (finished && !queued_.empty()) {
        start_queued();
        curl_multi_perform(multi_, &running);
      }
      int timeout = 1000;
      if (!waiting_.empty()) {
        auto wait = std::chrono::duration_cast<millis>(waiting_.begin()->first - clock::now());
        timeout = static_cast<int>(std::clamp<long long>(wait.count(), 0, 1000));
      }
      curl_multi_poll(multi_, nullptr, 0, timeout, nullptr);
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
