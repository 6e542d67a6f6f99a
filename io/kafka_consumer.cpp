#include "io/kafka_consumer.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>

namespace hearth::io {

namespace {

int ms(std::chrono::milliseconds t) { return static_cast<int>(t.count()); }

/// A one-entry partition list, destroyed with its scope.
struct one_partition {
  rd_kafka_topic_partition_list_t* list;
  rd_kafka_topic_partition_t* tp;
  one_partition(const std::string& topic, std::int32_t partition, std::int64_t offset = 0) {
    list = rd_kafka_topic_partition_list_new(1);
    tp = rd_kafka_topic_partition_list_add(list, topic.c_str(), partition);
    tp->offset = offset;
  }
  ~one_partition() { rd_kafka_topic_partition_list_destroy(list); }
  one_partition(const one_partition&) = delete;
  one_partition& operator=(const one_partition&) = delete;
};

rd_kafka_topic_partition_list_t* to_list(const std::vector<kafka_position>& positions) {
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(positions.size()));
  for (auto& p : positions)
    rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition)->offset = p.offset;
  return list;
}

error kafka_error(const std::string& what, rd_kafka_resp_err_t err) {
  auto code = err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT
                  || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN
                ? errc::unavailable
                : errc::io;
  return error{code, what + ": " + rd_kafka_err2str(err)};
}

} // namespace

struct kafka_consumer::impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_queue_t* queue = nullptr;
  ~impl() {
    if (queue)
      rd_kafka_queue_destroy(queue);
    if (rk) {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  }
};

kafka_consumer::kafka_consumer(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
kafka_consumer::~kafka_consumer() = default;

result<std::unique_ptr<kafka_consumer>> kafka_consumer::open(const kafka_settings& settings) {
  char errstr[512];
  auto* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) -> status {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
      return error{errc::malformed, "Kafka setting '" + k + "': " + errstr};
    return ok();
  };
  for (auto& [k, v] : settings)
    if (auto s = set(k, v); !s) {
      rd_kafka_conf_destroy(conf);
      return s.err();
    }
  for (auto* k : {"enable.auto.commit", "enable.auto.offset.store"})
    if (auto s = set(k, "false"); !s) {
      rd_kafka_conf_destroy(conf);
      return s.err();
    }
  auto p = std::make_unique<impl>();
  p->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!p->rk) {
    rd_kafka_conf_destroy(conf);
    return error{errc::malformed, std::string{"Kafka consumer: "} + errstr};
  }
  rd_kafka_poll_set_consumer(p->rk);
  p->queue = rd_kafka_queue_get_consumer(p->rk);
  return std::unique_ptr<kafka_consumer>{new kafka_consumer(std::move(p))};
}

