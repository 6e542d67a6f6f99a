#pragma once

// state::write_atomically: replaces a small metadata file so that a crash at
// any moment leaves either the old content or the new one, never a mix or an
// empty file: a temporary file beside it is written and fsynced, renamed over
// it, and the folder is fsynced.

#include "protocol/result.hpp"
#include "state/storage_env.hpp"

#include <string>
#include <string_view>

namespace hearth::state {

/// errc::io naming the file and the step that failed; the temporary file is
/// removed then and `path` keeps its old content.
status write_atomically(const std::string& path, std::string_view content,
                        storage_env& env = storage_env::standard());

} // namespace hearth::state
