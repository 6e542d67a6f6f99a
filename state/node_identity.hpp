#pragma once

// state::node_identity: who a node is in a cluster, kept in its data dir
// (file NODE): a stable node id, chosen at the first start (given, or
// generated) and kept for the life of the data dir, and an incarnation number
// that grows with every start, so that the cluster tells a restarted node
// from the one that ran before it (docs/cluster.md). The file is replaced
// atomically; the new incarnation is durable before the node joins.
//
// Format (text, one field per line): `id=<node id>` and `incarnation=<n>`.

#include "protocol/result.hpp"
#include "state/storage_env.hpp"

#include <cstdint>
#include <string>

namespace hearth::state {

struct node_identity {
  std::string id;
  std::uint64_t incarnation = 0;
};

/// Longest node id accepted.
constexpr size_t max_node_id_bytes = 64;

/// Why `id` cannot be a node id (letters, digits, '-', '_' and '.', 1 to 64
/// bytes); empty when it can.
std::string check_node_id(const std::string& id);

/// Reads the identity kept in `data_dir` (created if missing) (or makes one: `wanted`, or a
/// generated id when `wanted` is empty), advances its incarnation and stores
/// it. errc::conflict when `wanted` differs from the id the data dir already
/// belongs to, errc::malformed for a bad id or a damaged file (naming it),
/// errc::io when it cannot be written.
result<node_identity> next_incarnation(const std::string& data_dir, const std::string& wanted,
                                       storage_env& env = storage_env::standard());

} // namespace hearth::state
