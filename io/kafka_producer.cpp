#include "io/kafka_producer.hpp"

#include <librdkafka/rdkafka.h>

#include <atomic>

namespace hearth::io {

namespace {

int ms(std::chrono::milliseconds t) { return static_cast<int>(t.count()); }

/// Maps a transactional API error to what the caller must do (see the header).
status txn_status(const std::string& what, rd_kafka_error_t* e) {
  if (!e)
    return ok();
  auto code = rd_kafka_error_is_fatal(e)               ? errc::io
              : rd_kafka_error_txn_requires_abort(e)   ? errc::conflict
              : rd_kafka_error_is_retriable(e)         ? errc::unavailable
                                                       : errc::conflict;
  error out{code, "Kafka " + what + ": " + rd_kafka_error_string(e)};
  rd_kafka_error_destroy(e);
  return out;
}

} // namespace

struct kafka_producer::impl {
  rd_kafka_t* rk = nullptr;
  std::atomic<std::uint64_t> failed{0};
  std::string first_failure; // written by the delivery callback on poll/flush (this thread)
  ~impl() {
    if (rk) {
      // Whatever is not delivered stays in Hearth's store: drop librdkafka's
      // copies, so that destroying does not wait for an absent broker.
      rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(rk, 0);
      rd_kafka_destroy(rk);
    }
  }
};

namespace {
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (!m->err)
    return;
  auto* p = static_cast<kafka_producer::impl*>(opaque);
  if (p->failed++ == 0)
    p->first_failure = rd_kafka_err2str(m->err);
}
} // namespace

kafka_producer::kafka_producer(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
kafka_producer::~kafka_producer() = default;

result<std::unique_ptr<kafka_producer>> kafka_producer::open(const kafka_settings& settings,
                                                            const std::string& transactional_id) {
  char errstr[512];
  auto* conf = rd_kafka_conf_new();
  auto p = std::make_unique<impl>();
  kafka_settings all = settings;
  all.emplace_back("enable.idempotence", "true");
  if (!transactional_id.empty())
    all.emplace_back("transactional.id", transactional_id);
  for (auto& [k, v] : all)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return error{errc::malformed, "Kafka setting '" + k + "': " + errstr};
    }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, p.get());
  p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!p->rk) {
    rd_kafka_conf_destroy(conf);
    return error{errc::malformed, std::string{"Kafka producer: "} + errstr};
  }
  return std::unique_ptr<kafka_producer>{new kafka_producer(std::move(p))};
}

status kafka_producer::init_transactions(std::chrono::milliseconds timeout) {
  return txn_status("init_transactions", rd_kafka_init_transactions(impl_->rk, ms(timeout)));
}

status kafka_producer::begin() {
  return txn_status("begin_transaction", rd_kafka_begin_transaction(impl_->rk));
}

status kafka_producer::commit(std::chrono::milliseconds timeout) {
  return txn_status("commit_transaction", rd_kafka_commit_transaction(impl_->rk, ms(timeout)));
}

status kafka_producer::abort(std::chrono::milliseconds timeout) {
  return txn_status("abort_transaction", rd_kafka_abort_transaction(impl_->rk, ms(timeout)));
}

status kafka_producer::produce(const std::string& topic, const std::string& key,
                               const std::string& value) {
  for (;;) {
    auto err = rd_kafka_producev(
      impl_->rk, RD_KAFKA_V_TOPIC(topic.c_str()),
      RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(impl_->rk, 100); // serves delivery reports: room frees up
      continue;
    }
    if (err)
      return error{err == RD_KAFKA_RESP_ERR__STATE ? errc::conflict : errc::io,
                   "Kafka produce to '" + topic + "': " + rd_kafka_err2str(err)};
    return ok();
  }
}

status kafka_producer::flush(std::chrono::milliseconds timeout) {
  if (auto err = rd_kafka_flush(impl_->rk, ms(timeout)))
    return error{errc::unavailable, std::string{"Kafka flush: "} + rd_kafka_err2str(err)};
  if (auto n = impl_->failed.exchange(0); n > 0)
    return error{errc::io, std::to_string(n) + " Kafka record(s) not delivered: "
                             + impl_->first_failure};
  return ok();
}

void kafka_producer::poll() { rd_kafka_poll(impl_->rk, 0); }

} // namespace hearth::io
