#include "state/node_identity.hpp"

#include "state/atomic_file.hpp"

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace hearth::state {

std::string check_node_id(const std::string& id) {
  if (id.empty() || id.size() > max_node_id_bytes)
    return "a node id has 1 to " + std::to_string(max_node_id_bytes) + " bytes";
  for (char c : id) {
    bool fine = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '-' || c == '_' || c == '.';
    if (!fine)
      return "node id '" + id + "' may hold only letters, digits, '-', '_' and '.'";
  }
  return {};
}

namespace {

result<node_identity> read_identity(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return error{errc::io, "cannot read " + path};
  node_identity out;
  bool has_id = false;
  bool has_incarnation = false;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto where = path + ":" + std::to_string(n) + ": ";
    if (line.rfind("id=", 0) == 0) {
      out.id = line.substr(3);
      if (auto why = check_node_id(out.id); !why.empty())
        return error{errc::malformed, where + why};
      has_id = true;
    } else if (line.rfind("incarnation=", 0) == 0) {
      auto v = line.substr(12);
      if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
        return error{errc::malformed, where + "incarnation '" + v + "' is not a number"};
      out.incarnation = std::stoull(v);
      has_incarnation = true;
    } else if (!line.empty()) {
      return error{errc::malformed, where + "unknown field '" + line.substr(0, 40) + "'"};
    }
  }
  if (!has_id || !has_incarnation)
    return error{errc::malformed, path + ": needs both id= and incarnation="};
  return out;
}

std::string generated_id() {
  std::random_device rd;
  std::ostringstream s;
  s << "node-" << std::hex << rd() << rd();
  return s.str();
}

} // namespace

result<node_identity> next_incarnation(const std::string& data_dir, const std::string& wanted,
                                       storage_env& env) {
  namespace fs = std::filesystem;
  if (!wanted.empty())
    if (auto why = check_node_id(wanted); !why.empty())
      return error{errc::malformed, "--node-id: " + why};
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec)
    return error{errc::io, "cannot create data dir " + data_dir + ": " + ec.message()};
  auto path = (fs::path{data_dir} / "NODE").string();
  node_identity id;
  if (fs::exists(path, ec)) {
    auto known = read_identity(path);
    if (!known)
      return known.err();
    if (!wanted.empty() && wanted != known->id)
      return error{errc::conflict, "data dir " + data_dir + " belongs to node '" + known->id
                                     + "', not '" + wanted + "'; start it with --node-id "
                                     + known->id + " or use another --data-dir"};
    id = std::move(*known);
  } else {
    id.id = wanted.empty() ? generated_id() : wanted;
  }
  ++id.incarnation;
  auto content = "id=" + id.id + "\nincarnation=" + std::to_string(id.incarnation) + "\n";
  if (auto s = write_atomically(path, content, env); !s)
    return s.err();
  return id;
}

} // namespace hearth::state
