#include "actors/epoch_assembly.hpp"

#include <algorithm>

namespace hearth::actors {

void epoch_assembly::begin(const cluster_view& v, std::uint64_t restored, caf::actor coordinator) {
  wiring_ = cluster_wiring{};
  wiring_.epoch = v.epoch;
  wiring_.restored = restored;
  wiring_.coordinator = std::move(coordinator);
  for (auto& m : v.members) {
    node_wiring w;
    w.epoch = v.epoch;
    w.node = m.id;
    wiring_.nodes.push_back(std::move(w));
  }
  have_.assign(wiring_.nodes.size(), false);
  running_.clear();
  wired_ = false;
  all_running_ = false;
}

std::optional<cluster_wiring> epoch_assembly::ready(node_wiring w) {
  if (w.epoch != wiring_.epoch || wiring_.epoch == 0 || wired_)
    return std::nullopt;
  auto i = wiring_.index_of(w.node);
  if (!i)
    return std::nullopt;
  wiring_.nodes[*i] = std::move(w);
  have_[*i] = true;
  if (std::find(have_.begin(), have_.end(), false) != have_.end())
    return std::nullopt;
  wired_ = true;
  return wiring_;
}

bool epoch_assembly::running(const std::string& node, std::uint64_t epoch) {
  if (epoch != wiring_.epoch || !wired_ || all_running_ || !wiring_.index_of(node))
    return false;
  running_.insert(node);
  if (running_.size() < wiring_.nodes.size())
    return false;
  all_running_ = true;
  return true;
}

std::vector<std::string> epoch_assembly::missing() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < have_.size(); ++i)
    if (!have_[i])
      out.push_back(wiring_.nodes[i].node);
  return out;
}

} // namespace hearth::actors
