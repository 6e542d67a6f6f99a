#pragma once

// A storage seam for tests: it passes every call to the system, except those
// it was told to fail, which fail with the errno (or LMDB code) given, as a
// full disk, a failing device or a full map would.

#include "state/storage_env.hpp"

#include <cerrno>
#include <map>
#include <mutex>

namespace hearth::fakes {

class faulty_env final : public state::storage_env {
public:
  enum class op { write, fsync, fdatasync, rename, commit };

  /// Fails `times` calls of `o` with `code`, after letting `skip` through.
  void fail(op o, int code, int times = 1, int skip = 0) {
    std::lock_guard<std::mutex> g{mtx_};
    plans_[o] = plan{code, times, skip};
  }

  /// Calls of `o` failed so far.
  int failed(op o) {
    std::lock_guard<std::mutex> g{mtx_};
    return failed_[o];
  }

  ssize_t write(int fd, const void* data, size_t size) override {
    if (int code = take(op::write))
      return errno = code, -1;
    return storage_env::write(fd, data, size);
  }
  int fsync(int fd) override {
    if (int code = take(op::fsync))
      return errno = code, -1;
    return storage_env::fsync(fd);
  }
  int fdatasync(int fd) override {
    if (int code = take(op::fdatasync))
      return errno = code, -1;
    return storage_env::fdatasync(fd);
  }
  int rename(const std::string& from, const std::string& to) override {
    if (int code = take(op::rename))
      return errno = code, -1;
    return storage_env::rename(from, to);
  }
  int before_commit(const std::string& what) override { return take(op::commit); }

private:
  struct plan {
    int code = 0;
    int times = 0;
    int skip = 0;
  };

  int take(op o) {
    std::lock_guard<std::mutex> g{mtx_};
    auto it = plans_.find(o);
    if (it == plans_.end() || it->second.times == 0)
      return 0;
    if (it->second.skip > 0) {
      --it->second.skip;
      return 0;
    }
    --it->second.times;
    ++failed_[o];
    return it->second.code;
  }

  std::mutex mtx_;
  std::map<op, plan> plans_;
  std::map<op, int> failed_;
};

} // namespace hearth::fakes
