#pragma once

// io::kinesis: a blocking client of Amazon Kinesis Data Streams (the JSON 1.1
// API: `POST /` with `X-Amz-Target: Kinesis_20131202.<Op>`), over libcurl,
// signed with io::aws::sign (service "kinesis"). What the Kinesis ingress and
// egress use, and what tests use to set streams up (kinesalite locally:
// ../shared/docs/connectors-notes.md).
//
// Threads: a client is thread-safe; its calls are serialized on one
// connection (an internal mutex), so give each busy thread its own client.
// Every call blocks for up to `client_options::request_timeout`: never call
// one from a CAF scheduler thread.
//
// Errors (every call):
// - errc::unavailable: the endpoint cannot be reached or timed out, HTTP 5xx,
//   or AWS throttled the call (ProvisionedThroughputExceededException,
//   LimitExceededException, ThrottlingException, KMSThrottlingException).
//   The caller backs off and retries.
// - errc::conflict: ExpiredIteratorException (get a new iterator from the
//   last sequence number read) and ExpiredNextTokenException.
// - errc::unknown: ResourceNotFoundException (no such stream or shard).
// - errc::malformed: an answer that is not the JSON expected, or a request
//   that cannot be encoded (a partition key that is not UTF-8).
// - errc::too_large: HTTP 413 (the request body is too large).
// - errc::io: anything else (InvalidArgumentException, ResourceInUseException,
//   AccessDenied, a bad signature, ...).
// Messages read "Kinesis <Op>: <AWS error type>: <AWS message>", so a caller
// that must tell two errc::io errors apart can match the type.

#include "io/aws_sigv4.hpp"
#include "protocol/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hearth::io::kinesis {

struct client_options {
  /// "http://127.0.0.1:4567" or "https://kinesis.us-east-1.amazonaws.com";
  /// a path, if any, is requested instead of "/".
  std::string endpoint;
  std::string region; // signing region, e.g. "us-east-1"
  aws::credentials credentials;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds{10}};
  std::chrono::milliseconds request_timeout{std::chrono::seconds{30}}; // each call, whole
  std::string ca_file; // https: CAs to trust (PEM); empty: the system's
};

/// The AWS endpoint of Kinesis in `region`: "https://kinesis.<region>.amazonaws.com"
/// (".amazonaws.com.cn" for the "cn-" regions).
std::string default_endpoint(const std::string& region);

/// A shard as ListShards describes it. Ids of absent parents are empty.
struct shard {
  std::string id;
  std::string parent_id;          // set when the shard came from a split or merge
  std::string adjacent_parent_id; // the other parent of a merge
  std::string starting_hash_key;  // decimal, 0 .. 2^128-1
  std::string ending_hash_key;
  std::string starting_sequence_number;
  std::string ending_sequence_number; // set once the shard is closed (split or merged away)

  bool closed() const { return !ending_sequence_number.empty(); }
};

/// Where a shard iterator starts.
struct position {
  enum class kind { trim_horizon, latest, at_sequence_number, after_sequence_number, at_timestamp };
  kind type = kind::latest;
  std::string sequence_number;                     // at_/after_sequence_number
  std::chrono::system_clock::time_point timestamp; // at_timestamp (millisecond precision)

  static position trim_horizon() { return {kind::trim_horizon, {}, {}}; }
  static position latest() { return {kind::latest, {}, {}}; }
  static position at_sequence_number(std::string s) { return {kind::at_sequence_number, std::move(s), {}}; }
  static position after_sequence_number(std::string s) { return {kind::after_sequence_number, std::move(s), {}}; }
  static position at_timestamp(std::chrono::system_clock::time_point t) { return {kind::at_timestamp, {}, t}; }
};

/// A record read from a shard.
struct record {
  std::string sequence_number; // decimal; compare as numbers (length first), not as strings
  std::string partition_key;
  std::string data; // the bytes, base64-decoded
  std::chrono::system_clock::time_point arrival; // ApproximateArrivalTimestamp (ms precision)
};

