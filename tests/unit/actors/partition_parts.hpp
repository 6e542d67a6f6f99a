#pragma once

// What the unit tests of a partition's plain parts share: a real store in a
// temp dir and a module with functions under com.example/* and the
// playground egress with topic "out".

#include "io/module.hpp"
#include "protocol/primitives.hpp"
#include "state/store.hpp"
#include "unit/temp_dir.hpp"

#include <doctest/doctest.h>

#include <memory>

namespace hearth::testing {

struct partition_parts {
  temp_dir dir;
  std::unique_ptr<state::store> store;
  io::module_config module;

  partition_parts() {
    auto s = state::store::open(dir.path);
    REQUIRE(s);
    store = std::move(*s);
    io::endpoint_spec ep;
    ep.ns = "com.example";
    ep.url_template = "http://127.0.0.1:1/{function.name}";
    ep.max_batch = 2;
    module.endpoints.push_back(ep);
    module.egress = io::playground_egress_spec{8091, {"out"}, false};
  }
};

inline protocol::address addr(const std::string& type, const std::string& id) {
  return {{"com.example", type}, id};
}

/// A playground egress record for `topic`.
inline protocol::typed_value egress_value(const std::string& topic, const std::string& payload) {
  return protocol::typed_value{io::playground_record_type, true,
                               "{\"topic\":\"" + topic + "\",\"payload\":\"" + payload + "\"}"};
}

} // namespace hearth::testing
