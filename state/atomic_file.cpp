#include "state/atomic_file.hpp"

#include "state/file_util.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

namespace hearth::state {

status write_atomically(const std::string& path, std::string_view content, storage_env& env) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return detail::io_error("cannot create", tmp);
  size_t done = 0;
  bool good = true;
  while (good && done < content.size()) {
    auto n = env.write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    good = n > 0;
    if (good)
      done += static_cast<size_t>(n);
  }
  std::optional<error> err;
  if (!good)
    err = detail::io_error("cannot write", tmp);
  else if (env.fsync(fd) != 0)
    err = detail::io_error("cannot fsync", tmp);
  ::close(fd);
  if (!err && env.rename(tmp, path) != 0)
    err = detail::io_error("cannot rename", tmp);
  if (err) {
    ::unlink(tmp.c_str());
    return *err;
  }
  auto dir = std::filesystem::path{path}.parent_path().string();
  return detail::sync_dir(dir.empty() ? "." : dir);
}

} // namespace hearth::state