/// What one GetRecords returned.
struct records_batch {
  std::vector<record> records;
  /// Where to read on; absent once a closed shard has been read to its end
  /// (then read its children: `child_shards` when AWS names them, else the
  /// shards whose parent is this one in list_shards).
  std::optional<std::string> next_iterator;
  std::int64_t millis_behind_latest = 0;
  std::vector<std::string> child_shards; // ChildShards[].ShardId, when the answer has them
};

/// One record to put.
struct put_entry {
  std::string partition_key; // 1 to 256 Unicode characters (UTF-8 here)
  std::string data;          // any bytes
  std::string explicit_hash_key; // decimal, overrides the partition key's hash; empty: none
};

/// The outcome of one put_entry: a sequence number, or AWS's error for it
/// (ProvisionedThroughputExceededException or InternalFailure: put it again).
struct put_outcome {
  std::string shard_id;
  std::string sequence_number;
  std::string error_code; // empty: stored
  std::string error_message;

  bool ok() const { return error_code.empty(); }
};

/// What one PutRecords returned: one outcome per entry, in the entries' order.
struct put_result {
  std::vector<put_outcome> records;
  std::uint32_t failed = 0; // FailedRecordCount
};

/// DescribeStreamSummary, the parts tests and the ingress need.
struct stream_summary {
  std::string status; // CREATING, DELETING, ACTIVE, UPDATING
  std::uint32_t open_shards = 0;
  std::uint32_t retention_hours = 0;
};

/// A Kinesis endpoint. Contracts per call below; errors as in the file comment.
class client {
public:
  virtual ~client() = default;

  /// Every shard of `stream`, open and closed, following NextToken pages.
  virtual result<std::vector<shard>> list_shards(const std::string& stream) = 0;

  /// An iterator on `stream`'s `shard_id` at `from` (valid for 5 minutes).
  /// errc::io (InvalidArgumentException) for a sequence number of another
  /// shard or a timestamp in the future.
  virtual result<std::string> shard_iterator(const std::string& stream, const std::string& shard_id,
                                             const position& from) = 0;

  /// Up to `limit` (1 to 10000) records from `iterator`. An empty batch with
  /// a next iterator means nothing more for now.
  virtual result<records_batch> get_records(const std::string& iterator, std::uint32_t limit = 10000) = 0;

  /// Puts `entries` (at most 500) in one request; AWS may take some and
  /// refuse others (see put_outcome). No entries: no request, an empty result.
  /// errc::too_large for more than 500 entries.
  virtual result<put_result> put_records(const std::string& stream, const std::vector<put_entry>& entries) = 0;

  /// Creates `stream` with `shards` shards; it is CREATING until
  /// describe_stream_summary says ACTIVE. errc::io (ResourceInUseException)
  /// when it exists.
  virtual status create_stream(const std::string& stream, std::uint32_t shards) = 0;

  virtual result<stream_summary> describe_stream_summary(const std::string& stream) = 0;

  /// Splits open shard `shard_id` at `new_starting_hash_key` (decimal,
  /// strictly inside its hash key range): two children, the parent closed.
  /// The stream is UPDATING until it is done.
  virtual status split_shard(const std::string& stream, const std::string& shard_id,
                             const std::string& new_starting_hash_key) = 0;

  /// Merges two open shards with adjacent hash key ranges into one child.
  virtual status merge_shards(const std::string& stream, const std::string& shard_id,
                              const std::string& adjacent_shard_id) = 0;

  /// Deletes `stream` (DELETING, then gone).
  virtual status delete_stream(const std::string& stream) = 0;
};

/// A client of `opts.endpoint`. errc::malformed when the endpoint is not an
/// http(s) URL or the region is empty; no connection is made yet.
result<std::unique_ptr<client>> make_client(client_options opts);

/// The hash key halfway through [starting, ending] (decimal strings), e.g.
/// to split a shard in two even halves. Empty when either is not a decimal
/// number below 2^128 or ending < starting + 4.
std::string middle_hash_key(const std::string& starting, const std::string& ending);

} // namespace hearth::io::kinesis
