#pragma once

// io::kafka_consumer: a Kafka consumer whose partitions and positions are
// chosen by its owner (assign, never a group rebalance), over librdkafka.
// Hearth keeps the positions in its checkpoints; the consumer group, when
// one is configured, only receives them for monitoring tools (commit).
//
// Not thread-safe: one owner thread calls everything.

#include "protocol/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hearth::io {

/// librdkafka settings ("bootstrap.servers" -> "host:port", ...).
using kafka_settings = std::vector<std::pair<std::string, std::string>>;

/// A topic partition and a position in it (the offset of the next record).
struct kafka_position {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

/// One consumed record. `key` is empty-and-absent for a null key.
struct kafka_message {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<std::string> key;
  std::string value;
};

class kafka_consumer {
public:
  ~kafka_consumer();
  kafka_consumer(const kafka_consumer&) = delete;
  kafka_consumer& operator=(const kafka_consumer&) = delete;

  /// A consumer with `settings`; automatic offset commits are off. Fails
  /// (errc::malformed) on a setting librdkafka refuses.
  static result<std::unique_ptr<kafka_consumer>> open(const kafka_settings& settings);

  /// The partitions of `topic`: errc::unknown when the cluster does not have
  /// it, errc::unavailable when no broker answered within `timeout`.
  result<std::vector<std::int32_t>> partitions(const std::string& topic,
                                               std::chrono::milliseconds timeout);

  /// The lowest and the next offset of a partition, asked of its leader.
  result<std::pair<std::int64_t, std::int64_t>> watermarks(const std::string& topic,
                                                           std::int32_t partition,
                                                           std::chrono::milliseconds timeout);

  /// The group's committed offset of a partition; nullopt when it has none
  /// (or no group is configured).
  result<std::optional<std::int64_t>> committed(const std::string& topic, std::int32_t partition,
                                                std::chrono::milliseconds timeout);

  /// The first offset whose timestamp is at or after `time_ms`; nullopt when
  /// there is none yet (start at the end).
  result<std::optional<std::int64_t>> offset_for_time(const std::string& topic,
                                                      std::int32_t partition, std::int64_t time_ms,
                                                      std::chrono::milliseconds timeout);

  /// Reads exactly these partitions from these offsets from now on.
  status assign(const std::vector<kafka_position>& positions);

  /// The records that arrive within `timeout`, at most `max`, in each
  /// partition's order. Errors of the connection (a broker down) are retried
  /// by librdkafka and not reported; an error that loses records (an offset
  /// out of range) is errc::io.
  result<std::vector<kafka_message>> poll(size_t max, std::chrono::milliseconds timeout);

  /// Records after `next` in a partition, from the last fetch's high
  /// watermark (no request); nullopt when none is known yet.
  std::optional<std::int64_t> lag(const std::string& topic, std::int32_t partition,
                                  std::int64_t next) const;

  /// Commits the positions to the group, in the background (best effort).
  void commit(const std::vector<kafka_position>& positions);

private:
  struct impl;
  explicit kafka_consumer(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace hearth::io
