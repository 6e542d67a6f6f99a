#include "state/storage_env.hpp"

#include <cstdio>
#include <unistd.h>

namespace hearth::state {

ssize_t storage_env::write(int fd, const void* data, size_t size) {
  return ::write(fd, data, size);
}

int storage_env::fsync(int fd) { return ::fsync(fd); }

int storage_env::fdatasync(int fd) { return ::fdatasync(fd); }

int storage_env::rename(const std::string& from, const std::string& to) {
  return std::rename(from.c_str(), to.c_str());
}

int storage_env::before_commit(const std::string&) { return 0; }

storage_env& storage_env::standard() {
  static storage_env env;
  return env;
}

} // namespace hearth::state
