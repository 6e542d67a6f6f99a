#pragma once

// state::object_store: where checkpoint files live when they live outside
// the node (S3: `--checkpoint-dir s3://bucket/prefix`). checkpoint_files then
// keeps its directory as a local cache: each part file and manifest is
// uploaded once written (a manifest only after every part it names), read
// from the store when the cache lacks it, and removed from both by retention.
// An object is whole or absent (S3 PUTs are atomic). Implemented outside
// state/ (apps/ wraps io::s3_client).
//
// Thread-safe: called by snapshot writers, the coordinator and the node.

#include "protocol/result.hpp"

#include <string>
#include <vector>

namespace hearth::state {

class object_store {
public:
  virtual ~object_store() = default;

  /// Stores `bytes` under `name` (a checkpoint file name).
  virtual status put(const std::string& name, const std::string& bytes) = 0;

  /// The object `name`; errc::unknown when there is none.
  virtual result<std::string> get(const std::string& name) = 0;

  /// The names that start with `prefix`, in any order.
  virtual result<std::vector<std::string>> list(const std::string& prefix) = 0;

  /// Removes the objects (absent ones are no error).
  virtual status remove(const std::vector<std::string>& names) = 0;

  /// Where the objects are, for messages ("s3://bucket/prefix").
  virtual std::string where() const = 0;
};

} // namespace hearth::state