result<std::vector<std::int32_t>> kafka_consumer::partitions(const std::string& topic,
                                                            std::chrono::milliseconds timeout) {
  auto* t = rd_kafka_topic_new(impl_->rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(impl_->rk, 0, t, &md, ms(timeout));
  rd_kafka_topic_destroy(t);
  if (err)
    return kafka_error("metadata of topic '" + topic + "'", err);
  std::vector<std::int32_t> out;
  std::optional<error> problem;
  if (md->topic_cnt < 1)
    problem = error{errc::unknown, "topic '" + topic + "' does not exist"};
  else if (auto e = md->topics[0].err; e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                                       || (e == 0 && md->topics[0].partition_cnt == 0))
    problem = error{errc::unknown, "topic '" + topic + "' does not exist"};
  else if (e)
    problem = kafka_error("metadata of topic '" + topic + "'", e);
  else
    for (int i = 0; i < md->topics[0].partition_cnt; ++i)
      out.push_back(md->topics[0].partitions[i].id);
  rd_kafka_metadata_destroy(md);
  if (problem)
    return *problem;
  std::sort(out.begin(), out.end());
  return out;
}

result<std::pair<std::int64_t, std::int64_t>>
kafka_consumer::watermarks(const std::string& topic, std::int32_t partition,
                           std::chrono::milliseconds timeout) {
  int64_t lo = 0, hi = 0;
  if (auto err = rd_kafka_query_watermark_offsets(impl_->rk, topic.c_str(), partition, &lo, &hi,
                                                  ms(timeout)))
    return kafka_error("watermarks of " + topic + "/" + std::to_string(partition), err);
  return std::pair{lo, hi};
}

result<std::optional<std::int64_t>> kafka_consumer::committed(const std::string& topic,
                                                              std::int32_t partition,
                                                              std::chrono::milliseconds timeout) {
  one_partition one{topic, partition, RD_KAFKA_OFFSET_INVALID};
  if (auto err = rd_kafka_committed(impl_->rk, one.list, ms(timeout)))
    return kafka_error("committed offset of " + topic + "/" + std::to_string(partition), err);
  if (one.tp->err)
    return kafka_error("committed offset of " + topic + "/" + std::to_string(partition), one.tp->err);
  if (one.tp->offset < 0)
    return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>{one.tp->offset};
}

result<std::optional<std::int64_t>>
kafka_consumer::offset_for_time(const std::string& topic, std::int32_t partition,
                                std::int64_t time_ms, std::chrono::milliseconds timeout) {
  one_partition one{topic, partition, time_ms};
  if (auto err = rd_kafka_offsets_for_times(impl_->rk, one.list, ms(timeout)))
    return kafka_error("offset by time of " + topic + "/" + std::to_string(partition), err);
  if (one.tp->err)
    return kafka_error("offset by time of " + topic + "/" + std::to_string(partition), one.tp->err);
  if (one.tp->offset < 0)
    return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>{one.tp->offset};
}

status kafka_consumer::assign(const std::vector<kafka_position>& positions) {
  auto* list = to_list(positions);
  auto err = rd_kafka_assign(impl_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err)
    return kafka_error("assign", err);
  return ok();
}

result<std::vector<kafka_message>> kafka_consumer::poll(size_t max,
                                                        std::chrono::milliseconds timeout) {
  std::vector<rd_kafka_message_t*> msgs(max);
  auto n = rd_kafka_consume_batch_queue(impl_->queue, ms(timeout), msgs.data(), max);
  std::vector<kafka_message> out;
  std::optional<error> problem;
  for (ssize_t i = 0; i < n; ++i) {
    auto* m = msgs[static_cast<size_t>(i)];
    if (m->err) {
      // End of a partition and connection trouble are no loss; an offset
      // out of range (records deleted before they were read) is.
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && !problem
          && (m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE || m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET))
        problem = error{errc::io, std::string{"Kafka consumer: "} + rd_kafka_message_errstr(m)};
      rd_kafka_message_destroy(m);
      continue;
    }
    kafka_message k;
    k.topic = rd_kafka_topic_name(m->rkt);
    k.partition = m->partition;
    k.offset = m->offset;
    if (m->key)
      k.key = std::string{static_cast<const char*>(m->key), m->key_len};
    if (m->payload)
      k.value.assign(static_cast<const char*>(m->payload), m->len);
    out.push_back(std::move(k));
    rd_kafka_message_destroy(m);
  }
  if (problem && out.empty())
    return *problem;
  return out;
}

std::optional<std::int64_t> kafka_consumer::lag(const std::string& topic, std::int32_t partition,
                                                std::int64_t next) const {
  int64_t lo = -1, hi = -1;
  if (rd_kafka_get_watermark_offsets(impl_->rk, topic.c_str(), partition, &lo, &hi) || hi < 0)
    return std::nullopt;
  return hi > next ? hi - next : 0;
}

void kafka_consumer::commit(const std::vector<kafka_position>& positions) {
  if (positions.empty())
    return;
  auto* list = to_list(positions);
  rd_kafka_commit(impl_->rk, list, 1);
  rd_kafka_topic_partition_list_destroy(list);
}

} // namespace hearth::io
