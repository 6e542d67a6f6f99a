#pragma once

// io::kafka_producer: a Kafka producer over librdkafka, idempotent, and
// transactional when given a transactional.id. Every call blocks until
// librdkafka has an outcome (or the timeout passes).
//
// Not thread-safe: one owner thread calls everything.

#include "io/kafka_consumer.hpp"

namespace hearth::io {

class kafka_producer {
public:
  ~kafka_producer();
  kafka_producer(const kafka_producer&) = delete;
  kafka_producer& operator=(const kafka_producer&) = delete;

  /// A producer with `settings` (idempotence on). With a non-empty
  /// `transactional_id` it is transactional: call init_transactions() first.
  static result<std::unique_ptr<kafka_producer>> open(const kafka_settings& settings,
                                                      const std::string& transactional_id);

  /// Errors of the transactional calls, by what the caller must do.
  ///   errc::unavailable  retry the same call;
  ///   errc::conflict     abort the transaction, then redo it;
  ///   errc::io           fatal (fenced by a newer producer with the same
  ///                      transactional.id, ...): open a new producer.
  /// Registers the transactional.id: fences the previous producer that used
  /// it and aborts its open transaction.
  status init_transactions(std::chrono::milliseconds timeout);
  status begin();
  status commit(std::chrono::milliseconds timeout);
  status abort(std::chrono::milliseconds timeout);

  /// Queues one record (waits while librdkafka's queue is full).
  status produce(const std::string& topic, const std::string& key, const std::string& value);

  /// Waits until every queued record is delivered; errc::io when one failed
  /// for good (it is reported once, then forgotten).
  status flush(std::chrono::milliseconds timeout);

  /// Serves delivery reports without waiting.
  void poll();

  struct impl; // librdkafka's handle (public only for its delivery callback)

private:
  explicit kafka_producer(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace hearth::io
