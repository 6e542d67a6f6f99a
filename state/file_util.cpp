#include "state/file_util.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace hearth::state::detail {

void put_u32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8)
    out.push_back(static_cast<char>((v >> s) & 0xff));
}

std::uint32_t get_u32(std::string_view in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::uint32_t checksum(std::string_view data) {
  return static_cast<std::uint32_t>(
    crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

error io_error(const std::string& what, const std::string& path) {
  return error{errc::io, what + " " + path + ": " + std::strerror(errno)};
}

status sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return io_error("cannot open", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    return io_error("cannot fsync", dir);
  return ok();
}

} // namespace hearth::state::detail
