#pragma once

// io::s3_client: a small blocking client for Amazon S3 and S3-compatible
// stores (s3rver in the tests): objects up, down and listed, each request
// signed with SigV4 by io::aws (not by libcurl, whose signer mis-signs some
// query strings). Large objects go up as multipart uploads.
//
// Thread-safe: any thread may call anything at once (each call takes its
// own libcurl handle from a small pool). Every call blocks until S3 answers
// or the timeout passes: call it from a dedicated thread, never from a CAF
// scheduler thread. No retries here.
//
// Errors of every call:
//   errc::unavailable  the store could not be reached (refused, timeout,
//                      TLS), or answered 5xx, throttled (SlowDown, 429) or
//                      timed the request out (RequestTimeout): worth a retry;
//   errc::io           any other error answer; the message names the
//                      operation, the object, the HTTP status and S3's error
//                      Code and Message;
//   errc::malformed    an answer that cannot be read (or an invalid endpoint
//                      or argument);
//   errc::too_large    an object bigger than max_object_bytes.

#include "io/aws_sigv4.hpp"
#include "protocol/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::io {

struct s3_options {
  /// "https://s3.<region>.amazonaws.com" (io::aws::endpoint_for), or a local
  /// store such as "http://127.0.0.1:4569". No path after the host.
  std::string endpoint;
  std::string region = "us-east-1"; // the region requests are signed for
  aws::credentials credentials;
  /// true: <endpoint>/<bucket>/<key>; false: virtual-hosted,
  /// <scheme>://<bucket>.<host>/<key> (bucket names must be DNS labels).
  bool path_style = true;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds{10}};
  std::chrono::milliseconds request_timeout{std::chrono::minutes{5}}; // each request (each part)
  /// put_object uploads larger objects in parts of part_size bytes (S3:
  /// parts of 5 MiB at least, 10000 parts at most).
  std::uint64_t multipart_threshold = 16ull << 20;
  std::uint64_t part_size = 8ull << 20;
  std::uint64_t max_object_bytes = 1ull << 30; // get_object refuses larger objects
  std::string ca_file;                         // https: CAs to trust; empty: the system's
};

struct s3_object_info {
  std::string key;
  std::uint64_t size = 0;
  std::string etag; // as S3 gives it (with quotes)
};

class s3_client {
public:
  /// errc::malformed when the endpoint is not http(s)://host[:port].
  static result<std::unique_ptr<s3_client>> open(s3_options options);
  ~s3_client();
  s3_client(const s3_client&) = delete;
  s3_client& operator=(const s3_client&) = delete;

  /// Creates `bucket` (with a LocationConstraint outside us-east-1). A bucket
  /// we already own is not an error; errc::conflict when the name is taken
  /// (BucketAlreadyExists; s3rver says so for its own buckets too).
  status create_bucket(const std::string& bucket);

  /// Stores `bytes` as `key` (replacing it), signed with the payload's
  /// SHA-256. Above multipart_threshold: a multipart upload, aborted when a
  /// part fails (nothing is then stored).
  status put_object(const std::string& bucket, const std::string& key, std::string_view bytes);

  /// The object's bytes; nullopt when there is no such key (a missing bucket
  /// is an error).
  result<std::optional<std::string>> get_object(const std::string& bucket, const std::string& key);

  /// The object's size and ETag; nullopt when there is no such key (or
  /// bucket: HEAD answers carry no error code).
  result<std::optional<s3_object_info>> head_object(const std::string& bucket, const std::string& key);

  /// Deletes `key`; deleting a missing key succeeds (as in S3).
  status delete_object(const std::string& bucket, const std::string& key);

  /// Deletes `keys` (DeleteObjects, 1000 a request); errc::io naming the
  /// first key S3 could not delete.
  status delete_objects(const std::string& bucket, const std::vector<std::string>& keys);

  /// Every object whose key starts with `prefix`, in key order
  /// (ListObjectsV2, following continuation tokens; `page_size` keys a
  /// request, 1..1000).
  result<std::vector<s3_object_info>> list(const std::string& bucket, const std::string& prefix,
                                           int page_size = 1000);

  struct impl;

private:
  explicit s3_client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace hearth::io
