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

void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

bool take_str(std::string_view& in, std::string& out) {
  if (in.size() < 4)
    return false;
  auto n = get_u32(in);
  if (in.size() - 4 < n)
    return false;
  out.assign(in.substr(4, n));
  in.remove_prefix(4 + n);
  return true;
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

#include "state/lmdb_util.hpp"

#include <filesystem>

namespace hearth::state::detail {

status open_env(const std::string& dir, size_t map_size, MDB_env*& env, MDB_dbi& dbi) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return error{errc::io, "cannot create " + dir + ": " + ec.message()};
  env = nullptr;
  auto fail = [&](const std::string& what, int rc) {
    if (env)
      mdb_env_close(env);
    env = nullptr;
    return lmdb_error(what + " " + dir, rc);
  };
  if (int rc = mdb_env_create(&env); rc != 0)
    return fail("create", rc);
  mdb_env_set_mapsize(env, map_size);
  if (int rc = mdb_env_open(env, dir.c_str(), MDB_NOTLS | MDB_NOSYNC | MDB_NOMETASYNC, 0644); rc != 0)
    return fail("open", rc);
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env, nullptr, 0, &txn); rc != 0)
    return fail("begin", rc);
  if (int rc = mdb_dbi_open(txn, nullptr, 0, &dbi); rc != 0) {
    mdb_txn_abort(txn);
    return fail("open database", rc);
  }
  if (int rc = mdb_txn_commit(txn); rc != 0)
    return fail("commit", rc);
  return ok();
}

} // namespace hearth::state::detail
