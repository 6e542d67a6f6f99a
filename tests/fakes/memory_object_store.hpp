#pragma once

// An object_store in memory, for unit tests of checkpoint_files with a
// remote store: counts the calls, and can fail the next puts.

#include "state/object_store.hpp"

#include <map>
#include <mutex>

namespace hearth::testing {

class memory_object_store : public state::object_store {
public:
  status put(const std::string& name, const std::string& bytes) override {
    std::lock_guard<std::mutex> g{mtx};
    if (fail_puts > 0) {
      --fail_puts;
      return error{errc::unavailable, "injected upload failure"};
    }
    objects[name] = bytes;
    ++puts;
    return ok();
  }
  result<std::string> get(const std::string& name) override {
    std::lock_guard<std::mutex> g{mtx};
    ++gets;
    auto it = objects.find(name);
    if (it == objects.end())
      return error{errc::unknown, "no object " + name};
    return it->second;
  }
  result<std::vector<std::string>> list(const std::string& prefix) override {
    std::lock_guard<std::mutex> g{mtx};
    std::vector<std::string> out;
    for (auto& [n, b] : objects)
      if (n.rfind(prefix, 0) == 0)
        out.push_back(n);
    return out;
  }
  status remove(const std::vector<std::string>& names) override {
    std::lock_guard<std::mutex> g{mtx};
    for (auto& n : names)
      objects.erase(n);
    return ok();
  }
  std::string where() const override { return "memory://test"; }

  std::mutex mtx;
  std::map<std::string, std::string> objects;
  int fail_puts = 0;
  int puts = 0;
  int gets = 0;
};

} // namespace hearth::testing
