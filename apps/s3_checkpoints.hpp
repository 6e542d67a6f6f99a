#pragma once

// apps::s3_checkpoints: checkpoints in S3 (`--checkpoint-dir
// s3://bucket/prefix`): a state::object_store over io::s3_client, objects
// named <prefix>/<checkpoint file name>. A call that finds S3 unavailable
// (unreachable, 5xx, throttled) is tried again, four times in all, with a
// backoff of 200 ms doubling; other errors are returned at once.

#include "io/s3_client.hpp"
#include "state/object_store.hpp"

#include <memory>
#include <string>

namespace hearth::apps {

struct s3_location {
  std::string bucket;
  std::string prefix; // without a trailing '/'; may be empty
};

/// Parses "s3://bucket/prefix"; nullopt when `url` is not an s3:// URL,
/// errc::malformed when it is one without a bucket.
result<std::optional<s3_location>> parse_s3_url(const std::string& url);

/// The object store of `where` through `client`.
std::shared_ptr<state::object_store> s3_checkpoint_store(std::shared_ptr<io::s3_client> client,
                                                         s3_location where);

} // namespace hearth::apps
